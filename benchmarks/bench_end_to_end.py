"""The seed job end to end on the benchmark file, by fastjoin and by the peers a user would
otherwise write, in the same session on the same data.

The job (SageMaker Batch Transform, CSV in, CSV out): InputFilter ``$[1:]`` (drop the id),
predict with the XGBoost model, JoinSource ``Input``, OutputFilter ``$[0,-1]``: one
``<id>,<prediction>`` line per input line, in order. Every pipeline reads the CSV file and
writes its output file itself; model loading is outside the timing for all of them.

fastjoin writes predictions as SageMaker's container does (``repr(float(p))``:
``0.9899773597717285``); the peers write numpy's float32 text (``0.98997736``). fastjoin's
output is checked byte for byte; the peers' by value (same ids, float32-equal predictions).
``predict-only`` is ``inplace_predict`` on the already-parsed float32 matrix: the floor of
any pipeline that uses XGBoost. fastjoin runs its compiled tree predictor (``engine="auto"``,
bit-identical to ``inplace_predict``); ``fastjoin, engine='xgboost'`` is the same job on
libxgboost, and ``predict-only, compiled`` fastjoin's predictor alone on the parsed matrix.

fastjoin, predict-only, polars, pyarrow and pandas (C engine) run at each ``--threads`` count
(groups ``end-to-end, N threads``); the variants (``transform_bytes``, pandas' pyarrow engine,
numpy) at the largest only. Every library is held to the count: fastjoin ``threads=``, XGBoost
``nthread``, pyarrow ``set_cpu_count`` / ``set_io_thread_count``, pandas ``mode.max_threads``.
polars reads POLARS_MAX_THREADS once, when it is imported, so it runs in a process of its own
per thread count (``peer_polars.py --serve``), timed from here one job at a time.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

pytestmark = pytest.mark.benchmark(group="end-to-end")

SEED_JOB = dict(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
E2E = "end-to-end"


def _ncols(path) -> int:
    with open(path, "rb") as f:
        return f.readline().count(b",") + 1


# --------------------------------------------------------------------------- fastjoin


@pytest.mark.parametrize("engine", ["auto", "xgboost"])
def test_fastjoin_transform(run, dataset, nthreads, expected_bytes, out_dir, engine):
    import fastjoin

    tf = fastjoin.Transformer(str(dataset.model), threads=nthreads, engine=engine, **SEED_JOB)
    assert tf.model.engine == ("compiled" if engine == "auto" else engine)
    target = out_dir / f"fastjoin-{engine}-{nthreads}t"
    output = target / (dataset.csv.name + ".out")

    def job():
        result = tf.transform(str(dataset.csv), str(target))
        result.raise_for_errors()
        return result

    result = job()
    assert result.records == dataset.rows
    assert output.read_bytes() == expected_bytes
    if engine == "auto":
        run(
            job,
            label="fastjoin `Transformer.transform` (file → file)",
            kind="fastjoin",
            rows=dataset.rows,
            nbytes=dataset.bytes,
            threads=nthreads,
            key="fastjoin",
            group=E2E,
        )
    else:
        run(
            job,
            label="fastjoin, `engine='xgboost'` (libxgboost predicts)",
            kind="variant",
            rows=dataset.rows,
            nbytes=dataset.bytes,
            threads=nthreads,
            key="fastjoin-xgboost",
            group=E2E,
        )


def test_fastjoin_transform_bytes(run, dataset, settings, expected_bytes):
    import fastjoin

    tf = fastjoin.Transformer(str(dataset.model), threads=settings.threads, **SEED_JOB)
    data = dataset.read()
    assert tf.transform_bytes(data) == expected_bytes
    run(
        lambda: tf.transform_bytes(data),
        label="fastjoin `transform_bytes` (in memory, no I/O)",
        kind="variant",
        rows=dataset.rows,
        nbytes=dataset.bytes,
        key="transform_bytes",
        group=E2E,
    )


# --------------------------------------------------------------------------- predict-only


def test_predict_only(run, dataset, booster, expected, nthreads):
    booster.set_param({"nthread": nthreads})
    assert np.array_equal(booster.inplace_predict(dataset.X), expected)
    run(
        lambda: booster.inplace_predict(dataset.X),
        label="predict-only (`inplace_predict`, parsed float32)",
        kind="floor",
        rows=dataset.rows,
        nbytes=dataset.bytes,
        threads=nthreads,
        key="predict-only",
        group=E2E,
    )


def test_predict_only_compiled(run, dataset, expected, nthreads):
    from fastjoin.predictor import load_model

    model = load_model(str(dataset.model), nthread=nthreads, engine="compiled")
    X = np.ascontiguousarray(dataset.X)
    assert np.array_equal(model.predict(X), expected)
    # a variant, not the floor: the floor is XGBoost's, what any XGBoost pipeline needs
    run(
        lambda: model.predict(X),
        label="predict-only, compiled (fastjoin's tree predictor)",
        kind="variant",
        rows=dataset.rows,
        nbytes=dataset.bytes,
        threads=nthreads,
        key="predict-compiled",
        group=E2E,
    )


# --------------------------------------------------------------------------- peers


def _peer(run, dataset, check_values, out_path, job, label, threads=None, key=None, rounds=5):
    job(dataset.csv, out_path)
    check_values(out_path.read_bytes())
    run(
        lambda: job(dataset.csv, out_path),
        label=label,
        kind="peer",
        rows=dataset.rows,
        nbytes=dataset.bytes,
        threads=threads,
        key=key,
        group=E2E,
        rounds=rounds,
    )


def pandas_job(booster, threads: int, engine: str = "c"):
    """The pandas peer at ``threads`` threads: ``job(inp, outp)``."""
    pd = pytest.importorskip("pandas")
    if engine == "pyarrow":
        pa = pytest.importorskip("pyarrow")
        pa.set_cpu_count(threads)
        pa.set_io_thread_count(threads)
    try:  # pandas >= 3.1 parses on several threads unless told otherwise
        pd.set_option("mode.max_threads", threads)
    except (KeyError, pd.errors.OptionError):
        pass
    booster.set_param({"nthread": threads})

    def job(inp, outp):
        df = pd.read_csv(inp, header=None, engine=engine)
        pred = booster.inplace_predict(df.iloc[:, 1:])  # $[1:]
        joined = pd.concat([df, pd.Series(pred, name=df.shape[1])], axis=1)  # Input
        joined.iloc[:, [0, -1]].to_csv(outp, header=False, index=False)  # $[0,-1]

    return job


def test_pandas(run, dataset, booster, nthreads, check_values, out_dir):
    _peer(
        run,
        dataset,
        check_values,
        out_dir / f"pandas-c-{nthreads}t.csv",
        pandas_job(booster, nthreads),
        "pandas `read_csv(engine='c')` → `to_csv`",
        threads=nthreads,
        key="pandas",
    )


def test_pandas_pyarrow_engine(run, dataset, booster, settings, check_values, out_dir):
    _peer(
        run,
        dataset,
        check_values,
        out_dir / "pandas-pyarrow.csv",
        pandas_job(booster, settings.threads, "pyarrow"),
        "pandas `read_csv(engine='pyarrow')` → `to_csv`",
        key="pandas-pyarrow",
    )


def pyarrow_job(booster, threads: int):
    """The pyarrow peer at ``threads`` threads: ``job(inp, outp)``."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.csv as pacsv

    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)
    booster.set_param({"nthread": threads})

    def job(inp, outp):
        ncol = _ncols(inp)
        names = [f"c{i}" for i in range(ncol)]
        types = {"c0": pa.string(), **{n: pa.float32() for n in names[1:]}}  # id kept as text
        tbl = pacsv.read_csv(
            inp,
            read_options=pacsv.ReadOptions(column_names=names, use_threads=threads > 1),
            convert_options=pacsv.ConvertOptions(column_types=types),
        )
        # Fortran order: one contiguous copy per column; XGBoost reads it through strides
        X = np.empty((tbl.num_rows, ncol - 1), dtype=np.float32, order="F")
        for j in range(1, ncol):
            X[:, j - 1] = tbl.column(j).to_numpy()
        pred = booster.inplace_predict(X)
        out = pa.table({"id": tbl.column(0), "p": pa.array(pred)})
        pacsv.write_csv(
            out,
            outp,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=1 << 16),
        )

    return job


