"""The server itself: health, info, reset, the clock, errors for what it does not serve."""

from __future__ import annotations

import orjson
import pytest

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer
from cloudlet.services import PROVIDERS, provider_class, snake_case, stray_methods
from cloudlet.services.sqs.provider import SqsProvider
from conftest import http


def test_health_answers_when_ready(endpoint):
    status, _, body = http("GET", endpoint + "/_cloudlet/health")
    assert status == 200
    assert orjson.loads(body)["status"] == "ready"


def test_info_names_version_services_and_urls(endpoint):
    status, _, body = http("GET", endpoint + "/_cloudlet/info")
    info = orjson.loads(body)
    assert status == 200
    assert info["name"] == "cloudlet"
    assert "sqs" in info["services"]
    assert info["endpoint"] == endpoint
    assert info["urls"]["sqs_queue"].startswith(endpoint)


@pytest.mark.parametrize("path", ["/_cloudlet/reset", "/moto-api/reset"])
def test_reset_wipes_state(sqs, endpoint, unique, path):
    sqs.create_queue(QueueName=f"doomed-{unique}")
    status, _, _ = http("POST", endpoint + path)
    assert status == 200
    assert f"doomed-{unique}" not in str(sqs.list_queues().get("QueueUrls", []))


def test_clock_advance_moves_time_forward(endpoint):
    before = orjson.loads(http("GET", endpoint + "/_cloudlet/clock")[2])
    status, _, body = http("POST", endpoint + "/_cloudlet/clock", orjson.dumps({"advance": "1h"}))
    after = orjson.loads(body)
    assert status == 200
    assert after["offset_seconds"] - before["offset_seconds"] == 3600
    assert after["now"] - before["now"] >= 3600
    assert http("POST", endpoint + "/_cloudlet/clock", orjson.dumps({"advance": "soon"}))[0] == 400
    http("POST", endpoint + "/_cloudlet/reset")


def test_unknown_internal_endpoint_is_404(endpoint):
    assert http("GET", endpoint + "/_cloudlet/nope")[0] == 404


def test_unroutable_request_gets_a_clear_error(endpoint):
    status, _, body = http("POST", endpoint + "/", b"{}", {"Content-Type": "application/json"})
    assert status == 400
    assert b"could not tell which AWS service" in body


def test_every_provider_method_names_an_operation():
    for service in PROVIDERS:
        assert stray_methods(provider_class(service)) == []


def test_sqs_implements_every_operation_of_its_model():
    from cloudlet.protocols.model import load_service_model

    missing = [
        op
        for op in load_service_model("sqs").operation_names
        if not hasattr(SqsProvider, snake_case(op))
    ]
    assert missing == []


class _SqsWithoutPurge(SqsProvider):
    """A provider lacking one operation, to see the edge answer for unimplemented operations."""

    purge_queue = None  # type: ignore[assignment]


def test_unimplemented_operation_answers_501_naming_it(tmp_path, monkeypatch):
    import boto3
    from botocore.exceptions import ClientError

    app = App(Config(port=0, data_dir=str(tmp_path), log_level="warning"))
    app._providers["sqs"] = _SqsWithoutPurge(app)
    server = BackgroundServer(app).start()
    try:
        client = boto3.client("sqs", endpoint_url=server.endpoint, region_name="us-east-1")
        url = client.create_queue(QueueName="q")["QueueUrl"]
        with pytest.raises(ClientError) as caught:
            client.purge_queue(QueueUrl=url)
        error = caught.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
        assert "sqs.PurgeQueue" in error["Error"]["Message"]
    finally:
        server.stop()


def test_internal_failure_hides_the_exception_and_names_the_request(tmp_path):
    import boto3
    from botocore.exceptions import ClientError

    class Broken(SqsProvider):
        def list_queues(self, ctx, params):
            raise RuntimeError("secret internals")

    app = App(Config(port=0, data_dir=str(tmp_path), log_level="critical"))
    app._providers["sqs"] = Broken(app)
    server = BackgroundServer(app).start()
    try:
        client = boto3.client("sqs", endpoint_url=server.endpoint, region_name="us-east-1")
        with pytest.raises(ClientError) as caught:
            client.list_queues()
        error = caught.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert error["Error"]["Code"] == "InternalFailure"
        assert "secret" not in error["Error"]["Message"]
        assert error["ResponseMetadata"]["RequestId"] in error["Error"]["Message"]
    finally:
        server.stop()
