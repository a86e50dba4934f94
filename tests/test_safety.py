"""Hardening: what an attacker or a careless user can do with names, sizes, signals and files
that change underneath a job. Every output lands inside its output location, nothing partial
appears under a final name, and each failure names the object and the cause."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import cli
from s3fixtures import keys, put

from fastjoin import Transformer, run_job
from fastjoin.errors import InputError, StorageError
from fastjoin.framing import read_chunks
from fastjoin.storage import list_inputs, safe_relative


def echo(body: bytes, content_type: str, accept: str) -> bytes:
    """A container that answers 1 for every record."""
    return b"".join(b"1\n" for _ in body.splitlines())


def joined(data: bytes) -> bytes:
    return b"".join(line + b",1\n" for line in data.splitlines())


def request(source: str, output: str, data_type: str = "S3Prefix", **processing) -> dict:
    return {
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": source}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output, "Accept": "text/csv", "AssembleWith": "Line"},
        "DataProcessing": {"JoinSource": "Input", **processing},
    }


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------- names that escape


@pytest.mark.parametrize(
    "name, why",
    [
        ("/tmp/x.csv.out", "absolute"),
        ("../x.csv.out", "'..'"),
        ("a/../../x.csv.out", "'..'"),
        ("a//b.csv.out", "empty"),
        ("./a.csv.out", "'.'"),
    ],
)
def test_unsafe_output_names_are_refused_not_normalised(name, why):
    with pytest.raises(StorageError, match=why) as info:
        safe_relative(name, "s3://b/in/x")
    assert "s3://b/in/x" in str(info.value) and repr(name) in str(info.value)


def test_safe_output_names_pass_unchanged():
    for name in ("a.csv.out", "2024/01/a.csv.out", "..a.csv.out", "a..b/c.out"):
        assert safe_relative(name, "src") == name


def test_s3_keys_that_climb_or_are_absolute_never_write_outside_a_local_output(
    tmp_path, s3, bucket, s3_endpoint
):
    out = tmp_path / "deep" / "er" / "out"
    target = tmp_path / "escaped"  # where an absolute key after the prefix would point
    put(s3, bucket, "in/ok.csv", b"1,2\n")
    put(s3, bucket, f"in/{target}/x.csv", b"3,4\n")  # in//tmp/.../escaped/x.csv
    put(s3, bucket, "in/../../x.csv", b"5,6\n")
    assert f"in/{target}/x.csv" in keys(s3, bucket, "in/")  # the store kept the names as given

    d = run_job(request(f"s3://{bucket}/in/", str(out)), model=echo, endpoint_url=s3_endpoint, progress=False)

    assert d["TransformJobStatus"] == "Failed"
    by_source = {o["source"]: o for o in d["fastjoin"]["objects"]}
    assert by_source[f"s3://{bucket}/in/ok.csv"]["status"] == "Completed"
    for key, why in ((f"in/{target}/x.csv", "absolute"), ("in/../../x.csv", "'..'")):
        o = by_source[f"s3://{bucket}/{key}"]
        assert o["status"] == "Failed" and why in o["failure"] and "cannot be mapped" in o["failure"]
    assert files_under(tmp_path) == ["deep/er/out/ok.csv.out"]


def test_s3_to_s3_keeps_odd_keys_as_names_inside_the_output_prefix(s3, bucket, s3_endpoint):
    put(s3, bucket, "in//abs.csv", b"1,2\n")
    put(s3, bucket, "in/abs.csv", b"3,4\n")
    d = run_job(
        request(f"s3://{bucket}/in/", f"s3://{bucket}/out"),
        model=echo,
        endpoint_url=s3_endpoint,
        progress=False,
    )
    assert d["TransformJobStatus"] == "Completed"
    # two objects, two outputs: the double slash is not folded into the other object's name
    assert keys(s3, bucket, "out") == ["out//abs.csv.out", "out/abs.csv.out"]


def test_local_manifest_entries_outside_the_prefix_are_not_read(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_bytes(b"1,2\n")
    secret = tmp_path / "secret.csv"
    secret.write_bytes(b"top,secret\n")
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps([{"prefix": str(data) + "/"}, "a.csv", "../secret.csv", str(secret)]))
    out = tmp_path / "o1" / "o2"

    d = run_job(request(str(manifest), str(out), "ManifestFile"), model=echo, progress=False)

    assert d["TransformJobStatus"] == "Failed"
    statuses = [(o["status"], o["failure"] or "") for o in d["fastjoin"]["objects"]]
    assert statuses[0] == ("Completed", "")
    assert statuses[1][0] == "Failed" and "'..'" in statuses[1][1] and "prefix" in statuses[1][1]
    assert statuses[2][0] == "Failed" and "absolute" in statuses[2][1]
    assert files_under(tmp_path) == ["data/a.csv", "m.json", "o1/o2/a.csv.out", "secret.csv"]


# ----------------------------------------------------------------------------- outputs are not inputs


def test_outputs_written_into_the_input_directory_are_not_read_back(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.csv").write_bytes(b"1,2\n3,4\n")
    t = Transformer(echo, join_source="Input", on_error="skip")
    for _ in range(2):
        result = t.transform(folder, folder)
        assert result.ok and [Path(f.source).name for f in result.files] == ["a.csv"]
        assert result.warnings and "inside the input location" in result.warnings[0]
    assert files_under(folder) == ["a.csv", "a.csv.out"]
    assert (folder / "a.csv.out").read_bytes() == b"1,2,1\n3,4,1\n"


def test_earlier_outputs_in_a_sub_directory_of_the_input_are_skipped(tmp_path):
    folder = tmp_path / "data"
    (folder / "out").mkdir(parents=True)
    (folder / "a.csv").write_bytes(b"1,2\n")
    (folder / "out" / "a.csv.out").write_bytes(b"1,2,1\n")  # from an earlier run
    (folder / "out" / "a.csv.out.errors.jsonl").write_bytes(b"{}\n")
    (folder / "out" / "b.csv").write_bytes(b"7,8\n")  # not named like an output: an input
    result = Transformer(echo, join_source="Input").transform(folder, folder / "out")
    assert [Path(f.source).relative_to(folder).as_posix() for f in result.files] == ["a.csv", "out/b.csv"]
    assert files_under(folder / "out") == ["a.csv.out", "b.csv", "out/b.csv.out"]


def test_an_input_of_only_earlier_outputs_is_an_error(tmp_path):
    (tmp_path / "a.csv.out").write_bytes(b"1\n")
    with pytest.raises(StorageError, match="besides this job's own earlier outputs"):
        Transformer(echo).transform(tmp_path, tmp_path)


def test_s3_output_prefix_under_the_input_prefix(s3, bucket, s3_endpoint):
    put(s3, bucket, "data/a.csv", b"1,2\n")
    req = request(f"s3://{bucket}/data/", f"s3://{bucket}/data/out/")
    for _ in range(2):
        d = run_job(req, model=echo, endpoint_url=s3_endpoint, progress=False)
        assert d["TransformJobStatus"] == "Completed"
        assert [o["source"] for o in d["fastjoin"]["objects"]] == [f"s3://{bucket}/data/a.csv"]
        assert any("inside the input location" in w for w in d["fastjoin"]["warnings"])
    assert keys(s3, bucket, "data/") == ["data/a.csv", "data/out/a.csv.out"]


# ----------------------------------------------------------------------------- stale side files


def test_a_clean_rerun_removes_the_dead_letters_of_an_earlier_run(tmp_path):
    src = tmp_path / "a.csv"
    src.write_bytes(b'1,2\n3,"x\n5,6\n')
    out = tmp_path / "out"
    Transformer(echo, join_source="Input", on_error="skip").transform(src, out).raise_for_errors()
    assert (out / "a.csv.out.errors.jsonl").exists()

    src.write_bytes(b"1,2\n3,4\n5,6\n")  # fixed
    Transformer(echo, join_source="Input").transform(src, out).raise_for_errors()  # on_error="fail"
    assert files_under(out) == ["a.csv.out"]


def test_a_clean_s3_rerun_removes_the_dead_letters_of_an_earlier_run(s3, bucket, s3_endpoint):
    put(s3, bucket, "in/a.csv", b'1,2\n"x\n')
    store = {"endpoint_url": s3_endpoint}
    Transformer(echo, join_source="Input", on_error="skip").transform(
        f"s3://{bucket}/in/", f"s3://{bucket}/out", s3=store
    ).raise_for_errors()
    assert keys(s3, bucket, "out/") == ["out/a.csv.out", "out/a.csv.out.errors.jsonl"]
    put(s3, bucket, "in/a.csv", b"1,2\n")
    Transformer(echo, join_source="Input").transform(f"s3://{bucket}/in/", f"s3://{bucket}/out", s3=store)
    assert keys(s3, bucket, "out/") == ["out/a.csv.out"]


# ----------------------------------------------------------------------------- files that change


def test_a_file_truncated_while_it_is_read_fails_instead_of_ending_torn(tmp_path):
    src = tmp_path / "a.csv"
    src.write_bytes(b"".join(b"%d,%d\n" % (i, i) for i in range(20000)))
    calls = []

    def truncating(body: bytes, content_type: str, accept: str) -> bytes:
        if not calls:  # a writer rewrites the file mid-read
            with open(src, "r+b") as f:
                f.truncate(100_005)  # mid-record
        calls.append(1)
        return echo(body, content_type, accept)

    result = Transformer(truncating, join_source="Input", chunk_size=1 << 16).transform(src, tmp_path / "out")
    assert not result.ok and len(calls) > 1
    message = str(result.files[0].error)
    assert "changed while it was read" in message and str(src) in message
    assert not (tmp_path / "out" / "a.csv.out").exists()


def test_a_gzip_file_replaced_while_it_is_read_fails(tmp_path):
    src = tmp_path / "a.csv.gz"
    src.write_bytes(gzip.compress(b"".join(b"%d,1\n" % i for i in range(50000)), 1))
    touched = []

    def touching(body: bytes, content_type: str, accept: str) -> bytes:
        if not touched:
            st = src.stat()
            os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
            touched.append(1)
        return echo(body, content_type, accept)

    result = Transformer(touching, join_source="Input", chunk_size=1 << 15).transform(
        src, tmp_path / "out", compression="Gzip"
    )
    assert not result.ok and "modified" in str(result.files[0].error)


def test_a_fifo_as_input_is_named_as_such(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(StorageError, match=r"is a named pipe \(FIFO\)"):
        list_inputs(fifo)


# ----------------------------------------------------------------------------- long lines


class Counting(io.RawIOBase):
    """An unbuffered stream of ``size`` bytes of one character, counting readinto calls."""

    def __init__(self, size: int, byte: bytes = b"7"):
        self.left, self.byte, self.calls = size, byte, 0

    def readable(self):
        return True

    def readinto(self, b):
        self.calls += 1
        n = min(len(b), self.left)
        b[:n] = self.byte * n
        self.left -= n
        return n


def test_a_line_many_chunks_long_is_read_in_a_logarithmic_number_of_growing_reads():
    chunk = 1 << 12
    stream = Counting(chunk * 1000)  # one line, a thousand chunks long
    pieces = list(read_chunks(stream, chunk))
    assert [(len(b), s, e, o) for b, s, e, o in pieces] == [(chunk * 1000, 0, chunk * 1000, 0)]
    # the buffer doubles: ~log2(1000) reads, not one read (and one copy of all so far) per chunk
    assert stream.calls <= 14


@pytest.mark.parametrize("kind", ["stream", "file"])
def test_a_line_longer_than_max_record_fails_at_its_start(tmp_path, kind):
    data = b"1,2\n3,4\n" + b"9" * (1 << 20) + b"\n5,6\n"
    path = tmp_path / "long.csv"
    path.write_bytes(data)
    f = open(path, "rb") if kind == "file" else io.BytesIO(data)
    with f, pytest.raises(InputError) as info:
        for _ in read_chunks(f, 1 << 12, max_record=100_000, source="long.csv"):
            pass
    loc = info.value.location  # line 1 of the piece it starts (the runner knows the lines before)
    assert (loc.source, loc.line, loc.column, loc.byte_offset) == ("long.csv", 1, 1, 8)
    assert "longer than 100,000 bytes" in str(info.value) and "--max-record-size" in str(info.value)
    # through a transform, the location is the object's: line 3, after the chunks before it
    t = Transformer(echo, max_record_bytes=100_000, chunk_size=4)
    result = t.transform(str(path), str(tmp_path / "out"))
    loc = result.files[0].error.location
    assert (loc.source, loc.line, loc.column, loc.byte_offset) == (str(path), 3, 1, 8)


def test_max_record_is_exact(tmp_path):
    for length, ok in ((99, True), (100, True), (101, False)):
        data = b"a\n" + b"x" * length + b"\nb\n"
        for f in (io.BytesIO(data), Counting(0)):
            if isinstance(f, Counting):
                path = tmp_path / "f"
                path.write_bytes(data)
                f = open(path, "rb")
            with f:
                if ok:
                    got = b"".join(bytes(b[s:e]) for b, s, e, _ in read_chunks(f, 16, max_record=100))
                    assert got == data
                else:
                    with pytest.raises(InputError, match="longer than 100 bytes"):
                        list(read_chunks(f, 16, max_record=100))


def test_a_gzip_bomb_without_newlines_fails_its_object_quickly_and_in_bounded_memory(tmp_path):
    src = tmp_path / "bomb.csv.gz"
    with gzip.open(src, "wb", compresslevel=9) as f:
        for _ in range(64):
            f.write(b"0" * (1 << 20))  # 64 MiB, no newline
    (tmp_path / "ok.csv.gz").write_bytes(gzip.compress(b"1,2\n"))
    t = Transformer(echo, join_source="Input", max_record_bytes=1 << 20)
    result = t.transform(tmp_path, tmp_path / "out", compression="Gzip")
    bomb, ok = result.files
    assert ok.ok and not bomb.ok
    assert isinstance(bomb.error, InputError) and "longer than 1,048,576 bytes" in str(bomb.error)
    assert files_under(tmp_path / "out") == ["ok.csv.gz.out"]


def test_one_json_object_larger_than_max_record_is_refused(tmp_path):
    src = tmp_path / "big.json"
    src.write_bytes(b'{"features": [' + b"1," * 5000 + b"1]}")
    t = Transformer(echo, content_type="application/json", split_type="None", max_record_bytes=1000)
    result = t.transform(src, tmp_path / "out")
    assert not result.ok and "longer than 1,000 bytes" in str(result.files[0].error)


# ----------------------------------------------------------------------------- signals and full disks

SLOW_CLI = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path

    # a shell starts background jobs with SIGINT ignored, and Python keeps an inherited SIG_IGN:
    # give this child the disposition a terminal's foreground process has
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import fastjoin.predictor
    from fastjoin.predictor import ContainerModel

    marker = Path(sys.argv[1])

    def slow(body, content_type, accept):  # a container that takes its time
        marker.touch()
        time.sleep(0.05)
        return b"".join(b"1\\n" for _ in body.splitlines())

    fastjoin.predictor.load_model = lambda model, **kw: ContainerModel(slow)
    from fastjoin.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_is_handled_like_ctrl_c_and_leaves_no_temporaries(tmp_path, sig, code):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.csv").write_bytes(b"1,2\n")
    (src / "b.csv").write_bytes(b"".join(b"%d,2\n" % i for i in range(200_000)))
    out = tmp_path / "out"
    marker = tmp_path / "marker"
    args = [
        "transform",
        "--model",
        "unused",
        "--input",
        src,
        "--output",
        out,
        "--join-source",
        "Input",
        "--quiet",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLI, str(marker), *map(str, args)], stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.startswith(".b.csv.out.tmp-") for p in out.glob(".*")):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the job never started b.csv"
            time.sleep(0.02)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert files_under(out) == ["a.csv.out"]  # finished work kept, no temporary, nothing partial
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def seed_model(tmp_path_factory):
    import numpy as np
    import xgboost as xgb

    X = np.random.default_rng(0).random((64, 2))
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, X[:, 0] > 0.5), 3)
    path = tmp_path_factory.mktemp("model") / "model.json"
    booster.save_model(path)
    return path


@pytest.mark.requires_xgboost
def test_a_full_disk_names_the_output_not_the_input(tmp_path, seed_model):
    src = tmp_path / "a.csv"
    src.write_bytes(b"".join(b"%d,1.5,2.5\n" % i for i in range(50_000)))
    out = tmp_path / "out"
    proc = run_with_file_size_limit(
        64 * 1024, "transform", "--model", seed_model, "--input", src, "--output", out,
        "--input-filter", "$[1:]", "--join-source", "Input", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert f"{out / 'a.csv.out'}: cannot write the output: File too large" in proc.stderr
    assert files_under(out) == []  # the temporary is gone too


# ----------------------------------------------------------------------------- from the review


def test_a_manifest_on_s3_cannot_name_local_files(tmp_path, s3, bucket, s3_endpoint):
    (tmp_path / "secret.csv").write_bytes(b"top,secret\n")
    put(s3, bucket, "m.json", json.dumps([{"prefix": str(tmp_path) + "/"}, "secret.csv"]).encode())
    d = run_job(
        request(f"s3://{bucket}/m.json", f"s3://{bucket}/out/", "ManifestFile"),
        model=echo,
        endpoint_url=s3_endpoint,
        progress=False,
    )
    assert d["TransformJobStatus"] == "Failed" and "names S3 objects only" in d["FailureReason"]
    assert keys(s3, bucket, "out/") == []


def test_symbolic_links_do_not_lead_a_manifest_outside_its_prefix(tmp_path):
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (outside / "s.csv").write_bytes(b"top,secret\n")
    (data / "a.csv").write_bytes(b"1,2\n")
    (data / "link.csv").symlink_to(outside / "s.csv")
    (data / "linkdir").symlink_to(outside)
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps([{"prefix": str(data) + "/"}, "a.csv", "link.csv", "linkdir/s.csv"]))
    d = run_job(request(str(manifest), str(tmp_path / "out"), "ManifestFile"), model=echo, progress=False)
    objects = d["fastjoin"]["objects"]
    assert [o["status"] for o in objects] == ["Completed", "Failed", "Failed"]
    assert all("symbolic link" in o["failure"] for o in objects[1:])
    assert files_under(tmp_path / "out") == ["a.csv.out"]


def test_a_symlinked_sub_directory_does_not_lead_outputs_outside(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.csv").write_bytes(b"1,2\n")
    (src / "b.csv").write_bytes(b"3,4\n")
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "sub").symlink_to(elsewhere)
    result = Transformer(echo, join_source="Input").transform(src, out)
    assert [f.ok for f in result.files] == [True, False]
    assert "outside the output location" in str(result.files[1].error)
    assert files_under(elsewhere) == []


def test_temporary_outputs_have_unguessable_names(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"1,2\n")
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me\n")
    (out / f".a.csv.out.tmp-{os.getpid()}").symlink_to(victim)  # the old, guessable name
    Transformer(echo, join_source="Input").transform(tmp_path / "a.csv", out).raise_for_errors()
    assert victim.read_bytes() == b"keep me\n" and not (out / "a.csv.out").is_symlink()


def test_resume_with_a_key_too_long_for_the_file_system_fails_only_that_object(
    tmp_path, s3, bucket, s3_endpoint
):
    put(s3, bucket, "in/ok.csv", b"1,2\n")
    put(s3, bucket, "in/" + "d" * 300 + "/x.csv", b"3,4\n")
    result = Transformer(echo, join_source="Input").transform(
        f"s3://{bucket}/in/", tmp_path / "out", resume=True, s3={"endpoint_url": s3_endpoint}
    )
    assert [f.ok for f in result.files] == [False, True]  # keys sort "ddd..." before "ok"
    assert "File name too long" in str(result.files[0].error)


def test_stale_dead_letter_clean_up_never_fails_an_object():
    from fastjoin.transformer import _remove_quietly

    class Forbidden:  # an S3 role that may write the output but not read its metadata
        def exists(self):
            raise StorageError("s3://b/out/a.csv.out.errors.jsonl: cannot read object metadata: 403")

        def remove(self):
            raise AssertionError("not reached")

    _remove_quietly(Forbidden())


def test_a_second_sigterm_does_not_cut_the_clean_up_short():
    from fastjoin import cli

    previous = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(cli.Terminated):
            cli._raise_terminated(signal.SIGTERM, None)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize("where", ["glob", "directory", "manifest"])
def test_fifos_are_named_wherever_they_are_found(tmp_path, where):
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "p.csv")
    if where == "manifest":
        manifest = tmp_path / "m.json"
        manifest.write_text(json.dumps([{"prefix": str(folder) + "/"}, "p.csv"]))
        d = run_job(request(str(manifest), str(tmp_path / "out"), "ManifestFile"), model=echo, progress=False)
        assert "is a named pipe (FIFO), not a regular file" in d["FailureReason"]
        return
    with pytest.raises(StorageError, match=r"skipped, not regular files: .*p\.csv \(a named pipe"):
        list_inputs(folder / "*.csv" if where == "glob" else folder)


def test_crlf_does_not_count_against_max_record():
    for data in (b"x" * 100 + b"\r\nb\n", b"a\r\n" + b"x" * 100 + b"\r\n"):
        for chunk in (1, 7, 100, 4096):
            got = b"".join(
                bytes(b[s:e]) for b, s, e, _ in read_chunks(io.BytesIO(data), chunk, max_record=100)
            )
            assert got == data
    with pytest.raises(InputError):
        list(read_chunks(io.BytesIO(b"x" * 100 + b"\r\r\n"), 7, max_record=100))


def test_a_limit_beyond_any_size_means_no_limit(tmp_path):
    src = tmp_path / "a.json"
    src.write_bytes(b'{"features": [1, 2]}')
    t = Transformer(echo, content_type="application/json", split_type="None", max_record_bytes=10**20)
    assert t.transform(src, tmp_path / "out").ok
    proc = cli("transform", "--model", "m", "--input", "i", "--output", "o", "--max-record-size", "inf")
    assert proc.returncode == 2 and "is not a size" in proc.stderr and "Traceback" not in proc.stderr


def test_an_s3_output_prefix_that_contains_the_raw_input_prefix_is_warned(s3, bucket, s3_endpoint):
    put(s3, bucket, "data/test.csv", b"1,2\n")
    d = run_job(
        request(f"s3://{bucket}/data/test", f"s3://{bucket}/data/"), model=echo, endpoint_url=s3_endpoint,
        progress=False,
    )  # fmt: skip
    assert d["TransformJobStatus"] == "Completed"
    assert any("inside the input location" in w for w in d["fastjoin"]["warnings"])


FSIZE_CLI = (
    "import resource, signal, sys\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    "from fastjoin.cli import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def run_with_file_size_limit(limit: int, *args) -> subprocess.CompletedProcess:
    """The CLI in a child whose files cannot grow past ``limit`` bytes: the kernel fails the
    write (EFBIG) as a full disk would (ENOSPC)."""
    return subprocess.run(
        [sys.executable, "-c", FSIZE_CLI, str(limit), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.requires_xgboost
def test_a_full_disk_while_writing_dead_letters_fails_only_that_object(tmp_path, seed_model):
    src = tmp_path / "in"
    src.mkdir()
    (src / "bad.csv").write_bytes(b'1,"x\n' * 400)  # ~40 KB of dead letters: past the limit
    (src / "z.csv").write_bytes(b"1,1.5,2.5\n")
    out = tmp_path / "out"
    proc = run_with_file_size_limit(
        4096, "transform", "--model", seed_model, "--input", src, "--output", out, "--on-error", "skip",
        "--input-filter", "$[1:]", "--join-source", "Input", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 6 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{out / 'bad.csv.out.errors.jsonl'}: cannot write the output: File too large" in proc.stderr
    assert files_under(out) == ["z.csv.out"]  # the next object still ran


@pytest.mark.requires_xgboost
def test_old_dead_letters_stay_until_a_new_output_replaces_theirs(tmp_path, seed_model):
    src = tmp_path / "a.csv"
    src.write_bytes(b'1,1.5,2.5\n2,"x\n')
    out = tmp_path / "out"
    Transformer(seed_model, input_filter="$[1:]", join_source="Input", on_error="skip").transform(
        src, out
    ).raise_for_errors()
    before = {name: (out / name).read_bytes() for name in files_under(out)}
    assert sorted(before) == ["a.csv.out", "a.csv.out.errors.jsonl"]
    # clean, and too big to write: ~5 KiB, held in the write buffer until the final flush fails
    src.write_bytes(b"".join(b"%d,1.5,2.5\n" % i for i in range(250)))
    proc = run_with_file_size_limit(
        4096, "transform", "--model", seed_model, "--input", src, "--output", out,
        "--input-filter", "$[1:]", "--join-source", "Input", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert {name: (out / name).read_bytes() for name in files_under(out)} == before


@pytest.mark.requires_xgboost
def test_a_small_output_that_does_not_fit_names_the_output(tmp_path, seed_model):
    src = tmp_path / "a.csv"
    src.write_bytes(b"".join(b"%d,1.5,2.5\n" % i for i in range(250)))  # ~8 KiB out: one buffered write
    out = tmp_path / "out"
    proc = run_with_file_size_limit(
        4096, "transform", "--model", seed_model, "--input", src, "--output", out,
        "--input-filter", "$[1:]", "--join-source", "Input", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert f"{out / 'a.csv.out'}: cannot write the output: File too large" in proc.stderr
    assert files_under(out) == []
