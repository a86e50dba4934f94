"""What the command line says: problems named by their flags, tracebacks with --debug wherever
it is given, and a summary that tells what was written apart from what failed."""

from __future__ import annotations

import json
import pickle

import pytest
from helpers import cli, transform_request

from fastjoin.cli import _summary


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    from fastjoin.demo import make_seed_files

    return make_seed_files(tmp_path_factory.mktemp("seed"))


def _request(tmp_path, source) -> str:
    path = tmp_path / "request.json"
    request = transform_request(
        source,
        tmp_path / "out",
        TransformJobName="messages",
        TransformInput={"SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line"},
        DataProcessing={"InputFilter": "$[1:]"},
    )
    path.write_text(json.dumps(request))
    return str(path)


# -- flags, not Python spellings ------------------------------------------------------------------

CONFLICTS = ["--header", "--json-key-order", "input", "--on-error", "skip", "--dialect", "sagemaker"]
NAMED = [
    "--header is an extension: it needs --dialect extended",
    "--json-key-order input is an extension: it needs --dialect extended",
    "--on-error skip is an extension: it needs --dialect extended",
]


@pytest.mark.parametrize("command", ["transform", "run-job", "preview"])
def test_option_problems_name_the_flags(command, tmp_path):
    """Checked before the model is loaded or the request read: no model or data needed."""
    if command == "transform":
        args = ["transform", "--model", tmp_path / "m.json", "--input", tmp_path, "--output", tmp_path / "o"]
    else:
        args = [command, _request(tmp_path, tmp_path), "--model", tmp_path / "m.json"]
    proc = cli(*args, *CONFLICTS)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("fastjoin: error: invalid transform options:\n")
    for text in NAMED:
        assert f"\n- {text}" in proc.stderr
    for python in ("header=True", "json_key_order=", "on_error=", "dialect=", "'extended'"):
        assert python not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_join_problem_names_the_flags(tmp_path):
    proc = cli(
        "transform",
        "--model",
        tmp_path / "m.json",
        "--input",
        tmp_path,
        "--output",
        tmp_path / "o",
        "--join-source",
        "Input",
        "--split-type",
        "None",
        "--max-errors",
        "3",
    )
    assert proc.returncode == 2
    assert "- --join-source Input on text/csv requires --split-type 'Line' and --assemble-with 'Line'" in (
        proc.stderr
    )
    assert "- --max-errors needs --on-error skip" in proc.stderr


def test_a_pickled_model_names_both_spellings(tmp_path):
    model = tmp_path / "model.pkl"
    model.write_bytes(pickle.dumps({"not": "a booster"}))
    proc = cli("transform", "--model", model, "--input", tmp_path, "--output", tmp_path / "o")
    assert proc.returncode == 4
    assert f"{model} is a Python pickle" in proc.stderr
    assert "pass allow_pickle=True in Python (--allow-pickle on the command line)" in proc.stderr


# -- --debug ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_command(where, tmp_path):
    args = ["transform", "--model", tmp_path / "m.json", "--input", tmp_path, "--output", tmp_path / "o"]
    proc = cli("--debug", *args) if where == "before" else cli(*args, "--debug")
    assert proc.returncode == 4  # the error's own exit code, not 1 for an uncaught exception
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.rstrip().endswith(f"fastjoin: error: model not found: {tmp_path / 'm.json'}")


def _bad_batch(batch, tmp_path, line: int = 300):
    """The seed batch with a record on ``line`` that cannot be predicted."""
    lines = batch.read_bytes().splitlines(keepends=True)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"".join(lines[: line - 1]) + b"842399,x,1\n" + b"".join(lines[line - 1 :]))
    return bad


SEED_FILTER = ["--input-filter", "$[1:]"]


@pytest.mark.requires_xgboost
def test_debug_shows_the_traceback_of_an_input_error(seed, tmp_path):
    model, batch = seed
    bad = _bad_batch(batch, tmp_path)
    args = ["transform", "--model", model, "--input", bad, "--output", tmp_path / "out", *SEED_FILTER]
    quiet = cli(*args)
    assert quiet.returncode == 3 and "Traceback" not in quiet.stderr
    proc = cli(*args, "--debug")
    assert proc.returncode == 3
    traceback, message = proc.stderr.split("fastjoin.errors.FeatureError: ", 1)
    assert traceback.startswith("Traceback (most recent call last)")
    assert f"fastjoin: {bad}:300:" in message  # and the located line, as without --debug


