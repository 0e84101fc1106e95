"""ARNs, formatted and parsed exactly as AWS does."""

from __future__ import annotations

from typing import NamedTuple


class Arn(NamedTuple):
    partition: str
    service: str
    region: str
    account: str
    resource: str


def make_arn(service: str, region: str, account: str, resource: str, partition: str = "aws") -> str:
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def parse_arn(text: str) -> Arn | None:
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])
