"""JSON Lines and JSON records end to end through Transformer: the JSON examples of SPEC §2–§4
and reference/semantics.md §2.6, §3.3, §4, the key order SageMaker writes, number text,
XGBoost features, container callables, located errors, chunk invariance and buffers.

Expected bytes come from the spec and the evidence it cites, written out by hand. Tests that
reach the core (prediction text, splicing) run on the compiled core and on the reference twin.
"""

from __future__ import annotations

import json
import os

import numpy as np
import orjson
import pytest
from helpers import chunking_agrees, cli, optional_module
from hypothesis import given, settings
from hypothesis import strategies as st

import fastjoin
from fastjoin.errors import (
    ConfigError,
    FeatureError,
    JsonLinesError,
    ModelError,
    OutputError,
    PathSyntaxError,
)

xgb = optional_module("xgboost")  # None without xgboost: the tests that use it are marked requires_xgboost

JSONL = dict(content_type="application/jsonlines")
JOIN = dict(content_type="application/jsonlines", join_source="Input")


def answering(*texts: bytes):
    """A container callable answering ``texts`` in turn, one per input line (cycling),
    recording its calls."""
    calls = []

    def invoke(body: bytes, content_type: str, accept: str) -> bytes:
        calls.append((body, content_type, accept))
        lines = body.split(b"\n")[:-1]
        return b"".join(texts[i % len(texts)] + b"\n" for i in range(len(lines)))

    invoke.calls = calls
    return invoke


def echo(body: bytes, content_type: str, accept: str) -> bytes:
    """A container that answers each record with itself."""
    return body


@pytest.fixture(scope="module")
def booster():
    """binary:logistic on 3 features (missing values seen in training)."""
    rng = np.random.default_rng(7)
    X = rng.random((300, 3)).astype(np.float32) * 10
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) > 9).astype(np.float32)
    return xgb.train(
        {"objective": "binary:logistic", "nthread": 1, "max_depth": 3}, xgb.DMatrix(X, label=y), 20
    )


def text(value: float) -> str:
    """The SageMaker XGBoost container's batch text for a float32 prediction."""
    return repr(float(np.float32(value)))


def lines_of(records) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


# ----------------------------------------------------------------------------- SPEC §3–§4 examples


def test_semantics_section4_jsonlines_example(pipeline):
    # reference/semantics.md §4, last row: the model gets $.features, the output keeps id and
    # the prediction, keys sorted.
    model = answering(b'{"label":1}')
    t = fastjoin.Transformer(
        model, input_filter="$.features", output_filter="$['id','SageMakerOutput']", **JOIN
    )
    assert (
        t.transform_bytes(b'{"id":"r1","features":[0.5,1.5]}\n')
        == b'{"SageMakerOutput":{"label":1},"id":"r1"}\n'
    )
    assert model.calls == [(b"[0.5,1.5]\n", "application/jsonlines", "application/jsonlines")]


def test_object_record_gains_the_output_parsed_as_json(pipeline):
    # §3.3, NB-JSONL: the container answers with Python's json.dumps spacing; the joined
    # record is compact and the output is an object, not a string.
    model = answering(b'{"predicted_label": 0, "score": 0.050630431622266}')
    t = fastjoin.Transformer(model, **JOIN)
    out = t.transform_bytes(b'{"features":[28,2,133937]}\n')
    assert out == (
        b'{"SageMakerOutput":{"predicted_label":0,"score":0.050630431622266},"features":[28,2,133937]}\n'
    )


@pytest.mark.parametrize(
    "record, expected",
    [
        (b"[1,2,3]", b'{"SageMakerInput":[1,2,3],"SageMakerOutput":0.5}'),
        (b"42", b'{"SageMakerInput":42,"SageMakerOutput":0.5}'),
        (b'"text"', b'{"SageMakerInput":"text","SageMakerOutput":0.5}'),
        (b"null", b'{"SageMakerInput":null,"SageMakerOutput":0.5}'),
        (b"{}", b'{"SageMakerOutput":0.5}'),
    ],
)
def test_non_object_record_is_wrapped(pipeline, record, expected):
    # §3.3 [DOC API JoinSource]; a bare number from the model stays a number.
    t = fastjoin.Transformer(answering(b"0.5"), **JOIN)
    assert t.transform_bytes(record + b"\n") == expected + b"\n"


def test_existing_sagemaker_output_is_overwritten(pipeline):
    t = fastjoin.Transformer(answering(b"[1,2]"), **JOIN)
    assert (
        t.transform_bytes(b'{"b":1,"SageMakerOutput":"old","a":2}\n')
        == b'{"SageMakerOutput":[1,2],"a":2,"b":1}\n'
    )
    t = fastjoin.Transformer(answering(b"[1,2]"), json_key_order="input", **JOIN)
    assert (
        t.transform_bytes(b'{"b":1,"SageMakerOutput":"old","a":2}\n')
        == b'{"b":1,"SageMakerOutput":[1,2],"a":2}\n'
    )


def test_keys_sorted_as_in_real_outputs(pipeline):
    # YK: input order ISBN, timestamp, device_id, review → SageMakerOutput between ISBN and
    # device_id. MAK: json.dumps input (", " / ": ") comes out compact, cost_ratio_ma7 before
    # cost_std7.
    t = fastjoin.Transformer(answering(b'{"sentiment":"POSITIVE"}'), input_filter="$.review", **JOIN)
    out = t.transform_bytes(
        b'{"ISBN":"0-1","timestamp":"2020-01-01","device_id":"d1","review":{"source":"great"}}\n'
    )
    assert out == (
        b'{"ISBN":"0-1","SageMakerOutput":{"sentiment":"POSITIVE"},"device_id":"d1",'
        b'"review":{"source":"great"},"timestamp":"2020-01-01"}\n'
    )
    mak = json.dumps({"cost": 1, "cost_ma7": 2, "cost_std7": 3, "cost_ratio_ma7": 4}).encode()
    t = fastjoin.Transformer(answering(b"7"), **JOIN)
    assert (
        t.transform_bytes(mak + b"\n")
        == b'{"SageMakerOutput":7,"cost":1,"cost_ma7":2,"cost_ratio_ma7":4,"cost_std7":3}\n'
    )


