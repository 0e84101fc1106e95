"""Amazon EC2, as much as automation demos need: simulated instances and the default network.

Instances are documents that move through AWS's states on cloudlet's clock (see lifecycle.py);
the default VPC, its subnets and security group, the zones, regions and a few public AMIs are
derived from (account, region) and never stored (see network.py).
"""
