"""Interrupted jobs: a job process killed (SIGKILL) in the middle of an object leaves no partial
``.out``, locally or on S3 (moto's server on 127.0.0.1), and ``resume=True`` completes the job,
skipping what was finished, with the bytes of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from s3fixtures import get, keys, put

from fastjoin.job import run_job

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL")

# The job process: a container callable that stops (and says so) at the record holding STOP.
JOB_SCRIPT = r"""
import pathlib, sys, time
from fastjoin.job import run_job
request, marker, s3, chunk_size = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def model(body, content_type, accept):
    if b"STOP" in body:
        marker.write_text("mid-object")
        time.sleep(600)
    return b"0.5\n" * body.count(b"\n")

s3 = None if s3 == "-" else {"endpoint_url": s3, "part_size": 5 * 1024 * 1024}
run_job(request, model=model, chunk_size=chunk_size, progress=False, s3=s3)
"""


def answer(body, content_type, accept):
    return b"0.5\n" * body.count(b"\n")


def rows(n: int, stop_at: int | None = None, start: int = 0) -> bytes:
    return b"".join(
        b"r%07d,%s,%d.25\n" % (i, b"STOP" if i == stop_at else b"%d.5" % (i % 97), i % 13)
        for i in range(start, start + n)
    )


def request_for(source: str, output: str) -> dict:
    return {
        "TransformJobName": "interrupted",
        "ModelName": "container",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output, "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"},
    }


def expected_output(data: bytes) -> bytes:
    return b"".join(line + b",0.5\n" for line in data.splitlines())


def kill_mid_object(
    tmp_path, request: dict, s3_endpoint: str = "-", chunk_size: int = 1 << 16, ready=lambda: True
) -> None:
    """Run the job in a child process and SIGKILL it while it is inside the STOP object, once
    ``ready()`` (the job keeps writing what came before STOP while the model waits there)."""
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", JOB_SCRIPT, str(path), str(marker), s3_endpoint, str(chunk_size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not (marker.exists() and ready()):
            if proc.poll() is not None:
                pytest.fail(f"the job ended before it was killed: {proc.communicate()[1].decode()}")
            if time.monotonic() > deadline:
                pytest.fail("the job never reached the STOP record")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def test_killed_local_job_leaves_no_partial_out_and_resume_completes_it(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    a, b = rows(2000), rows(60000, stop_at=45000, start=2000)
    (inputs / "a.csv").write_bytes(a)
    (inputs / "b.csv").write_bytes(b)
    out = tmp_path / "out"
    request = request_for(str(inputs), str(out))

    kill_mid_object(tmp_path, request)
    assert (out / "a.csv.out").read_bytes() == expected_output(a)  # finished before the kill
    assert not (out / "b.csv.out").exists()  # nothing partial under the name
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".b.csv.out.tmp-")]
    assert len(leftovers) == 1 and (out / leftovers[0]).stat().st_size > 0  # it was mid-object

    d = run_job(request, model=answer, resume=True)
    assert d["TransformJobStatus"] == "Completed"
    assert [o["status"] for o in d["fastjoin"]["objects"]] == ["Skipped", "Completed"]
    assert (out / "b.csv.out").read_bytes() == expected_output(b)
    assert sorted(p.name for p in out.iterdir()) == ["a.csv.out", "b.csv.out"]  # the dead temp is gone


def test_killed_s3_job_leaves_no_partial_out_and_resume_completes_it(tmp_path, s3, bucket, s3_endpoint):
    a = rows(1000)
    b = rows(400000, stop_at=380000, start=1000)  # ~8.7 MB of output before STOP: a part is uploaded
    put(s3, bucket, "in/a.csv", a)
    put(s3, bucket, "in/b.csv", b)
    request = request_for(f"s3://{bucket}/in/", f"s3://{bucket}/out")

    def a_part_is_uploaded() -> bool:
        uploads = s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return any(
            s3.client.list_parts(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"]).get("Parts")
            for u in uploads
        )

    kill_mid_object(tmp_path, request, s3_endpoint, chunk_size=1 << 20, ready=a_part_is_uploaded)
    assert keys(s3, bucket, "out/") == ["out/a.csv.out"]
    assert get(s3, bucket, "out/a.csv.out") == expected_output(a)
    uploads = s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["Key"] for u in uploads] == ["out/b.csv.out"]  # it was mid-upload, and nothing is visible
    parts = s3.client.list_parts(Bucket=bucket, Key="out/b.csv.out", UploadId=uploads[0]["UploadId"])
    assert len(parts.get("Parts", [])) >= 1

    d = run_job(request, model=answer, resume=True, endpoint_url=s3_endpoint)
    assert d["TransformJobStatus"] == "Completed"
    assert [o["status"] for o in d["fastjoin"]["objects"]] == ["Skipped", "Completed"]
    assert get(s3, bucket, "out/b.csv.out") == expected_output(b)