def test_model_sees_the_selected_nested_object(pipeline):
    # §2.6 (YK): InputFilter $.review sends the object itself.
    model = answering(b"1")
    t = fastjoin.Transformer(model, input_filter="$.review", **JOIN)
    t.transform_bytes(b'{"id":1,"review":{"source":"ok"}}\n')
    assert model.calls[0][0] == b'{"source":"ok"}\n'


def test_sort_is_by_code_point_which_is_utf8_byte_order(pipeline):
    # Uppercase before lowercase, ASCII before non-ASCII; U+FFFF before U+1F600 (UTF-16 code
    # units would put the emoji first). Nested objects are sorted too (map-based encoders).
    record = {"b": 1, "B": 2, "é": 3, "😀": 4, "\uffff": 5, "a": {"z": 1, "y": {"d": 1, "c": 2}}}
    t = fastjoin.Transformer(answering(b"0"), **JOIN)
    out = t.transform_bytes(orjson.dumps(record) + b"\n")
    keys = list(json.loads(out))
    assert keys == ["B", "SageMakerOutput", "a", "b", "é", "\uffff", "😀"]
    assert keys[1:] == sorted(keys[1:], key=lambda k: k.encode("utf-8"))
    assert b'"a":{"y":{"c":2,"d":1},"z":1}' in out


def test_input_key_order_option(pipeline):
    t = fastjoin.Transformer(answering(b"0"), json_key_order="input", **JOIN)
    assert (
        t.transform_bytes(b'{"z":1,"a":{"y":1,"b":2}}\n')
        == b'{"z":1,"a":{"y":1,"b":2},"SageMakerOutput":0}\n'
    )
    # an output filter of names keeps the filter's order
    t = fastjoin.Transformer(
        answering(b"0"), json_key_order="input", output_filter="$['z','SageMakerOutput','a']", **JOIN
    )
    assert t.transform_bytes(b'{"a":1,"z":2}\n') == b'{"z":2,"SageMakerOutput":0,"a":1}\n'


def test_output_filter_applies_to_the_joined_record(pipeline):
    t = fastjoin.Transformer(
        answering(b'{"label":1,"score":0.9}'), output_filter="$.SageMakerOutput.score", **JOIN
    )
    assert t.transform_bytes(b'{"id":1}\n{"id":2}\n') == b"0.9\n0.9\n"
    t = fastjoin.Transformer(answering(b"5"), output_filter="$.*", json_key_order="input", **JOIN)
    assert t.transform_bytes(b'{"id":1,"x":[1,2]}\n') == b"[1,[1,2],5]\n"
    t = fastjoin.Transformer(answering(b"5"), output_filter="$.x[0:1]", **JOIN)
    assert t.transform_bytes(b'{"id":1,"x":[1,2,3]}\n') == b"[1,2]\n"


def test_application_json_whole_object_is_one_record(pipeline):
    # §3.3, NB-JSON: SplitType None / AssembleWith None, the whole document is one record and
    # SageMakerOutput is the whole response; no trailing newline.
    doc = json.dumps(
        {"instances": [{"features": [28, 2, 133937]}, {"features": [1, 2, 3]}]}, indent=2
    ).encode()
    response = (
        b'{"predictions": [{"predicted_label": 1, "score": 0.9899773597717285},\n'
        b' {"predicted_label": 0, "score": 0.1}]}\n'
    )
    calls = []

    def model(body, content_type, accept):
        calls.append(body)
        return response

    t = fastjoin.Transformer(model, content_type="application/json", split_type="None", join_source="Input")
    out = t.transform_bytes(doc)
    assert calls == [doc]  # sent as it is, newlines and all
    assert out == (
        b'{"SageMakerOutput":{"predictions":[{"predicted_label":1,"score":0.9899773597717285},'
        b'{"predicted_label":0,"score":0.1}]},"instances":[{"features":[28,2,133937]},'
        b'{"features":[1,2,3]}]}'
    )
    # without a join the response is the output, as it is
    t = fastjoin.Transformer(model, content_type="application/json", split_type="None")
    assert t.transform_bytes(doc) == response


def test_application_json_with_line_split_is_json_lines(pipeline):
    t = fastjoin.Transformer(answering(b"1"), content_type="application/json", join_source="Input")
    assert (
        t.transform_bytes(b'{"a":1}\n{"a":2}\n')
        == b'{"SageMakerOutput":1,"a":1}\n{"SageMakerOutput":1,"a":2}\n'
    )


def test_assemble_with_none_concatenates(pipeline):
    t = fastjoin.Transformer(answering(b"1"), content_type="application/json", assemble_with="None")
    assert t.transform_bytes(b'{"a":1}\n{"a":2}\n') == b"11"


def test_no_join_writes_the_model_output_then_filters_it(pipeline):
    model = answering(b'{"label": 1, "probs": [0.25, 0.75]}')
    t = fastjoin.Transformer(model, **JSONL)
    assert t.transform_bytes(b"{}\n{}\n") == b'{"label": 1, "probs": [0.25, 0.75]}\n' * 2  # as answered
    t = fastjoin.Transformer(model, output_filter="$.probs[-1]", **JSONL)
    assert t.transform_bytes(b"{}\n") == b"0.75\n"
    t = fastjoin.Transformer(model, output_filter="$['probs','label']", **JSONL)
    assert t.transform_bytes(b"{}\n") == b'{"label":1,"probs":[0.25,0.75]}\n'


# ----------------------------------------------------------------------------- XGBoost in process


