"""Serving: ``fastjoin serve`` beside the stack the SageMaker XGBoost container runs (a Flask app
on gunicorn with gevent workers: ``peer_container.py``), same model (the benchmark's 100 trees
of depth 5), same body, same core, same load generator (``loadgen.py``, on another core).

Each server runs one worker pinned to the last core this process may use; the load generator
runs pinned to the first. Groups:

- ``serving: load generator ceiling`` — the generator against a trivial server (``loadgen.py
  --serve-trivial``) at each concurrency: what it can issue at most.
- ``serving: one-record CSV, concurrency N`` (N = 1, 8, 64) — requests/s, p50 and p99 latency
  for one 30-feature CSV row (``SAGEMAKER_BATCH`` set: the batch body).
- ``serving: 6 MB batches`` — MultiRecord bodies just under 6 MiB, one in flight (one worker:
  ``MaxConcurrentTransforms``), MB/s; beside them a second generator GETs ``/ping`` (one at a
  time) for the ``/ping`` p99 under load.
- ``serving: memory`` — each server's worker RSS after the runs.

Both servers' answers are checked byte for byte against each other and against fastjoin's
``Transformer`` before anything is timed. The numbers are in ``extra_info`` (pytest-benchmark's
own time is the load run's length); ``report.py`` renders them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LOADGEN = HERE / "loadgen.py"
SECONDS = float(os.environ.get("FASTJOIN_BENCH_SERVE_SECONDS", "5"))
CONCURRENCY = (1, 8, 64)
BATCH_BYTES = 6_000_000  # under the 6 MiB default body limit of both servers
CSV = "Content-Type: text/csv"

pytest.importorskip("uvicorn")


def _cores() -> tuple[int, int]:
    cores = sorted(os.sched_getaffinity(0))
    return cores[0], cores[-1]  # (load generator, server); the same core on a 1-core machine


LOAD_CPU, SERVE_CPU = _cores()


def _pinned(cpu: int):
    return lambda: os.sched_setaffinity(0, {cpu})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen, path: str = "/ping") -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{url}: the server exited ({proc.returncode})"
        try:
            with urllib.request.urlopen(url + path, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url}{path} never answered 200")


def _post(url: str, body: bytes) -> bytes:
    import urllib.request

    request = urllib.request.Request(url + "/invocations", data=body, headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return answer.read()


def _start(command: list[str], env: dict) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "SM_"))}
    environ.update(env, SAGEMAKER_BATCH="true", OMP_NUM_THREADS="1")
    return subprocess.Popen(
        command,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=_pinned(SERVE_CPU),
    )


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture(scope="module")
def bodies(dataset, tmp_path_factory):
    """(one-record body, batch body) files: the data set's rows without their id."""
    folder = tmp_path_factory.mktemp("serve")
    rows = []
    size = 0
    with open(dataset.csv, "rb") as f:
        for line in f:
            row = line.split(b",", 1)[1]
            if size + len(row) > BATCH_BYTES:
                break
            rows.append(row)
            size += len(row)
    one, batch = folder / "one.csv", folder / "batch.csv"
    one.write_bytes(rows[0])
    batch.write_bytes(b"".join(rows))
    return one, batch


