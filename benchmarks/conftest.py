"""Benchmark suite configuration: options, the seeded data set, shared fixtures and checks.

Run (from the repository root)::

    .venv/bin/python -m pytest benchmarks --benchmark-only --benchmark-json=bench-results.json
    .venv/bin/python benchmarks/report.py bench-results.json -o benchmarks/RESULTS.md

Options: ``--rows N`` (default 1,000,000), ``--threads N[,M...]`` (the thread counts the
end-to-end and wide benchmarks run at; default 1 and every core this process may use; never
more), ``--wide-rows N`` (default 100,000). Benchmarks live in ``bench_*.py`` files, collected by the hook below
only when this directory is on the command line, so the default ``pytest`` run (testpaths =
tests) never sees them.

Data (generated once, cached under ``$FASTJOIN_BENCH_DATA`` or ``./bench-data``, never
committed) is the seed job's shape: ``narrow_<N>.csv`` = an 8-digit integer id + 30 features,
no header, values distributed like the UCI breast-cancer (WDBC) data and rounded to 4
significant digits, written with Python's repr (``13.81``, ``0.09314``, ``1001.0``, ``0.0``);
the parsed float32 matrix and ids as ``.npy``; ``model.json``, an XGBoost ``binary:logistic``
model (100 rounds, depth 5, eta 0.2, nthread 1) trained on a separate seeded sample. The
generator is the one in ``../shared/bench/make_data.py`` (same seed, same chunking), so the
files are byte-identical to its output, but it is copied here: the suite needs only the repo.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from fastjoin.predictor import available_cores

# pytest-benchmark records the commit by running `git describe --dirty`, which may refresh
# and rewrite the index; with optional locks off it only reads, so a benchmark run never
# holds .git/index.lock while someone commits.
os.environ.setdefault("GIT_OPTIONAL_LOCKS", "0")

HERE = Path(__file__).resolve().parent
# The thread-pool sizes the libraries read once, at import or first use.
THREAD_ENV = ("OMP_NUM_THREADS", "POLARS_MAX_THREADS", "RAYON_NUM_THREADS")

# --------------------------------------------------------------------------- collection


def pytest_collect_file(file_path, parent):
    """Collect ``bench_*.py`` as test modules (pytest's default is ``test_*.py``). A file named
    on the command line is collected by pytest itself."""
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("bench_")
        and not parent.session.isinitpath(file_path)
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


# --------------------------------------------------------------------------- options


def pytest_addoption(parser):
    group = parser.getgroup("fastjoin benchmarks")
    group.addoption(
        "--rows", type=int, default=1_000_000, help="rows in the benchmark CSV (default 1,000,000)"
    )
    group.addoption(
        "--threads",
        default=None,
        metavar="N[,M...]",
        help=f"thread counts for fastjoin, XGBoost and every peer, comma-separated: "
        f"the end-to-end and wide benchmarks run at each, the rest at the "
        f"largest (default: 1 and the cores available, here "
        f"{available_cores()}; never more)",
    )
    group.addoption(
        "--wide-rows",
        type=int,
        default=100_000,
        help="rows in the wide benchmark CSV, id + 300 features (default 100,000)",
    )


def _thread_counts(config) -> tuple[int, ...]:
    cores = available_cores()
    raw = config.getoption("--threads")
    if raw is None:
        return tuple(sorted({1, cores}))
    try:
        counts = sorted({int(x) for x in str(raw).split(",") if x.strip()})
    except ValueError:
        raise pytest.UsageError(
            f"--threads takes thread counts separated by commas (e.g. 1,2), not {raw!r}"
        ) from None
    bad = [n for n in counts if n < 1 or n > cores] or ([] if counts else [raw])
    if bad:
        raise pytest.UsageError(f"--threads must be 1..{cores} (the cores available), not {bad[0]}")
    return tuple(counts)


def _threads(config) -> int:
    """The largest thread count: what the benchmarks that run once (stages, whole process,
    memory, ...) use."""
    return max(_thread_counts(config))


_CPU_AT_START = pytest.StashKey[tuple]()


def _cpu_snapshot() -> tuple:
    """(1-minute load average, machine busy CPU seconds, this process's CPU seconds): other
    work on the machine during the run skews the ratios, so report.py shows how much ran."""
    import resource

    try:
        load = round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        load = None
    busy = None
    try:
        with open("/proc/stat") as f:
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
        busy = (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        pass
    own = sum(
        getattr(resource.getrusage(who), f)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )
    return load, busy, own


def pytest_configure(config):
    if not config.pluginmanager.hasplugin("benchmark"):
        raise pytest.UsageError(
            "the benchmarks need pytest-benchmark: .venv/bin/pip install -e '.[xgboost-cpu,bench]'"
        )
    if config.getoption("--rows") < 1000:
        raise pytest.UsageError("--rows must be at least 1000")
    if config.getoption("--wide-rows") < 1000:
        raise pytest.UsageError("--wide-rows must be at least 1000")
    config.stash[_CPU_AT_START] = _cpu_snapshot()
    n = str(_threads(config))
    # Before polars / pyarrow / xgboost are imported (they are imported lazily, in fixtures).
    # The largest count: a benchmark at fewer threads sets its library's count itself, or
    # runs the peer in a process of its own (polars: see PeerWorker).
    for key in THREAD_ENV:
        os.environ[key] = n


def pytest_report_header(config):
    return (
        f"fastjoin benchmarks: rows={config.getoption('--rows'):,} "
        f"wide-rows={config.getoption('--wide-rows'):,} "
        f"threads={','.join(map(str, _thread_counts(config)))} data={data_dir()}"
    )


def _version(module: str) -> str | None:
    try:
        mod = __import__(module)
    except ImportError:
        return None
    return getattr(mod, "__version__", "?")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _contention(start) -> dict:
    if not start:
        return {}
    load0, busy0, own0 = start
    load1, busy1, own1 = _cpu_snapshot()
    info = {"loadavg_start": load0}
    if busy0 is not None and busy1 is not None:
        info["other_cpu_s"] = round(max(0.0, (busy1 - busy0) - (own1 - own0)), 1)
        info["run_wall_s"] = round(time.monotonic() - _T0, 1)
    return info


_T0 = time.monotonic()


def pytest_benchmark_update_machine_info(config, machine_info):
    """What report.py prints above the table: data shape, threads, versions."""
    import fastjoin
    from fastjoin import _impl

    machine_info["fastjoin_bench"] = {
        "rows": config.getoption("--rows"),
        "threads": _threads(config),
        "thread_counts": list(_thread_counts(config)),
        "wide_rows": config.getoption("--wide-rows"),
        "cores_available": available_cores(),
        "cpu_model": cpu_model(),
        "core": _impl.NAME,
        **_contention(config.stash.get(_CPU_AT_START, None)),
        "versions": {
            name: _version(name) for name in ("fastjoin", "numpy", "xgboost", "pandas", "pyarrow", "polars")
        },
    }
    assert machine_info["fastjoin_bench"]["versions"]["fastjoin"] == fastjoin.__version__


# --------------------------------------------------------------------------- data generation

SEED = 20240601
CHUNK = 100_000
SIG_DIGITS = 4
VARIANT_NARROW = 1
VARIANT_TRAIN = 99
TRAIN_ROWS = 100_000
VARIANT_WIDE = 2  # wide_<W>.csv: id + WIDE_BLOCKS x 30 features, as make_data.py
VARIANT_TRAIN_WIDE = 98
WIDE_BLOCKS = 10
TRAIN_ROWS_WIDE = 50_000
MODEL_PARAMS = {"rounds": 100, "max_depth": 5, "eta": 0.2}
GENERATOR = 1  # bump when the generated bytes change, so cached files are regenerated
MANIFEST = "fastjoin-bench.json"


def data_dir() -> Path:
    return Path(os.environ.get("FASTJOIN_BENCH_DATA", "bench-data")).resolve()


def fit_distribution():
    """Class-conditional Gaussians in log space fitted to WDBC (bundled with scikit-learn, no
    download), with the real data's correlations. Returns (params, offsets, P(benign))."""
    try:
        from sklearn.datasets import load_breast_cancer
    except ImportError as exc:
        raise RuntimeError(
            "generating the benchmark data needs scikit-learn (pip install -e '.[bench]')"
        ) from exc
    b = load_breast_cancer()
    X = b.data.astype(np.float64)
    y = b.target.astype(np.int64)
    offs = np.zeros(X.shape[1])
    for j in range(X.shape[1]):  # the concavity columns hold exact zeros
        c = X[:, j]
        if (c == 0).any():
            offs[j] = c[c > 0].min() / 2.0
    L = np.log(X + offs)
    params = {}
    for cls in (0, 1):
        Lc = L[y == cls]
        cov = np.cov(Lc, rowvar=False) + np.eye(L.shape[1]) * 1e-6
        params[cls] = (Lc.mean(axis=0), np.linalg.cholesky(cov))
    return params, offs, float(y.mean())


def round_sig(x: np.ndarray, sig: int = SIG_DIGITS) -> np.ndarray:
    """Round positive values to ``sig`` significant digits, giving the double nearest the short
    decimal (so repr prints it short); values below 1e-4 become 0.0 (no exponent notation)."""
    out = np.zeros_like(x)
    nz = x > 0
    v = x[nz]
    d = sig - 1 - np.floor(np.log10(v)).astype(np.int64)
    r = np.empty_like(v)
    pos = d >= 0
    p10 = 10.0 ** np.abs(d)  # exact for |d| <= 22
    r[pos] = np.round(v[pos] * p10[pos]) / p10[pos]
    r[~pos] = np.round(v[~pos] / p10[~pos]) * p10[~pos]
    out[nz] = r
    out[out < 1e-4] = 0.0
    return out


def sample_block(rng, dist, n, label_noise=0.03, blocks=1):
    """(X float64 (n, 30 * blocks) rounded to 4 significant digits, y int (n,)): ``blocks``
    independent draws of the 30 features side by side (the wide data)."""
    params, offs, p_benign = dist
    y = (rng.random(n) < p_benign).astype(np.int64)
    cols = []
    for _ in range(blocks):
        Z = rng.standard_normal((n, offs.shape[0]))
        L = np.empty_like(Z)
        for cls in (0, 1):
            m = y == cls
            mu, chol = params[cls]
            L[m] = mu + Z[m] @ chol.T
        X = np.exp(L) - offs
        X[X < 0] = 0.0
        cols.append(round_sig(X))
    X = np.hstack(cols) if blocks > 1 else cols[0]
    flip = rng.random(n) < label_noise
    return X, np.where(flip, 1 - y, y)


def csv_text(ids: np.ndarray, X: np.ndarray) -> str:
    cols = [list(map(repr, X[:, j].tolist())) for j in range(X.shape[1])]
    return "\n".join(map(",".join, zip(map(str, ids.tolist()), *cols))) + "\n"


def _generate_rows(
    dist,
    rows: int,
    csv_path: Path,
    x_path: Path,
    ids_path: Path,
    say,
    *,
    variant: int = VARIANT_NARROW,
    blocks: int = 1,
) -> None:
    """Rows come in fixed chunks of 100,000, each from its own seeded generator, so the first
    k rows are the same for every --rows. ids: 10_000_000 + 10*i + r_i, r_i in [0, 10)."""
    X_all = np.empty((rows, 30 * blocks), dtype=np.float32)
    ids_all = np.empty(rows, dtype=np.int64)
    tmp = csv_path.with_suffix(".csv.tmp")
    nchunks = -(-rows // CHUNK)
    with open(tmp, "w", newline="\n") as f:
        for c in range(nchunks):
            rng = np.random.default_rng([SEED, variant, c])
            X, _ = sample_block(rng, dist, CHUNK, blocks=blocks)
            idx = np.arange(c * CHUNK, (c + 1) * CHUNK, dtype=np.int64)
            ids = 10_000_000 + 10 * idx + rng.integers(0, 10, CHUNK)
            take = min(CHUNK, rows - c * CHUNK)
            X, ids = X[:take], ids[:take]
            f.write(csv_text(ids, X))
            # float64 (the decimal's nearest double) -> float32: a correctly rounded parse
            X_all[c * CHUNK : c * CHUNK + take] = X.astype(np.float32)
            ids_all[c * CHUNK : c * CHUNK + take] = ids
            say(f"  {csv_path.name}: chunk {c + 1}/{nchunks}")
    np.save(x_path, X_all)
    np.save(ids_path, ids_all)
    os.replace(tmp, csv_path)


def _train_model(
    dist, path: Path, *, variant: int = VARIANT_TRAIN, blocks: int = 1, train_rows: int = TRAIN_ROWS
) -> dict:
    import xgboost as xgb

    rng = np.random.default_rng([SEED, variant, 0])
    X, y = sample_block(rng, dist, train_rows, blocks=blocks)
    dtrain = xgb.DMatrix(X.astype(np.float32), label=y, nthread=1)
    bst = xgb.train(
        {
            "objective": "binary:logistic",
            "max_depth": MODEL_PARAMS["max_depth"],
            "eta": MODEL_PARAMS["eta"],
            "tree_method": "hist",
            "seed": SEED,
            "nthread": 1,
            "eval_metric": "logloss",
        },
        dtrain,
        num_boost_round=MODEL_PARAMS["rounds"],
    )
    tmp = path.with_suffix(".tmp.json")
    bst.save_model(str(tmp))
    os.replace(tmp, path)
    rng2 = np.random.default_rng([SEED, variant, 1])
    Xt, yt = sample_block(rng2, dist, 20_000, blocks=blocks)
    acc = float(((bst.inplace_predict(Xt.astype(np.float32)) > 0.5) == yt).mean())
    return {"holdout_accuracy": round(acc, 4)}


@dataclass(frozen=True)
class Dataset:
    csv: Path
    model: Path
    rows: int
    bytes: int
    ids: np.ndarray  # int64 (rows,)
    X: np.ndarray  # float32 (rows, 30 or 300), C-contiguous: the parsed features

    def read(self) -> bytes:
        return self.csv.read_bytes()


def ensure_data(root: Path, rows: int, say=lambda s: None) -> Dataset:
    """Generate what is missing or stale under ``root``; return the data set."""
    import xgboost as xgb

    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    dist = None

    def sizes_ok(entry, names):
        return all((root / n).is_file() and (root / n).stat().st_size == entry["files"].get(n) for n in names)

    model_key = {
        "generator": GENERATOR,
        "seed": SEED,
        "train_rows": TRAIN_ROWS,
        "xgboost": xgb.__version__,
        **MODEL_PARAMS,
    }
    entry = manifest.get("model.json")
    if not entry or entry.get("key") != model_key or not sizes_ok(entry, ["model.json"]):
        t0 = time.perf_counter()
        say("fastjoin benchmarks: training model.json (100 rounds, depth 5, nthread 1)")
        dist = fit_distribution()
        info = _train_model(dist, root / "model.json")
        manifest["model.json"] = {
            "key": model_key,
            "info": info,
            "files": {"model.json": (root / "model.json").stat().st_size},
        }
        say(f"  done in {time.perf_counter() - t0:.1f} s ({info})")

    base = f"narrow_{rows}"
    names = [base + ".csv", base + ".f32.npy", base + ".ids.npy"]
    data_key = {"generator": GENERATOR, "seed": SEED, "chunk": CHUNK, "sig_digits": SIG_DIGITS, "rows": rows}
    entry = manifest.get(base)
    if not entry or entry.get("key") != data_key or not sizes_ok(entry, names):
        t0 = time.perf_counter()
        say(f"fastjoin benchmarks: generating {base}.csv in {root}")
        dist = dist or fit_distribution()
        _generate_rows(dist, rows, root / names[0], root / names[1], root / names[2], say)
        manifest[base] = {"key": data_key, "files": {n: (root / n).stat().st_size for n in names}}
        say(f"  done in {time.perf_counter() - t0:.1f} s")
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, manifest_path)

    X = np.load(root / names[1])
    ids = np.load(root / names[2])
    assert X.shape == (rows, 30) and X.dtype == np.float32 and X.flags.c_contiguous
    return Dataset(
        csv=root / names[0],
        model=root / "model.json",
        rows=rows,
        bytes=(root / names[0]).stat().st_size,
        ids=ids,
        X=X,
    )


def ensure_wide(root: Path, rows: int, say=lambda s: None) -> Dataset:
    """The wide data set, generated under ``root`` when missing or stale, byte for byte
    ``make_data.py``'s: ``wide_<W>.csv`` (the 8-digit id + 300 features: ten independent
    draws of the 30, same distribution), its parsed ``.npy`` files, and ``model_wide.json``
    (``binary:logistic``, 100 rounds, depth 5, eta 0.2, nthread 1, trained on 50,000 separate
    seeded rows)."""
    import xgboost as xgb

    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    dist = None

    def current(key, entry_key, names):
        entry = manifest.get(key)
        return (
            bool(entry)
            and entry.get("key") == entry_key
            and all(
                (root / n).is_file() and (root / n).stat().st_size == entry["files"].get(n) for n in names
            )
        )

    model_key = {
        "generator": GENERATOR,
        "seed": SEED,
        "train_rows": TRAIN_ROWS_WIDE,
        "blocks": WIDE_BLOCKS,
        "xgboost": xgb.__version__,
        **MODEL_PARAMS,
    }
    if not current("model_wide.json", model_key, ["model_wide.json"]):
        t0 = time.perf_counter()
        say("fastjoin benchmarks: training model_wide.json (300 features, 100 rounds, depth 5)")
        dist = fit_distribution()
        info = _train_model(
            dist,
            root / "model_wide.json",
            variant=VARIANT_TRAIN_WIDE,
            blocks=WIDE_BLOCKS,
            train_rows=TRAIN_ROWS_WIDE,
        )
        manifest["model_wide.json"] = {
            "key": model_key,
            "info": info,
            "files": {"model_wide.json": (root / "model_wide.json").stat().st_size},
        }
        say(f"  done in {time.perf_counter() - t0:.1f} s ({info})")

    base = f"wide_{rows}"
    names = [base + ".csv", base + ".f32.npy", base + ".ids.npy"]
    data_key = {
        "generator": GENERATOR,
        "seed": SEED,
        "chunk": CHUNK,
        "sig_digits": SIG_DIGITS,
        "rows": rows,
        "blocks": WIDE_BLOCKS,
    }
    if not current(base, data_key, names):
        t0 = time.perf_counter()
        say(f"fastjoin benchmarks: generating {base}.csv in {root}")
        dist = dist or fit_distribution()
        _generate_rows(
            dist,
            rows,
            root / names[0],
            root / names[1],
            root / names[2],
            say,
            variant=VARIANT_WIDE,
            blocks=WIDE_BLOCKS,
        )
        manifest[base] = {"key": data_key, "files": {n: (root / n).stat().st_size for n in names}}
        say(f"  done in {time.perf_counter() - t0:.1f} s")
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, manifest_path)

    X = np.load(root / names[1])
    ids = np.load(root / names[2])
    assert X.shape == (rows, 30 * WIDE_BLOCKS) and X.dtype == np.float32 and X.flags.c_contiguous
    return Dataset(
        csv=root / names[0],
        model=root / "model_wide.json",
        rows=rows,
        bytes=(root / names[0]).stat().st_size,
        ids=ids,
        X=X,
    )


# --------------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Settings:
    rows: int
    threads: int  # the largest of thread_counts
    thread_counts: tuple = ()
    wide_rows: int = 100_000


@pytest.fixture(scope="session")
def settings(pytestconfig) -> Settings:
    return Settings(
        rows=pytestconfig.getoption("--rows"),
        threads=_threads(pytestconfig),
        thread_counts=_thread_counts(pytestconfig),
        wide_rows=pytestconfig.getoption("--wide-rows"),
    )


def pytest_generate_tests(metafunc):
    """A benchmark taking ``nthreads`` runs once per ``--threads`` count (ids ``1t``, ``2t``)."""
    if "nthreads" in metafunc.fixturenames:
        counts = _thread_counts(metafunc.config)
        metafunc.parametrize("nthreads", counts, ids=[f"{n}t" for n in counts])


def threads_group(base: str, n: int) -> str:
    """The benchmark group of ``base`` at ``n`` threads: ``end-to-end, 2 threads``."""
    return f"{base}, {n} thread{'s' if n != 1 else ''}"


def _progress_printer(pytestconfig):
    """Print data-generation progress past pytest's output capture."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")

    def say(text):
        with capture.global_and_fixture_disabled():
            print(text, file=sys.stderr, flush=True)

    return say


def _load_booster(data: Dataset, threads: int):
    """The model as the peers load it: an xgboost.Booster on ``threads`` threads."""
    xgb = pytest.importorskip("xgboost")
    bst = xgb.Booster(model_file=str(data.model))
    bst.set_param({"nthread": threads})
    return bst


def _predictions(data: Dataset, bst) -> np.ndarray:
    """The float32 predictions every pipeline must produce, row for row."""
    pred = bst.inplace_predict(data.X)
    assert pred.dtype == np.float32 and pred.shape == (data.rows,)
    return pred


@pytest.fixture(scope="session")
def dataset(pytestconfig, settings) -> Dataset:
    return ensure_data(data_dir(), settings.rows, _progress_printer(pytestconfig))


@pytest.fixture(scope="session")
def booster(dataset, settings):
    return _load_booster(dataset, settings.threads)


@pytest.fixture(scope="session")
def expected(dataset, booster) -> np.ndarray:
    return _predictions(dataset, booster)


@pytest.fixture(scope="session")
def out_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bench-out")


# --------------------------------------------------------------------------- checks


def expected_output(dataset: Dataset, pred: np.ndarray) -> bytes:
    """The seed job's exact output: ``<id>,<repr(float(p))>`` per line, as SageMaker's
    container writes it. Built independently of fastjoin's core (plain Python)."""
    return (
        "\n".join(map("{},{!r}".format, dataset.ids.tolist(), pred.astype(np.float64).tolist())) + "\n"
    ).encode()


def parse_output(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """``id,prediction`` lines -> (int64 ids, float32 predictions); any other shape fails."""
    assert data.endswith(b"\n"), "output does not end with a newline"
    lines = data[:-1].split(b"\n")
    pairs = [line.split(b",") for line in lines]
    bad = [i for i, p in enumerate(pairs) if len(p) != 2]
    assert not bad, f"line {bad[0] + 1} is not 'id,prediction': {lines[bad[0]]!r}"
    id_text, pred_text = zip(*pairs)
    ids = np.array(id_text).astype(np.int64)
    # text -> nearest double -> float32: exact for repr(float(f32)) text, and for the
    # shortest float32 text the peers write
    pred = np.array(pred_text).astype(np.float64).astype(np.float32)
    return ids, pred


def value_check(dataset: Dataset, expected: np.ndarray):
    """``check(output_bytes)``: ids and float32 predictions equal the expected ones."""

    def check(data: bytes) -> None:
        ids, got = parse_output(data)
        assert len(ids) == dataset.rows, f"{len(ids)} output lines for {dataset.rows} rows"
        assert np.array_equal(ids, dataset.ids), "ids differ from the input's"
        diff = np.flatnonzero(got != expected)
        assert len(diff) == 0, (
            f"{len(diff)} predictions differ, first at row {diff[0]}: "
            f"{got[diff[0]]!r} vs {expected[diff[0]]!r}"
        )

    return check


@pytest.fixture(scope="session")
def check_values(dataset, expected):
    """``check_values(output_bytes)``: ids and float32 predictions equal the expected ones."""
    return value_check(dataset, expected)


@pytest.fixture(scope="session")
def expected_bytes(dataset, expected) -> bytes:
    return expected_output(dataset, expected)


@pytest.fixture
def run(benchmark, settings):
    """``run(fn, label=, kind=, rows=, nbytes=, rounds=5)``: time ``fn`` with pytest-benchmark
    (``rounds`` calls, one iteration each) and record what report.py reads in ``extra_info``:
    ``kind`` is ``fastjoin`` (the row a group's ratios refer to), ``peer``, ``variant`` or
    ``floor`` (predict-only, the end-to-end floor). Call ``fn`` once and check its result
    before: that call is also the warm-up."""

    def go(
        fn,
        *,
        label: str,
        kind: str,
        rows: int,
        nbytes: int,
        rounds: int = 5,
        threads: int | None = None,
        key: str | None = None,
        group: str | None = None,
    ):
        # threads: what this benchmark ran at (default the largest count); key: a stable name
        # report.py's targets look rows up by; group: replaces the module's benchmark group,
        # with the thread count added (``end-to-end, 2 threads``)
        threads = threads or settings.threads
        benchmark.extra_info.update(label=label, kind=kind, rows=rows, bytes=nbytes, threads=threads)
        if key:
            benchmark.extra_info["key"] = key
        if group:
            benchmark.group = threads_group(group, threads)
        result = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
        stats = getattr(getattr(benchmark, "stats", None), "stats", None)
        median = getattr(stats, "median", None)
        if median:  # absent under --benchmark-disable
            benchmark.extra_info["rows_per_s"] = rows / median
            benchmark.extra_info["MB_per_s"] = nbytes / median / 1e6
        return result

    return go


# --------------------------------------------------------------------------- wide data


@pytest.fixture(scope="session")
def wide(pytestconfig, settings) -> Dataset:
    """``wide_<W>.csv``: the 8-digit id + 300 features, ``--wide-rows`` rows, its own model."""
    return ensure_wide(data_dir(), settings.wide_rows, _progress_printer(pytestconfig))


@pytest.fixture(scope="session")
def wide_booster(wide, settings):
    return _load_booster(wide, settings.threads)


@pytest.fixture(scope="session")
def wide_expected(wide, wide_booster) -> np.ndarray:
    return _predictions(wide, wide_booster)


@pytest.fixture(scope="session")
def wide_expected_bytes(wide, wide_expected) -> bytes:
    return expected_output(wide, wide_expected)


@pytest.fixture(scope="session")
def wide_check_values(wide, wide_expected):
    return value_check(wide, wide_expected)


# --------------------------------------------------------------------------- other processes

PEER_POLARS = HERE / "peer_polars.py"


def thread_env(n: int) -> dict:
    """This process's environment with every thread-pool size set to ``n``."""
    return {**os.environ, **{key: str(n) for key in THREAD_ENV}}


def fastjoin_cli() -> list[str]:
    """The installed ``fastjoin`` script beside this interpreter (``python -m fastjoin`` if
    there is none)."""
    script = Path(sys.executable).with_name("fastjoin")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "fastjoin"]


@pytest.fixture(scope="session")
def subprocess_env():
    """``subprocess_env(n)``: the environment for a process at ``n`` threads."""
    return thread_env


@pytest.fixture(scope="session")
def fastjoin_cmd() -> list[str]:
    return fastjoin_cli()


@pytest.fixture(scope="session")
def polars_script() -> Path:
    pytest.importorskip("polars")
    return PEER_POLARS


@pytest.fixture
def polars_worker(polars_script):
    """``polars_worker(model, inp, outp, threads)``: a started :class:`PeerWorker`, closed when
    the test ends."""
    workers = []

    def start(model, inp, outp, threads):
        workers.append(PeerWorker(polars_script, model, inp, outp, threads))
        return workers[-1]

    yield start
    for w in workers:
        w.close()


class PeerWorker:
    """A peer pipeline in a process of its own (``peer_polars.py --serve``), at ``threads``
    threads: polars sizes its thread pool once, from POLARS_MAX_THREADS, when it is imported,
    so each thread count needs its own process. ``job()`` asks it to run the job once and
    waits for the answer; the round trip costs well under a millisecond, the job seconds."""

    def __init__(self, script: Path, model: Path, inp: Path, outp: Path, threads: int):
        import subprocess

        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(model),
                str(inp),
                str(outp),
                "--threads",
                str(threads),
                "--serve",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=thread_env(threads),
        )
        ready = self.proc.stdout.readline()
        if not ready.startswith("ready "):
            self.close()
            raise RuntimeError(
                f"{script.name} did not start (exit {self.proc.returncode}): {ready!r}; its stderr is above"
            )
        self.info = json.loads(ready[len("ready ") :])

    def job(self) -> int:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer.startswith("done "):
            raise RuntimeError(f"the peer process failed (answer {answer!r}); its stderr is above")
        return int(answer.split()[1])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------- JSON Lines data

