"""What a user waits for and what the job holds, each in fresh processes at the largest
``--threads`` count:

- **whole process** (group ``whole process, N threads``): interpreter start, imports, model
  load and the seed job on the benchmark file, for the ``fastjoin transform`` command and for
  ``peer_polars.py`` (``import polars, xgboost`` as a user's script does; scikit-learn is
  installed, so ``import xgboost`` imports it and scipy too).
- **start-up** (group ``start-up, N threads``): ``fastjoin transform`` on the 569-row seed
  file (``fastjoin.demo.make_seed_files``), whole process, beside ``python -c "import
  xgboost"`` and a bare ``python -c pass``. Checked once: the predictions are byte for byte
  ``repr(float(p))`` of ``xgboost.Booster.inplace_predict`` on the same features, and
  ``python -X importtime`` shows neither scikit-learn nor scipy imported on that path.
- **memory** (group ``memory, N threads``): the job's own memory, peak RSS minus RSS after
  the model is loaded (``VmRSS``, then ``/proc/self/clear_refs`` resets the peak, the job
  runs, ``VmHWM``: conftest.py's ``JobMemory``), for the benchmark file and for five copies
  of it end to end; the timing is the whole child process, the memory is in ``extra_info``
  (``job_MB``, MB = 10^6 bytes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROUNDS = 5  # whole-process runs (seconds each)
STARTUP_ROUNDS = 7  # start-up runs (a fraction of a second to two seconds each)
MEMORY_ROUNDS = 3  # the memory peak is nearly deterministic
SEED_ARGS = ["--input-filter", "$[1:]", "--join-source", "Input", "--output-filter", "$[0,-1]"]
HEAVY = ("sklearn", "scipy")


def _call(cmd: list[str], env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return proc


def _transform_cmd(fastjoin_cmd, model, inp, out, threads) -> list[str]:
    return [
        *fastjoin_cmd,
        "transform",
        "--model",
        str(model),
        "--input",
        str(inp),
        "--output",
        str(out),
        *SEED_ARGS,
        "--threads",
        str(threads),
        "--quiet",
    ]


# --------------------------------------------------------------------------- whole process

WHOLE = "whole process"


def test_whole_process_fastjoin(
    run, dataset, settings, expected_bytes, out_dir, fastjoin_cmd, subprocess_env
):
    target = out_dir / "whole-fastjoin"
    cmd = _transform_cmd(fastjoin_cmd, dataset.model, dataset.csv, target, settings.threads)
    env = subprocess_env(settings.threads)
    _call(cmd, env)
    assert (target / (dataset.csv.name + ".out")).read_bytes() == expected_bytes
    run(
        lambda: _call(cmd, env),
        label="`fastjoin transform` (interpreter, imports, model, job)",
        kind="fastjoin",
        rows=dataset.rows,
        nbytes=dataset.bytes,
        rounds=ROUNDS,
        key="fastjoin",
        group=WHOLE,
    )


def test_whole_process_polars(run, dataset, settings, check_values, out_dir, polars_script, subprocess_env):
    out = out_dir / "whole-polars.csv"
    cmd = [
        sys.executable,
        str(polars_script),
        str(dataset.model),
        str(dataset.csv),
        str(out),
        "--threads",
        str(settings.threads),
    ]
    env = subprocess_env(settings.threads)
    _call(cmd, env)
    check_values(out.read_bytes())
    run(
        lambda: _call(cmd, env),
        label="`python peer_polars.py` (`import polars, xgboost`, model, job)",
        kind="peer",
        rows=dataset.rows,
        nbytes=dataset.bytes,
        rounds=ROUNDS,
        key="polars",
        group=WHOLE,
    )


# --------------------------------------------------------------------------- start-up

STARTUP = "start-up"


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory):
    pytest.importorskip("sklearn")
    from fastjoin.demo import make_seed_files

    return make_seed_files(tmp_path_factory.mktemp("seed"))


def _imported_packages(importtime_stderr: str) -> set[str]:
    """Top-level package names from ``python -X importtime`` output."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "package":
                names.add(name.split(".")[0])
    return names


