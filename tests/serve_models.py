"""Container callables for tests/test_serve_callables.py, served by ``fastjoin serve --model
serve_models:NAME`` in a real server process (the tests put this folder on PYTHONPATH)."""

from __future__ import annotations

import time


def echo(body: bytes, content_type: str, accept: str) -> bytes:
    """Each record's last field, a line per record, as a model's one output per record."""
    return b"".join(line.rsplit(b",", 1)[-1] + b"\n" for line in body.splitlines())


def slow(body: bytes, content_type: str, accept: str) -> bytes:
    """Sleeps for a minute on a body that starts with ``slow``, else echoes it."""
    if body.startswith(b"slow"):
        time.sleep(60)
    return body


def attributes(body: bytes, content_type: str, accept: str, custom_attributes=None):
    """Echoes the body and sets the answer's custom attributes to what it was given (if any);
    ``bad`` asks for an attribute value SageMaker could not carry."""
    if custom_attributes is None:
        return body
    if custom_attributes == "bad":
        return body, "caf\u00e9"
    return body, f"seen={custom_attributes}"


NOT_CALLABLE = 3
