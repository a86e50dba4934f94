"""Errors that point at the fix (issue 11): a located error keeps its ``source:line:column:
message`` form and adds what the mistake most likely is and which option (both spellings,
``header=True (--header)``) fixes it; a job that runs but almost surely not as meant gets a
warning. One test per message, through the library (Transformer, run_job) and, where a user
meets it there, the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import cli, optional_module, transform_request

import fastjoin
from fastjoin.errors import CsvError, FeatureError, ModelError, PathSyntaxError
from fastjoin.job import run_job

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


# ----------------------------------------------------------------------------- OutputFilter without a join


def test_output_filter_past_the_prediction_without_a_join_says_why(pipeline):
    t = fastjoin.Transformer(answering(b"0.5"), output_filter="$[1]")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(b"1,2,3\n")
    assert str(info.value) == (
        "<bytes>:1:1: index 1 is out of range for a row of 1 field in $[1]; there is no join "
        "(JoinSource None), so OutputFilter $[1] applies to the prediction alone (1 field), not to "
        "the input record: to select from the input record joined with the prediction, use "
        "join_source='Input' (--join-source Input)\n  1,2,3"
    )
    # with the join the filter means what it was written for
    joined = fastjoin.Transformer(answering(b"0.5"), output_filter="$[1]", join_source="Input")
    assert joined.transform_bytes(b"1,2,3\n") == b"2\n"


def test_output_filter_error_with_a_join_has_no_join_hint(pipeline):
    t = fastjoin.Transformer(answering(b"0.5"), output_filter="$[9]", join_source="Input")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(b"1,2,3\n")
    assert info.value.message == "index 9 is out of range for a row of 4 fields in $[9]"


def test_output_filter_without_a_join_hint_reaches_the_dead_letters(pipeline):
    # a later record whose prediction is narrower than the first one's is skipped with the hint
    def model(body, content_type, accept):
        return b"".join(b"0.1,0.2\n" if line != b"9" else b"0.3\n" for line in body.splitlines())

    t = fastjoin.Transformer(model, output_filter="$[1]", on_error="skip")
    errors: list = []
    assert t.transform_bytes(b"1\n9\n2\n", errors=errors) == b"0.2\n0.2\n"
    assert [e.line for e in errors] == [2]
    assert NO_JOIN in errors[0].reason and JOIN_FIX in errors[0].reason


def test_json_output_filter_without_a_join_says_why():
    t = fastjoin.Transformer(answering(b"0.5"), content_type="application/jsonlines", output_filter="$.score")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(b'{"id": 7, "score": 1}\n')
    text = str(info.value)
    assert text.startswith(
        "<bytes>:1:1: OutputFilter $.score selects nothing: $ is a number, not an object, so it has no "
        "key 'score'; there is no join (JoinSource None), so OutputFilter $.score applies to the "
        "prediction alone, not to the input record: "
    )
    assert JOIN_FIX in text


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "output_filter, what",
    [
        ("$[0,-1]", "each output record is the one prediction twice over"),
        ("$[0,0,0]", "each output record is the one prediction three times over"),
        ("$[-1]", "it selects the prediction, as $ would"),
        ("$[*]", "it selects the prediction, as $ would"),
    ],
)
def test_a_legal_but_unintended_output_filter_without_a_join_warns(model, tmp_path, output_filter, what):
    (tmp_path / "in.csv").write_bytes(b"0.1,0.2,0.3\n0.4,0.5,0.6\n")
    t = fastjoin.Transformer(model, output_filter=output_filter)
    result = t.transform(tmp_path / "in.csv", tmp_path / "out")
    assert result.ok
    assert result.warnings == [
        f"OutputFilter {output_filter} applies to the prediction alone, as there is no join "
        f"(JoinSource None): {what}; to select from the input record joined with the prediction, "
        f"{JOIN_FIX}"
    ]
    # still legal: the output is what the filter says
    lines = (tmp_path / "out" / "in.csv.out").read_bytes().splitlines()
    assert len(set(lines[0].split(b","))) == 1


@pytest.mark.requires_xgboost
def test_no_warning_for_a_filter_that_means_something(model, multiclass, tmp_path):
    (tmp_path / "in.csv").write_bytes(b"0.1,0.2,0.3\n")
    out = tmp_path / "out"
    for m, options in [
        (model, dict()),  # no filter
        (model, dict(output_filter="$[0,-1]", join_source="Input")),  # the join: the input and the prediction
        (multiclass, dict(output_filter="$[0]")),  # one class's probability
        (multiclass, dict(output_filter="$[-1,0]")),  # the classes reordered
        (answering(b"0.5"), dict(output_filter="$[0,-1]")),  # a container: its outputs are not known
    ]:
        assert fastjoin.Transformer(m, **options).transform(tmp_path / "in.csv", out).warnings == []


@pytest.mark.requires_xgboost
def test_an_output_repeated_from_a_multi_output_prediction_warns(multiclass, tmp_path):
    (tmp_path / "in.csv").write_bytes(b"0.1,0.2,0.3\n")
    result = fastjoin.Transformer(multiclass, output_filter="$[1,-2]").transform(
        tmp_path / "in.csv", tmp_path / "o"
    )
    assert len(result.warnings) == 1
    assert "it selects the same output more than once (index 1 of 3 outputs)" in result.warnings[0]


@pytest.mark.requires_xgboost
def test_json_output_filter_warnings(model, multiclass, tmp_path):
    (tmp_path / "in.jsonl").write_bytes(b"[0.1,0.2,0.3]\n")
    json_job = dict(content_type="application/jsonlines")
    repeated = fastjoin.Transformer(multiclass, output_filter="$[0,0]", **json_job)
    warnings = repeated.transform(tmp_path / "in.jsonl", tmp_path / "o1").warnings
    assert len(warnings) == 1 and "index 0 of 3 outputs" in warnings[0]
    assert (
        fastjoin.Transformer(multiclass, output_filter="$[2]", **json_job)
        .transform(tmp_path / "in.jsonl", tmp_path / "o2")
        .warnings
        == []
    )
    # one output is a number: no filter but $ selects from it, and the error says why (no warning)
    result = fastjoin.Transformer(model, output_filter="$[0]", **json_job).transform(
        tmp_path / "in.jsonl", tmp_path / "o3"
    )
    assert result.warnings == []
    assert NO_JOIN in str(result.files[0].error)


@pytest.mark.requires_xgboost
def test_run_job_and_the_cli_report_the_output_filter_warning(model, tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    (data / "a.csv").write_bytes(b"0.1,0.2,0.3\n")
    request = transform_request(
        data,
        tmp_path / "out",
        TransformInput={"SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line"},
        DataProcessing={"OutputFilter": "$[0,-1]"},
    )
    described = run_job(request, model, progress=False)
    assert described["TransformJobStatus"] == "Completed"
    warning = next(w for w in described["fastjoin"]["warnings"] if w.startswith("OutputFilter $[0,-1]"))
    assert "twice" in warning and JOIN_FIX in warning

    proc = cli(
        "transform",
        "--model",
        model,
        "--input",
        data,
        "--output",
        tmp_path / "cli",
        "--output-filter",
        "$[0,-1]",
    )
    assert proc.returncode == 0, proc.stderr
    assert f"fastjoin: warning: {warning}" in proc.stderr


# ----------------------------------------------------------------------------- a CSV header without header=True

HEADER = b"id,mean_radius,mean_texture,mean_area\n"
ROWS = b"842302,17.99,10.38,122.8\n842517,20.57,17.77,132.9\n"


@pytest.mark.requires_xgboost
def test_a_header_read_as_a_record_suggests_header(model, pipeline):
    t = fastjoin.Transformer(model, input_filter="$[1:]")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(HEADER + ROWS)
    assert str(info.value) == (
        "<bytes>:1:4: field 2: expected a number, got 'mean_radius'; line 1 looks like a header: "
        "use header=True (--header) to read it as column names\n  id,mean_radius,mean_texture,mean_area"
    )
    # the fix works
    fixed = fastjoin.Transformer(model, input_filter="$[1:]", header=True).transform_bytes(HEADER + ROWS)
    assert fixed.startswith(b"SageMakerOutput\n")


@pytest.mark.requires_xgboost
def test_the_header_hint_names_the_line_after_blank_lines_and_quoted_names(model):
    t = fastjoin.Transformer(model, input_filter="$[1:]")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(b'\n\nid,"mean radius","mean texture",area\n' + ROWS)
    assert info.value.location.line == 3
    assert "line 3 looks like a header: use header=True (--header)" in info.value.message


@pytest.mark.requires_xgboost
def test_the_sagemaker_dialect_has_no_header_option(model):
    t = fastjoin.Transformer(model, input_filter="$[1:]", dialect="sagemaker")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(HEADER + ROWS)
    assert info.value.message.endswith(
        "; line 1 looks like a header: the sagemaker dialect reads every line as a record, as "
        "SageMaker does: remove it, or use the extended dialect with header=True (--header)"
    )


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "data",
    [
        ROWS + b"1,mean_radius,2,3\n",  # not the object's first record
        b"1,mean_radius,2,3\n" + ROWS,  # a word among numbers: bad data, not a header
        b"1,2.5.1,x,y\n" + ROWS,  # the failing field is no name
        b"id,n/a,x,y\n" + ROWS,
    ],
)
def test_no_header_hint_where_the_line_does_not_look_like_one(model, data):
    with pytest.raises(FeatureError) as info:
        fastjoin.Transformer(model, input_filter="$[1:]").transform_bytes(data)
    assert "expected a number" in info.value.message
    assert "header" not in info.value.message


@pytest.mark.requires_xgboost
def test_the_header_hint_is_only_for_the_first_chunk(model):
    # a chunk after the first starts with a record, not the object's first line
    t = fastjoin.Transformer(model, input_filter="$[1:]", chunk_size=len(ROWS))
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(ROWS + HEADER)
    assert info.value.location.line == 3
    assert "header" not in info.value.message


@pytest.mark.requires_xgboost
def test_the_header_hint_reaches_the_dead_letter(model):
    errors: list = []
    out = fastjoin.Transformer(model, input_filter="$[1:]", on_error="skip").transform_bytes(
        HEADER + ROWS, errors=errors
    )
    assert len(out.splitlines()) == 2
    assert [e.line for e in errors] == [1]
    assert errors[0].reason.endswith(HEADER_FIX + " to read it as column names")


@pytest.mark.requires_xgboost
def test_cli_header_hint(model, tmp_path):
    (tmp_path / "in.csv").write_bytes(HEADER + ROWS)
    proc = cli(
        "transform",
        "--model",
        model,
        "--input",
        tmp_path / "in.csv",
        "--output",
        tmp_path / "out",
        "--input-filter",
        "$[1:]",
    )
    assert proc.returncode == 3
    assert (
        "in.csv:1:4: field 2: expected a number, got 'mean_radius'; line 1 looks like a header" in proc.stderr
    )


# ----------------------------------------------------------------------------- JSON read as CSV


@pytest.mark.parametrize("line", [b'{"id": 1, "features": [1, 2]}', b'  ["a", 1]'])
def test_json_lines_read_as_csv_suggest_the_content_type(pipeline, line):
    t = fastjoin.Transformer(answering(b"0.5"))
    with pytest.raises(CsvError) as info:
        t.transform_bytes(b"1,2\n" + line + b"\n")
    start = line.strip()[:1].decode()
    assert str(info.value).startswith("<bytes>:2:")
    assert info.value.message == (
        f'bare " in non-quoted field (quote the whole field and double the quote); the line starts '
        f"with {start!r}: it looks like JSON, not CSV: for JSON Lines use {JSON_FIX}"
    )


@pytest.mark.requires_xgboost
def test_a_json_array_read_as_csv_features_suggests_the_content_type(model):
    with pytest.raises(FeatureError) as info:
        fastjoin.Transformer(model).transform_bytes(b"[1,2,3]\n")
    assert info.value.message == (
        f"field 1: expected a number, got '[1'; the line starts with '[': it looks like JSON, not "
        f"CSV: for JSON Lines use {JSON_FIX}"
    )


def test_a_bad_quote_in_a_csv_line_has_no_json_hint(pipeline):
    with pytest.raises(CsvError) as info:
        fastjoin.Transformer(answering(b"0.5")).transform_bytes(b'1,2"3\n')
    assert info.value.message == 'bare " in non-quoted field (quote the whole field and double the quote)'


def test_json_hint_reaches_the_dead_letters(pipeline):
    errors: list = []
    t = fastjoin.Transformer(answering(b"0.5"), on_error="skip")
    assert t.transform_bytes(b'1,2\n{"a": 1}\n3,4\n', errors=errors) == b"0.5\n0.5\n"
    assert [e.line for e in errors] == [2]
    assert errors[0].reason.endswith(JSON_FIX)


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


# ----------------------------------------------------------------------------- run-job without a model


def _request(tmp_path, model_name: str) -> dict:
    return {
        "TransformJobName": "hints",
        "ModelName": model_name,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(tmp_path / "in")}},
            "ContentType": "text/csv",
        },
        "TransformOutput": {"S3OutputPath": str(tmp_path / "out")},
    }


def test_run_job_without_a_model_says_model_name_was_read_as_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError) as info:
        run_job(_request(tmp_path, "xgb-model-2024"), progress=False)
    assert str(info.value) == (
        f"ModelName 'xgb-model-2024' was read as a local path, as no model was given (model=, --model), "
        f"and there is no such file or directory (in {tmp_path}): pass the model with model=PATH "
        f"(--model PATH)"
    )
    assert info.value.exit_code == 4
    assert isinstance(info.value.__cause__, ModelError)
    assert "model not found" in str(info.value.__cause__)


def test_run_job_with_a_model_that_is_not_found_keeps_its_error(tmp_path):
    with pytest.raises(ModelError) as info:
        run_job(_request(tmp_path, "xgb-model-2024"), tmp_path / "nope.json", progress=False)
    assert str(info.value) == f"model not found: {tmp_path / 'nope.json'}"


def test_cli_run_job_without_model(tmp_path):
    request = tmp_path / "job.json"
    request.write_text(json.dumps(_request(tmp_path, str(tmp_path / "xgb-model-2024"))))
    proc = cli("run-job", request)
    assert proc.returncode == 4, proc.stderr
    assert (
        f"fastjoin: error: ModelName '{tmp_path / 'xgb-model-2024'}' was read as a local path, as no "
        f"model was given (model=, --model), and there is no such file or directory: pass the model "
        f"with model=PATH (--model PATH)"
    ) in proc.stderr


def test_preview_without_a_model_says_model_name_was_read_as_a_path(tmp_path):
    from fastjoin.preview import preview

    src = tmp_path / "a.csv"
    src.write_bytes(b"1,2\n")
    request = transform_request(src, tmp_path / "out", ModelName="xgb-model-2024")
    with pytest.raises(fastjoin.ModelError, match="ModelName 'xgb-model-2024' was read as a local path"):
        preview(request)


def test_a_filter_error_comes_before_loading_the_model(tmp_path):
    with pytest.raises(PathSyntaxError, match="InputFilter"):
        fastjoin.Transformer(str(tmp_path / "no-such-model.json"), input_filter="$[1:")
