"""AWS Security Token Service: who the caller is, and temporary credentials for roles.

Issued credentials are documents (kind "sts.credentials", key = access key id) naming their
principal, so that any part of cloudlet can map an access key to who uses it
(`StsProvider.principal_for`).
"""
