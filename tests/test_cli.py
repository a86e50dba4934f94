"""The command line, run as a user would: a real subprocess of ``python -m fastjoin``."""

from __future__ import annotations

import os

import pytest
from helpers import cli


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    from fastjoin.demo import make_seed_files

    return make_seed_files(tmp_path_factory.mktemp("seed"))


SEED_FLAGS = [
    "--content-type",
    "text/csv",
    "--accept",
    "text/csv",
    "--split-type",
    "Line",
    "--assemble-with",
    "Line",
    "--input-filter",
    "$[1:]",
    "--join-source",
    "Input",
    "--output-filter",
    "$[0,-1]",
]


@pytest.mark.requires_xgboost
def test_transform_writes_out_file(seed, tmp_path):
    model, batch = seed
    proc = cli("transform", "--model", model, "--input", batch, "--output", tmp_path / "out", *SEED_FLAGS)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "out" / "batch.csv.out").read_text().splitlines()
    assert len(lines) == 569 and lines[0].startswith("842302,0.9")
    # stderr is not a terminal here: a summary, no progress bar redraws
    assert "\r" not in proc.stderr and "1 file written, 569 records written in" in proc.stderr


@pytest.mark.requires_xgboost
def test_bad_input_exit_code_and_one_line_message(seed, tmp_path):
    model, batch = seed
    bad = tmp_path / "bad.csv"
    bad.write_bytes(batch.read_bytes().replace(b"842303,", b'842303,"', 1))
    proc = cli(
        "transform", "--model", model, "--input", bad, "--output", tmp_path / "out", *SEED_FLAGS, "--quiet"
    )
    assert proc.returncode == 3
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"fastjoin: {bad}:2:8: quoted field is not closed")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "bad.csv.out").exists()


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "flags, code, text",
    [
        (["--input-filter", "$[1:"], 2, "expected"),
        (["--join-source", "Input", "--accept", "application/json"], 2, "requires --accept"),
        (["--dialect", "sagemaker", "--output-filter", "$['account_id']"], 2, 'Unexpected "_" in JsonPath'),
        (["--input-filter", "$[1" + "0" * 5000 + "]"], 2, "is too large: indexes and slice bounds"),
    ],
)
def test_config_errors_exit_2(seed, tmp_path, flags, code, text):
    model, batch = seed
    proc = cli("transform", "--model", model, "--input", batch, "--output", tmp_path / "out", *flags)
    assert proc.returncode == code, proc.stderr
    assert text in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.requires_xgboost
def test_missing_model_exit_4(seed, tmp_path):
    _, batch = seed
    proc = cli("transform", "--model", tmp_path / "nope.json", "--input", batch, "--output", tmp_path)
    assert proc.returncode == 4 and "nope.json" in proc.stderr


@pytest.mark.requires_xgboost
def test_max_model_size_flag(seed, tmp_path):
    model, batch = seed
    args = ("transform", "--model", model, "--input", batch, "--output", tmp_path / "out", "--quiet")
    proc = cli(*args, "--max-model-size", "10KB")
    assert proc.returncode == 4
    assert proc.stderr.startswith(f"fastjoin: error: model file {model} is {model.stat().st_size:,} bytes")
    assert (
        "over the model size limit of 10,000 bytes" in proc.stderr and "--max-model-size 1MiB" in proc.stderr
    )
    for bad in ("0", "0.5", "1e400", "1" + "0" * 400):  # 1e400 is inf: int() of it used to raise
        proc = cli(*args, "--max-model-size", bad)
        assert proc.returncode == 2 and f"argument --max-model-size: {bad!r} is not a size" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert cli(*args, *SEED_FLAGS, "--max-model-size", "10MB").returncode == 0


@pytest.mark.requires_xgboost
def test_model_fifo_is_refused_not_waited_on(seed, tmp_path):
    _, batch = seed
    os.mkfifo(tmp_path / "model.json")
    proc = cli(
        "transform", "--model", tmp_path / "model.json", "--input", batch, "--output", tmp_path / "out"
    )
    assert proc.returncode == 4
    assert f"model {tmp_path / 'model.json'} is a named pipe (FIFO), not a regular file" in proc.stderr


@pytest.mark.requires_xgboost
def test_debug_shows_traceback(seed, tmp_path):
    model, batch = seed
    proc = cli(
        "--debug",
        "transform",
        "--model",
        model,
        "--input",
        batch,
        "--output",
        tmp_path,
        "--input-filter",
        "$[",
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr


@pytest.mark.requires_xgboost
def test_demo_prints_seed_rows(tmp_path):
    proc = cli("demo", "--dir", tmp_path / "demo")
    assert proc.returncode == 0, proc.stderr
    assert "842302,0.9" in proc.stdout and "569 records" in proc.stdout
    assert "synthesised" in proc.stdout and "predicted by fastjoin's compiled trees" in proc.stdout


def test_progress_bar_draws_on_a_terminal(tmp_path):
    import io

    from fastjoin.progress import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(1000, stream=stream, enabled=True)
    bar(500, 10, force=True)
    bar.close(1000, 20)
    text = stream.getvalue()
    assert "50%" in text and "100%" in text and "20 rows" in text and "ETA" in text and text.endswith("\n")


@pytest.mark.requires_xgboost
def test_engines_write_the_same_bytes(seed, tmp_path):
    model, batch = seed
    outputs = {}
    for engine in ("compiled", "xgboost"):
        proc = cli(
            "transform",
            "--model",
            model,
            "--input",
            batch,
            "--output",
            tmp_path / engine,
            *SEED_FLAGS,
            "--engine",
            engine,
            "--quiet",
        )
        assert proc.returncode == 0, proc.stderr
        outputs[engine] = (tmp_path / engine / "batch.csv.out").read_bytes()
    assert outputs["compiled"] == outputs["xgboost"] and outputs["compiled"].count(b"\n") == 569
