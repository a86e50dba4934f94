"""Scale-out on Dask: objects cut into byte-range blocks, run on a real LocalCluster of spawned
worker processes (``dask_client``: 2 workers x 1 thread), give the bytes, the errors and the
dead letters of the single-process run."""

from __future__ import annotations

import functools
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import cli, optional_module, transform_request
from hypothesis import example, given, settings
from hypothesis import strategies as st
from s3fixtures import get, keys, put

import fastjoin
from fastjoin.errors import ConfigError, FastjoinError
from fastjoin.job import run_job
from fastjoin.runners import dask as fastjoin_dask
from fastjoin.runners.blocks import plan_blocks, run_block, run_blocks
from fastjoin.runners.local import LocalRunner
from fastjoin.storage import InputObject
from fastjoin.transformer import FileResult

xgb = optional_module("xgboost")

pytestmark = pytest.mark.requires_xgboost

JOB = dict(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(500, 3)).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(X, label=X[:, 0] > 0), 8)
    path = tmp_path_factory.mktemp("model") / "model.json"
    booster.save_model(path)
    return str(path)


def rows(
    rnd: random.Random, n: int, *, crlf: bool = False, final_newline: bool = True, bad: float = 0.0
) -> bytes:
    """``n`` records ``id,f1,f2,f3``; some blank lines, a share ``bad`` with a non-number."""
    out = []
    for i in range(n):
        x = [f"{rnd.uniform(-3, 3):.5f}" for _ in range(3)]
        if rnd.random() < bad:
            x[rnd.randrange(3)] = "oops"
        out.append(f"{i},{','.join(x)}" if rnd.random() > 0.03 else "")
    end = "\r\n" if crlf else "\n"
    return (end.join(out) + (end if final_newline else "")).encode()


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden temporaries included: there must be none)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def outcome(result) -> list:
    return [(f.output is not None, f.records, f.errors, f.blank_lines, str(f.error)) for f in result.files]


# --- planning: any block size gives the single-process run (local runner, no cluster) ------------

