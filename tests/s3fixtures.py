"""A real HTTP S3 endpoint for the tests: moto's standalone server on 127.0.0.1 (an ephemeral
port), started once per test session and stopped at its end. Nothing leaves the loopback
interface; conftest.py has already pointed boto3 at dummy credentials and away from the
user's AWS configuration.

conftest.py loads this module as a plugin, so the fixtures ``s3_endpoint``, ``s3`` and ``bucket``
are there in every test module; helpers (``put``, ``get``, ``keys``) are imported.
"""

from __future__ import annotations

import itertools
import logging

import pytest

_counter = itertools.count()


@pytest.fixture(scope="session")
def s3_endpoint():
    """The endpoint URL of a moto S3 server running in this process. Without moto (the test
    extra installs ``moto[server]``) every test that uses an S3 fixture skips."""
    moto_server = pytest.importorskip("moto.server", reason='needs moto (pip install -e ".[test]")')

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on stderr
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    assert host == "127.0.0.1"
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    """A fastjoin S3 (boto3 client) on the test endpoint, closed after the test."""
    from fastjoin.s3 import S3

    with S3(s3_endpoint) as client:
        yield client


@pytest.fixture
def bucket(s3):
    """A new, empty bucket for this test."""
    name = f"fastjoin-test-{next(_counter)}"
    s3.client.create_bucket(Bucket=name)
    return name


def put(s3, bucket: str, key: str, data: bytes) -> str:
    s3.client.put_object(Bucket=bucket, Key=key, Body=data)
    return f"s3://{bucket}/{key}"


def get(s3, bucket: str, key: str) -> bytes:
    response = s3.client.get_object(Bucket=bucket, Key=key)
    with response["Body"] as body:
        return body.read()


def keys(s3, bucket: str, prefix: str = "") -> list[str]:
    return [key for key, _, _ in s3.list(bucket, prefix)]
