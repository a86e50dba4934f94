"""``fastjoin serve --model module:function``: a Python container callable served as a SageMaker
container, through a real server process (tests/test_serve.py's ``server``) and a real client:
the filters and join around it, ``X-Amzn-SageMaker-Custom-Attributes`` given to it and echoed
when it sets them, and ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` (504, and a supervised worker that
overran is replaced). The callables are in tests/serve_models.py."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from test_serve import CSV, server, stderr_of
from test_serve_workers import ready_workers

httpx = pytest.importorskip("httpx", reason="needs httpx (pip install -e '.[test]')")
pytest.importorskip("uvicorn", reason="needs uvicorn (pip install -e '.[serve]')")

TESTS = str(Path(__file__).resolve().parent)
HEADER = "X-Amzn-SageMaker-Custom-Attributes"


def env(**extra) -> dict:
    path = os.pathsep.join(p for p in (TESTS, os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "SAGEMAKER_BATCH": "true", **extra}


def test_a_callable_is_a_container_with_the_filters_around_it():
    args = ("--model", "serve_models:echo", "--input-filter", "$[1:]", "--join-source", "Input")
    with server(*args, env=env(), workers=1) as (proc, url):
        answer = httpx.post(url + "/invocations", content=b"1,2,3\n4,5,6\n", headers=CSV)
        assert (answer.status_code, answer.content) == (200, b"1,2,3,3\n4,5,6,6\n")
        assert httpx.get(url + "/ping").status_code == 200


def test_custom_attributes_reach_the_callable_and_come_back_when_it_sets_them():
    with server("--model", "serve_models:attributes", env=env(), workers=1) as (_, url):
        answer = httpx.post(url + "/invocations", content=b"1,2\n", headers={**CSV, HEADER: "trace=abc"})
        assert (answer.status_code, answer.content) == (200, b"1,2\n")
        assert answer.headers[HEADER] == "seen=trace=abc"
        answer = httpx.post(url + "/invocations", content=b"1,2\n", headers=CSV)
        assert answer.status_code == 200 and HEADER.lower() not in answer.headers  # none set
        answer = httpx.post(url + "/invocations", content=b"1,2\n", headers={**CSV, HEADER: "bad"})
        assert answer.status_code == 500  # the model's fault, said so
        assert "custom attributes" in answer.text


def test_a_callable_without_the_argument_ignores_the_header():
    with server("--model", "serve_models:echo", env=env(), workers=1) as (_, url):
        answer = httpx.post(url + "/invocations", content=b"1,2\n", headers={**CSV, HEADER: "x"})
        assert (answer.status_code, answer.content) == (200, b"2\n")
        assert HEADER.lower() not in answer.headers


@pytest.mark.parametrize(
    "model, message",
    [
        ("serve_models:missing", "has no attribute missing"),
        ("serve_models:NOT_CALLABLE", "is a int, not a callable"),
        ("no_such_module_here:f", "cannot be imported"),
    ],
)
def test_a_reference_that_does_not_resolve_is_a_configuration_error(model, message):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "fastjoin", "serve", "--model", model, "--port", "0"],
        env={**os.environ, **env()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert message in run.stderr


def test_a_prediction_past_the_timeout_is_504_and_its_worker_is_replaced():
    with server("--model", "serve_models:slow", env=env(SAGEMAKER_MODEL_SERVER_TIMEOUT="1"), workers=2) as (
        proc,
        url,
    ):
        first = ready_workers(proc, 2)
        started = time.monotonic()
        answer = httpx.post(url + "/invocations", content=b"slow\n", headers=CSV, timeout=60)
        assert answer.status_code == 504 and time.monotonic() - started < 30
        assert "SAGEMAKER_MODEL_SERVER_TIMEOUT" in answer.text
        pids = ready_workers(proc, 3)  # the worker that overran left; its replacement is ready
        assert pids[2] not in first
        assert "retires: a prediction ran past the timeout" in stderr_of(proc)
        for _ in range(4):
            answer = httpx.post(url + "/invocations", content=b"1\n", headers=CSV, timeout=60)
            assert (answer.status_code, answer.content) == (200, b"1\n")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, stderr_of(proc)


def test_one_worker_answers_504_then_keeps_serving_and_stops_on_sigterm():
    with server("--model", "serve_models:slow", env=env(SAGEMAKER_MODEL_SERVER_TIMEOUT="1"), workers=1) as (
        proc,
        url,
    ):
        answer = httpx.post(url + "/invocations", content=b"slow\n", headers=CSV, timeout=60)
        assert answer.status_code == 504
        answer = httpx.post(url + "/invocations", content=b"1\n", headers=CSV, timeout=60)
        assert (answer.status_code, answer.content) == (200, b"1\n")  # not queued behind it
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, stderr_of(proc)  # without waiting out the abandoned sleep
