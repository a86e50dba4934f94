"""The compiled JSON Lines path (fastjoin.records.jsonl.scan over _core.scan_jsonl/join_jsonl)
against the orjson path and against the reference twin.

The contract: for any input, a job writes the same bytes, or raises the same error at the same
line and column, whether the scan runs or not; the scan never decides an error (a record it
does not cover, valid or not, goes the orjson way). Inputs are generated JSON Lines with
number texts of every shape, escapes, non-ASCII text, whitespace, repeated and missing keys,
and broken on purpose (truncated, bad escapes, bad UTF-8, lone surrogates, trailing garbage,
NaN literals, deep nesting). The core's scan is also held to its twin record by record.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import optional_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastjoin
from fastjoin.errors import FastjoinError
from fastjoin.records.jsonl import BATCH, scan

xgb = optional_module("xgboost")

PRED = b"SageMakerOutput"

# ----------------------------------------------------------------------------- generated text

_number = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,5})(\.[0-9]{1,6})?([eE][+-]?[0-9]{1,2})?", fullmatch=True),
    st.sampled_from(
        [
            "-0",
            "-0.0",
            "1e400",
            "-1e400",
            "1e-400",
            "1e100",
            "123456789012345678901234567890",
            "18446744073709551616",
            "3.4028235677973366e38",
            "1.0000000596046448",
            "01",
            "1.",
            ".5",
            "+1",
            "1e",
            "NaN",
            "Infinity",
            "-",
        ]
    ),
)
_string_body = st.one_of(
    st.sampled_from(
        ["x", "id", "é", "中文", "a b", "\\n", "\\u00e9", "\\ud83d\\ude00", "\\ud800", "\\udc00x", "\\q"]
    ),
    st.text(alphabet='abcé"\\/\t', max_size=4).map(lambda s: s.replace("\\", "\\\\").replace('"', '\\"')),
)
_scalar = st.one_of(
    _number,
    st.sampled_from(
        ["null", "true", "false", "nul", "[]", "{}", '{"b":1,"a":2}', '{"a":1}', "[1, 2]", "[[1]]"]
    ),
    _string_body.map(lambda s: f'"{s}"'),
)
_spaces = st.sampled_from(["", "", "", " ", "\t", " \r"])
_plain_number = st.from_regex(r"-?(0|[1-9][0-9]{0,8})(\.[0-9]{1,9})?([eE][+-]?[0-9]{1,2})?", fullmatch=True)
_plain_scalar = st.one_of(
    _plain_number, st.sampled_from(["null", '"x"', '"é"', "true", '"a b"', "[]", "[1,[2]]"])
)


@st.composite
def _array(draw, width: int) -> str:
    items = draw(
        st.lists(
            st.one_of(_number, _number, _number, st.just("null"), _scalar), min_size=width, max_size=width
        )
    )
    if draw(st.integers(0, 9)) == 0:  # a wrong width
        items = items[:-1] if items and draw(st.booleans()) else items + ["1"]
    return "[" + draw(st.sampled_from([",", ",", ", "])).join(items) + "]"


@st.composite
def _plain_record(draw, shape: str) -> bytes:
    """A record the scan covers in every job of its shape: sorted keys, compact, numbers."""
    features = st.one_of(_plain_number, _plain_number, st.just("null"))
    if shape == "root":
        return ("[" + ",".join(draw(st.lists(features, min_size=3, max_size=3))) + "]").encode()
    members = {"id": draw(_plain_scalar), "zz": draw(_plain_scalar)}
    if shape == "features":
        members["features"] = "[" + ",".join(draw(st.lists(features, min_size=3, max_size=3))) + "]"
    else:
        members.update((name, draw(features)) for name in "abc")
    return ("{" + ",".join(f'"{k}":{v}' for k, v in sorted(members.items())) + "}").encode()


@st.composite
def _record(draw, shape: str) -> bytes:
    if draw(st.integers(0, 3)) == 0:
        return draw(_plain_record(shape))
    if shape == "root":
        text = draw(_array(3))
    else:
        members = [("id", draw(st.one_of(_number, _scalar)))]
        if shape == "features":
            members.append(("features", draw(_array(3))))
        else:
            members += [(name, draw(st.one_of(_number, _number, st.just("null"), _scalar))) for name in "abc"]
        extra = draw(
            st.lists(
                st.tuples(st.sampled_from(["meta", "zz", "A", "é", "a\\u0062", "id", "Sag"]), _scalar),
                max_size=2,
            )
        )
        members += extra
        if draw(st.booleans()):
            members = draw(st.permutations(members))
        if draw(st.integers(0, 9)) == 0:
            members.append(("SageMakerOutput", "1"))
        if draw(st.integers(0, 9)) == 0:
            members = [m for m in members if m[0] != draw(st.sampled_from(["id", "features", "a"]))]
        sep = draw(_spaces)
        text = "{" + ",".join(f'{sep}"{k}"{sep}:{sep}{v}' for k, v in members) + sep + "}"
    raw = (draw(_spaces) + text + draw(_spaces)).encode()
    return draw(_broken(raw)) if draw(st.integers(0, 5)) == 0 else raw


@st.composite
def _broken(draw, raw: bytes) -> bytes:
    how = draw(st.sampled_from(["truncate", "garbage", "byte", "deep", "nan"]))
    at = draw(st.integers(0, len(raw)))
    if how == "truncate":
        return raw[:at]
    if how == "garbage":
        return raw + draw(st.sampled_from([b"x", b" 1", b"}", b",", b"\x00"]))
    if how == "byte":
        return (
            raw[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x01", b"\\", b'"']))
            + raw[at:]
        )
    if how == "deep":
        depth = draw(st.sampled_from([63, 64, 65, 300, 1100]))
        return raw.replace(b'"id":', b'"id":' + b"[" * depth + b"1" + b"]" * depth + b',"x":', 1)
    return raw.replace(b"1", b"NaN", 1)


def _lines(shape: str):
    """Lines of one shape; a third of the time all plain (a batch the scan covers whole)."""
    return st.one_of(
        st.lists(_record(shape), min_size=1, max_size=6),
        st.lists(_plain_record(shape), min_size=1, max_size=6),
    ).map(lambda rs: b"\n".join(rs) + b"\n")


# ----------------------------------------------------------------------------- the core and its twin


def _spans(data: bytes):
    starts, ends, offset = [], [], 0
    for line in data.split(b"\n")[:-1]:
        starts.append(offset)
        ends.append(offset + len(line))
        offset += len(line) + 1
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


QUERIES = {
    "features, all members": ("features", (b"features",), True, None),
    "features, named output": ("features", (b"features",), True, (PRED, b"id")),
    "features, input order": ("features", (b"features",), True, (b"id", b"features", PRED)),
    "keys, nothing kept": ("keys", (b"a", b"b", b"c"), False, ()),
    "keys, all members": ("keys", (b"a", b"b", b"c"), False, None),
    "root": ("root", (), True, ()),
}


@pytest.mark.parametrize("name", QUERIES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_core_scan_equals_reference(core, reference, name, data):
    shape, names, array, out_names = QUERIES[name]
    text = data.draw(_lines(shape))
    starts, ends = _spans(text)
    results = []
    for impl in (core, reference):
        X = np.full((len(starts), 3), -7.0, dtype=np.float32)
        covered, members, rows = impl.scan_jsonl(text, starts, ends, names, array, out_names, PRED, X)
        results.append((covered, members.tolist(), rows.tolist(), X[:covered].view(np.uint32).tolist()))
    assert results[0] == results[1]


def _edge_numbers() -> list[str]:
    """Number texts around the edges of the core's one-step number path (at most 8 digits
    before the dot and 8 after, 16 bytes read at once, mantissas up to 2**53) and just past
    them, valid or not."""
    texts = ["-0", "-0.0", "0", "0.0", "00", "01.5", "1.", "-", "-.5", "1.5.3", "1e5", "1.5E-3", "2.5e+1"]
    for ints in (1, 2, 7, 8, 9):
        for dec in (0, 1, 7, 8, 9):
            digits = "123456789"[:ints] + ("." + "987654321"[:dec] if dec else "")
            texts += [digits, "-" + digits, "0." + "0" * (dec - 1) + "7" if dec else "0"]
    texts += ["9007199254740992", "9007199254740993", "90071992.54740993", "99999999.99999999"]
    return texts


def test_scan_parses_numbers_at_the_fast_paths_edges(core, reference):
    """Each edge number as the first and as the last of three features, with bytes enough
    around it for the one-step path, and with none (the buffer's last bytes): the core agrees
    with its twin bit for bit, and on which records it covers."""
    for text in _edge_numbers():
        lines = [
            f'{{"id":12345678,"features":[{text},1.25,-3]}}',
            f'{{"id":12345678,"features":[1.25,-3,{text}],"pad":"................"}}',
            f'{{"id":1,"features":[1.25,-3,{text}]}}',
        ]
        data = "\n".join(lines).encode()
        starts, ends = _spans(data + b"\n")
        results = []
        for impl in (core, reference):
            X = np.full((len(starts), 3), -7.0, dtype=np.float32)
            for r in range(len(starts)):  # one record at a time: an uncovered one stops a batch
                one = starts[r : r + 1], ends[r : r + 1]
                covered = impl.scan_jsonl(data, *one, (b"features",), True, None, PRED, X[r : r + 1])[0]
                results.append((covered, X[r].view(np.uint32).tolist() if covered else None))
            results.append(None)
        assert results[: len(results) // 2] == results[len(results) // 2 :], text
        assert results[0][0] == 1 or text in ("00", "01.5", "1.", "-", "-.5", "1.5.3"), text


def test_scan_covers_the_plain_shapes(impl):
    text = b'{"features":[1.5,-0,null,1e5,0.1],"id":7}\n{"id":"x", "features":[1,2,3,4,5]}\n'
    starts, ends = _spans(text)
    X = np.zeros((2, 5), dtype=np.float32)
    covered, members, rows = impl.scan_jsonl(text, starts, ends, (b"features",), True, None, PRED, X)
    assert covered == 2
    expected = np.array([[1.5, 0.0, np.nan, 1e5, 0.1], [1, 2, 3, 4, 5]], dtype=np.float32)
    assert X.view(np.uint32).tolist() == expected.view(np.uint32).tolist()
    assert not np.signbit(X[0, 1])  # the integer -0 reads as 0
    spans = np.array([[0, 3], [3, 4]], dtype=np.int64)
    out = impl.join_jsonl(text, members, rows, b'"SageMakerOutput"', b"0.50.25", spans, b"\n")
    assert out == (
        b'{"SageMakerOutput":0.5,"features":[1.5,-0,null,1e5,0.1],"id":7}\n'
        b'{"SageMakerOutput":0.25,"features":[1,2,3,4,5],"id":"x"}\n'
    )


def test_scan_keeps_every_member_of_a_long_batch(impl):
    """Every member kept: the core sizes its member array by counting the batch's ':' (16
    bytes at a time, in byte counters summed every 255 steps); a batch well past that keeps
    them all."""
    lines = [f'{{"a":{i},"b":"x:y","features":[{i}.5,-0.25]}}' for i in range(600)]
    text = ("\n".join(lines) + "\n").encode()
    starts, ends = _spans(text)
    X = np.zeros((len(starts), 2), dtype=np.float32)
    covered, members, rows = impl.scan_jsonl(text, starts, ends, (b"features",), True, None, PRED, X)
    assert covered == len(lines) and len(members) == 4 * len(lines)
    assert rows.tolist() == list(range(0, 4 * len(lines) + 1, 4))
    assert X[:, 0].tolist() == [i + 0.5 for i in range(600)] and (X[:, 1] == -0.25).all()


@pytest.mark.parametrize(
    "line",
    [
        b'{"features":[1,2,3,4,5],"id":1,"features":[1,2,3,4,5]}',  # a repeated key
        b'{"features":[1,2,3,4,5],"SageMakerOutput":1}',  # the join overwrites it
        b'{"features":[1, 2,3,4,5],"id":1}',  # whitespace in a kept value
        b'{"features":[1,2,3,4,5],"id":"\\n"}',  # an escape in a kept value
        b'{"features":[1,2,3,4,5],"id":{"b":1}}',  # an object in a kept value
        b'{"features":[1,2,3,4,5],"f\\u0065atures":[1,2,3,4,5]}',  # an escaped key
        b'{"features":[1,2,3,4,true]}',  # not a number
        b'{"features":[1,2,3,4,5],"x":"\\ud800"}',  # a lone surrogate
        b'{"features":[1,2,3,4,1e400]}',  # beyond double: orjson refuses it
        b'{"features":[1,2,3,4,5]} x',  # trailing garbage
        b'{"features":[1,2,3,4,NaN]}',
        b'{"features":[1,2,3,4,5],"x":"\xff"}',
    ],
)
def test_scan_leaves_to_orjson(impl, line):
    starts, ends = _spans(line + b"\n")
    X = np.zeros((1, 5), dtype=np.float32)
    assert impl.scan_jsonl(line, starts, ends, (b"features",), True, None, PRED, X)[0] == 0


def test_scan_refuses_spans_outside_the_buffer(impl):
    X = np.zeros((1, 1), dtype=np.float32)
    spans = np.array([0], dtype=np.int64), np.array([9], dtype=np.int64)
    with pytest.raises(ValueError):
        impl.scan_jsonl(b"[1]", *spans, (), True, (), PRED, X)


# ----------------------------------------------------------------------------- the job, both ways


@pytest.fixture(scope="module")
def booster():
    rng = np.random.default_rng(3)
    X = rng.random((200, 3)).astype(np.float32) * 10
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) > 5).astype(np.float32)
    return xgb.train(
        {"objective": "binary:logistic", "nthread": 1, "max_depth": 3}, xgb.DMatrix(X, label=y), 8
    )


JOBS = {
    "features, named output": (
        "features",
        dict(input_filter="$.features", join_source="Input", output_filter="$['id','SageMakerOutput']"),
    ),
    "features, joined": ("features", dict(input_filter="$.features", join_source="Input")),
    "features, input key order": (
        "features",
        dict(
            input_filter="$.features",
            join_source="Input",
            output_filter="$['id','SageMakerOutput']",
            json_key_order="input",
        ),
    ),
    "features, no join": ("features", dict(input_filter="$.features")),
    "keys, joined": ("keys", dict(input_filter="$['a','b','c']", join_source="Input")),
    "keys, named output": (
        "keys",
        dict(input_filter="$['a','b','c']", join_source="Input", output_filter="$['SageMakerOutput','a']"),
    ),
    "root, no join": ("root", dict()),
}


def _run(model, job: dict, data: bytes):
    try:
        return fastjoin.Transformer(model, content_type="application/jsonlines", **job).transform_bytes(data)
    except FastjoinError as exc:
        return type(exc), str(exc), exc.location


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("name", JOBS)
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_scan_writes_what_orjson_writes(booster, monkeypatch, name, data):
    shape, job = JOBS[name]
    text = data.draw(_lines(shape))
    monkeypatch.setattr(scan, "ENABLED", True)
    scanned = _run(booster, job, text)
    monkeypatch.setattr(scan, "ENABLED", False)
    assert scanned == _run(booster, job, text)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("name", JOBS)
def test_the_plain_shapes_take_the_scan(booster, monkeypatch, pipeline, name):
    """Records in the written form are covered (so the tests above compare two paths)."""
    shape, job = JOBS[name]
    records = {
        "features": b'{"features":[1.5,2,null],"id":7}\n{"features":[0,-0,3e2],"id":"x"}\n',
        "keys": b'{"a":1.5,"b":2,"c":null,"id":7}\n{"a":0,"b":-0,"c":3e2,"id":"x"}\n',
        "root": b"[1.5,2,null]\n[0,-0,3e2]\n",
    }[shape]
    calls = []
    process = scan.process

    def spy(*args):
        calls.append(process(*args))
        return calls[-1]

    monkeypatch.setattr(scan, "process", spy)
    if "json_key_order" in job:
        records = records.replace(b'{"features":[1.5,2,null],"id":7}', b'{"id":7,"features":[1.5,2,null]}')
    out = _run(booster, job, records)
    assert calls and all(c is not None for c in calls), calls
    monkeypatch.setattr(scan, "ENABLED", False)
    assert out == _run(booster, job, records)


@pytest.mark.requires_xgboost
def test_the_scan_takes_the_records_after_one_it_does_not_cover(booster, monkeypatch):
    """One record the scan leaves to orjson (an escaped key) costs one orjson batch from it;
    the records before it and after that batch take the scan, same bytes as without it."""
    lines = [b'{"features":[1,2,%d],"id":%d}' % (i % 7, i) for i in range(3000)]
    lines[10] = b'{"features":[1,2,3],"i\\u0064":10}'
    data = b"\n".join(lines) + b"\n"
    job = dict(input_filter="$.features", join_source="Input")
    covered: list = []
    process = scan.process

    def spy(*args):
        result = process(*args)
        covered.append(result and result[2])
        return result

    monkeypatch.setattr(scan, "process", spy)
    out = _run(booster, job, data)
    assert covered == [10, None, 3000 - 10 - BATCH]
    monkeypatch.setattr(scan, "ENABLED", False)
    assert out == _run(booster, job, data)


@pytest.mark.requires_xgboost
def test_skip_leaves_out_bad_records_with_the_scan(booster, monkeypatch):
    """on_error="skip" on JSON Lines (records.skip halves a chunk around a bad record): the
    good records are written as without the scan, the bad ones are dead letters."""
    good = b'{"features":[1,2,3],"id":%d}'
    lines = [good % i for i in range(40)]
    lines[3] = b'{"features":[1,2,"x"],"id":3}'  # a feature that is not a number
    lines[17] = b'{"features":[1,2,3],"id":17'  # truncated
    lines[30] = b'{"features":[1,2],"id":30}'  # the wrong width
    data = b"\n".join(lines) + b"\n"
    job = dict(
        content_type="application/jsonlines", input_filter="$.features", join_source="Input", on_error="skip"
    )
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(scan, "ENABLED", enabled)
        errors: list = []
        out = fastjoin.Transformer(booster, **job).transform_bytes(data, errors=errors)
        results.append((out, [(e.line, e.column, e.reason) for e in errors]))
    assert results[0] == results[1]
    out, errors = results[0]
    assert [line for line, _, _ in errors] == [4, 18, 31]
    assert out.count(b"\n") == 37


@pytest.mark.parametrize("shape", [(8,), (4, 2)])
def test_prediction_text_is_what_the_orjson_path_writes(pipeline, shape):
    import orjson

    from fastjoin.records.jsonl.numbers import prediction_values

    values = [np.nan, np.inf, -np.inf, -0.0, 1e-5, 0.5, 3e20, 0.9899773597717285]
    preds = np.array(values, dtype=np.float32).reshape(shape)
    text, spans = scan._prediction_text(preds)
    assert [text[s : s + n] for s, n in spans.tolist()] == [orjson.dumps(v) for v in prediction_values(preds)]
    finite = np.array(values[3:], dtype=np.float32)
    text, spans = scan._prediction_text(finite)
    assert [text[s : s + n] for s, n in spans.tolist()] == [
        orjson.dumps(v) for v in prediction_values(finite)
    ]
