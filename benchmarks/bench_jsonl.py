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

Everything runs once, at the largest ``--threads`` count (group ``json lines, N threads``):
polars reads POLARS_MAX_THREADS (set by conftest.py) when it is imported.
"""

from __future__ import annotations

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


def test_jsonl_fastjoin(run, jsonl, settings, jsonl_expected_bytes, out_dir):
    import fastjoin

    tf = fastjoin.Transformer(str(jsonl.model), threads=settings.threads, **JSON_JOB)
    target = out_dir / "jsonl-fastjoin"

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
        group=GROUP,
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


def _peer(run, jsonl, check, out_path, job, label, key):
    job(jsonl.path, out_path)
    check(out_path.read_bytes())
    run(
        lambda: job(jsonl.path, out_path),
        label=label,
        kind="peer",
        rows=jsonl.rows,
        nbytes=jsonl.bytes,
        key=key,
        group=GROUP,
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