RECORDS = st.lists(
    st.one_of(
        st.integers(0, 999).map(lambda i: b"%d,1.5,-2,%d" % (i, i)),
        st.just(b""),  # blank
        st.just(b"7,1,x,2"),  # a bad feature
        st.just(b"8," + b"1" * 300 + b",2,3"),  # a record longer than most blocks
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(
    RECORDS,
    st.sampled_from([b"\n", b"\r\n"]),
    st.booleans(),
    st.integers(1, 400),
    st.sampled_from(["fail", "skip"]),
    st.booleans(),
    st.sampled_from([100 << 20, 40]),
)
@example([b"8," + b"1" * 300 + b",2,3", b"1,1,1,1"], b"\r\n", False, 3, "fail", True, 100 << 20)
@example([], b"\n", True, 1, "fail", True, 100 << 20)  # an empty object with a header: its error
@example([b"1,1,1,1", b"8," + b"1" * 300 + b",2,3"], b"\n", True, 20, "skip", False, 40)  # too long a line
def test_any_block_size_gives_the_single_process_bytes_errors_and_dead_letters(
    model, tmp_path_factory, records, newline, final, block_size, on_error, header, max_record
):
    body = newline.join(records) + (newline if final and records else b"")
    data = (b"id,a,b,c" + newline + body) if header and (records or final) else body
    folder = tmp_path_factory.mktemp("plan")
    path = folder / "in.csv"
    path.write_bytes(data)
    t = fastjoin.Transformer(
        model, **JOB, on_error=on_error, header=header, block_size=block_size, max_record_bytes=max_record
    )
    (expected,) = t.transform(path, folder / "out").files  # the single-process run of the file
    blocks = plan_blocks(t.pipeline, InputObject.of(path, "in.csv"))
    assert len(blocks) == (1 if len(data) <= block_size else -(-len(data) // block_size))
    stats, dead = FileResult(str(path), None), []
    try:
        results = LocalRunner(1).ordered(functools.partial(run_block, t.pipeline), blocks)
        got, error = b"".join(run_blocks(results, stats, None, dead.extend)), None
    except FastjoinError as exc:
        got, error = None, exc
    assert str(error) == str(expected.error) and type(error) is type(expected.error)
    if error is None:
        assert got == (folder / "out" / "in.csv.out").read_bytes()
        letters = folder / "out" / "in.csv.out.errors.jsonl"
        assert b"".join(d.to_json() for d in dead) == (letters.read_bytes() if letters.exists() else b"")
        assert (stats.records, stats.blank_lines, stats.bytes_in) == (
            expected.records,
            expected.blank_lines,
            len(data),
        )


def test_gzip_and_whole_json_objects_are_one_block(model, tmp_path):
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"1,1,1,1\n" * 1000))
    t = fastjoin.Transformer(model, block_size=10)
    (obj,) = fastjoin.storage.Storage().inputs(tmp_path / "a.csv.gz", compression="Gzip")
    assert [b.whole for b in plan_blocks(t.pipeline, obj)] == [True]
    (tmp_path / "b.json").write_bytes(b'{"features": [1, 2, 3]}' * 10)
    whole = fastjoin.Transformer(model, content_type="application/json", split_type="None", block_size=10)
    (obj,) = fastjoin.storage.Storage().inputs(tmp_path / "b.json")
    assert [b.whole for b in plan_blocks(whole.pipeline, obj)] == [True]


def test_without_dask_a_cluster_is_a_config_error_naming_the_extra(model, tmp_path, monkeypatch):
    monkeypatch.setattr(fastjoin_dask, "distributed", None)
    (tmp_path / "in.csv").write_bytes(b"1,1,1,1\n")
    t = fastjoin.Transformer(model)
    with pytest.raises(ConfigError, match=r'pip install "fastjoin\[dask\]"'):
        t.transform(tmp_path / "in.csv", tmp_path / "out", client=object())
    with pytest.raises(ConfigError, match=r"--workers needs dask.distributed.*fastjoin\[dask\]"):
        with fastjoin_dask.connect(workers=2):
            pass
    assert not (tmp_path / "out").exists()


# --- a real LocalCluster ----------------------------------------------------------------------


def inputs(folder: Path, seed: int) -> Path:
    """A folder of objects: a large one, CRLF without a final newline, an empty one, one with
    a bad record (fails with on_error fail, dead letters with skip), tiny ones."""
    rnd = random.Random(seed)
    folder.mkdir()
    (folder / "big.csv").write_bytes(rows(rnd, 3000))
    (folder / "crlf.csv").write_bytes(rows(rnd, 700, crlf=True, final_newline=False))
    (folder / "empty.csv").write_bytes(b"")
    (folder / "bad.csv").write_bytes(rows(rnd, 900, bad=0.01))
    for i in range(5):
        (folder / "small" / f"{i}.csv").parent.mkdir(exist_ok=True)
        (folder / "small" / f"{i}.csv").write_bytes(rows(rnd, rnd.randrange(1, 30)))
    return folder


@pytest.mark.parametrize("seed", range(4))
def test_cluster_output_is_byte_identical_for_random_block_sizes(model, dask_client, tmp_path, seed):
    rnd = random.Random(seed)
    src = inputs(tmp_path / "in", seed)
    options = dict(JOB, on_error=["fail", "skip"][seed % 2], block_size=rnd.randrange(200, 20000))
    t = fastjoin.Transformer(model, **options)
    local = t.transform(src, tmp_path / "local")
    dask = t.transform(src, tmp_path / "dask", client=dask_client)
    assert outcome(dask) == outcome(local)
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
    assert sum(f.blocks for f in dask.workers.values()) > len(local.files)  # the big objects were split
    assert [f.source for f in local.failed] == ([str(src / "bad.csv")] if seed % 2 == 0 else [])


@pytest.mark.parametrize("workers", [1, 3])
def test_any_worker_count_gives_the_single_process_bytes(model, tmp_path, workers):
    """A cluster of its own, of 1 and of 3 workers (the session's has 2)."""
    from distributed import Client

    src = inputs(tmp_path / "in", 10 + workers)
    block_size = random.Random(workers).randrange(300, 5000)
    t = fastjoin.Transformer(model, **JOB, on_error="skip", block_size=block_size)
    with fastjoin_dask.local_cluster(workers) as cluster, Client(cluster) as client:
        dask = t.transform(src, tmp_path / "dask", client=client)
    local = t.transform(src, tmp_path / "local")
    assert outcome(dask) == outcome(local)
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
    assert len(dask.workers) == workers


def test_header_is_read_once_and_handed_to_every_block(model, dask_client, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "h.csv").write_bytes(b"\xef\xbb\xbfid,a,b,c\n" + rows(random.Random(1), 2000))
    t = fastjoin.Transformer(
        model, input_filter="$['a','b','c']", join_source="Input", header=True, block_size=999
    )
    local = t.transform(src, tmp_path / "local")
    dask = t.transform(src, tmp_path / "dask", client=dask_client)
    assert local.ok and outcome(dask) == outcome(local)
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
    assert (tmp_path / "dask" / "h.csv.out").read_bytes().startswith(b"id,a,b,c,SageMakerOutput\n")


def test_gzip_inputs_on_the_cluster(model, dask_client, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        (src / f"{i}.csv.gz").write_bytes(gzip.compress(rows(random.Random(i), 500)))
    t = fastjoin.Transformer(model, **JOB, block_size=100)
    local = t.transform(src, tmp_path / "local", compression="Gzip")
    dask = t.transform(src, tmp_path / "dask", compression="Gzip", client=dask_client)
    assert local.ok and outcome(dask) == outcome(local)
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")


def test_a_worker_killed_mid_job_loses_and_repeats_no_line(model, dask_client, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "big.csv").write_bytes(rows(random.Random(5), 6000))
    t = fastjoin.Transformer(model, **JOB, block_size=2000)  # ~60 blocks, 4 in flight
    pids = dask_client.run(os.getpid)
    killed: list = []

    def kill_one_busy_worker(done: int, records: int) -> None:
        if killed:
            return
        busy = [w for w, tasks in dask_client.processing().items() if tasks and w in pids]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])

    dask = t.transform(src, tmp_path / "dask", client=dask_client, progress=kill_one_busy_worker)
    local = t.transform(src, tmp_path / "local")
    assert killed, "no worker was busy when the first block came back"
    assert dask.ok and outcome(dask) == outcome(local)
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
    dask_client.wait_for_workers(2)  # the nanny restarts it for the next test


def test_a_failing_block_fails_its_object_only_and_leaves_no_output(model, dask_client, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    good = rows(random.Random(2), 1000)
    lines = good.splitlines(keepends=True)
    lines[777] = b"777,1,x,2\n"
    (src / "a.csv").write_bytes(b"".join(lines))
    (src / "b.csv").write_bytes(good)
    t = fastjoin.Transformer(model, **JOB, block_size=500)
    dask = t.transform(src, tmp_path / "dask", client=dask_client)
    local = t.transform(src, tmp_path / "local")
    assert [f.ok for f in dask.files] == [False, True]
    assert str(dask.files[0].error) == str(local.files[0].error)
    assert ":778:" in str(dask.files[0].error)
    assert (
        tree(tmp_path / "dask")
        == tree(tmp_path / "local")
        == {"b.csv.out": tree(tmp_path / "local")["b.csv.out"]}
    )


def test_a_job_after_the_parent_predicted_does_not_deadlock(model, tmp_path):
    """The sequence that hangs under fork (xgboost#6617): OpenMP threads in the parent, then
    worker processes. The workers are spawned, so the job completes."""
    pytest.importorskip("distributed", reason='needs dask.distributed (pip install -e ".[test]")')
    (tmp_path / "in.csv").write_bytes(rows(random.Random(3), 3000))
    script = textwrap.dedent(
        f"""
        import fastjoin
        from distributed import Client
        from fastjoin.runners.dask import local_cluster

        if __name__ == "__main__":  # not again in the spawned workers
            t = fastjoin.Transformer({model!r}, **{JOB!r}, engine="xgboost", threads=2, block_size=5000)
            expected = t.transform_bytes(open({str(tmp_path / "in.csv")!r}, "rb").read())  # OpenMP threads now
            with local_cluster(2) as cluster, Client(cluster) as client:
                result = t.transform({str(tmp_path / "in.csv")!r}, {str(tmp_path / "out")!r}, client=client)
            result.raise_for_errors()
            assert open({str(tmp_path / "out" / "in.csv.out")!r}, "rb").read() == expected
            print("ok", sum(f.blocks for f in result.workers.values()))
        """
    )
    (tmp_path / "job.py").write_text(script)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "job.py")], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    blocks = -(-(tmp_path / "in.csv").stat().st_size // 5000)
    assert done.stdout.split() == ["ok", str(blocks)]


def test_many_small_objects_spread_across_the_workers(model, dask_client, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(24):
        (src / f"{i:02}.csv").write_bytes(rows(random.Random(i), 50))
    t = fastjoin.Transformer(model, **JOB)  # each object one block
    in_flight: list = []  # blocks submitted and not yet taken, as each object's output is taken
    dask = t.transform(
        src,
        tmp_path / "dask",
        client=dask_client,
        progress=lambda b, r: in_flight.append(len(dask_client.futures)),
    )
    local = t.transform(src, tmp_path / "local")
    assert outcome(dask) == outcome(local)
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
    assert sorted(w.blocks > 0 for w in dask.workers.values()) == [True, True]
    assert sum(w.blocks for w in dask.workers.values()) == 24
    assert max(in_flight) >= 3  # later objects' blocks were out while the first was written


def test_resume_skips_the_objects_already_written(model, dask_client, tmp_path):
    src = inputs(tmp_path / "in", 17)
    t = fastjoin.Transformer(model, **JOB, on_error="skip", block_size=700)
    first = t.transform(src, tmp_path / "out", client=dask_client)
    written = tree(tmp_path / "out")
    (tmp_path / "out" / "big.csv.out").unlink()
    (tmp_path / "out" / "small" / "3.csv.out").write_bytes(b"kept")
    again = t.transform(src, tmp_path / "out", client=dask_client, resume=True)
    assert [f.skipped for f in again.files] == [f.source not in (str(src / "big.csv"),) for f in first.files]
    assert tree(tmp_path / "out") == dict(written, **{"small/3.csv.out": b"kept"})


def test_a_container_model_runs_on_the_workers(dask_client, tmp_path):
    src = inputs(tmp_path / "in", 21)
    first_field = lambda body, content_type, accept: b"".join(  # noqa: E731  (a lambda: pickled by value)
        line.split(b",")[0] + b"\n" for line in body.splitlines()
    )
    t = fastjoin.Transformer(first_field, input_filter="$[1:]", join_source="Input", block_size=900)
    dask = t.transform(src, tmp_path / "dask", client=dask_client)
    local = t.transform(src, tmp_path / "local")
    assert outcome(dask) == outcome(local) and dask.ok
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")


def test_progress_across_the_cluster_reaches_the_job_size(model, dask_client, tmp_path):
    src = inputs(tmp_path / "in", 23)
    total = sum(p.stat().st_size for p in src.rglob("*.csv"))
    seen: list = []
    t = fastjoin.Transformer(model, **JOB, on_error="skip", block_size=800)
    result = t.transform(
        src, tmp_path / "dask", client=dask_client, progress=lambda b, r: seen.append((b, r))
    )
    assert len(seen) > sum(w.blocks for w in result.workers.values())  # each block, then each object
    assert seen == sorted(seen)  # bytes and rows only grow
    assert seen[-1] == (total, result.records)


# --- the front ends ---------------------------------------------------------------------------


def test_run_job_on_the_cluster_describes_each_worker(model, dask_client, tmp_path):
    src = inputs(tmp_path / "in", 9)
    request = transform_request(src, tmp_path / "dask", DataProcessing={"InputFilter": "$[1:]"})
    local = run_job(dict(request, TransformOutput={"S3OutputPath": str(tmp_path / "local")}), model=model)
    described = run_job(request, model=model, client=dask_client, block_size=1000)
    info = described["fastjoin"]
    assert described["TransformJobStatus"] == local["TransformJobStatus"] == "Failed"  # bad.csv
    assert described["FailureReason"] == local["FailureReason"]
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
    workers = info["workers"]
    assert len(workers) == 2 and all(w["blocks"] > 0 for w in workers)  # both took blocks
    assert sum(w["records"] for w in workers) >= info["records_out"]  # a failed object's too
    assert "workers" not in local["fastjoin"]


def test_cli_transform_and_run_job_with_a_local_cluster(model, tmp_path):
    pytest.importorskip("distributed", reason='needs dask.distributed (pip install -e ".[test]")')
    src = inputs(tmp_path / "in", 11)
    flags = ["--input-filter", "$[1:]", "--join-source", "Input", "--on-error", "skip"]
    done = cli("transform", "--model", model, "--input", src, "--output", tmp_path / "local", *flags)
    assert done.returncode == 0, done.stderr
    done = cli(
        "transform", "--model", model, "--input", src, "--output", tmp_path / "dask", *flags,
        "--workers", "2", "--block-size", "2KiB",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            transform_request(
                src,
                tmp_path / "job",
                TransformInput={"SplitType": "Line"},
                TransformOutput={"AssembleWith": "Line"},
                DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input"},
            )
        )
    )
    done = cli(
        "run-job",
        request,
        "--model",
        model,
        "--on-error",
        "skip",
        "--workers",
        "2",
        "--block-size",
        "2KiB",
        "--describe",
        "-",
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["fastjoin"]["workers"]) == 2
    assert tree(tmp_path / "job") == tree(tmp_path / "local")


def test_cli_cluster_flags_are_refused_clearly(model, tmp_path):
    (tmp_path / "in.csv").write_bytes(b"1,1,1,1\n")
    common = ("transform", "--model", model, "--input", tmp_path / "in.csv", "--output", tmp_path / "out")
    done = cli(*common, "--workers", "0")
    assert done.returncode == 2 and "--workers 0 must be at least 1" in done.stderr
    done = cli(*common, "--workers", "2", "--scheduler", "tcp://127.0.0.1:1")
    assert done.returncode == 2 and "not allowed with argument" in done.stderr
    assert not (tmp_path / "out").exists()


# --- S3 ---------------------------------------------------------------------------------------


def s3_tree(s3, bucket: str, prefix: str) -> dict[str, bytes]:
    return {key[len(prefix) :]: get(s3, bucket, key) for key in keys(s3, bucket, prefix)}


@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_s3_inputs_and_outputs_on_the_cluster_are_byte_identical(
    model, dask_client, s3_endpoint, s3, bucket, tmp_path, on_error
):
    src = inputs(tmp_path / "in", 13)
    for path in src.rglob("*.csv"):
        put(s3, bucket, "in/" + path.relative_to(src).as_posix(), path.read_bytes())
    t = fastjoin.Transformer(model, **JOB, on_error=on_error, block_size=1500)
    local = t.transform(f"s3://{bucket}/in/", f"s3://{bucket}/local/", s3=s3_endpoint)
    dask = t.transform(f"s3://{bucket}/in/", f"s3://{bucket}/dask/", s3=s3_endpoint, client=dask_client)
    assert outcome(dask) == outcome(local)
    assert s3_tree(s3, bucket, "dask/") == s3_tree(s3, bucket, "local/")
    assert len(s3_tree(s3, bucket, "dask/")) == (
        8 if on_error == "fail" else 10
    )  # bad.csv: none / dead letters
    assert sum(f.blocks for f in dask.workers.values()) > len(dask.files)
    uploads = s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert uploads == []  # none left open


def test_s3_block_outputs_of_a_part_or_more_are_uploaded_by_their_workers_in_order(
    model, dask_client, s3_endpoint, s3, bucket
):
    """Blocks whose output is at least S3's 5 MiB minimum part are uploaded as parts by the
    worker holding them, numbered by position; a smaller one is fetched and joined to the next
    part (moto refuses a part under 5 MiB that is not the last, as S3 does)."""
    rnd = random.Random(11)
    mib = 1 << 20

    def region(size: int, pad: int) -> bytes:
        # a long id is kept by the output filter: the output about as large as the input; a
        # padding column read by neither filter: an output far smaller than the input
        out, total = [], 0
        while total < size:
            line = f"{'7' * 80},{rnd.uniform(-3, 3):.3f},{rnd.uniform(-3, 3):.3f},1.5,{'p' * pad}\n".encode()
            out.append(line)
            total += len(line)
        return b"".join(out)

    data = region(12 * mib, 0) + region(12 * mib, 2000) + region(18 * mib, 0)
    put(s3, bucket, "in/big.csv", data)
    t = fastjoin.Transformer(
        model, input_filter="$[1:3]", join_source="Input", output_filter="$[0,-1]", block_size=6 * mib
    )
    local = t.transform(f"s3://{bucket}/in/", f"s3://{bucket}/local/", s3=s3_endpoint)
    dask = t.transform(f"s3://{bucket}/in/", f"s3://{bucket}/dask/", s3=s3_endpoint, client=dask_client)
    local.raise_for_errors()
    dask.raise_for_errors()
    assert get(s3, bucket, "dask/big.csv.out") == get(s3, bucket, "local/big.csv.out")
    # where each block's output ends in the object, from the blocks run here
    blocks = plan_blocks(
        t.pipeline, fastjoin.storage.S3Object(s3, bucket, "in/big.csv", "big.csv", len(data), "")
    )
    sizes = [len(run_block(t.pipeline, b).data) for b in blocks]
    ends = np.cumsum(sizes).tolist()
    parts, n, end = [], 1, 0
    while True:
        head = s3.client.head_object(Bucket=bucket, Key="dask/big.csv.out", PartNumber=n)
        end += head["ContentLength"]
        parts.append(end)
        if n == head["PartsCount"]:
            break
        n += 1
    assert set(parts) <= set(ends)  # every part is whole blocks' outputs, in order
    assert min(np.diff([0, *parts])[:-1]) >= 5 << 20
    # a block of 5 MiB or more starting a part is that part (uploaded by its worker): the small
    # ones (the padded lines) went with the next
    starts = {0, *parts}
    alone = [end for end, size in zip(ends, sizes) if size >= 5 << 20 and end - size in starts]
    assert set(alone) <= set(parts) and len(alone) >= 4
    assert min(sizes) < 5 << 20
    assert sum(f.blocks for f in dask.workers.values()) == len(blocks)
    assert s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_local_block_outputs_are_written_in_place_by_their_workers(model, dask_client, tmp_path, monkeypatch):
    """The driver never writes a block's output itself: each worker writes its block's bytes
    at their offset in the temporary file, which is renamed once all are written."""
    data = rows(random.Random(3), 4000)
    (tmp_path / "in.csv").write_bytes(data)
    t = fastjoin.Transformer(model, **JOB, block_size=len(data) // 9)
    written: list = []
    real_write = fastjoin.storage._OutputFile.write
    monkeypatch.setattr(
        fastjoin.storage._OutputFile, "write", lambda self, b: written.append(b) or real_write(self, b)
    )
    result = t.transform(tmp_path / "in.csv", tmp_path / "dask", client=dask_client)
    result.raise_for_errors()
    assert written == []
    assert sum(f.blocks for f in result.workers.values()) == 9
    monkeypatch.undo()
    assert tree(tmp_path / "dask") == {"in.csv.out": t.transform_bytes(data)}


def test_an_object_is_never_cut_into_more_blocks_than_an_upload_has_parts(model, tmp_path, monkeypatch):
    from fastjoin.runners import blocks as blocks_module

    monkeypatch.setattr(blocks_module, "MAX_BLOCKS", 4)
    data = rows(random.Random(4), 200)
    (tmp_path / "in.csv").write_bytes(data)
    t = fastjoin.Transformer(model, **JOB, block_size=10)
    planned = plan_blocks(t.pipeline, InputObject.of(tmp_path / "in.csv", "in.csv"))
    assert len(planned) == 4 and planned[0].start == 0 and planned[-1].stop == len(data)
    results = LocalRunner(1).ordered(functools.partial(run_block, t.pipeline), planned)
    assert b"".join(run_blocks(results, FileResult("in.csv", None))) == t.transform_bytes(data)


class _LostWrite:
    """A placed write whose worker lost the block for good (as a KilledWorker would say)."""

    def result(self):
        raise RuntimeError("the block was lost")

    def cancel(self) -> None:
        pass


class _Remote:
    def __init__(self, size: int):
        self.size = size

    def __len__(self) -> int:
        return self.size

    def put(self, target):
        return _LostWrite()


def test_a_placed_write_that_is_lost_fails_the_local_output_cleanly(tmp_path):
    from fastjoin.errors import StorageError
    from fastjoin.storage import atomic_output

    with pytest.raises(StorageError, match="a worker cannot write the output: the block was lost"):
        with atomic_output(tmp_path / "in.csv.out") as out:
            out.place(_Remote(3))
    assert list(tmp_path.iterdir()) == []  # no output, no temporary


def test_a_placed_part_that_is_lost_aborts_the_s3_upload(s3, bucket):
    from fastjoin.errors import StorageError
    from fastjoin.storage import S3Sink

    with pytest.raises(StorageError, match="a worker cannot upload its part: the block was lost"):
        with S3Sink(s3, bucket, "out/in.csv.out").open() as out:
            out.place(_Remote(6 << 20))
    assert keys(s3, bucket, "out/") == []
    assert s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def _worker_cache() -> tuple[int, int]:
    return len(fastjoin_dask._LOADED), len(fastjoin_dask._PAYLOADS)


def test_workers_keep_the_newest_two_models_and_no_payload_after_their_jobs(dask_client, tmp_path):
    """Each job's plugin is torn down when the job ends: its payload leaves the workers, and
    of the models loaded only the newest two stay (jobs in a loop do not reload theirs)."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    (tmp_path / "in.csv").write_bytes(rows(random.Random(2), 300))
    for rounds in (2, 3, 4, 5):
        booster = xgb.train(
            {"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(X, label=X[:, 1] > 0), rounds
        )
        booster.save_model(tmp_path / f"m{rounds}.json")
        t = fastjoin.Transformer(str(tmp_path / f"m{rounds}.json"), **JOB, block_size=2000)
        t.transform(tmp_path / "in.csv", tmp_path / f"out{rounds}", client=dask_client).raise_for_errors()
    for loaded, payloads in dask_client.run(_worker_cache).values():
        assert loaded <= 2 and payloads == 0


@pytest.mark.parametrize("kind", ["RecordIO", "TFRecord"])
def test_framed_objects_are_one_block_read_frame_by_frame(tmp_path, kind):
    """A binary-framed object is not cut at newline bytes: one block, read as frames."""
    from types import SimpleNamespace

    from fastjoin import frames
    from fastjoin.options import TransformOptions

    frame = frames.recordio_frame if kind == "RecordIO" else frames.tfrecord_frame
    data = b"".join(frame(bytes([10, i % 256]) * (i % 40 + 1)) for i in range(300))  # newlines inside
    path = tmp_path / "in.bin"
    path.write_bytes(data)
    options = TransformOptions(
        split_type=kind, content_type="application/x-recordio", block_size=500, chunk_size=700
    )
    (block,) = plan_blocks(SimpleNamespace(options=options), InputObject.of(path, "in.bin"))
    with open(path, "rb") as f:
        got = [bytes(p.buf[p.start : p.end]) for p in block.pieces(f, options)]
    with open(path, "rb") as f:
        assert got == [
            bytes(p.buf[p.start : p.end]) for p in frames.read_frames(f, 700, kind, 1 << 20, "in.bin")
        ]
    assert b"".join(got) == data and len(got) > 1
