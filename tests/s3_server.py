"""A real S3-compatible server for tests: moto in server mode on 127.0.0.1.

The fixture starts ``moto.server.ThreadedMotoServer`` on a free port once per test
session, sets fake AWS credentials in the environment (so nothing can reach a real
account) and yields the endpoint URL; ``s3_bucket`` gives each test a fresh bucket.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import pytest

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint URL of a moto S3 server on 127.0.0.1 (fake credentials in env)."""
    pytest.importorskip("s3fs", reason="the s3 extra (s3fs) is not installed")
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    saved = {key: os.environ.get(key) for key in FAKE_CREDENTIALS}
    os.environ.update(FAKE_CREDENTIALS)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty bucket on the moto server; returns its name."""
    import boto3

    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    name = f"headrace-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


def use_s3_artifact_store(endpoint: str, bucket: str) -> str:
    """Make the current repository's active stack keep artifacts in ``s3://BUCKET/
    artifacts`` on the moto server (its orchestrator stays), with credentials from a
    secret of the store (not the environment, which Ray's nodes do not share with this
    process); returns the path."""
    from headrace.client import Client

    client = Client()
    client.create_secret(
        "aws",
        {
            "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        },
    )
    path = f"s3://{bucket}/artifacts"
    client.create_stack_component(
        "s3-store",
        "s3",
        "artifact_store",
        {
            "path": path,
            "authentication_secret": "aws",
            "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        },
    )
    orchestrator = client.active_stack.component("orchestrator")
    assert orchestrator is not None
    client.create_stack("on-s3", {"orchestrator": orchestrator.name, "artifact_store": "s3-store"})
    client.activate_stack("on-s3")
    return path