JSONL_GENERATOR = 1  # bump when the JSON Lines bytes change


@dataclass(frozen=True)
class JsonlDataset:
    path: Path  # narrow_<N>.jsonl
    model: Path
    rows: int
    bytes: int
    ids: np.ndarray  # int64 (rows,)
    X: np.ndarray  # float32 (rows, 30): the parsed features, as for the CSV

    def read(self) -> bytes:
        return self.path.read_bytes()


def jsonl_from_csv(csv_path: Path, jsonl_path: Path) -> None:
    """Each row ``id,f1,...,f30`` of the narrow CSV as ``{"id":id,"features":[f1,...,f30]}``:
    the same number text (Python's repr of a float is a JSON number), compact, one per line."""
    tmp = jsonl_path.with_suffix(".jsonl.tmp")
    with open(csv_path, "rb") as src, open(tmp, "wb") as dst:
        for block in iter(lambda: src.readlines(1 << 24), []):
            dst.write(
                b"".join(
                    b'{"id":' + line.rstrip(b"\n").replace(b",", b',"features":[', 1) + b"]}\n"
                    for line in block
                )
            )
    os.replace(tmp, jsonl_path)


def ensure_jsonl(root: Path, dataset: Dataset, say=lambda s: None) -> JsonlDataset:
    """``narrow_<N>.jsonl`` beside the narrow CSV, made from it when missing or stale."""
    manifest_path = root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    path = dataset.csv.with_suffix(".jsonl")
    key = {"generator": JSONL_GENERATOR, "from": dataset.csv.name, "csv_bytes": dataset.bytes}
    entry = manifest.get(path.name)
    if (
        not entry
        or entry.get("key") != key
        or not path.is_file()
        or path.stat().st_size != entry["files"].get(path.name)
    ):
        t0 = time.perf_counter()
        say(f"fastjoin benchmarks: writing {path.name} from {dataset.csv.name}")
        jsonl_from_csv(dataset.csv, path)
        manifest[path.name] = {"key": key, "files": {path.name: path.stat().st_size}}
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(tmp, manifest_path)
        say(f"  done in {time.perf_counter() - t0:.1f} s")
    return JsonlDataset(
        path=path,
        model=dataset.model,
        rows=dataset.rows,
        bytes=path.stat().st_size,
        ids=dataset.ids,
        X=dataset.X,
    )


