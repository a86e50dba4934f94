#!/usr/bin/env python3
"""The polars peer of the seed job, written as a user would write it, in its own process.

    POLARS_MAX_THREADS=N OMP_NUM_THREADS=N python benchmarks/peer_polars.py MODEL INPUT OUTPUT --threads N

reads INPUT (CSV, the id first, no header), predicts with the XGBoost model (InputFilter
``$[1:]``), writes ``<id>,<prediction>`` lines to OUTPUT (JoinSource ``Input``, OutputFilter
``$[0,-1]``) and exits. The whole-process benchmark times all of it: interpreter start,
``import polars, xgboost`` (which imports scikit-learn and scipy when they are installed),
model load, the job.

``--serve`` loads everything once, prints ``ready <json>`` (the thread pool polars got), then
runs the job once for each ``run`` line on stdin and answers ``done``. The job-time benchmarks
drive it at each thread count: polars sizes its thread pool once, from POLARS_MAX_THREADS,
when it is imported, so one process cannot run it at two thread counts.
"""

import argparse
import json
import sys

import polars as pl
import xgboost as xgb


def job(booster, inp, outp):
    with open(inp, "rb") as f:
        ncol = f.readline().count(b",") + 1
    schema = {"c0": pl.String, **{f"c{i}": pl.Float32 for i in range(1, ncol)}}
    df = pl.read_csv(inp, has_header=False, schema=schema)
    X = df.select(pl.exclude("c0")).to_numpy(order="c")  # $[1:]
    pred = booster.inplace_predict(X)
    df.select(pl.col("c0"), pl.Series("p", pred)).write_csv(  # Input, $[0,-1]
        outp, include_header=False, quote_style="never"
    )
    return df.height


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--threads", type=int, required=True, help="XGBoost nthread")
    ap.add_argument("--serve", action="store_true", help="run the job once per 'run' line on stdin")
    args = ap.parse_args(argv)
    booster = xgb.Booster(model_file=args.model)
    booster.set_param({"nthread": args.threads})
    if not args.serve:
        job(booster, args.input, args.output)
        return 0
    print(
        "ready "
        + json.dumps(
            {"polars_threads": pl.thread_pool_size(), "polars": pl.__version__, "xgboost": xgb.__version__}
        ),
        flush=True,
    )
    for line in sys.stdin:
        if line.strip() != "run":
            break
        rows = job(booster, args.input, args.output)
        print(f"done {rows}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