@pytest.mark.requires_xgboost
def test_xgboost_join_matches_dmatrix_predict(pipeline, booster):
    rng = np.random.default_rng(1)
    X = np.round(rng.random((50, 3)) * 10, 3)
    X[3, 1] = np.nan
    records = [
        {"id": f"r{i}", "features": [None if np.isnan(v) else v for v in row]}
        for i, row in enumerate(X.tolist())
    ]
    t = fastjoin.Transformer(
        booster, input_filter="$.features", output_filter="$['id','SageMakerOutput']", **JOIN
    )
    out = t.transform_bytes(lines_of(records))
    expected = booster.predict(xgb.DMatrix(X.astype(np.float32)))
    assert (
        out
        == "".join(f'{{"SageMakerOutput":{text(p)},"id":"r{i}"}}\n' for i, p in enumerate(expected)).encode()
    )


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "base_score", [0.9899773597717285, 2.9999999242136255e-05, 1e17, 12.34567928314209, -1.5e-7, 0.0]
)
def test_xgboost_prediction_text_is_the_containers(pipeline, base_score):
    # SPEC §4: repr of the float32 widened to double, also where orjson alone would write
    # other text (below 1e-4, from 1e16). A model with no trees predicts its base score.
    X = np.zeros((2, 2), dtype=np.float32)
    booster = xgb.train(
        {"objective": "reg:squarederror", "base_score": base_score, "nthread": 1},
        xgb.DMatrix(X, label=np.zeros(2)),
        0,
    )
    [p, _] = booster.predict(xgb.DMatrix(X))
    assert p == np.float32(base_score)
    data = b"[0,0]\n{}\n".replace(b"{}", b"[1,1]")
    joined = fastjoin.Transformer(booster, **JOIN).transform_bytes(data)
    assert (
        joined
        == (
            f'{{"SageMakerInput":[0,0],"SageMakerOutput":{text(p)}}}\n'
            f'{{"SageMakerInput":[1,1],"SageMakerOutput":{text(p)}}}\n'
        ).encode()
    )
    plain = fastjoin.Transformer(booster, **JSONL).transform_bytes(data)
    assert plain == f"{text(p)}\n{text(p)}\n".encode()


@pytest.mark.requires_xgboost
def test_xgboost_multi_output_is_a_list(pipeline):
    rng = np.random.default_rng(3)
    X = rng.random((60, 2)).astype(np.float32)
    booster = xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "nthread": 1},
        xgb.DMatrix(X, label=np.arange(60) % 3),
        3,
    )
    probs = booster.predict(xgb.DMatrix(X))
    data = lines_of([{"f": list(map(float, row))} for row in X])
    joined = fastjoin.Transformer(
        booster, input_filter="$.f", output_filter="$.SageMakerOutput", **JOIN
    ).transform_bytes(data)
    assert joined.splitlines()[0] == ("[" + ",".join(text(p) for p in probs[0]) + "]").encode()
    # no join: the container's own line, a Python list repr
    plain = fastjoin.Transformer(booster, input_filter="$.f", **JSONL).transform_bytes(data)
    assert plain.splitlines()[0] == ("[" + ", ".join(text(p) for p in probs[0]) + "]").encode()
    first = fastjoin.Transformer(booster, input_filter="$.f", output_filter="$[0]", **JSONL)
    assert first.transform_bytes(data).splitlines()[0] == text(probs[0][0]).encode()


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "record, input_filter",
    [
        (b'{"age":1.5,"x":"skip","income":2,"k":null}', "$['age','income','k']"),
        (b'{"v":[1.5,2,null]}', "$.v"),
        (b"[9,1.5,2,null]", "$[1:]"),
        (b'{"a":{"b":[0,1.5,2,null]}}', "$.a.b[1,2,3]"),
    ],
)
def test_feature_row_shapes(pipeline, booster, record, input_filter):
    # An array of numbers, or an object's values in filter order; null is missing.
    expected = booster.predict(xgb.DMatrix(np.array([[1.5, 2.0, np.nan]], dtype=np.float32)))
    t = fastjoin.Transformer(booster, input_filter=input_filter, **JSONL)
    assert t.transform_bytes(record + b"\n") == text(expected[0]).encode() + b"\n"


@pytest.mark.requires_xgboost
def test_object_values_are_taken_in_filter_order(booster):
    expected = booster.predict(xgb.DMatrix(np.array([[3.0, 1.0, 2.0]], dtype=np.float32)))
    t = fastjoin.Transformer(booster, input_filter="$['c','a','b']", **JSONL)
    assert t.transform_bytes(b'{"a":1,"b":2,"c":3}\n') == text(expected[0]).encode() + b"\n"


@pytest.mark.requires_xgboost
def test_one_number_is_a_one_feature_row():
    rng = np.random.default_rng(4)
    X = rng.random((50, 1)).astype(np.float32)
    booster = xgb.train({"objective": "reg:squarederror", "nthread": 1}, xgb.DMatrix(X, label=X[:, 0]), 3)
    t = fastjoin.Transformer(booster, input_filter="$.x", **JSONL)
    expected = booster.predict(xgb.DMatrix(np.array([[0.25], [7.0]], dtype=np.float32)))
    assert t.transform_bytes(b'{"x":0.25}\n{"x":7}\n') == "".join(text(p) + "\n" for p in expected).encode()


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "line, message",
    [
        (b'{"f":[1,"2",3]}', 'InputFilter $.f: feature 2 is a string "2", not a number'),
        (b'{"f":[1,true,3]}', "InputFilter $.f: feature 2 is true, not a number"),
        (b'{"f":[1,[2],3]}', "InputFilter $.f: feature 2 is an array, not a number"),
        (b'{"f":[1,{"a":2},3]}', "InputFilter $.f: feature 2 is an object, not a number"),
        (b'{"f":"1,2,3"}', "InputFilter $.f selects a string"),
        (b'{"g":[1,2,3]}', "InputFilter $.f selects nothing: $ has no key 'f' (keys: 'g')"),
        (b'{"f":[1,2]}', "InputFilter $.f selects 2 values from this record, but the model expects 3"),
    ],
)
def test_bad_features_name_line_and_path(booster, line, message):
    t = fastjoin.Transformer(booster, input_filter="$.f", **JSONL)
    data = b'{"f":[1,2,3]}\n{"f":[4,5,6]}\n' + line + b'\n{"f":[7,8,9]}\n'
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(data, source="in.jsonl")
    err = info.value
    assert str(err).startswith(f"in.jsonl:3:1: {message}")
    assert (err.location.line, err.location.record, err.path) == (3, 2, "$.f")


