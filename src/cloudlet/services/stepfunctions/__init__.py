"""AWS Step Functions (see provider.py)."""
