"""The pipeline's stages one by one, on one chunk of the benchmark file: the first
``Transformer``'s ``DEFAULT_CHUNK_SIZE`` (4 MiB, ~24k rows) of whole lines, which is exactly
what :func:`fastjoin.records.csv.process_chunk` gets per call. Each stage checks its result
once; where a peer does the same step, it runs in the same group on the same bytes.

rows/s and MB/s are per input row and input byte of the chunk in every group, so a stage's
share of the end-to-end time is (stage rows/s) / (end-to-end rows/s) inverted.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pytest

from fastjoin import _impl

ROUNDS = 30  # the fastjoin stages take milliseconds per chunk
PEER_ROUNDS = 10  # parsers that take tens to hundreds of milliseconds
WIDTH = 31  # id + 30 features
FEATURES = np.arange(1, WIDTH, dtype=np.int64)  # InputFilter $[1:]
SELECT = np.array([0, WIDTH], dtype=np.int64)  # OutputFilter $[0,-1] of the joined record


@dataclass(frozen=True)
class Chunk:
    buf: bytes
    rows: int
    X: np.ndarray  # float32 (rows, 30): the expected parse
    ids: np.ndarray
    pred: np.ndarray  # float32 (rows,): the expected predictions

    @property
    def nbytes(self) -> int:
        return len(self.buf)


@pytest.fixture(scope="module")
def chunk(dataset, expected, compiled_core) -> Chunk:
    from fastjoin.options import DEFAULT_CHUNK_SIZE

    with open(dataset.csv, "rb") as f:
        head = f.read(DEFAULT_CHUNK_SIZE)
    buf = head[: head.rfind(b"\n") + 1]
    n = buf.count(b"\n")
    return Chunk(buf, n, dataset.X[:n], dataset.ids[:n], expected[:n])


@pytest.fixture(scope="module")
def tokens(chunk):
    fields, rows, blank, status, err = _impl.tokenize(chunk.buf, 0, chunk.nbytes, True)
    assert status == _impl.OK
    return fields, rows


@pytest.fixture(scope="module")
def pred_text(chunk):
    return _impl.format_floats(chunk.pred)


def _expected_lines(chunk: Chunk) -> bytes:
    return (
        "\n".join(map("{},{!r}".format, chunk.ids.tolist(), chunk.pred.astype(np.float64).tolist())) + "\n"
    ).encode()


# --------------------------------------------------------------------------- tokenize


@pytest.mark.benchmark(group="stage: tokenize")
def test_tokenize(run, chunk):
    fields, rows, blank, status, err = _impl.tokenize(chunk.buf, 0, chunk.nbytes, True)
    # the data has no quotes: every ',' or '\n' ends a field
    a = np.frombuffer(chunk.buf, dtype=np.uint8)
    ends = np.flatnonzero((a == ord(",")) | (a == ord("\n")))
    starts = np.concatenate([[0], ends[:-1] + 1])
    assert (status, err, blank) == (_impl.OK, -1, 0)
    assert np.array_equal(fields, np.stack([starts, ends - starts], axis=1))
    assert np.array_equal(rows, np.arange(0, WIDTH * chunk.rows + 1, WIDTH))
    run(
        lambda: _impl.tokenize(chunk.buf, 0, chunk.nbytes, True),
        label="fastjoin `tokenize`",
        kind="fastjoin",
        rows=chunk.rows,
        nbytes=chunk.nbytes,
        rounds=ROUNDS,
    )


# --------------------------------------------------------------------------- gather


@pytest.mark.benchmark(group="stage: gather (parse selected fields)")
def test_gather_float32(run, chunk, tokens, benchmark):
    """One thread parses the 30 feature fields of every row. ``feature_MB_per_s`` counts
    the text of those fields only (no id, no separators): issue 3's number-parsing rate."""
    fields, rows = tokens
    out = np.empty((chunk.rows, len(FEATURES)), dtype=np.float32)

    def gather():
        return _impl.gather_float32(chunk.buf, fields, rows, 0, chunk.rows, FEATURES, out)

    assert gather() == (_impl.OK, -1, -1)
    assert np.array_equal(out, chunk.X)
    starts = np.asarray(rows[:-1])
    feature_bytes = int(np.asarray(fields)[(starts[:, None] + FEATURES).ravel(), 1].sum())
    benchmark.extra_info["feature_bytes"] = feature_bytes
    run(
        gather,
        label="fastjoin `gather_float32` (30 of 31 fields)",
        kind="fastjoin",
        rows=chunk.rows,
        nbytes=chunk.nbytes,
        rounds=ROUNDS,
        key="gather",
    )
    median = getattr(getattr(getattr(benchmark, "stats", None), "stats", None), "median", None)
    if median:
        benchmark.extra_info["feature_MB_per_s"] = feature_bytes / median / 1e6