@pytest.mark.requires_xgboost
def test_named_feature_in_error(booster):
    t = fastjoin.Transformer(booster, input_filter="$['a','b','c']", **JSONL)
    with pytest.raises(FeatureError, match=r"feature 2 \('b'\) is false, not a number"):
        t.transform_bytes(b'{"a":1,"b":false,"c":2}\n')


@pytest.mark.requires_xgboost
def test_wrong_width_on_the_first_record_is_a_model_error(booster):
    t = fastjoin.Transformer(booster, input_filter="$.f", **JSONL)
    with pytest.raises(ModelError, match="selects 4 features but the model expects 3") as info:
        t.transform_bytes(b'{"f":[1,2,3,4]}\n', source="w.jsonl")
    assert str(info.value).startswith("w.jsonl:1:1: ")


UTF16 = "the object looks like UTF-16 ({}), but fastjoin reads UTF-8: convert it, e.g. with iconv -f UTF-16 -t UTF-8"
CR_ONLY = (
    "the line holds a carriage return (\\r) that no \\n follows: with old Mac (CR-only) line "
    "endings the whole object reads as one line; convert them to \\n, e.g. with tr '\\r' '\\n'"
)


@pytest.mark.parametrize(
    "encoding, first_line",
    [
        (
            "utf-16",
            "u.jsonl:1:1: not valid UTF-8: byte 0xff (invalid start byte); "
            + UTF16.format("it starts with a UTF-16 byte-order mark"),
        ),
        (
            "utf-16-le",
            "u.jsonl:1:2: invalid JSON: unexpected character, expected a string key; "
            + UTF16.format("NUL bytes between its characters"),
        ),
    ],
)
def test_utf16_input_errors_say_it_looks_like_utf16(encoding, first_line):
    t = fastjoin.Transformer(echo, **JOIN)
    data = '{"id": 1, "f": [1, 2]}\n{"id": 2, "f": [3, 4]}\n'.encode(encoding)
    with pytest.raises(JsonLinesError) as info:
        t.transform_bytes(data, source="u.jsonl")
    assert str(info.value).splitlines()[0] == first_line


def test_cr_only_line_endings_are_named():
    data = b'{"f":[1,2,3]}\r{"f":[4,5,6]}\r'
    with pytest.raises(JsonLinesError) as info:
        fastjoin.Transformer(echo, **JOIN).transform_bytes(data, source="mac.jsonl")
    assert str(info.value).splitlines() == [
        "mac.jsonl:1:15: invalid JSON: unexpected content after document; " + CR_ONLY,
        '  {"f":[1,2,3]}\\r{"f":[4,5,6]}',  # shown escaped: a raw \r would garble the terminal
    ]


BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    "options",
    [
        JOIN,
        dict(content_type="application/json", split_type="None", assemble_with="None", join_source="Input"),
    ],
)
def test_utf8_bom_at_the_start_of_an_object_is_skipped(options):
    t = fastjoin.Transformer(echo, **options)
    data = b'{"id": 1, "f": [1, 2]}\n'
    assert t.transform_bytes(BOM + data) == t.transform_bytes(data)


def test_utf8_bom_is_data_in_the_sagemaker_dialect():
    t = fastjoin.Transformer(echo, dialect="sagemaker", **JOIN)
    with pytest.raises(JsonLinesError) as info:
        t.transform_bytes(BOM + b'{"id": 1}\n', source="s.jsonl")
    assert str(info.value).startswith(
        "s.jsonl:1:1: invalid JSON: UTF-8 byte order mark (BOM) is not supported"
    )


@pytest.mark.requires_xgboost
def test_booleans_elsewhere_in_the_record_do_not_matter(booster):
    t = fastjoin.Transformer(booster, input_filter="$.f", **JSONL)
    plain = t.transform_bytes(b'{"f":[1,2,3]}\n')
    assert t.transform_bytes(b'{"ok":true,"f":[1,2,3],"no":false}\n') == plain


@pytest.mark.requires_xgboost
def test_big_integers_and_overflow_follow_the_csv_rules(booster):
    # parsed as a double, rounded to float32 (SPEC §4): 2**64 is a float to orjson already.
    t = fastjoin.Transformer(booster, input_filter="$.f", **JSONL)
    with np.errstate(over="ignore"):
        X = np.array([[16777217.0, 2.0**64, 1e300]], dtype=np.float64).astype(np.float32)
    expected = booster.inplace_predict(X)  # a DMatrix refuses inf; inplace_predict takes it
    assert (
        t.transform_bytes(b'{"f":[16777217,18446744073709551616,1e300]}\n')
        == text(expected[0]).encode() + b"\n"
    )


# ----------------------------------------------------------------------------- number text


@pytest.mark.parametrize(
    "record",
    [
        b'{"a":1.50,"b":1e5,"c":1E-7,"d":-0,"e":-0.0,"f":1.0,"g":100}',
        b'{"big":123456789012345678901234567890,"neg":-18446744073709551617}',
        b'{"long":0.10000000000000001,"tiny":0.0000001,"pyfloat":1e-05}',
        b'{"s":"caf\\u00e9","n":[1.10, 2.20, {"x": 3.300}]}',
    ],
)
def test_number_text_is_preserved(pipeline, record):
    t = fastjoin.Transformer(answering(b"1"), json_key_order="input", **JOIN)
    out = t.transform_bytes(record + b"\n")
    body = record.replace(b", ", b",").replace(b": ", b":").replace(b"\\u00e9", "é".encode())
    assert out == body[:-1] + b',"SageMakerOutput":1}\n'


