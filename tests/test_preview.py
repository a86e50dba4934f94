"""Preview: the first N records of a job, stage by stage (record, model input after the
InputFilter, model output, joined record, written record), without writing anything."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from helpers import cli, optional_module
from s3fixtures import put

import fastjoin
from fastjoin.preview import format_preview, preview

xgb = optional_module("xgboost")  # None without xgboost: the tests that use it are marked requires_xgboost


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    from fastjoin.demo import make_seed_files

    return make_seed_files(tmp_path_factory.mktemp("seed"))


def seed_request(source: str, output: str) -> dict:
    return {
        "TransformJobName": "seed-preview",
        "ModelName": "seed",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output, "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    }


@pytest.mark.requires_xgboost
def test_seed_preview_shows_every_stage_and_writes_nothing(seed, tmp_path):
    model, batch = seed
    out = tmp_path / "out"
    records = preview(seed_request(str(batch), str(out)), model=str(model), n=3)
    lines = batch.read_bytes().splitlines()[:3]
    booster = xgb.Booster(model_file=str(model))
    X = np.array([[float(v) for v in line.split(b",")[1:]] for line in lines], dtype=np.float32)
    preds = [repr(float(p)).encode() for p in booster.inplace_predict(X)]
    assert [r.line for r in records] == [1, 2, 3]
    for r, line, pred in zip(records, lines, preds):
        assert r.source == str(batch) and r.error is None
        assert r.record == line
        assert r.model_input == line.split(b",", 1)[1]  # after InputFilter $[1:]
        assert r.model_output == pred
        assert r.joined == line + b"," + pred
        assert r.written == line.split(b",", 1)[0] + b"," + pred  # after OutputFilter $[0,-1]
    assert not out.exists()
    text = format_preview(records, width=60)
    assert f"{batch}:2" in text and "  model input   " in text and text.count(" ...") >= 6


@pytest.mark.requires_xgboost
def test_preview_on_s3(seed, s3, bucket, s3_endpoint):
    model, batch = seed
    source = put(s3, bucket, "in/batch.csv", batch.read_bytes())
    records = preview(
        seed_request(source, f"s3://{bucket}/out"), model=str(model), n=2, endpoint_url=s3_endpoint
    )
    assert [r.source for r in records] == [source, source]
    assert records[1].written.startswith(b"842303,0.")
    assert [k for k, _, _ in s3.list(bucket, "out")] == []


@pytest.mark.requires_xgboost
def test_bad_record_is_shown_with_its_line_and_the_rest_go_on(seed, tmp_path):
    model, batch = seed
    lines = batch.read_bytes().splitlines(keepends=True)
    src = tmp_path / "in.csv"
    src.write_bytes(lines[0] + b"\n" + lines[1].replace(b",", b",x", 1) + lines[2])
    records = preview(seed_request(str(src), str(tmp_path / "out")), model=str(model), n=3)
    assert [r.line for r in records] == [1, 3, 4]  # the blank line 2 is no record
    bad = records[1]
    assert bad.model_input == lines[1].replace(b",", b",x", 1).split(b",", 1)[1].rstrip(b"\n")
    assert bad.model_output is None and bad.written is None
    assert bad.error.startswith(f"{src}:3:8: field 2: expected a number")
    assert records[2].error is None and records[2].written.startswith(lines[2].split(b",")[0])


@pytest.mark.requires_xgboost
def test_preview_reads_on_into_the_next_objects(seed, tmp_path):
    model, batch = seed
    lines = batch.read_bytes().splitlines(keepends=True)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_bytes(lines[0])
    (tmp_path / "in" / "b.csv").write_bytes(b"".join(lines[1:10]))
    records = preview(seed_request(str(tmp_path / "in"), str(tmp_path / "out")), model=str(model), n=3)
    assert [(os.path.basename(r.source), r.line) for r in records] == [
        ("a.csv", 1),
        ("b.csv", 1),
        ("b.csv", 2),
    ]


def test_preview_a_transformer_with_a_header_and_a_container_callable(tmp_path):
    seen = []

    def model(body, content_type, accept):
        seen.append(body)
        return b"".join(b"%d\n" % len(line) for line in body.splitlines())

    t = fastjoin.Transformer(
        model,
        header=True,
        input_filter="$['x','y']",
        join_source="Input",
        output_filter="$['id','SageMakerOutput']",
    )
    src = tmp_path / "h.csv"
    src.write_bytes(b"id,x,y\nr1,1.5,2\nr2,10,20\n")
    records = preview(t, str(src), n=5)
    assert [(r.line, r.record, r.model_input, r.model_output, r.joined, r.written) for r in records] == [
        (2, b"r1,1.5,2", b"1.5,2", b"5", b"r1,1.5,2,5", b"r1,5"),
        (3, b"r2,10,20", b"10,20", b"5", b"r2,10,20,5", b"r2,5"),
    ]
    assert not any(p.name.endswith(".out") for p in tmp_path.iterdir())


@pytest.mark.requires_xgboost
def test_cli_preview(seed, tmp_path):
    model, batch = seed
    request = tmp_path / "request.json"
    request.write_text(json.dumps(seed_request(str(batch), str(tmp_path / "out"))))
    proc = cli("preview", request, "--model", model, "-n", "2", "--full")
    assert proc.returncode == 0, proc.stderr
    assert "the first 2 records (nothing is written)" in proc.stdout
    for label in ("record", "model input", "model output", "joined", "written"):
        assert f"  {label} " in proc.stdout
    assert "  written       842302,0.9" in proc.stdout and " ..." not in proc.stdout
    assert not (tmp_path / "out").exists()