def test_startup_fastjoin(run, benchmark, seed_files, settings, out_dir, fastjoin_cmd, subprocess_env):
    xgb = pytest.importorskip("xgboost")
    model, batch = seed_files
    target = out_dir / "startup"
    cmd = _transform_cmd(fastjoin_cmd, model, batch, target, settings.threads)
    env = subprocess_env(settings.threads)

    # the predictions: byte for byte repr(float(p)) of XGBoost's own inplace_predict
    _call(cmd, env)
    lines = batch.read_text().splitlines()
    ids = [line.split(",", 1)[0] for line in lines]
    X = np.array([[float(v) for v in line.split(",")[1:]] for line in lines]).astype(np.float32)
    pred = xgb.Booster(model_file=str(model)).inplace_predict(X)
    expected = "".join(f"{i},{p!r}\n" for i, p in zip(ids, pred.astype(np.float64).tolist()))
    assert (target / (batch.name + ".out")).read_text() == expected

    # the imports: the same command under -X importtime, neither scikit-learn nor scipy
    script = fastjoin_cmd[1:] if fastjoin_cmd[0] == sys.executable else fastjoin_cmd
    traced = _call([sys.executable, "-X", "importtime", *script, *cmd[len(fastjoin_cmd) :]], env)
    packages = _imported_packages(traced.stderr)
    assert "fastjoin" in packages and "numpy" in packages, sorted(packages)
    heavy = sorted(set(HEAVY) & packages)
    assert not heavy, f"`fastjoin transform` imports {heavy}"
    benchmark.extra_info.update(
        imports_xgboost="xgboost" in packages, imports_checked=list(HEAVY), packages_imported=len(packages)
    )
    run(
        lambda: _call(cmd, env),
        label=f"`fastjoin transform` on the {len(lines)}-row seed file (whole process)",
        kind="fastjoin",
        rows=len(lines),
        nbytes=batch.stat().st_size,
        rounds=STARTUP_ROUNDS,
        key="fastjoin",
        group=STARTUP,
    )


def test_startup_import_xgboost(run, benchmark, settings, subprocess_env):
    pytest.importorskip("xgboost")
    env = subprocess_env(settings.threads)
    probe = _call(
        [
            sys.executable,
            "-c",
            "import sys, xgboost; "
            "print(sorted({'sklearn', 'scipy'} & {m.split('.')[0] for m in sys.modules}))",
        ],
        env,
    )
    heavy = json.loads(probe.stdout.strip().replace("'", '"'))
    benchmark.extra_info["imports"] = heavy  # ['scipy', 'sklearn'] where scikit-learn is installed
    cmd = [sys.executable, "-c", "import xgboost"]
    run(
        lambda: _call(cmd, env),
        label='`python -c "import xgboost"`' + (f" (imports {', '.join(heavy)})" if heavy else ""),
        kind="peer",
        rows=0,
        nbytes=0,
        rounds=STARTUP_ROUNDS,
        key="import-xgboost",
        group=STARTUP,
    )


def test_startup_python(run, settings, subprocess_env):
    env = subprocess_env(settings.threads)
    cmd = [sys.executable, "-c", "pass"]
    assert _call(cmd, env).stdout == ""
    run(
        lambda: _call(cmd, env),
        label="`python -c pass` (the interpreter alone)",
        kind="floor",
        rows=0,
        nbytes=0,
        rounds=STARTUP_ROUNDS,
        key="python",
        group=STARTUP,
    )


# --------------------------------------------------------------------------- memory

COPIES = 5
CSV_JOB = dict(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")


@pytest.mark.skipif(
    not os.path.exists("/proc/self/clear_refs"),
    reason="needs Linux's /proc/self/clear_refs to reset the peak RSS",
)
@pytest.mark.parametrize("copies", [1, COPIES], ids=["1x", f"{COPIES}x"])
def test_memory(run, benchmark, dataset, expected_bytes, out_dir, job_memory, copies):
    mem = job_memory(dataset.model, dataset.csv, copies, out_dir / f"memory-{copies}x", CSV_JOB)
    mem.measure(
        run,
        benchmark,
        expected_bytes,
        copies,
        rows=dataset.rows,
        nbytes=dataset.bytes,
        label=f"job memory, {copies * dataset.rows:,} rows",
        key=f"memory-{copies}x",
        rounds=MEMORY_ROUNDS,
    )
