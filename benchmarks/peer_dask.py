#!/usr/bin/env python3
"""The Dask peer of the seed job, written as a user of ``dask.dataframe`` would write it.

    python benchmarks/peer_dask.py MODEL INPUT OUTPUT --workers N

``dask.dataframe.read_csv`` (the id first, no header) → ``map_partitions`` predicting each
partition with the XGBoost model (InputFilter ``$[1:]``) → ``to_csv(single_file=True)`` of
``<id>,<prediction>`` (JoinSource ``Input``, OutputFilter ``$[0,-1]``). The prediction is
written as the float32 widened to a double, which pandas writes as Python's repr: the
container's text, so the output is comparable byte for byte with fastjoin's.
"""

from __future__ import annotations

import argparse


def job(client, model: str, inp: str, outp: str, blocksize: str = "64MiB") -> None:
    """Run the seed job on ``client``'s cluster (the client is the default scheduler)."""
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    import xgboost as xgb

    with open(inp, "rb") as f:
        ncol = f.readline().count(b",") + 1
    dtypes = {0: "string", **{i: "float32" for i in range(1, ncol)}}
    df = dd.read_csv(inp, header=None, blocksize=blocksize, dtype=dtypes)
    booster = xgb.Booster(model_file=model)
    booster.set_param({"nthread": 1})

    def predict(part: pd.DataFrame, booster) -> pd.DataFrame:  # a closure: pickled by value
        p = booster.inplace_predict(part.iloc[:, 1:].to_numpy(np.float32))
        return pd.DataFrame({"id": part[0], "p": p.astype(np.float64)}, index=part.index)

    out = df.map_partitions(predict, booster, meta={"id": "string", "p": "float64"})
    out.to_csv(outp, single_file=True, header=False, index=False)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            job(client, args.model, args.input, args.output)


if __name__ == "__main__":
    main()