def test_number_text_preserved_through_filters_and_container_output(pipeline):
    model = answering(b'{"score": 0.50, "n": 1E3}')
    t = fastjoin.Transformer(model, input_filter="$.v", output_filter="$['id','v','SageMakerOutput']", **JOIN)
    assert (
        t.transform_bytes(b'{"id":1.0,"v":[2.50,-0],"w":1}\n')
        == b'{"SageMakerOutput":{"n":1E3,"score":0.50},"id":1.0,"v":[2.50,-0]}\n'
    )
    assert model.calls[0][0] == b"[2.50,-0]\n"


def test_reencode_numbers_option(pipeline):
    t = fastjoin.Transformer(answering(b"1.50"), json_numbers="reencode", **JOIN)
    assert (
        t.transform_bytes(b'{"a":1.50,"b":1e5,"c":-0,"d":1.0}\n')
        == b'{"SageMakerOutput":1.5,"a":1.5,"b":100000.0,"c":0,"d":1.0}\n'
    )


_number_text = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: repr(float(f))),
    st.tuples(
        st.integers(-999, 999),
        st.text("0123456789", min_size=1, max_size=20),
        st.sampled_from(["", "e5", "E-7", "e+300", "e-3"]),
    ).map(lambda t: f"{t[0]}.{t[1]}{t[2]}"),
)


@settings(max_examples=300, deadline=None)
@given(numbers=st.lists(_number_text, min_size=1, max_size=6), spaces=st.booleans())
def test_any_number_text_round_trips_through_a_join(numbers, spaces):
    sep = ", " if spaces else ","
    record = ("{" + sep.join(f'"k{i}":{n}' for i, n in enumerate(numbers)) + "}").encode()
    t = fastjoin.Transformer(echo, json_key_order="input", **JOIN)
    out = t.transform_bytes(record + b"\n")
    inner = "{" + ",".join(f'"k{i}":{n}' for i, n in enumerate(numbers)) + "}"
    assert out == f'{inner[:-1]},"SageMakerOutput":{inner}}}\n'.encode()


@settings(max_examples=200, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_prediction_values_have_the_container_text(value):
    from fastjoin.records.jsonl import _prediction_values

    [v] = _prediction_values(np.array([value], dtype=np.float32))
    assert orjson.dumps(v) == repr(float(np.float32(value))).encode()


# ----------------------------------------------------------------------------- property: joins

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, min_size=1, max_size=8))
def test_joined_output_parses_back_to_input_plus_output(values):
    data = b"".join(orjson.dumps(v) + b"\n" for v in values)
    t = fastjoin.Transformer(answering(b'{"p":1}'), **JOIN)
    out = t.transform_bytes(data).split(b"\n")
    assert out[-1] == b"" and len(out) == len(values) + 1
    for v, line in zip(values, out):
        got = orjson.loads(line)
        expected = (
            {**v, "SageMakerOutput": {"p": 1}}
            if isinstance(v, dict)
            else {"SageMakerInput": v, "SageMakerOutput": {"p": 1}}
        )
        assert got == expected
        assert line == orjson.dumps(got, option=orjson.OPT_SORT_KEYS)


# ----------------------------------------------------------------------------- containers


def test_container_batches_by_max_payload_and_single_record(pipeline):
    model = answering(b"1")
    record = b'{"x":"' + b"a" * 1000 + b'"}'
    t = fastjoin.Transformer(model, max_payload=1, **JOIN)
    out = t.transform_bytes((record + b"\n") * 3000)
    assert out == (b'{"SageMakerOutput":1,' + record[1:] + b"\n") * 3000
    assert len(model.calls) >= 3 and all(len(body) <= 1024 * 1024 for body, _, _ in model.calls)
    single = answering(b"1")
    fastjoin.Transformer(single, strategy="SingleRecord", **JOIN).transform_bytes(b"1\n2\n3\n")
    assert [body for body, _, _ in single.calls] == [b"1\n", b"2\n", b"3\n"]


def test_container_response_lines_keep_their_bytes_and_lose_cr(pipeline):
    def model(body, content_type, accept):
        return b"".join(b'{"a": 1}\r\n' for _ in body.splitlines())

    assert fastjoin.Transformer(model, **JSONL).transform_bytes(b"1\n2\n") == b'{"a": 1}\n{"a": 1}\n'


def test_container_wrong_line_count_is_an_output_error():
    t = fastjoin.Transformer(lambda body, ct, acc: b"1\n", **JOIN)
    with pytest.raises(OutputError, match="returned 1 line for 3 records"):
        t.transform_bytes(b"1\n2\n3\n", source="c.jsonl")
    t = fastjoin.Transformer(lambda body, ct, acc: b"1\n2\n", **JOIN)
    with pytest.raises(OutputError, match="returned 2 lines for 1 record "):
        t.transform_bytes(b"1\n", source="c.jsonl")


def test_container_output_that_is_not_json_is_an_output_error():
    t = fastjoin.Transformer(answering(b"1", b"1,0.98"), **JOIN)
    with pytest.raises(OutputError, match=r"c.jsonl:2:1: the model's output for this record is not JSON"):
        t.transform_bytes(b'{"a":1}\n{"a":2}\n', source="c.jsonl")


