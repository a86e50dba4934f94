"""The error policy (SPEC §5, ``extended``): ``on_error="fail"`` (SageMaker's rule) and
``"skip"`` with dead-letter files and ``max_errors``. Good records keep their order and bytes
whatever the chunking; every dead letter points at the exact bytes of its record. Runs on the
compiled core and on the reference twin."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from helpers import optional_module
from hypothesis import given, settings
from hypothesis import strategies as st

import fastjoin
from fastjoin.deadletter import parse_max_errors
from fastjoin.errors import ConfigError, InputError, ModelError
from fastjoin.job import run_job

xgb = optional_module("xgboost")  # None without xgboost: the tests that use it are marked requires_xgboost

SEED = dict(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    from fastjoin.demo import make_seed_files

    return make_seed_files(tmp_path_factory.mktemp("seed"))


@pytest.fixture(scope="module")
def seed_lines(seed):
    return seed[1].read_bytes().splitlines(keepends=True)


# bad records of every kind a CSV job meets, with the reason each gets
def _bad_lines(good: bytes) -> list[tuple[bytes, str]]:
    fields = good.rstrip(b"\n").split(b",")
    return [
        (b",".join([fields[0], b"x" + fields[1]] + fields[2:]) + b"\n", "field 2: expected a number"),
        (b",".join([fields[0], b'"1.5'] + fields[2:]) + b"\n", "quoted field is not closed"),
        (b",".join([fields[0], b'1"5'] + fields[2:]) + b"\n", 'bare " in non-quoted field'),
        (b",".join(fields[:-1]) + b"\n", "record has 30 fields"),
        (b"lonely\n", "slice start 1 is out of range for a row of 1 field in $[1:]"),
        (
            b",".join([fields[0], b'"2"x'] + fields[2:]) + b"\r\n",
            "unexpected character after the closing quote",
        ),
    ]


def _inject(lines: list[bytes], at: dict[int, bytes]) -> bytes:
    """The lines with bad ones inserted before the given indexes."""
    out = []
    for i, line in enumerate(lines):
        if i in at:
            out.append(at[i])
        out.append(line)
    return b"".join(out)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("chunk_size, threads", [(1 << 22, None), (700, 1), (3000, 2), (64, 3)])
def test_skip_keeps_good_records_in_order_and_locates_bad_ones(
    pipeline, seed, seed_lines, chunk_size, threads
):
    model, _ = seed
    lines = seed_lines[:120]
    bad = _bad_lines(lines[5])
    positions = [1, 7, 8, 40, 77, 119]
    data = _inject(lines, dict(zip(positions, (b for b, _ in bad))))
    clean = fastjoin.Transformer(str(model), **SEED).transform_bytes(b"".join(lines))

    t = fastjoin.Transformer(str(model), **SEED, on_error="skip", chunk_size=chunk_size, threads=threads)
    errors = []
    out = t.transform_bytes(data, source="in.csv", errors=errors)
    assert out == clean
    assert len(errors) == len(bad)
    for (raw, reason), e, pos in zip(bad, errors, positions):
        assert reason in e.reason
        assert e.source == "in.csv"
        assert e.line == pos + 1 + positions.index(pos)  # lines shift by the bad ones before
        assert e.record == raw.rstrip(b"\r\n")
        assert data[e.offset : e.offset + len(e.record)] == e.record
        assert data[: e.offset].count(b"\n") == e.line - 1


@pytest.mark.requires_xgboost
def test_column_points_at_the_bad_field(seed, seed_lines):
    model, _ = seed
    fields = seed_lines[1].split(b",")
    fields[2] = b"abc"
    data = seed_lines[0] + b'842999,1.0,2.0,"3\n' + seed_lines[1] + b",".join(fields)
    errors = []
    fastjoin.Transformer(str(model), **SEED, on_error="skip").transform_bytes(data, errors=errors)
    assert [(e.line, e.column) for e in errors] == [(2, 16), (4, len(fields[0]) + len(fields[1]) + 3)]
    assert errors[1].reason == "field 3: expected a number, got 'abc'"


@pytest.mark.requires_xgboost
@settings(max_examples=40)
@given(
    # from 1: a first record the filter does not fit fails the object by design (see below)
    at=st.dictionaries(st.integers(1, 39), st.integers(0, 5), max_size=8),
    chunk_size=st.integers(16, 5000),
)
def test_any_chunking_gives_the_same_output_and_dead_letters(seed, seed_lines, runner, at, chunk_size):
    model, _ = seed
    lines = seed_lines[:40]
    bad = [b for b, _ in _bad_lines(lines[3])]
    raw = _inject(lines, {i: bad[kind] for i, kind in at.items()})
    expected_out = fastjoin.Transformer(str(model), **SEED).transform_bytes(b"".join(lines))
    errors = []
    t = fastjoin.Transformer(str(model), **SEED, on_error="skip", chunk_size=chunk_size, **runner)
    assert t.transform_bytes(raw, errors=errors) == expected_out
    reference = []
    fastjoin.Transformer(str(model), **SEED, on_error="skip").transform_bytes(raw, errors=reference)
    assert errors == reference
    assert len(errors) == len(at)


def test_container_model_and_output_filter_errors(pipeline):
    calls = []

    def model(body, content_type, accept):
        calls.append(body)
        return b"".join(b"0.5\n" for _ in body.splitlines())

    t = fastjoin.Transformer(
        model, input_filter="$[1:]", join_source="Input", output_filter="$[0,3]", on_error="skip"
    )
    errors = []
    out = t.transform_bytes(b'a,1,2\nb,1\nc,"x\nd,3,4\n', errors=errors)
    assert out == b"a,0.5\nd,0.5\n"
    assert [(e.line, e.reason) for e in errors] == [
        (2, "index 3 is out of range for a row of 3 fields in $[0,3]"),
        (
            3,
            "quoted field is not closed before the end of the line (records are lines: embedded "
            "newlines are not allowed)",
        ),
    ]
    assert b"".join(calls) == b"1,2\n1\n3,4\n"  # the model saw the well-formed records only


@pytest.mark.requires_xgboost
def test_first_record_that_does_not_fit_fails_the_object_even_when_skipping(seed, seed_lines):
    model, _ = seed
    t = fastjoin.Transformer(str(model), input_filter="$", on_error="skip")  # id + 30 features: 31
    with pytest.raises(ModelError, match="31"):
        t.transform_bytes(b"".join(seed_lines[:5]))


@pytest.mark.requires_xgboost
def test_fail_is_the_default(seed, seed_lines):
    model, _ = seed
    t = fastjoin.Transformer(str(model), **SEED)
    with pytest.raises(InputError, match=r"^in.csv:3:8: field 2: expected a number"):
        t.transform_bytes(_inject(seed_lines[:5], {2: _bad_lines(seed_lines[0])[0][0]}), source="in.csv")


@pytest.mark.parametrize(
    "on_error, max_errors, dialect, message",
    [
        ("ignore", None, "extended", "on_error must be one of"),
        ("skip", None, "sagemaker", "on_error='skip' is an extension"),
        ("fail", 3, "extended", "max_errors needs on_error='skip'"),
        ("skip", -1, "extended", "must not be negative"),
        ("skip", 1.5, "extended", "max_errors as a fraction must be between 0 and 1 (0% to 100%), not 1.5"),
        ("skip", True, "extended", "a count (int >= 0) or a fraction"),
        ("skip", "10", "extended", "a count (int >= 0) or a fraction"),
    ],
)
def test_policy_options_are_checked_before_anything_runs(on_error, max_errors, dialect, message):
    with pytest.raises(ConfigError, match="invalid transform options") as info:
        fastjoin.Transformer(lambda b, c, a: b, on_error=on_error, max_errors=max_errors, dialect=dialect)
    assert message in str(info.value)


@pytest.mark.parametrize("text, value", [("10", 10), ("0", 0), ("0.01", 0.01), ("5%", 0.05), ("1e-3", 0.001)])
def test_parse_max_errors(text, value):
    assert parse_max_errors(text) == value
    with pytest.raises(ConfigError):
        parse_max_errors("many")


# ----------------------------------------------------------------------------- files and jobs


def _request(source, output, **extra):
    return {
        "TransformJobName": "policy",
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(source)}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": str(output), "Accept": "text/csv", "AssembleWith": "Line"},
        "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
        **extra,
    }


@pytest.mark.requires_xgboost
def test_dead_letter_file_beside_the_output(seed, seed_lines, tmp_path):
    model, _ = seed
    (tmp_path / "in").mkdir()
    bad = _bad_lines(seed_lines[0])
    src = tmp_path / "in" / "part-1.csv"
    src.write_bytes(_inject(seed_lines[:50], {10: bad[0][0], 20: bad[2][0]}))
    (tmp_path / "in" / "part-2.csv").write_bytes(b"".join(seed_lines[50:60]))
    d = run_job(_request(tmp_path / "in", tmp_path / "out"), model=str(model), on_error="skip")
    assert d["TransformJobStatus"] == "Completed"
    o1, o2 = d["fastjoin"]["objects"]
    assert (o1["records_in"], o1["records_out"], o1["errors"]) == (52, 50, 2)
    assert o1["dead_letter"] == str(tmp_path / "out" / "part-1.csv.out.errors.jsonl")
    assert o2["dead_letter"] is None and not (tmp_path / "out" / "part-2.csv.out.errors.jsonl").exists()
    assert d["fastjoin"]["errors"] == 2
    entries = [
        json.loads(line)
        for line in (tmp_path / "out" / "part-1.csv.out.errors.jsonl").read_text().splitlines()
    ]
    assert [(e["source"], e["line"]) for e in entries] == [(str(src), 11), (str(src), 22)]
    raw = src.read_bytes()
    for e in entries:
        assert set(e) == {"source", "line", "column", "offset", "record", "reason"}
        assert raw[e["offset"] :].startswith(e["record"].encode())
    assert entries[0]["reason"].startswith("field 2: expected a number")
    expected = fastjoin.Transformer(str(model), **SEED).transform_bytes(b"".join(seed_lines[:50]))
    assert (tmp_path / "out" / "part-1.csv.out").read_bytes() == expected


@pytest.mark.requires_xgboost
def test_max_errors_count(seed, seed_lines, tmp_path):
    model, _ = seed
    bad = _bad_lines(seed_lines[0])
    src = tmp_path / "in.csv"
    src.write_bytes(_inject(seed_lines[:30], {3: bad[0][0], 6: bad[1][0], 9: bad[3][0]}))
    request = _request(src, tmp_path / "out")
    assert (
        run_job(request, model=str(model), on_error="skip", max_errors=3)["TransformJobStatus"] == "Completed"
    )
    d = run_job(request, model=str(model), on_error="skip", max_errors=2)
    assert d["TransformJobStatus"] == "Failed"
    assert d["FailureReason"] == (
        f"{src}:12:1: more than 2 bad records (the max_errors limit, --max-errors 2); this one: record has "
        f"30 fields, so InputFilter $[1:] selects 29 features, but the model expects 30"
    )
    # a failed object leaves neither an output nor a dead-letter file
    d = run_job(_request(src, tmp_path / "out2"), model=str(model), on_error="skip", max_errors=0)
    assert d["TransformJobStatus"] == "Failed" and "more than 0 bad records" in d["FailureReason"]
    assert list((tmp_path / "out2").glob("*")) == []
    assert d["fastjoin"]["objects"][0]["dead_letter"] is None


@pytest.mark.requires_xgboost
def test_max_errors_message_says_the_input_looks_like_utf16(seed, seed_lines, tmp_path):
    model, _ = seed
    src = tmp_path / "in.csv"
    src.write_bytes(b"".join(seed_lines[:5]).decode().encode("utf-16-le"))
    d = run_job(_request(src, tmp_path / "out"), model=str(model), on_error="skip", max_errors=2)
    assert d["FailureReason"].startswith(
        f"{src}:3:15: more than 2 bad records (the max_errors limit, --max-errors 2); this one: "
    )
    assert d["FailureReason"].endswith(
        "; the object looks like UTF-16 (NUL bytes between its characters), but fastjoin reads "
        "UTF-8: convert it, e.g. with iconv -f UTF-16 -t UTF-8"
    )


@pytest.mark.requires_xgboost
def test_max_errors_fraction(seed, seed_lines, tmp_path):
    model, _ = seed
    bad = _bad_lines(seed_lines[0])
    src = tmp_path / "in.csv"
    src.write_bytes(_inject(seed_lines[:98], {10: bad[0][0], 50: bad[1][0]}))  # 2 of 100 records
    request = _request(src, tmp_path / "out")
    assert (
        run_job(request, model=str(model), on_error="skip", max_errors=0.02)["TransformJobStatus"]
        == "Completed"
    )
    d = run_job(request, model=str(model), on_error="skip", max_errors=0.01)
    assert d["TransformJobStatus"] == "Failed"
    assert d["FailureReason"] == (
        f"{src}: 2 of 100 records are bad (2.00%), more than the max_errors limit (--max-errors 0.01)"
    )


@pytest.mark.requires_xgboost
def test_stale_dead_letters_go_when_the_object_is_clean(seed, seed_lines, tmp_path):
    model, _ = seed
    src = tmp_path / "in.csv"
    src.write_bytes(_inject(seed_lines[:10], {4: b"junk\n"}))
    request = _request(src, tmp_path / "out")
    d = run_job(request, model=str(model), on_error="skip")
    errors_file = tmp_path / "out" / "in.csv.out.errors.jsonl"
    assert d["fastjoin"]["errors"] == 1 and errors_file.exists()
    src.write_bytes(b"".join(seed_lines[:10]))
    d = run_job(request, model=str(model), on_error="skip")
    assert d["fastjoin"]["errors"] == 0 and not errors_file.exists()


@pytest.mark.requires_xgboost
def test_invalid_utf8_record_is_kept_exactly(seed, seed_lines, tmp_path):
    model, _ = seed
    src = tmp_path / "in.csv"
    bad = b"842999,\xff\xfe,1\n"
    src.write_bytes(seed_lines[0] + bad + seed_lines[1])
    run_job(_request(src, tmp_path / "out"), model=str(model), on_error="skip")
    (entry,) = [
        json.loads(x) for x in (tmp_path / "out" / "in.csv.out.errors.jsonl").read_text().splitlines()
    ]
    assert base64.b64decode(entry["record_base64"]) == bad.rstrip(b"\n")
    assert entry["line"] == 2 and entry["offset"] == len(seed_lines[0])


@pytest.mark.requires_xgboost
def test_gzip_offsets_are_in_the_uncompressed_data(seed, seed_lines, tmp_path):
    model, _ = seed
    raw = _inject(seed_lines[:200], {150: b"bad,line\n"})
    src = tmp_path / "in.csv.gz"
    src.write_bytes(gzip.compress(raw))
    request = _request(src, tmp_path / "out")
    request["TransformInput"]["CompressionType"] = "Gzip"
    d = run_job(request, model=str(model), on_error="skip", chunk_size=1000)
    assert d["TransformJobStatus"] == "Completed"
    (entry,) = [
        json.loads(x) for x in (tmp_path / "out" / "in.csv.gz.out.errors.jsonl").read_text().splitlines()
    ]
    assert raw[entry["offset"] :].startswith(b"bad,line\n") and entry["line"] == 151