@pytest.fixture(scope="module")
def servers(dataset, bodies):
    """{"fastjoin": url, "container": url}: both running, checked, pinned; their worker pids."""
    import fastjoin

    procs, urls, workers = {}, {}, {}
    try:
        proc = _start(
            [sys.executable, "-m", "fastjoin", "serve", "--model", str(dataset.model)]
            + ["--host", "127.0.0.1", "--port", "0", "--workers", "1"],
            {},
        )
        procs["fastjoin"] = proc
        line = proc.stdout.readline()
        assert " on http://" in line, line
        urls["fastjoin"] = line.split(" on ", 1)[1].split()[0]
        workers["fastjoin"] = proc.pid  # one worker serves in the one process
        port = _free_port()
        proc = _start(
            [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", "1", "--worker-connections", "1000"]
            + ["-b", f"127.0.0.1:{port}", "--chdir", str(HERE), "peer_container:app"],
            {"PEER_MODEL": str(dataset.model)},
        )
        procs["container"] = proc
        urls["container"] = f"http://127.0.0.1:{port}"
        for name, url in urls.items():
            _wait_ready(url, procs[name])
        import psutil

        (workers["container"],) = [c.pid for c in psutil.Process(procs["container"].pid).children()]
        # the same bytes from both, and fastjoin's Transformer's (bit-exact with XGBoost)
        transformer = fastjoin.Transformer(str(dataset.model))
        for path in bodies:
            body = path.read_bytes()
            expected = transformer.transform_bytes(body)
            for name, url in urls.items():
                assert _post(url, body) == expected, f"{name} answers other bytes for {path.name}"
        yield urls, workers
    finally:
        for proc in procs.values():
            _stop(proc)


@pytest.fixture(scope="module")
def trivial():
    proc = subprocess.Popen(
        [sys.executable, str(LOADGEN), "--serve-trivial", "0"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_pinned(SERVE_CPU),
    )
    try:
        line = proc.stdout.readline()
        yield line.split(" on ", 1)[1].strip()
    finally:
        _stop(proc)


def loadgen(url: str, concurrency: int, body: Path | None = None, seconds: float = SECONDS):
    """A running load generator (pinned to its core); ``.result()`` waits for its JSON."""
    command = [
        sys.executable,
        str(LOADGEN),
        url,
        "--concurrency",
        str(concurrency),
        "--seconds",
        str(seconds),
    ]
    if body is not None:
        command += ["--body", str(body), "--header", CSV]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, preexec_fn=_pinned(LOAD_CPU))

    class Run:
        @staticmethod
        def result() -> dict:
            out, _ = proc.communicate(timeout=seconds + 120)
            assert proc.returncode == 0, out
            return json.loads(out)

    return Run


def _record(benchmark, result: dict, **info) -> None:
    result.pop("first_body", None)
    benchmark.extra_info.update(result, **info)


@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_loadgen_ceiling(benchmark, trivial, concurrency):
    benchmark.group = "serving: load generator ceiling"
    result = benchmark.pedantic(lambda: loadgen(trivial + "/", concurrency).result(), rounds=1, iterations=1)
    assert result["statuses"] == {"200": result["requests"]}
    _record(benchmark, result, kind="floor", label=f"trivial server, concurrency {concurrency}")


@pytest.mark.parametrize("server", ["fastjoin", "container"])
@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_one_record(benchmark, servers, bodies, server, concurrency):
    urls, _ = servers
    benchmark.group = f"serving: one-record CSV, concurrency {concurrency}"
    result = benchmark.pedantic(
        lambda: loadgen(urls[server] + "/invocations", concurrency, bodies[0]).result(),
        rounds=1,
        iterations=1,
    )
    assert result["statuses"] == {"200": result["requests"]}, result
    _record(benchmark, result, kind="fastjoin" if server == "fastjoin" else "peer", label=_label(server))


@pytest.mark.parametrize("server", ["fastjoin", "container"])
def test_batches_and_ping_under_load(benchmark, servers, bodies, server):
    urls, _ = servers
    benchmark.group = "serving: 6 MB batches"

    def run():
        batches = loadgen(urls[server] + "/invocations", 1, bodies[1], seconds=2 * SECONDS)
        time.sleep(1.5)  # the batches are running (past their warm-up)
        ping = loadgen(urls[server] + "/ping", 1, seconds=SECONDS)
        return batches.result(), ping.result()

    result, ping = benchmark.pedantic(run, rounds=1, iterations=1)
    assert result["statuses"] == {"200": result["requests"]}, result
    assert ping["statuses"] == {"200": ping["requests"]}, ping
    _record(
        benchmark,
        result,
        kind="fastjoin" if server == "fastjoin" else "peer",
        label=_label(server),
        ping_p50_ms=ping["p50_ms"],
        ping_p99_ms=ping["p99_ms"],
        ping_requests=ping["requests"],
    )


@pytest.mark.parametrize("server", ["fastjoin", "container"])
def test_worker_memory(benchmark, servers, server):
    import psutil

    _, workers = servers
    benchmark.group = "serving: memory"
    rss = benchmark.pedantic(
        lambda: psutil.Process(workers[server]).memory_info().rss, rounds=1, iterations=1
    )
    benchmark.extra_info.update(
        kind="fastjoin" if server == "fastjoin" else "peer", label=_label(server), worker_MB=rss / 1e6
    )


def _label(server: str) -> str:
    return {
        "fastjoin": "fastjoin serve (uvicorn, 1 worker)",
        "container": "XGBoost container's stack (Flask, gunicorn -k gevent, 1 worker)",
    }[server]
