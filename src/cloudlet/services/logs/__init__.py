"""Amazon CloudWatch Logs (botocore model "logs"): see provider.py."""
