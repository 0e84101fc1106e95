"""Which service, and which of its protocols, a request speaks.

The lookups are built from the models' metadata of the implemented services (target prefix,
signing name; operation names only for unsigned query requests), never from a hand-kept list; the few exceptions are named where they apply.
The order: X-Amz-Target (JSON), Smithy RPC v2 CBOR, a query Action, the SigV4 signing name, and
finally S3 for requests that carry none of these.
"""

from __future__ import annotations

import re
from functools import cached_property

from cloudlet.edge.s3 import bucket_of_host
from cloudlet.edge.sigv4 import Credentials
from cloudlet.protocols import HttpRequest
from cloudlet.protocols.model import ServiceModel, load_service_model, service_metadata
from cloudlet.protocols.quirks import LEGACY_QUERY_SERVICES

_FORM = "application/x-www-form-urlencoded"
_QUEUE_PATH = re.compile(r"^/(\d{12}|queue)/[^/]+/?$")


class ServiceRouter:
    def __init__(self, services: list[str]) -> None:
        self.services = services

    def model(self, service: str) -> ServiceModel:
        return load_service_model(service)

    def protocols(self, service: str) -> list[str]:
        metadata = service_metadata(service)
        return metadata.get("protocols") or [metadata["protocol"]]

    def protocol(self, service: str) -> str:
        return service_metadata(service)["protocol"]

    @cached_property
    def _by_target(self) -> dict[str, str]:
        index = {}
        for service in self.services:
            prefix = service_metadata(service).get("targetPrefix")
            if prefix:
                index[prefix] = service
        return index

    @cached_property
    def _by_signing_name(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for service in self.services:
            metadata = service_metadata(service)
            signing = metadata.get("signingName") or metadata["endpointPrefix"]
            for name in {signing, metadata.get("endpointPrefix")}:
                if name:
                    index.setdefault(name, []).append(service)
        return index

    @cached_property
    def _query_actions(self) -> dict[str, str]:
        """Action name -> service, for unsigned query requests (first service wins)."""
        index: dict[str, str] = {}
        for model in map(self.model, self.services):
            if model.name in LEGACY_QUERY_SERVICES or {"query", "ec2"} & set(model.protocols):
                for op in model.operation_names:
                    index.setdefault(op, model.name)
        return index

    def resolve(self, request: HttpRequest, creds: Credentials | None) -> tuple[str, str] | None:
        """(service, protocol) for a request, or None when it is no AWS API call we serve."""
        headers = request.headers
        target = headers.get("x-amz-target")
        if target:
            service = self._by_target.get(target.partition(".")[0])
            if service:
                return service, "json"
        if headers.get("smithy-protocol") == "rpc-v2-cbor":
            match = re.match(r"^/service/([^/]+)/operation/", request.path)
            if match and match.group(1) in self._by_target:
                return self._by_target[match.group(1)], "smithy-rpc-v2-cbor"
        action = self._query_action(request)
        candidates = self._by_signing_name.get(creds.service, []) if creds else []
        if action is not None:
            for service in candidates:
                if self._speaks_query(service):
                    return service, self._query_protocol(service)
            service = self._query_actions.get(action)
            if service is None and _QUEUE_PATH.match(request.path):
                service = "sqs" if "sqs" in self.services else None
            if service:
                return service, self._query_protocol(service)
            return None
        for service in candidates:
            protocol = self.protocol(service)
            if protocol.startswith("rest") or len(candidates) == 1:
                return service, protocol
        # Last, on purpose: S3 is the service of requests with no other signal — unsigned ones
        # (browsers, public objects), SigV2 and presigned URLs, as on AWS's own S3 endpoints.
        # S3 has no operation at a path-style `POST /`: that is another service's, unrecognised.
        if (
            creds is None
            and "s3" in self.services
            and (request.method != "POST" or request.path != "/" or bucket_of_host(request.host))
        ):
            return "s3", "rest-xml"
        return None

    def _query_action(self, request: HttpRequest) -> str | None:
        if request.method == "POST" and request.headers.get("content-type", "").startswith(_FORM):
            for part in request.body.split(b"&"):
                if part.startswith(b"Action="):
                    return part[7:].decode("ascii", "replace")
            return None
        return request.query_params.get("Action") if "Action=" in request.query else None

    def _speaks_query(self, service: str) -> bool:
        return service in LEGACY_QUERY_SERVICES or bool(
            {"query", "ec2"} & set(self.protocols(service))
        )

    def _query_protocol(self, service: str) -> str:
        return "ec2" if self.protocol(service) == "ec2" else "query"
