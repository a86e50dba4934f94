"""The seed job against a model container over HTTP (issue 13), side by side on one machine.

The container is ``fastjoin serve`` with the benchmark's model (``SAGEMAKER_BATCH=true``,
one worker per core, the XGBoost container's 6 MiB body limit), in a process of its own.
Its clients, each writing the seed job's output file (``<id>,<prediction>``):

* fastjoin's agent: ``Transformer("http://...", InputFilter $[1:], JoinSource Input,
  OutputFilter $[0,-1])``, the container's ``/execution-parameters`` deciding the
  concurrency (its worker count) and the payload (6 MB);
* SageMaker local mode's loop (``peer_local_mode.py``, from ``reference/serving.md`` §1.11):
  one request at a time, a new connection each, the filters and the join done by hand; with
  the SDK's packing (it measures each candidate batch by building it anew: quadratic in the
  records per batch, seconds per 6 MB batch of seed rows; it runs up to
  ``LOCAL_MODE_SDK_ROWS`` rows) and with that packing made linear (the loop's own cost);
* fastjoin in process (the compiled trees), the floor an agent is measured against.

The container and its clients share the machine's cores, as they would on one instance.
fastjoin's output is checked byte for byte, the local-mode loop's by value.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.benchmark(group="container over HTTP")

SEED_JOB = dict(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
GROUP = "container over HTTP"
LOCAL_MODE_SDK_ROWS = 1_000_000  # beyond this the SDK's quadratic packing takes many minutes


@pytest.fixture(scope="module")
def served(dataset, settings):
    """``fastjoin serve`` with the benchmark model: its URL."""
    pytest.importorskip("uvicorn", reason="fastjoin serve needs uvicorn (pip install -e '.[serve]')")
    pytest.importorskip("urllib3", reason="the agent needs urllib3 (pip install -e '.[http]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "SM_", "MAX_CONTENT"))}
    env["SAGEMAKER_BATCH"] = "true"
    command = [sys.executable, "-m", "fastjoin", "serve", "--model", str(dataset.model)]
    command += ["--host", "127.0.0.1", "--port", "0", "--workers", str(settings.threads)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert " on http://" in line, f"fastjoin serve did not start: {line!r}"
        yield line.split(" on ", 1)[1].split()[0]
    finally:
        proc.kill()
        proc.wait(30)
        proc.stdout.close()


def test_fastjoin_agent(run, dataset, settings, served, expected_bytes, out_dir):
    import fastjoin

    tf = fastjoin.Transformer(served, **SEED_JOB)
    assert tf.model.policy.concurrency == settings.threads  # the container's MaxConcurrentTransforms
    _time_transformer(
        run,
        tf,
        dataset,
        expected_bytes,
        out_dir / "agent",
        "fastjoin's agent → `fastjoin serve` over HTTP",
        "fastjoin",
        "agent",
    )


@pytest.mark.parametrize("packing", ["linear", "sdk"])
def test_local_mode_loop(run, dataset, served, check_values, out_dir, packing):
    sys.path.insert(0, os.path.dirname(__file__))
    from peer_local_mode import transform_file

    if packing == "sdk" and dataset.rows > LOCAL_MODE_SDK_ROWS:
        pytest.skip(f"the SDK's quadratic packing on {dataset.rows:,} rows takes many minutes")
    output = out_dir / f"local-mode-{packing}.out"

    def job():
        transform_file(served, str(dataset.csv), str(output), packing=packing)

    job()
    check_values(output.read_bytes())
    run(
        job,
        label=f"local mode's loop ({packing} packing) → `fastjoin serve`",
        kind="peer",
        rows=dataset.rows,
        nbytes=dataset.bytes,
        rounds=1,
        key=f"local-mode-{packing}",
        group=GROUP,
    )


def test_fastjoin_in_process(run, dataset, settings, expected_bytes, out_dir):
    import fastjoin

    tf = fastjoin.Transformer(str(dataset.model), threads=settings.threads, **SEED_JOB)
    _time_transformer(
        run,
        tf,
        dataset,
        expected_bytes,
        out_dir / "in-process",
        "fastjoin in process (compiled trees)",
        "floor",
        "in-process",
    )


def _time_transformer(run, tf, dataset, expected_bytes, target, label: str, kind: str, key: str) -> None:
    """``tf`` on the data set into ``target``: checked byte for byte once, then timed."""

    def job():
        tf.transform(str(dataset.csv), str(target)).raise_for_errors()

    job()
    assert (target / (dataset.csv.name + ".out")).read_bytes() == expected_bytes
    run(job, label=label, kind=kind, rows=dataset.rows, nbytes=dataset.bytes, rounds=3, key=key, group=GROUP)