# --------------------------------------------------------------------------- parse = tokenize + gather, beside the peers' CSV readers

PARSE = "stage: parse (bytes → float32 features)"


@pytest.mark.benchmark(group=PARSE)
def test_parse_fastjoin(run, chunk):
    def parse():
        fields, rows, _, status, _ = _impl.tokenize(chunk.buf, 0, chunk.nbytes, True)
        X = np.empty((len(rows) - 1, len(FEATURES)), dtype=np.float32)
        _impl.gather_float32(chunk.buf, fields, rows, 0, len(rows) - 1, FEATURES, X)
        return X

    assert np.array_equal(parse(), chunk.X)
    run(
        parse,
        label="fastjoin `tokenize` + `gather_float32`",
        kind="fastjoin",
        rows=chunk.rows,
        nbytes=chunk.nbytes,
        rounds=ROUNDS,
    )


def _parse_peer(run, chunk, parse, label):
    X = parse()
    assert X.shape == chunk.X.shape
    assert np.array_equal(X, chunk.X), f"{int((X != chunk.X).sum())} values differ"
    run(parse, label=label, kind="peer", rows=chunk.rows, nbytes=chunk.nbytes, rounds=PEER_ROUNDS)


@pytest.mark.benchmark(group=PARSE)
def test_parse_pandas(run, chunk, settings):
    pd = pytest.importorskip("pandas")
    try:
        pd.set_option("mode.max_threads", settings.threads)
    except (KeyError, pd.errors.OptionError):
        pass
    dtype = {0: "int64", **{j: "float32" for j in range(1, WIDTH)}}

    def parse():
        df = pd.read_csv(io.BytesIO(chunk.buf), header=None, dtype=dtype)
        return df.iloc[:, 1:].to_numpy(dtype=np.float32)

    _parse_peer(run, chunk, parse, "pandas `read_csv` (float32 columns)")


@pytest.mark.benchmark(group=PARSE)
def test_parse_pyarrow(run, chunk, settings):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.csv as pacsv

    pa.set_cpu_count(settings.threads)
    names = [f"c{i}" for i in range(WIDTH)]
    types = {"c0": pa.string(), **{n: pa.float32() for n in names[1:]}}

    def parse():
        tbl = pacsv.read_csv(
            io.BytesIO(chunk.buf),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=settings.threads > 1),
            convert_options=pacsv.ConvertOptions(column_types=types),
        )
        X = np.empty((tbl.num_rows, WIDTH - 1), dtype=np.float32)
        for j in range(1, WIDTH):
            X[:, j - 1] = tbl.column(j).to_numpy()
        return X

    _parse_peer(run, chunk, parse, "pyarrow `csv.read_csv` (float32 columns)")


@pytest.mark.benchmark(group=PARSE)
def test_parse_polars(run, chunk):
    pl = pytest.importorskip("polars")
    schema = {"c0": pl.String, **{f"c{i}": pl.Float32 for i in range(1, WIDTH)}}

    def parse():
        df = pl.read_csv(chunk.buf, has_header=False, schema=schema)
        return df.select(pl.exclude("c0")).to_numpy(order="c")

    _parse_peer(run, chunk, parse, "polars `read_csv` (Float32 columns)")


@pytest.mark.benchmark(group=PARSE)
def test_parse_numpy(run, chunk):
    dtype = np.dtype([("id", "S24"), ("f", "<f4", (WIDTH - 1,))])

    def parse():
        a = np.loadtxt(io.BytesIO(chunk.buf), delimiter=",", dtype=dtype, comments=None, quotechar=None)
        return np.ascontiguousarray(a["f"])

    _parse_peer(run, chunk, parse, "numpy `loadtxt` (structured, float32)")


# --------------------------------------------------------------------------- predict