def test_oversized_record_is_an_error():
    t = fastjoin.Transformer(answering(b"1"), max_payload=1, **JOIN)
    with pytest.raises(FeatureError, match="larger than MaxPayloadInMB"):
        t.transform_bytes(b'"' + b"x" * (1024 * 1024) + b'"\n')


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "line, column, message",
    [
        (b'{"a":1,}', 7, "invalid JSON: trailing comma is not allowed"),
        (b'{"\xc3\xa9":1,}', 7, "invalid JSON: trailing comma is not allowed"),  # columns count characters
        (b'{"a":1} {"b":2}', 9, "invalid JSON: unexpected content after document"),
        (b'{"a":\xff}', 6, "not valid UTF-8: byte 0xff"),
        (b'{"a":1e400}', 6, "invalid JSON: number is infinity"),
        (b'\xef\xbb\xbf{"a":1}', 1, "invalid JSON: UTF-8 byte order mark"),
        (b'{"a":NaN}', 6, "invalid JSON: unexpected character"),
        (b"[" * 1100 + b"]" * 1100, 1026, "invalid JSON: depth limit exceeded (fastjoin reads at most 1024"),
    ],
)
def test_malformed_json_is_located(line, column, message):
    t = fastjoin.Transformer(answering(b"1"), **JOIN)
    with pytest.raises(JsonLinesError) as info:
        t.transform_bytes(b'{"ok":1}\n{"ok":2}\n' + line + b'\n{"ok":3}\n', source="bad.jsonl")
    loc = info.value.location
    assert (loc.line, loc.column, loc.record) == (3, column, 2)
    assert str(info.value).startswith(f"bad.jsonl:3:{column}: {message}")


def test_truncated_last_line_is_located():
    t = fastjoin.Transformer(answering(b"1"), **JOIN)
    with pytest.raises(JsonLinesError) as info:
        t.transform_bytes(b'{"a":1}\n{"a":[1,2', source="t.jsonl")
    assert str(info.value).startswith("t.jsonl:2:10: invalid JSON: unexpected end of data")


def test_blank_lines_skipped_in_extended_error_in_sagemaker():
    data = b'{"a":1}\n\n{"a":2}\r\n  \t\r\n{"a":3}\n\n'
    t = fastjoin.Transformer(answering(b"0"), output_filter="$.a", **JOIN)
    assert t.transform_bytes(data) == b"1\n2\n3\n"
    strict = fastjoin.Transformer(answering(b"0"), output_filter="$.a", dialect="sagemaker", **JOIN)
    with pytest.raises(JsonLinesError) as info:
        strict.transform_bytes(data, source="s.jsonl")
    assert str(info.value).startswith("s.jsonl:2:1: blank line")
    with pytest.raises(JsonLinesError, match="s.jsonl:2:1: blank line"):
        strict.transform_bytes(b'{"a":1}\n \n', source="s.jsonl")


@pytest.mark.parametrize(
    "data, where",
    [
        (b"{bad\n\n1\n", "s.jsonl:1:2: invalid JSON"),  # a bad record before a blank line
        (b"1\n \n\n2\n", "s.jsonl:2:1: blank line"),  # a whitespace-only line before an empty one
        (b"1\n2\n\n{bad\n", "s.jsonl:3:1: blank line"),
    ],
)
def test_the_sagemaker_dialect_reports_the_first_error_in_line_order(data, where):
    strict = fastjoin.Transformer(answering(b"0"), dialect="sagemaker", **JOIN)
    with pytest.raises(JsonLinesError) as info:
        strict.transform_bytes(data, source="s.jsonl")
    assert str(info.value).startswith(where)


def test_blank_lines_are_counted(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b'{"a":1}\n\n \n{"a":2}\n')
    result = fastjoin.Transformer(answering(b"0"), **JOIN).transform(tmp_path / "a.jsonl", tmp_path / "out")
    assert result.ok and result.files[0].records == 2 and result.files[0].blank_lines == 2


def test_too_deep_to_write_is_located():
    deep = b"[" * 300 + b"]" * 300
    t = fastjoin.Transformer(answering(b"1"), **JOIN)
    with pytest.raises(JsonLinesError) as info:
        t.transform_bytes(b'{"a":1}\n' + deep + b"\n", source="d.jsonl")
    assert str(info.value).startswith("d.jsonl:2:1: cannot write the output record: it nests deeper than 254")
    # without a join, the record itself is sent and nothing of it written: fine
    assert fastjoin.Transformer(answering(b"1"), **JSONL).transform_bytes(deep + b"\n") == b"1\n"


def test_output_filter_selecting_nothing_names_the_record():
    t = fastjoin.Transformer(answering(b"1"), output_filter="$['id','SageMakerOutput']", **JOIN)
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(b'{"id":1}\n[1,2]\n', source="o.jsonl")
    assert str(info.value).startswith(
        "o.jsonl:2:1: OutputFilter $['id','SageMakerOutput'] selects nothing: $ has no key 'id' "
        "(keys: 'SageMakerInput', 'SageMakerOutput')"
    )


@pytest.mark.requires_xgboost
def test_bad_object_fails_alone_with_no_partial_output(booster, tmp_path):
    good = lines_of([{"f": [1, 2, 3]}] * 5)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_bytes(good + b'{"f":[1,2,3]\n' + good)
    (tmp_path / "in" / "b.jsonl").write_bytes(good)
    t = fastjoin.Transformer(booster, input_filter="$.f", chunk_size=64, **JOIN)
    result = t.transform(tmp_path / "in", tmp_path / "out")
    [failed] = result.failed
    assert isinstance(failed.error, JsonLinesError) and failed.error.location.line == 6
    assert sorted(os.listdir(tmp_path / "out")) == ["b.jsonl.out"]
    assert (tmp_path / "out" / "b.jsonl.out").read_bytes() == t.transform_bytes(good)


# ----------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(join_source="Input", accept="text/csv"), "requires accept"),
        (dict(join_source="Input", split_type="None"), "on application/jsonlines requires split_type='Line'"),
        (dict(join_source="Input", assemble_with="None"), "requires assemble_with"),
        (dict(header=True), "header=True applies to text/csv only"),
        (dict(json_key_order="alphabetical"), "json_key_order must be one of"),
        (dict(json_key_order="input", dialect="sagemaker"), "json_key_order='input' is an extension"),
        (dict(json_numbers="exact"), "json_numbers must be one of"),
    ],
)
def test_config_errors_before_any_data(options, message):
    calls = []
    with pytest.raises(ConfigError, match=message):
        fastjoin.Transformer(lambda *a: calls.append(a), **{**JSONL, **options})
    assert calls == []