def test_pyarrow(run, dataset, booster, nthreads, check_values, out_dir):
    _peer(
        run,
        dataset,
        check_values,
        out_dir / f"pyarrow-{nthreads}t.csv",
        pyarrow_job(booster, nthreads),
        "pyarrow `csv.read_csv` → `csv.write_csv`",
        threads=nthreads,
        key="pyarrow",
    )


def polars_peer(run, ds, check, out_path, polars_worker, threads, *, rounds=5, group=E2E):
    """``peer_polars.py`` (the same job, as a user writes it) serving in its own process at
    ``threads`` threads: checked once, then timed one job at a time."""
    worker = polars_worker(ds.model, ds.csv, out_path, threads)
    assert worker.info["polars_threads"] == threads, worker.info
    assert worker.job() == ds.rows
    check(out_path.read_bytes())
    run(
        worker.job,
        label="polars `read_csv` → `write_csv` (own process)",
        kind="peer",
        rows=ds.rows,
        nbytes=ds.bytes,
        threads=threads,
        key="polars",
        group=group,
        rounds=rounds,
    )


def test_polars(run, dataset, nthreads, check_values, out_dir, polars_worker):
    polars_peer(run, dataset, check_values, out_dir / f"polars-{nthreads}t.csv", polars_worker, nthreads)