@pytest.mark.benchmark(group="stage: predict")
@pytest.mark.parametrize("missing", [0.0, 0.02], ids=["dense", "2% missing"])
@pytest.mark.parametrize("engine", ["compiled", "xgboost"])
def test_predict(run, chunk, dataset, engine, missing):
    """One chunk on one thread, as each pipeline worker predicts; with 2% of the values
    missing (NaN) too, so that nearly every block of 64 rows holds a NaN."""
    from fastjoin.predictor import load_model

    model = load_model(str(dataset.model), nthread=1, engine=engine)
    X = np.ascontiguousarray(chunk.X)
    expected = chunk.pred
    if missing:
        X = X.copy()
        X[np.random.default_rng(0).random(X.shape) < missing] = np.nan
        expected = load_model(str(dataset.model), nthread=1, engine="xgboost").predict(X)
    assert np.array_equal(model.predict(X), expected)
    label = (
        "fastjoin's compiled tree predictor"
        if engine == "compiled"
        else "libxgboost `XGBoosterPredictFromDense` (`inplace_predict`)"
    )
    where = ", 2% missing" if missing else ""
    run(
        lambda: model.predict(X),
        label=f"{label}, one chunk{where}, 1 thread",
        kind="fastjoin" if engine == "compiled" and not missing else "variant" if missing else "peer",
        rows=chunk.rows,
        nbytes=chunk.nbytes,
        rounds=ROUNDS,
        key=engine + ("-missing" if missing else ""),
    )


# --------------------------------------------------------------------------- format


FORMAT = "stage: format predictions"


@pytest.mark.benchmark(group=FORMAT)
def test_format_floats(run, chunk):
    text, spans = _impl.format_floats(chunk.pred)
    reprs = [repr(v) for v in chunk.pred.astype(np.float64).tolist()]
    assert text == "".join(reprs).encode()
    lengths = np.array([len(r) for r in reprs], dtype=np.int64)
    assert np.array_equal(spans[:, 1], lengths)
    assert np.array_equal(spans[:, 0], np.concatenate([[0], np.cumsum(lengths)[:-1]]))
    run(
        lambda: _impl.format_floats(chunk.pred),
        label="fastjoin `format_floats` (repr of float)",
        kind="fastjoin",
        rows=chunk.rows,
        nbytes=chunk.nbytes,
        rounds=ROUNDS,
        key="format",
    )


@pytest.mark.benchmark(group=FORMAT)
def test_format_python_repr(run, chunk):
    """The same text in plain Python."""

    def fmt():
        return "".join(map(repr, chunk.pred.astype(np.float64).tolist())).encode()

    assert fmt() == _impl.format_floats(chunk.pred)[0]
    run(
        fmt,
        label="Python `map(repr, p.tolist())` (same text)",
        kind="peer",
        rows=chunk.rows,
        nbytes=chunk.nbytes,
        rounds=ROUNDS,
    )


@pytest.mark.benchmark(group=FORMAT)
def test_format_numpy(run, chunk):
    """numpy's float32 text (shorter: ``0.98997736``), what the peers write."""

    def fmt():
        return chunk.pred.astype("S")

    assert np.array_equal(fmt().astype(np.float32), chunk.pred)
    run(
        fmt,
        label="numpy `astype('S')` (float32 text)",
        kind="peer",
        rows=chunk.rows,
        nbytes=chunk.nbytes,
        rounds=ROUNDS,
    )


# --------------------------------------------------------------------------- splice


SPLICE = "stage: splice (join + output filter)"


@pytest.mark.benchmark(group=SPLICE)
def test_splice(run, chunk, tokens, pred_text):
    fields, rows = tokens
    text, spans = pred_text
    pred_rows = np.arange(chunk.rows + 1, dtype=np.int64)

    def splice():
        return _impl.splice(
            chunk.buf, fields, rows, text, spans, pred_rows, 0, chunk.rows, SELECT, WIDTH, b"\n"
        )

    assert splice() == _expected_lines(chunk)
    run(
        splice,
        label="fastjoin `splice`",
        kind="fastjoin",
        rows=chunk.rows,
        nbytes=chunk.nbytes,
        rounds=ROUNDS,
    )


@pytest.mark.benchmark(group=SPLICE)
def test_splice_python(run, chunk, pred_text):
    """The same bytes in plain Python: split lines, keep the id, append the prediction."""
    text, spans = pred_text
    preds = [text[o : o + n] for o, n in spans.tolist()]

    def splice():
        ids = [line[: line.index(b",")] for line in chunk.buf.splitlines()]
        return b"".join(i + b"," + p + b"\n" for i, p in zip(ids, preds))

    assert splice() == _expected_lines(chunk)
    run(
        splice,
        label="Python `splitlines` + `join` (same bytes)",
        kind="peer",
        rows=chunk.rows,
        nbytes=chunk.nbytes,
        rounds=ROUNDS,
    )
