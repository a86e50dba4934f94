"""The JSON Lines job end to end, by fastjoin and by the peers a user would otherwise write, in
the same session on the same data.

Data: ``narrow_<N>.jsonl``, the narrow CSV's rows as ``{"id":…,"features":[30 numbers]}`` (the
same number text; about 1.2× the CSV's bytes). The job (SageMaker Batch Transform, JSON Lines in
and out): InputFilter ``$.features``, predict with the XGBoost model, JoinSource ``Input``,
OutputFilter ``$['id','SageMakerOutput']``: one ``{"SageMakerOutput":<p>,"id":<id>}`` line per
record, keys sorted as SageMaker writes them, in order. Every pipeline reads the file and writes
its output file itself; model loading is outside the timing for all of them.

fastjoin writes predictions as SageMaker's container does (``0.9899773597717285``), checked
byte for byte; pandas writes 10 significant digits, polars float32's shortest text: both are
checked by value (same ids, float32-equal predictions). ``predict-only`` is ``inplace_predict``
on the already-parsed float32 matrix, the floor of any pipeline that uses XGBoost.

The named-keys variant (group ``json lines (named keys)``) is the same records written as
``{"f00":…,…,"f29":…,"id":…}`` (``keys_<N>.jsonl``, made beside the data from the same number
text), InputFilter ``$['f00',…,'f29']``.

fastjoin runs at each ``--threads`` count (``--threads 1,2``: group ``json lines, N threads``);
the peers and predict-only run at the largest: polars reads POLARS_MAX_THREADS (set by
conftest.py) when it is imported, and pandas parses on one thread.

Two more, for the compiled scan and the job's memory:

- **scan** (group ``stage: scan``): ``_core.scan_jsonl`` alone on the first 64 MiB of whole
  records of ``narrow_<N>.jsonl`` (the ``$.features`` query, every member kept), in batches of
  1,024 records, on one thread: its MB/s is per core. Checked bit for bit against the parsed
  features. Alone: ``pytest benchmarks/bench_jsonl.py --benchmark-only -k scan``.
- **memory** (group ``memory, N threads``, keys ``jsonl-memory-1x`` and ``-5x``): the JSON Lines
  job's peak RSS in a fresh process, on the file and on five copies of it end to end, as
  bench_process.py measures the CSV job's (conftest.py's ``job_memory``): ``-k jsonl_memory``.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest

pytestmark = pytest.mark.benchmark(group="json lines")

JSON_JOB = dict(
    content_type="application/jsonlines",
    input_filter="$.features",
    join_source="Input",
    output_filter="$['id','SageMakerOutput']",
)
GROUP = "json lines"
PEER_ROUNDS = 3


NAMES = [f"f{i:02d}" for i in range(30)]
KEYS_JOB = dict(JSON_JOB, input_filter="$[" + ",".join(f"'{n}'" for n in NAMES) + "]")
KEYS_GROUP = "json lines (named keys)"


def keys_from_jsonl(src, dst) -> None:
    """Each ``{"id":I,"features":[a,…]}`` line as ``{"f00":a,…,"f29":…,"id":I}`` (same text)."""
    tmp = dst.with_suffix(".tmp")
    with open(src, "rb") as f, open(tmp, "wb") as out:
        for block in iter(lambda: f.readlines(1 << 24), []):
            pieces = []
            for line in block:
                head, _, numbers = line.rstrip(b"\n").partition(b',"features":[')
                values = numbers[:-2].split(b",")
                pieces.append(
                    b"{"
                    + b",".join(b'"%s":%s' % (n.encode(), v) for n, v in zip(NAMES, values))
                    + b","
                    + head[1:]
                    + b"}\n"
                )
            out.write(b"".join(pieces))
    os.replace(tmp, dst)


@pytest.fixture(scope="session")
def keyed(jsonl):
    """The named-keys records beside the data (made once per data file)."""
    path = jsonl.path.with_name(f"keys_{jsonl.rows}.jsonl")
    if not path.is_file() or path.stat().st_mtime < jsonl.path.stat().st_mtime:
        keys_from_jsonl(jsonl.path, path)
    return replace(jsonl, path=path, bytes=path.stat().st_size)


def test_jsonl_fastjoin(run, jsonl, nthreads, jsonl_expected_bytes, out_dir):
    _fastjoin(run, jsonl, nthreads, jsonl_expected_bytes, out_dir, JSON_JOB, GROUP)


def test_jsonl_keys_fastjoin(run, keyed, nthreads, jsonl_expected_bytes, out_dir):
    _fastjoin(run, keyed, nthreads, jsonl_expected_bytes, out_dir, KEYS_JOB, KEYS_GROUP)


def _fastjoin(run, jsonl, nthreads, jsonl_expected_bytes, out_dir, spec, group):
    import fastjoin

    tf = fastjoin.Transformer(str(jsonl.model), threads=nthreads, **spec)
    target = out_dir / f"jsonl-fastjoin-{group}-{nthreads}t"

    def job():
        result = tf.transform(str(jsonl.path), str(target))
        result.raise_for_errors()
        return result

    assert job().records == jsonl.rows
    assert (target / (jsonl.path.name + ".out")).read_bytes() == jsonl_expected_bytes
    run(
        job,
        label="fastjoin `Transformer.transform` (file → file)",
        kind="fastjoin",
        rows=jsonl.rows,
        nbytes=jsonl.bytes,
        key="fastjoin",
        group=group,
        threads=nthreads,
    )


def test_jsonl_fastjoin_bytes(run, jsonl, settings, jsonl_expected_bytes):
    import fastjoin

    tf = fastjoin.Transformer(str(jsonl.model), threads=settings.threads, **JSON_JOB)
    data = jsonl.read()
    assert tf.transform_bytes(data) == jsonl_expected_bytes
    run(
        lambda: tf.transform_bytes(data),
        label="fastjoin `transform_bytes` (in memory, no I/O)",
        kind="variant",
        rows=jsonl.rows,
        nbytes=jsonl.bytes,
        key="transform_bytes",
        group=GROUP,
    )


def test_jsonl_predict_only(run, jsonl, booster, expected, settings):
    booster.set_param({"nthread": settings.threads})
    assert np.array_equal(booster.inplace_predict(jsonl.X), expected)
    run(
        lambda: booster.inplace_predict(jsonl.X),
        label="predict-only (`inplace_predict`, parsed float32)",
        kind="floor",
        rows=jsonl.rows,
        nbytes=jsonl.bytes,
        key="predict-only",
        group=GROUP,
    )


def _peer(run, jsonl, check, out_path, job, label, key, group=GROUP):
    job(jsonl.path, out_path)
    check(out_path.read_bytes())
    run(
        lambda: job(jsonl.path, out_path),
        label=label,
        kind="peer",
        rows=jsonl.rows,
        nbytes=jsonl.bytes,
        key=key,
        group=group,
        rounds=PEER_ROUNDS,
    )


def test_jsonl_pandas(run, jsonl, booster, settings, jsonl_check_values, out_dir):
    pd = pytest.importorskip("pandas")
    try:  # pandas >= 3.1 may use several threads unless told otherwise
        pd.set_option("mode.max_threads", settings.threads)
    except (KeyError, pd.errors.OptionError):
        pass
    booster.set_param({"nthread": settings.threads})

    def job(inp, outp):
        df = pd.read_json(inp, lines=True)
        X = np.array(df["features"].tolist(), dtype=np.float32)  # $.features
        pred = booster.inplace_predict(X)
        out = pd.DataFrame({"SageMakerOutput": pred, "id": df["id"]})  # Input, then
        out.to_json(outp, orient="records", lines=True)  # $['id',...]

    _peer(
        run,
        jsonl,
        jsonl_check_values,
        out_dir / "jsonl-pandas.jsonl",
        job,
        "pandas `read_json(lines=True)` → `to_json(lines=True)`",
        "pandas",
    )


def test_jsonl_polars(run, jsonl, booster, settings, jsonl_check_values, out_dir):
    pl = pytest.importorskip("polars")
    booster.set_param({"nthread": settings.threads})
    schema = {"id": pl.Int64, "features": pl.List(pl.Float64)}

    def job(inp, outp):
        df = pl.read_ndjson(inp, schema=schema)
        # float64 then float32: the correctly rounded parse, as fastjoin's
        X = df["features"].list.to_array(30).to_numpy().astype(np.float32)  # $.features
        pred = booster.inplace_predict(X)
        df.select(pl.Series("SageMakerOutput", pred), pl.col("id")).write_ndjson(outp)

    _peer(
        run,
        jsonl,
        jsonl_check_values,
        out_dir / "jsonl-polars.jsonl",
        job,
        "polars `read_ndjson` → `write_ndjson`",
        "polars",
    )


def test_jsonl_keys_pandas(run, keyed, booster, settings, jsonl_check_values, out_dir):
    pd = pytest.importorskip("pandas")
    booster.set_param({"nthread": settings.threads})

    def job(inp, outp):
        # in chunks: one DataFrame of 1M records of 31 keys takes several GB (a Python dict each)
        with open(outp, "w") as out:
            for df in pd.read_json(inp, lines=True, chunksize=100_000):
                X = df[NAMES].to_numpy(dtype=np.float32)  # $['f00',…]
                pred = booster.inplace_predict(X)
                frame = pd.DataFrame({"SageMakerOutput": pred, "id": df["id"]})
                out.write(frame.to_json(orient="records", lines=True))

    _peer(
        run,
        keyed,
        jsonl_check_values,
        out_dir / "jsonl-keys-pandas.jsonl",
        job,
        "pandas `read_json(lines=True, chunksize=100_000)` → `to_json(lines=True)`",
        "pandas",
        KEYS_GROUP,
    )


def test_jsonl_keys_polars(run, keyed, booster, settings, jsonl_check_values, out_dir):
    pl = pytest.importorskip("polars")
    booster.set_param({"nthread": settings.threads})
    schema = {**{n: pl.Float64 for n in NAMES}, "id": pl.Int64}

    def job(inp, outp):
        df = pl.read_ndjson(inp, schema=schema)
        X = df.select(NAMES).to_numpy(order="c").astype(np.float32)  # float64 then float32, as fastjoin
        pred = booster.inplace_predict(X)
        df.select(pl.Series("SageMakerOutput", pred), pl.col("id")).write_ndjson(outp)

    _peer(
        run,
        keyed,
        jsonl_check_values,
        out_dir / "jsonl-keys-polars.jsonl",
        job,
        "polars `read_ndjson` → `write_ndjson`",
        "polars",
        KEYS_GROUP,
    )


# --------------------------------------------------------------------------- the scan alone

SCAN = "stage: scan (JSON Lines `$.features`, one core)"
SCAN_BYTES = 64 << 20  # the first 64 MiB of whole records
SCAN_BATCH = 1024  # records per scan_jsonl call
SCAN_ROUNDS = 10


@pytest.mark.benchmark(group=SCAN)
def test_jsonl_scan(run, jsonl, benchmark, compiled_core):
    """The compiled scan on one thread, CPU-bound (the bytes in memory): validate each record,
    find its features and members, parse the features to float32. MB/s is per core."""
    from fastjoin.framing import line_spans

    _impl = compiled_core
    with open(jsonl.path, "rb") as f:
        head = f.read(SCAN_BYTES)
    buf = head[: head.rfind(b"\n") + 1]
    starts, ends = line_spans(buf, 0, len(buf))
    n = len(starts)
    X = np.empty((n, jsonl.X.shape[1]), dtype=np.float32)
    batches = [(a, min(a + SCAN_BATCH, n)) for a in range(0, n, SCAN_BATCH)]

    def scan():
        covered = 0
        for a, b in batches:
            covered += _impl.scan_jsonl(
                buf, starts[a:b], ends[a:b], (b"features",), True, None, b"SageMakerOutput", X[a:b]
            )[0]
        return covered

    assert scan() == n
    assert np.array_equal(X.view(np.uint32), jsonl.X[:n].view(np.uint32))
    benchmark.extra_info["batch"] = SCAN_BATCH
    run(
        scan,
        label=f"fastjoin `scan_jsonl` ({SCAN_BATCH:,} records a call)",
        kind="fastjoin",
        rows=n,
        nbytes=len(buf),
        rounds=SCAN_ROUNDS,
        threads=1,
        key="scan",
    )


# --------------------------------------------------------------------------- the job's memory

MEMORY_COPIES = 5
MEMORY_ROUNDS = 3


@pytest.mark.skipif(
    not os.path.exists("/proc/self/clear_refs"),
    reason="needs Linux's /proc/self/clear_refs to reset the peak RSS",
)
@pytest.mark.parametrize("copies", [1, MEMORY_COPIES], ids=["1x", f"{MEMORY_COPIES}x"])
def test_jsonl_memory(run, benchmark, jsonl, jsonl_expected_bytes, out_dir, job_memory, copies):
    """The JSON Lines job's own memory on the file and on five copies of it: flat when the
    job streams."""
    mem = job_memory(jsonl.model, jsonl.path, copies, out_dir / f"jsonl-memory-{copies}x", JSON_JOB)
    mem.measure(
        run,
        benchmark,
        jsonl_expected_bytes,
        copies,
        rows=jsonl.rows,
        nbytes=jsonl.bytes,
        label=f"JSON Lines job memory, {copies * jsonl.rows:,} records",
        key=f"jsonl-memory-{copies}x",
        rounds=MEMORY_ROUNDS,
    )
