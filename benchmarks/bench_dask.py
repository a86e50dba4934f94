"""Scale-out on Dask: the seed job on one big file, split into byte-range blocks across worker
processes, against the same job in one process and against the Dask peer a user would write.

The file is the benchmark data set repeated ``FASTJOIN_BENCH_DASK_REPEAT`` times (default 10:
2.2 GB at 1,000,000 rows), written once beside it (``narrow_<N>_x<K>.csv``, never committed).
Each run writes the whole ``.out``; every output is checked byte for byte against the
expected text (the peer's too: it writes the float32 prediction widened to a double, which
pandas writes as the container does).

* ``dask, 2 workers`` / ``dask, 1 worker``: ``Transformer.transform(client=)`` on a
  ``LocalCluster`` of spawned single-thread worker processes (64 MiB blocks);
* ``one process, N threads``: ``Transformer.transform`` with ``threads=N`` (N = the workers);
* ``dask.dataframe peer``: ``read_csv`` → ``map_partitions(predict)`` →
  ``to_csv(single_file=True)`` on the 2-worker cluster (``peer_dask.py``).

Targets (issue 14): 2 workers ≥ 1.7× 1 worker; 2 workers ≤ 1.15× one process on 2 threads;
≥ 3× the peer.
"""

from __future__ import annotations

import os
import shutil

import pytest

pytestmark = pytest.mark.benchmark(group="dask scale-out")

SEED_JOB = dict(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
BLOCK = 64 * 1024 * 1024
ROUNDS = 2


@pytest.fixture(scope="module")
def big(dataset):
    """The data set repeated K times, and K."""
    k = int(os.environ.get("FASTJOIN_BENCH_DASK_REPEAT", "10"))
    path = dataset.csv.with_name(f"{dataset.csv.stem}_x{k}.csv")
    if not path.exists() or path.stat().st_size != k * dataset.bytes:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as out:
            for _ in range(k):
                with open(dataset.csv, "rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
        os.replace(tmp, path)
    return path, k


@pytest.fixture(scope="module", params=[1, 2], ids=["1w", "2w"])
def cluster(request):
    from distributed import Client

    from fastjoin.runners.dask import local_cluster

    with local_cluster(request.param) as c, Client(c) as client:
        yield request.param, client


def _check(output, expected_bytes: bytes, k: int) -> None:
    size = len(expected_bytes)
    with open(output, "rb") as f:
        for _ in range(k):
            assert f.read(size) == expected_bytes
        assert f.read(1) == b""


def test_fastjoin_on_dask(run, dataset, big, cluster, expected_bytes, out_dir):
    import fastjoin

    path, k = big
    workers, client = cluster
    tf = fastjoin.Transformer(str(dataset.model), block_size=BLOCK, **SEED_JOB)
    target = out_dir / f"dask-{workers}w"

    def job():
        result = tf.transform(str(path), str(target), client=client)
        result.raise_for_errors()
        return result

    job()
    _check(target / (path.name + ".out"), expected_bytes, k)
    run(
        job,
        label=f"fastjoin on Dask, {workers} worker{'s' if workers > 1 else ''} x 1 thread",
        kind="fastjoin" if workers == 2 else "variant",
        rows=k * dataset.rows,
        nbytes=k * dataset.bytes,
        threads=workers,
        key=f"dask-{workers}w",
        rounds=ROUNDS,
    )


@pytest.mark.parametrize("threads", [1, 2])
def test_fastjoin_one_process(run, dataset, big, expected_bytes, out_dir, threads):
    import fastjoin

    path, k = big
    tf = fastjoin.Transformer(str(dataset.model), threads=threads, **SEED_JOB)
    target = out_dir / f"local-{threads}t"

    def job():
        tf.transform(str(path), str(target)).raise_for_errors()

    job()
    _check(target / (path.name + ".out"), expected_bytes, k)
    run(
        job,
        label=f"fastjoin in one process, {threads} thread{'s' if threads > 1 else ''}",
        kind="variant",
        rows=k * dataset.rows,
        nbytes=k * dataset.bytes,
        threads=threads,
        key=f"local-{threads}t",
        rounds=ROUNDS,
    )


def test_dask_dataframe_peer(run, dataset, big, expected_bytes, out_dir):
    from distributed import Client
    from peer_dask import job as peer_job

    from fastjoin.runners.dask import local_cluster

    path, k = big
    output = out_dir / "peer.csv"
    with local_cluster(2) as c, Client(c) as client:
        peer_job(client, str(dataset.model), str(path), str(output))
        _check(output, expected_bytes, k)
        run(
            lambda: peer_job(client, str(dataset.model), str(path), str(output)),
            label="dask.dataframe read_csv -> map_partitions(predict) -> to_csv(single_file=True), 2 workers x 1 thread",
            kind="peer",
            rows=k * dataset.rows,
            nbytes=k * dataset.bytes,
            threads=2,
            key="dask-dataframe",
            rounds=1,
        )