@pytest.fixture(scope="session")
def jsonl(pytestconfig, dataset) -> JsonlDataset:
    return ensure_jsonl(data_dir(), dataset, _progress_printer(pytestconfig))


def jsonl_expected_output(ds: JsonlDataset, pred: np.ndarray) -> bytes:
    """The JSON job's exact output: ``{"SageMakerOutput":<repr(float(p))>,"id":<id>}`` per
    line (keys sorted, compact, the container's prediction text). Plain Python."""
    return "".join(
        map('{{"SageMakerOutput":{!r},"id":{}}}\n'.format, pred.astype(np.float64).tolist(), ds.ids.tolist())
    ).encode()


@pytest.fixture(scope="session")
def jsonl_expected_bytes(jsonl, expected) -> bytes:
    return jsonl_expected_output(jsonl, expected)


@pytest.fixture(scope="session")
def jsonl_check_values(jsonl, expected):
    """``check(output_bytes)``: one JSON object per line holding exactly ``id`` and
    ``SageMakerOutput``; ids and float32 predictions equal the expected ones."""
    import orjson

    def check(data: bytes) -> None:
        assert data.endswith(b"\n"), "output does not end with a newline"
        records = [orjson.loads(line) for line in data[:-1].split(b"\n")]
        assert len(records) == jsonl.rows, f"{len(records)} output lines for {jsonl.rows} records"
        assert all(r.keys() == {"id", "SageMakerOutput"} for r in records), records[0]
        ids = np.array([r["id"] for r in records], dtype=np.int64)
        got = np.array([r["SageMakerOutput"] for r in records], dtype=np.float64).astype(np.float32)
        assert np.array_equal(ids, jsonl.ids), "ids differ from the input's"
        diff = np.flatnonzero(got != expected)
        assert len(diff) == 0, (
            f"{len(diff)} predictions differ, first at row {diff[0]}: "
            f"{got[diff[0]]!r} vs {expected[diff[0]]!r}"
        )

    return check


