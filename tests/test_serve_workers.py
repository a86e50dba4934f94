"""``fastjoin serve --workers N``: N spawned worker processes behind one port, each loading the
model itself; one that dies is replaced and the server keeps answering. Through a real server
process (tests/test_serve.py's ``server``) and a real client."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from test_serve import CSV, FILTER, seed, server, stderr_of  # noqa: F401 (seed: a fixture)

import fastjoin

httpx = pytest.importorskip("httpx", reason="needs httpx (pip install -e '.[test]')")
pytest.importorskip("uvicorn", reason="needs uvicorn (pip install -e '.[serve]')")

pytestmark = pytest.mark.requires_xgboost

READY = re.compile(r"fastjoin: worker (\d+) ready \(engine (\w+)\)")


def ready_workers(proc, count: int, deadline: float = 60) -> list[int]:
    """The pids of the workers that said they were ready, once there are ``count`` of them."""
    end = time.monotonic() + deadline
    while True:
        pids = [int(m.group(1)) for m in READY.finditer(stderr_of(proc))]
        if len(pids) >= count:
            return pids
        assert proc.poll() is None, stderr_of(proc)
        assert time.monotonic() < end, f"{len(pids)} of {count} workers ready:\n{stderr_of(proc)}"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_are_processes_that_load_the_model_themselves(seed):  # noqa: F811
    model, batch = seed
    expected = fastjoin.Transformer(model, input_filter=FILTER).transform_bytes(batch)
    with server("--model", model, "--input-filter", FILTER, workers=3) as (proc, url):
        pids = ready_workers(proc, 3)
        assert len(set(pids)) == 3 and proc.pid not in pids
        assert all(m.group(2) == "compiled" for m in READY.finditer(stderr_of(proc)))
        params = httpx.get(url + "/execution-parameters").json()
        assert params["MaxConcurrentTransforms"] == 3
        with httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(6):
                answer = client.post("/invocations", content=batch, headers=CSV)
                assert (answer.status_code, answer.content) == (200, expected)


def test_a_killed_worker_is_replaced_and_the_server_keeps_answering(seed):  # noqa: F811
    model, batch = seed
    expected = fastjoin.Transformer(model, input_filter=FILTER).transform_bytes(batch)
    with server("--model", model, "--input-filter", FILTER, workers=2) as (proc, url):
        first = ready_workers(proc, 2)
        os.kill(first[0], signal.SIGKILL)
        pids = ready_workers(proc, 3)  # the replacement said it was ready
        replacement = pids[2]
        assert replacement not in first and alive(replacement) and alive(first[1])
        assert f"Child process [{first[0]}] died" in stderr_of(proc)
        # every request is answered, whichever worker takes it (new connections each time)
        for _ in range(8):
            answer = httpx.post(url + "/invocations", content=batch, headers=CSV, timeout=60)
            assert (answer.status_code, answer.content) == (200, expected)
        assert httpx.get(url + "/execution-parameters").json()["MaxConcurrentTransforms"] == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, stderr_of(proc)
    assert not alive(replacement) and not alive(first[1])  # SIGTERM stopped every worker


def test_one_worker_serves_in_the_one_process(seed):  # noqa: F811
    model, batch = seed
    with server("--model", model, "--input-filter", FILTER, workers=1) as (proc, url):
        answer = httpx.post(url + "/invocations", content=batch, headers=CSV, timeout=60)
        assert answer.status_code == 200
        assert httpx.get(url + "/execution-parameters").json()["MaxConcurrentTransforms"] == 1
        assert not READY.search(stderr_of(proc))  # no worker process was started


def test_workers_leave_when_the_supervisor_is_killed(seed):  # noqa: F811
    """SIGKILL (the OOM killer) gives the supervisor no chance to stop its workers: they are
    SIGTERMed by the kernel (PR_SET_PDEATHSIG) instead of serving the port alone."""
    if not os.uname().sysname == "Linux":
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    model, _ = seed
    with server("--model", model, workers=2) as (proc, _):
        pids = ready_workers(proc, 2)
        proc.kill()
        proc.wait(30)
        deadline = time.monotonic() + 60
        while any(alive(pid) and not zombie(pid) for pid in pids):
            assert time.monotonic() < deadline, f"workers {pids} outlived their supervisor"
            time.sleep(0.1)


def zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