def test_numpy(run, dataset, booster, settings, check_values, out_dir):
    """Plain numpy, one core for parsing: ``np.loadtxt`` into a structured array (id kept as
    bytes, features float32), predict on the strided view, format with ``astype("S")``."""
    booster.set_param({"nthread": settings.threads})

    def job(inp, outp):
        ncol = _ncols(inp)
        dtype = np.dtype([("id", "S24"), ("f", "<f4", (ncol - 1,))])
        with open(inp, "rb") as f:
            a = np.loadtxt(io.BytesIO(f.read()), delimiter=",", dtype=dtype, comments=None, quotechar=None)
        pred = booster.inplace_predict(a["f"])
        add = np.strings.add
        lines = add(add(a["id"], b","), add(pred.astype("S"), b"\n"))
        with open(outp, "wb") as g:
            g.write(lines.tobytes().replace(b"\x00", b""))

    _peer(
        run,
        dataset,
        check_values,
        out_dir / "numpy.csv",
        job,
        "numpy `loadtxt` → `astype('S')` (1 core parses)",
        key="numpy",
    )


# --------------------------------------------------------------------------- where the time goes

STAGES = ("tokenize", "gather_float32", "predict", "format_floats", "splice")


@pytest.mark.benchmark(group="fastjoin stages in the pipeline")
def test_fastjoin_stage_times(run, dataset, settings, expected_bytes, monkeypatch, benchmark):
    """``transform_bytes`` with each core stage (and predict) timed where the pipeline calls
    it, on cold chunks in pipeline order: the seconds each took over the whole file, from the
    round with the median total. What is left of the total is Python between the stages."""
    import time

    import fastjoin
    from fastjoin import _impl

    tf = fastjoin.Transformer(str(dataset.model), threads=settings.threads, **SEED_JOB)
    spent = dict.fromkeys(STAGES, 0.0)

    def timed(name, fn):
        def call(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0

        return call

    for name in STAGES[:2] + STAGES[3:]:
        monkeypatch.setattr(_impl, name, timed(name, getattr(_impl, name)))
    monkeypatch.setattr(tf.model, "predict", timed("predict", tf.model.predict))
    data = dataset.read()
    rounds = []

    def job():
        for k in spent:
            spent[k] = 0.0
        t0 = time.perf_counter()
        out = tf.transform_bytes(data)
        rounds.append((time.perf_counter() - t0, dict(spent)))
        return out

    assert job() == expected_bytes
    rounds.clear()
    run(
        job,
        label="fastjoin `transform_bytes`, stages timed inside",
        kind="breakdown",
        rows=dataset.rows,
        nbytes=dataset.bytes,
    )
    total, stages = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
    benchmark.extra_info.update(stage_seconds=stages, total_seconds=total)
