"""Wide data, where parsing dominates: the seed job on ``wide_<W>.csv`` (the 8-digit id + 300
features, ``--wide-rows`` rows, default 100,000: about the bytes of the 1M-row narrow file in a
tenth of the rows) with its own ``binary:logistic`` model (100 rounds, depth 5, eta 0.2), by
fastjoin and the peers at each ``--threads`` count (groups ``wide, N threads``).

Same rules as ``bench_end_to_end.py``: file to file, model loading outside the timing,
fastjoin's output checked byte for byte, the peers' by value; polars in a process of its own
per thread count.
"""

from __future__ import annotations

import numpy as np
import pytest
from bench_end_to_end import SEED_JOB, pandas_job, polars_peer, pyarrow_job

pytestmark = pytest.mark.benchmark(group="wide")

WIDE = "wide"
PEER_ROUNDS = 3  # pandas and pyarrow take seconds a round on 300 columns


def test_wide_fastjoin(run, wide, nthreads, wide_expected_bytes, out_dir):
    import fastjoin

    tf = fastjoin.Transformer(str(wide.model), threads=nthreads, **SEED_JOB)
    target = out_dir / f"wide-fastjoin-{nthreads}t"

    def job():
        result = tf.transform(str(wide.csv), str(target))
        result.raise_for_errors()
        return result

    assert job().records == wide.rows
    assert (target / (wide.csv.name + ".out")).read_bytes() == wide_expected_bytes
    run(
        job,
        label="fastjoin `Transformer.transform` (file → file)",
        kind="fastjoin",
        rows=wide.rows,
        nbytes=wide.bytes,
        threads=nthreads,
        key="fastjoin",
        group=WIDE,
    )


def test_wide_predict_only(run, wide, wide_booster, wide_expected, nthreads):
    wide_booster.set_param({"nthread": nthreads})
    assert np.array_equal(wide_booster.inplace_predict(wide.X), wide_expected)
    run(
        lambda: wide_booster.inplace_predict(wide.X),
        label="predict-only (`inplace_predict`, parsed float32)",
        kind="floor",
        rows=wide.rows,
        nbytes=wide.bytes,
        threads=nthreads,
        key="predict-only",
        group=WIDE,
    )


def test_wide_polars(run, wide, nthreads, wide_check_values, out_dir, polars_worker):
    polars_peer(
        run,
        wide,
        wide_check_values,
        out_dir / f"wide-polars-{nthreads}t.csv",
        polars_worker,
        nthreads,
        group=WIDE,
    )


def _peer(run, wide, check, out_path, job, label, threads, key):
    job(wide.csv, out_path)
    check(out_path.read_bytes())
    run(
        lambda: job(wide.csv, out_path),
        label=label,
        kind="peer",
        rows=wide.rows,
        nbytes=wide.bytes,
        threads=threads,
        key=key,
        group=WIDE,
        rounds=PEER_ROUNDS,
    )


def test_wide_pyarrow(run, wide, wide_booster, nthreads, wide_check_values, out_dir):
    _peer(
        run,
        wide,
        wide_check_values,
        out_dir / f"wide-pyarrow-{nthreads}t.csv",
        pyarrow_job(wide_booster, nthreads),
        "pyarrow `csv.read_csv` → `csv.write_csv`",
        nthreads,
        "pyarrow",
    )


def test_wide_pandas(run, wide, wide_booster, nthreads, wide_check_values, out_dir):
    _peer(
        run,
        wide,
        wide_check_values,
        out_dir / f"wide-pandas-{nthreads}t.csv",
        pandas_job(wide_booster, nthreads),
        "pandas `read_csv(engine='c')` → `to_csv`",
        nthreads,
        "pandas",
    )
