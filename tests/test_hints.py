"""Errors that point at the fix (issue 11): a located error keeps its ``source:line:column:
message`` form and adds what the mistake most likely is and which option (both spellings,
``header=True (--header)``) fixes it; a job that runs but almost surely not as meant gets a
warning. One test per message, through the library (Transformer, run_job) and, where a user
meets it there, the command line."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import cli, optional_module

import fastjoin
from fastjoin.errors import FeatureError, PathSyntaxError

xgb = optional_module("xgboost")  # None without xgboost: the tests that use it are marked requires_xgboost

NO_JOIN = "there is no join (JoinSource None), so OutputFilter"
JOIN_FIX = "use join_source='Input' (--join-source Input)"
JSON_FIX = "content_type='application/jsonlines' (--content-type application/jsonlines)"
HEADER_FIX = "use header=True (--header)"


def answering(text: bytes):
    """A container callable answering ``text`` for every input line."""

    def invoke(body: bytes, content_type: str, accept: str) -> bytes:
        return b"".join(text + b"\n" for _ in body.splitlines())

    return invoke


def train(path, n_classes: int = 0) -> str:
    """A small XGBoost model on 3 features, saved to ``path``: one output, or ``n_classes``."""
    rng = np.random.default_rng(0)
    X = rng.random((60, 3), dtype=np.float32)
    if n_classes:
        params = {"objective": "multi:softprob", "num_class": n_classes, "nthread": 1}
        label = (X[:, 0] * n_classes).astype(int)
    else:
        params = {"objective": "reg:squarederror", "nthread": 1}
        label = X[:, 0]
    xgb.train(params, xgb.DMatrix(X, label=label), 2).save_model(str(path))
    return str(path)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train(tmp_path_factory.mktemp("model") / "m.json")


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory):
    return train(tmp_path_factory.mktemp("model") / "m3.json", n_classes=3)


# ----------------------------------------------------------------------------- slices include their end


def test_a_slice_one_past_the_row_reminds_that_slices_include_their_end(pipeline):
    row = b",".join(str(i).encode() for i in range(31)) + b"\n"
    t = fastjoin.Transformer(answering(b"0.5"), input_filter="$[1:31]")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(row)
    assert info.value.message == (
        "slice end 31 is out of range for a row of 31 fields in $[1:31] "
        "(slices include their end: $[1:30] selects fields 2..31, the last one included)"
    )
    fixed = fastjoin.Transformer(answering(b"0.5"), input_filter="$[1:30]", join_source="Input")
    assert fixed.transform_bytes(row) == row.rstrip(b"\n") + b",0.5\n"


def test_a_slice_past_a_json_array_reminds_that_slices_include_their_end():
    t = fastjoin.Transformer(answering(b"0.5"), content_type="application/jsonlines", input_filter="$.f[1:3]")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(b'{"f": [1, 2, 3]}\n')
    assert info.value.message == (
        "InputFilter $.f[1:3] selects nothing: slice end 3 is out of range for $.f, an array of 3 "
        "elements (slices include their end: 1:2 ends at the last element)"
    )


# ----------------------------------------------------------------------------- which filter has a syntax error


@pytest.mark.parametrize("role, option", [("InputFilter", "input_filter"), ("OutputFilter", "output_filter")])
def test_a_filter_syntax_error_names_its_option(role, option):
    with pytest.raises(PathSyntaxError) as info:
        fastjoin.Transformer(answering(b"0.5"), **{option: "$[1:"})
    assert info.value.role == role
    assert info.value.message == "expected ']' to close '[' at position 1"  # the bare text is unchanged
    assert str(info.value) == f"{role}: expected ']' to close '[' at position 1\n  $[1:\n      ^"


def test_sagemaker_texts_stay_exact_and_name_the_role_once():
    with pytest.raises(PathSyntaxError) as info:
        fastjoin.Transformer(answering(b"0.5"), output_filter="$.a_b", dialect="sagemaker")
    text = (
        'Invalid OutputFilter: "$.a_b". Unexpected "_" in JsonPath. Supported operators for '
        "\"text/csv\" are ['$', '[', ']', '*', '.', ' ', ',', ':', '-', ''']"
    )
    assert info.value.message == text
    assert str(info.value) == f"{text}\n  $.a_b\n     ^"
    # SageMaker's range text does not name the filter: fastjoin leads with it
    with pytest.raises(PathSyntaxError) as info:
        fastjoin.Transformer(answering(b"0.5"), input_filter="$[0:1,3:4]", dialect="sagemaker")
    assert str(info.value).startswith("InputFilter: Invalid JsonPath: $[0:1,3:4]: only single range")


def test_a_filter_compiled_alone_has_no_role():
    with pytest.raises(PathSyntaxError) as info:
        fastjoin.compile_path("$[1:")
    assert info.value.role is None
    assert str(info.value).startswith("expected ']'")


@pytest.mark.requires_xgboost
def test_cli_filter_syntax_error_names_the_option(model, tmp_path):
    (tmp_path / "in.csv").write_bytes(b"1,2\n")
    proc = cli(
        "transform", "--model", model, "--input", tmp_path / "in.csv", "--output", tmp_path / "out",
        "--output-filter", "$[0,",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "fastjoin: error: OutputFilter: expected ']' to close '[' at position 1" in proc.stderr