# --------------------------------------------------------------------------- job memory

MEMORY_CHILD = r"""
import json, sys, time
import fastjoin

model, inp, out, threads, spec = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

tf = fastjoin.Transformer(model, threads=threads, **spec)
loaded = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak (VmHWM) starts again from the current RSS
t0 = time.perf_counter()
result = tf.transform(inp, out)
seconds = time.perf_counter() - t0
result.raise_for_errors()
print(json.dumps({"rss_after_load": loaded, "peak": status("VmHWM"), "seconds": seconds,
                  "records": result.records}))
"""


def copies_of(path: Path, copies: int) -> Path:
    """``path`` itself, or ``copies`` copies of it end to end beside it
    (``narrow_1000000_x5.jsonl``), made once."""
    if copies == 1:
        return path
    dst = path.with_name(f"{path.stem}_x{copies}{path.suffix}")
    size = copies * path.stat().st_size
    if not dst.is_file() or dst.stat().st_size != size or dst.stat().st_mtime < path.stat().st_mtime:
        tmp = dst.with_name(dst.name + ".tmp")
        with open(tmp, "wb") as out:
            for _ in range(copies):
                with open(path, "rb") as f:
                    shutil.copyfileobj(f, out, 16 << 20)
        os.replace(tmp, dst)
    return dst