def test_content_type_parameters_and_json_joins_of_whole_objects():
    t = fastjoin.Transformer(
        answering(b"1"), content_type="application/jsonlines; charset=utf-8", join_source="Input"
    )
    assert t.transform_bytes(b"{}\n") == b'{"SageMakerOutput":1}\n'
    fastjoin.Transformer(
        answering(b"1"), content_type="application/json", split_type="None", join_source="Input"
    )  # None/None is a valid JSON join


def test_sagemaker_whitelist_error_names_the_json_content_type():
    # reference/semantics.md §2.5, I-184, verbatim.
    with pytest.raises(PathSyntaxError) as info:
        fastjoin.Transformer(
            answering(b"1"), dialect="sagemaker", output_filter="$['account_id','SageMakerOutput']", **JOIN
        )
    assert info.value.message == (
        "Invalid OutputFilter: \"$['account_id','SageMakerOutput']\". Unexpected \"_\" in JsonPath. "
        "Supported operators for \"application/jsonlines\" are ['$', '[', ']', '*', '.', ' ', ',', ':', "
        "'-', ''']"
    )


# ----------------------------------------------------------------------------- chunks, buffers, files


def _records(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    X = np.round(rng.random((n, 3)) * 10, 2)
    return b"".join(orjson.dumps({"id": 1000 + i, "f": row}) + b"\n" for i, row in enumerate(X.tolist()))


@pytest.mark.requires_xgboost
@settings(max_examples=30, deadline=None)
@given(chunk_size=st.integers(min_value=1, max_value=600), bad_row=st.integers(min_value=0, max_value=39))
def test_any_chunk_size_gives_same_bytes_and_same_error(booster, runner, chunk_size, bad_row):
    job = dict(input_filter="$.f", output_filter="$['id','SageMakerOutput']", **JOIN)
    data = _records(40)
    lines = data.splitlines(keepends=True)
    lines[bad_row] = lines[bad_row].replace(b'"f":[', b'"f":["x",', 1)
    where = chunking_agrees(booster, job, chunk_size, data, b"".join(lines), runner)
    assert (where.line, where.record) == (bad_row + 1, bad_row)


@pytest.mark.requires_xgboost
def test_batches_inside_a_chunk_give_the_same_bytes_and_errors(booster, monkeypatch):
    from fastjoin.records import jsonl as jsonl_records

    job = dict(input_filter="$.f", output_filter="$['id','SageMakerOutput']", **JOIN)
    data = _records(100)
    expected = fastjoin.Transformer(booster, **job).transform_bytes(data)
    monkeypatch.setattr(jsonl_records, "BATCH", 7)
    monkeypatch.setattr(jsonl_records, "GROUP", 3)
    t = fastjoin.Transformer(booster, **job)
    assert t.transform_bytes(data) == expected
    lines = data.splitlines(keepends=True)
    lines[50] = b"{bad\n"
    with pytest.raises(JsonLinesError) as info:
        t.transform_bytes(b"".join(lines))
    assert (info.value.location.line, info.value.location.record) == (51, 50)


@pytest.mark.requires_xgboost
def test_buffer_kinds(booster, buffer_kinds):
    data = _records(30)
    t = fastjoin.Transformer(booster, input_filter="$.f", **JOIN)
    expected = t.transform_bytes(data)
    for kind, buf in buffer_kinds(data):
        assert t.transform_bytes(buf) == expected, kind


@pytest.mark.requires_xgboost
def test_files_end_to_end(booster, tmp_path):
    data = _records(500)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part-1.jsonl").write_bytes(data)
    (tmp_path / "doc.json").write_bytes(b'{\n  "f": [1, 2, 3]\n}')
    t = fastjoin.Transformer(booster, input_filter="$.f", chunk_size=1000, **JOIN)
    result = t.transform(tmp_path / "in", tmp_path / "out")
    assert result.ok and result.records == 500
    assert (tmp_path / "out" / "part-1.jsonl.out").read_bytes() == t.transform_bytes(data)
    whole = fastjoin.Transformer(
        booster,
        content_type="application/json",
        split_type="None",
        input_filter="$.f",
        join_source="Input",
        chunk_size=4,
    )
    result = whole.transform(tmp_path / "doc.json", tmp_path / "out2")
    assert result.ok and result.records == 1
    [p] = booster.predict(xgb.DMatrix(np.array([[1, 2, 3]], dtype=np.float32)))
    assert (
        tmp_path / "out2" / "doc.json.out"
    ).read_bytes() == f'{{"SageMakerOutput":{text(p)},"f":[1,2,3]}}'.encode()


@pytest.mark.requires_xgboost
def test_cli_runs_a_json_lines_job(booster, tmp_path):
    model = tmp_path / "model.json"
    booster.save_model(str(model))
    (tmp_path / "in.jsonl").write_bytes(b'{"id":"a","f":[1,2,3]}\n{"id":"b","f":[4,null,6]}\n')
    proc = cli(
        "transform", "--model", model, "--input", tmp_path / "in.jsonl", "--output", tmp_path / "out",
        "--content-type", "application/jsonlines", "--input-filter", "$.f", "--join-source", "Input",
        "--output-filter", "$['id','SageMakerOutput']", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    preds = booster.predict(xgb.DMatrix(np.array([[1, 2, 3], [4, np.nan, 6]], dtype=np.float32)))
    assert (
        (tmp_path / "out" / "in.jsonl.out").read_bytes()
        == f'{{"SageMakerOutput":{text(preds[0])},"id":"a"}}\n{{"SageMakerOutput":{text(preds[1])},"id":"b"}}\n'.encode()
    )


@pytest.mark.requires_xgboost
def test_cli_json_key_order_flag(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.random((30, 1)).astype(np.float32)
    model = tmp_path / "m.json"
    xgb.train({"objective": "reg:squarederror", "nthread": 1}, xgb.DMatrix(X, label=X[:, 0]), 2).save_model(
        str(model)
    )
    (tmp_path / "in.jsonl").write_bytes(b'{"z":1,"x":0.5}\n')
    proc = cli(
        "transform", "--model", model, "--input", tmp_path / "in.jsonl", "--output", tmp_path / "out",
        "--content-type", "application/jsonlines", "--input-filter", "$.x", "--join-source", "Input",
        "--json-key-order", "input", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "in.jsonl.out").read_bytes().startswith(b'{"z":1,"x":0.5,"SageMakerOutput":')


@pytest.mark.requires_xgboost
def test_booleans_among_many_zeros_and_ones(booster):
    # many 0/1 values: the batch's bytes are searched instead of every 0 and 1
    t = fastjoin.Transformer(booster, input_filter="$.f", **JSONL)
    good = b'{"f":[0,1,0]}\n' * 20
    expected = booster.predict(xgb.DMatrix(np.array([[0, 1, 0]] * 20, dtype=np.float32)))
    assert t.transform_bytes(good) == "".join(text(p) + "\n" for p in expected).encode()
    assert t.transform_bytes(
        good.replace(b"\n", b',"flag":true}\n').replace(b"]}", b"]")
    ) == t.transform_bytes(good)
    with pytest.raises(FeatureError, match=r"in.jsonl:21:1: InputFilter \$.f: feature 3 is false"):
        t.transform_bytes(good + b'{"f":[0,1,false]}\n', source="in.jsonl")


@pytest.mark.requires_xgboost
@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(json_values, json_values), min_size=1, max_size=8),
    st.booleans(),
    st.sampled_from(["sorted", "input"]),
)
def test_output_filter_of_names_equals_orjson_of_the_selection(pairs, container, order):
    # the columnar writer of $['b','SageMakerOutput','a'] against orjson on each object
    records = [{"a": a, "x": 1, "b": b} for a, b in pairs]
    data = lines_of(records)
    model = answering(b'{"z":1,"y":[1.5,"s,t"]}') if container else None
    if model is None:
        X = np.zeros((4, 1), dtype=np.float32)
        model = xgb.train(
            {"objective": "reg:squarederror", "base_score": 0.25, "nthread": 1},
            xgb.DMatrix(X, label=np.zeros(4)),
            0,
        )
    t = fastjoin.Transformer(
        model, input_filter="$.x", output_filter="$['b','SageMakerOutput','a']", json_key_order=order, **JOIN
    )
    out = t.transform_bytes(data).split(b"\n")[:-1]
    prediction = {"z": 1, "y": [1.5, "s,t"]} if container else 0.25
    option = orjson.OPT_SORT_KEYS if order == "sorted" else 0
    assert out == [
        orjson.dumps({"b": r["b"], "SageMakerOutput": prediction, "a": r["a"]}, option=option)
        for r in records
    ]


def test_prediction_name_names_the_joined_key(pipeline):
    t = fastjoin.Transformer(
        answering(b"1"), prediction_name="score", output_filter="$['id','score']", **JOIN
    )
    assert t.transform_bytes(b'{"id":7,"x":1}\n') == b'{"id":7,"score":1}\n'
    t = fastjoin.Transformer(answering(b"1"), prediction_name="score", **JOIN)
    assert t.transform_bytes(b"[1]\n") == b'{"SageMakerInput":[1],"score":1}\n'


def test_json_records_module_is_chosen():
    from fastjoin.records import csv as csv_records
    from fastjoin.records import jsonl as jsonl_records

    assert fastjoin.Transformer(answering(b"1"), **JSONL).pipeline.format is jsonl_records.FORMAT
    json = fastjoin.Transformer(answering(b"1"), content_type="application/json")
    assert json.pipeline.format is jsonl_records.FORMAT
    assert fastjoin.Transformer(answering(b"1")).pipeline.format is csv_records.FORMAT


@pytest.mark.requires_xgboost
def test_in_process_output_filter_errors_and_wrapping(booster, monkeypatch):
    from fastjoin.records import jsonl as jsonl_records

    monkeypatch.setattr(jsonl_records, "GROUP", 2)  # the record without 'id' in a later group
    job = dict(input_filter="$.f", output_filter="$['id','SageMakerOutput']", **JOIN)
    t = fastjoin.Transformer(booster, **job)
    data = b'{"id":1,"f":[1,2,3]}\n{"id":2,"f":[1,2,3]}\n{"id":3,"f":[1,2,3]}\n{"f":[1,2,3]}\n'
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(data, source="k.jsonl")
    assert str(info.value).startswith(
        "k.jsonl:4:1: OutputFilter $['id','SageMakerOutput'] selects "
        "nothing: $ has no key 'id' (keys: 'f', 'SageMakerOutput')"
    )
    [p] = booster.predict(xgb.DMatrix(np.array([[1, 2, 3]], dtype=np.float32)))
    wrapped = fastjoin.Transformer(booster, input_filter="$[1:]", output_filter="$.SageMakerInput[0]", **JOIN)
    assert wrapped.transform_bytes(b'["a",1,2,3]\n') == b'"a"\n'
    mixed = fastjoin.Transformer(
        booster,
        input_filter="$.f",
        output_filter="$['id','SageMakerOutput']",
        json_numbers="preserve",
        **JOIN,
    )
    out = mixed.transform_bytes(b'{"id":1.50,"f":[1,2,3]}\n{"id":"x","f":[1,2,3]}\n{"id":-0,"f":[1,2,3]}\n')
    assert (
        out
        == (
            f'{{"SageMakerOutput":{text(p)},"id":1.50}}\n{{"SageMakerOutput":{text(p)},"id":"x"}}\n'
            f'{{"SageMakerOutput":{text(p)},"id":-0}}\n'
        ).encode()
    )
