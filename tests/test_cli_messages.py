"""What the command line says: tracebacks with --debug wherever it is given."""

from __future__ import annotations

import pytest
from helpers import cli


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    from fastjoin.demo import make_seed_files

    return make_seed_files(tmp_path_factory.mktemp("seed"))


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