# -- the summary ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "counts, text",
    [
        ((1, 1, 0, 0, 1, 0), "1 file written, 1 record written"),
        (
            (3, 3, 0, 0, 12345, 2),
            "3 files written, 12,345 records written, 2 bad records skipped (*.out.errors.jsonl)",
        ),
        ((1, 0, 1, 0, 0, 0), "0 of 1 file written, 1 failed, 0 records written"),
        (
            (3, 1, 1, 1, 569, 1),
            "1 of 3 files written, 1 failed, 1 skipped (output exists), 569 records written, "
            "1 bad record skipped (*.out.errors.jsonl)",
        ),
        ((2, 0, 0, 2, 0, 0), "0 of 2 files written, 2 skipped (output exists), 0 records written"),
    ],
)
def test_summary_agrees_in_number(counts, text):
    assert _summary("file", *counts) == text


@pytest.mark.requires_xgboost
def test_a_failed_file_is_not_counted_as_written(seed, tmp_path):
    """--max-errors 0 fails the object with the bad record: no .out, and neither its records
    (those read before the failure) nor its bad record count as written or skipped."""
    model, batch = seed
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.csv").write_bytes(batch.read_bytes())
    _bad_batch(batch, tmp_path).rename(inputs / "b.csv")
    out = tmp_path / "out"
    flags = [*SEED_FILTER, "--on-error", "skip", "--max-errors", "0", "--chunk-size", "4KiB"]
    proc = cli("transform", "--model", model, "--input", inputs, "--output", out, *flags)
    assert proc.returncode == 3
    summary = proc.stderr.splitlines()[-1]
    assert summary.startswith("fastjoin: 1 of 2 files written, 1 failed, 569 records written in ")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv.out"]

    proc = cli("transform", "--model", model, "--input", inputs / "b.csv", "--output", out, *flags)
    assert proc.stderr.splitlines()[-1].startswith(
        "fastjoin: 0 of 1 file written, 1 failed, 0 records written in "
    )
    assert "bad record" not in proc.stderr.splitlines()[-1]


@pytest.mark.requires_xgboost
def test_run_job_summary_counts_only_completed_objects(seed, tmp_path):
    model, batch = seed
    bad = _bad_batch(batch, tmp_path)
    request = _request(tmp_path, bad)
    flags = ["--on-error", "skip", "--max-errors", "0", "--chunk-size", "4KiB"]
    proc = cli("run-job", request, "--model", model, *flags)
    assert proc.returncode == 1
    assert "job messages Failed: 0 of 1 object written, 1 failed, 0 records written in " in proc.stderr
    proc = cli("run-job", request, "--model", model, "--on-error", "skip", "--verbose")
    assert proc.returncode == 0
    assert (
        "job messages Completed: 1 object written, 569 records written, 1 bad record skipped" in proc.stderr
    )


@pytest.mark.requires_xgboost
def test_run_job_debug_shows_a_failed_objects_traceback_and_request_problems_name_flags(seed, tmp_path):
    model, _ = seed
    src = tmp_path / "a.jsonl"
    src.write_bytes(b'{"f": [1]}\n')
    request = transform_request(src, tmp_path / "out", "application/jsonlines")
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    result = cli("run-job", path, "--model", model, "--header")
    assert result.returncode == 2
    assert "--header applies to text/csv only" in result.stderr and "header=True" not in result.stderr
    bad = tmp_path / "b.csv"
    bad.write_bytes(b"1,2\n")  # two fields for a 30-feature model: the object fails
    request["TransformInput"]["ContentType"] = "text/csv"
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] = str(bad)
    path.write_text(json.dumps(request))
    result = cli("run-job", path, "--model", model, "--debug")
    assert result.returncode == 1  # the job ran and ended Failed
    assert "Traceback" in result.stderr and "ModelError" in result.stderr
    assert "Traceback" not in cli("run-job", path, "--model", model).stderr