class JobMemory:
    """A job's own memory, each run in a fresh process at ``threads`` threads: RSS after the
    model is loaded (``VmRSS``), then ``/proc/self/clear_refs`` resets the peak, the job runs
    and the peak (``VmHWM``) is read. ``run()`` runs it once and keeps the sample."""

    def __init__(self, model: Path, inp: Path, target: Path, threads: int, spec: dict):
        self.inp, self.target = inp, target
        self.cmd = [sys.executable, "-c", MEMORY_CHILD, str(model), str(inp), str(target), str(threads)]
        self.cmd.append(json.dumps(spec))
        self.env = thread_env(threads)
        self.samples: list[dict] = []

    def run(self) -> dict:
        proc = subprocess.run(self.cmd, env=self.env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise AssertionError(f"the memory job exited {proc.returncode}:\n{proc.stderr[-4000:]}")
        self.samples.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        return self.samples[-1]

    def check_output(self, expected: bytes, copies: int) -> None:
        """The output is ``expected`` ``copies`` times, compared a MiB at a time (whole-copy
        reads would leave this process's allocator holding large freed blocks, which slows
        the benchmarks that run after it); then it is deleted."""
        out = self.target / (self.inp.name + ".out")
        assert out.stat().st_size == copies * len(expected)
        view, step = memoryview(expected), 1 << 20
        with open(out, "rb") as f:
            for _ in range(copies):
                for i in range(0, len(view), step):
                    assert f.read(len(view[i : i + step])) == view[i : i + step]
        out.unlink()

    def measure(
        self,
        run,
        benchmark,
        expected: bytes,
        copies: int,
        *,
        rows: int,
        nbytes: int,
        label: str,
        key: str,
        rounds: int,
    ) -> None:
        """Run once (its records and output checked), then as benchmark ``key`` of group
        ``memory``, the medians in its ``extra_info``. ``rows``, ``nbytes``: one copy's."""
        assert self.run()["records"] == copies * rows
        self.check_output(expected, copies)
        run(
            self.run,
            label=label + (f" ({copies} copies of the file)" if copies > 1 else ""),
            kind="memory",
            rows=copies * rows,
            nbytes=copies * nbytes,
            rounds=rounds,
            key=key,
            group="memory",
        )
        benchmark.extra_info.update(self.summary(skip=1), copies=copies)

    def summary(self, skip: int = 0) -> dict:
        """Medians of the samples after the first ``skip`` (all of them if there are no more,
        as under --benchmark-disable), for ``extra_info``; MB = 10^6 bytes."""
        timed = self.samples[skip:] or self.samples
        job_mb = [(s["peak"] - s["rss_after_load"]) / 1e6 for s in timed]
        return dict(
            job_MB=statistics.median(job_mb),
            job_MB_rounds=[round(x, 1) for x in job_mb],
            rss_after_load_MB=statistics.median(s["rss_after_load"] / 1e6 for s in timed),
            peak_MB=statistics.median(s["peak"] / 1e6 for s in timed),
            job_seconds=statistics.median(s["seconds"] for s in timed),
        )


@pytest.fixture(scope="session")
def compiled_core():
    """``fastjoin._impl`` for the benchmarks of the compiled core's own stages: they fail,
    not skip, when ``FASTJOIN_IMPL`` selects the reference (they would time something else)."""
    from fastjoin import _impl

    if _impl.NAME != "_core":
        pytest.fail(
            f"FASTJOIN_IMPL selects fastjoin.{_impl.NAME}: benchmark the compiled core", pytrace=False
        )
    return _impl


@pytest.fixture(scope="session")
def job_memory(settings):
    """``job_memory(model, inp, copies, target, spec)``: a :class:`JobMemory` for the
    ``Transformer(model, **spec)`` job on ``copies`` copies of ``inp`` at the largest
    ``--threads`` count."""

    def make(model: Path, inp: Path, copies: int, target: Path, spec: dict) -> JobMemory:
        return JobMemory(model, copies_of(inp, copies), target, settings.threads, spec)

    return make
