"""Plain helpers shared by the test modules, imported as ``from helpers import ...``
(fixtures and hooks live in conftest.py)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from types import ModuleType

import pytest

import fastjoin


def optional_module(name: str) -> ModuleType | None:
    """The module ``name``, or None where it is not installed. For a test dependency that
    only some tests need: those tests carry a marker (``requires_xgboost``) that skips them
    without it, and the rest of the module still runs."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name.partition(".")[0]:
            raise  # installed, but something it imports is missing: a broken install
        return None


def chunking_agrees(model, job: dict, chunk_size: int, data: bytes, bad: bytes, runner: dict | None = None):
    """A Transformer reading ``chunk_size``-byte chunks writes the same bytes as one reading
    the default size, and locates the error in ``bad`` at the same place. Returns that
    location."""
    base = fastjoin.Transformer(model, **job)
    chunked = fastjoin.Transformer(model, chunk_size=chunk_size, **(runner or {}), **job)
    assert chunked.transform_bytes(data) == base.transform_bytes(data)
    with pytest.raises(fastjoin.FeatureError) as a:
        base.transform_bytes(bad)
    with pytest.raises(fastjoin.FeatureError) as b:
        chunked.transform_bytes(bad)
    assert a.value.location == b.value.location
    return a.value.location


def cli(*args) -> subprocess.CompletedProcess:
    """``python -m fastjoin ARGS`` in a child process, as a user runs it: output captured as
    text, warnings turned into errors (``PYTHONWARNINGS=error``)."""
    return subprocess.run(
        [sys.executable, "-m", "fastjoin", *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONWARNINGS="error"),
        timeout=300,
    )


def transform_request(source, output, content_type: str = "text/csv", **members) -> dict:
    """A minimal CreateTransformJob request reading ``source`` into ``output``; ``members``
    add to it (``TransformInput``, ``TransformOutput`` and ``DataProcessing`` are merged)."""
    request: dict = {
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(source)}},
            "ContentType": content_type,
        },
        "TransformOutput": {"S3OutputPath": str(output)},
    }
    for name, value in members.items():
        if isinstance(value, dict) and isinstance(request.get(name), dict):
            request[name] = {**request[name], **value}
        else:
            request[name] = value
    return request


def stop_process(proc, wait: float = 30) -> None:
    """SIGTERM first, so a server stops its own children (workers, jobs); SIGKILL if it does
    not end within ``wait`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait(30)
