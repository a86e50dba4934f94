"""The pure pipeline and the runners around it: chunks processed anywhere, in any order, give
the bytes and the exact locations of one sequential run."""

from __future__ import annotations

import io
import pickle
import random
import threading
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fastjoin
from fastjoin.container.policy import InvocationPolicy
from fastjoin.errors import FastjoinError, FeatureError, ModelError
from fastjoin.framing import byte_range
from fastjoin.options import TransformOptions
from fastjoin.pipeline import ModelSpec, Pipeline
from fastjoin.predictor import ContainerModel
from fastjoin.records.base import Chunk
from fastjoin.runners.local import LocalRunner


def first_field(body: bytes, content_type: str, accept: str) -> bytes:
    """A container answering each record's first field."""
    return b"".join(line.split(b",")[0] + b"\n" for line in body.splitlines())


# --- locations from byte ranges ---------------------------------------------------------------


def run_by_ranges(pipeline: Pipeline, data: bytes, cuts: list[int], source: str):
    """What a distributed runner does: each byte range processed on its own (as on another
    worker), results put back in order, each error and dead letter shifted by the lines and
    records of the ranges before it."""
    bounds = sorted({0, len(data), *(min(c, len(data)) for c in cuts)})
    f = io.BytesIO(data)
    out, dead, lines, records = [], [], 0, 0
    for a, b in zip(bounds, bounds[1:]):
        buf, start, end, base = byte_range(f, a, b)
        try:
            result = pipeline.process(Chunk(source, buf, start, end, base, first=base == 0))
        except FastjoinError as exc:
            exc.shift(lines, records)
            return None, exc
        out.append(result.data)
        dead += [d.shifted(lines) for d in result.errors]
        lines += result.lines
        records += result.records + len(result.errors)
    return b"".join(out), dead


ROWS = st.lists(
    st.one_of(
        st.integers(0, 999).map(lambda i: b"%d,1.5,x%d" % (i, i)),
        st.just(b""),  # a blank line
        st.just(b'7,"oops'),  # malformed
        st.just(b"1"),  # too narrow for the filter
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(ROWS, st.lists(st.integers(0, 600), max_size=5))
@example([b"1", b'7,"oops'], [1])  # a record the filter cannot fit before a malformed line
def test_a_worker_given_a_byte_range_reports_the_whole_objects_location(rows, cuts):
    data = b"\n".join(rows) + b"\n"
    options = TransformOptions(input_filter="$[1:]", join_source="Input")
    whole = fastjoin.Transformer(first_field, options)
    pipeline = Pipeline(options, ContainerModel(first_field))
    try:
        expected, expected_error = whole.transform_bytes(data, source="s.csv"), None
    except FastjoinError as exc:
        expected, expected_error = None, exc
    got, error = run_by_ranges(pipeline, data, cuts, "s.csv")
    if expected_error is None:
        assert got == expected
    else:
        assert type(error) is type(expected_error)
        assert error.location == expected_error.location
        assert str(error) == str(expected_error)


@settings(max_examples=100, deadline=None)
@given(ROWS, st.lists(st.integers(0, 600), max_size=5))
def test_dead_letters_from_byte_ranges_are_located_in_the_whole_object(rows, cuts):
    data = b"1,1,1\n" + b"\n".join(rows) + b"\n"  # a good first record: the filter fits
    options = TransformOptions(input_filter="$[1:]", on_error="skip")
    entries: list = []
    expected = fastjoin.Transformer(first_field, options).transform_bytes(
        data, source="s.csv", errors=entries
    )
    got, dead = run_by_ranges(Pipeline(options, ContainerModel(first_field)), data, cuts, "s.csv")
    assert got == expected
    assert [(d.line, d.column, d.offset, d.record) for d in dead] == [
        (d.line, d.column, d.offset, d.record) for d in entries
    ]


# --- runners ------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 3])
def test_results_come_back_in_input_order(workers):
    def slow(i: int) -> int:
        time.sleep(random.random() / 200)
        return i * i

    runner = LocalRunner(workers)
    assert list(runner.ordered(slow, range(40))) == [i * i for i in range(40)]
    runner.close()


@pytest.mark.parametrize("workers", [1, 3])
def test_the_first_error_in_input_order_wins(workers):
    def fn(i: int) -> int:
        if i == 5:
            raise FeatureError("item 5")
        return i

    def items():
        yield from range(8)
        raise FeatureError("reading failed after item 7")

    got = []
    with pytest.raises(FeatureError, match="item 5"):
        for value in LocalRunner(workers).ordered(fn, items()):
            got.append(value)
    assert got == [0, 1, 2, 3, 4]
    got.clear()
    with pytest.raises(FeatureError, match="reading failed"):  # every item's result comes first
        for value in LocalRunner(workers).ordered(lambda i: i, items()):
            got.append(value)
    assert got == list(range(8))


@pytest.mark.parametrize("workers", [1, 3])
def test_an_error_reading_the_second_item_comes_after_the_first_items_result(workers):
    def items():
        yield 0
        raise FeatureError("reading failed after item 0")

    def fn(i: int) -> int:
        raise FeatureError(f"item {i}")

    with pytest.raises(FeatureError, match="^item 0$"):  # not the read error: it comes later
        list(LocalRunner(workers).ordered(fn, items()))


def test_chunks_on_threads_write_what_one_thread_writes():
    data = b"".join(b"%d,1,2\n" % i for i in range(3000))
    one = fastjoin.Transformer(first_field, chunk_size=100, join_source="Input")
    many = fastjoin.Transformer(first_field, chunk_size=100, join_source="Input", max_concurrent=4)
    assert (one.workers, many.workers) == (2, 8)  # two per request in flight
    assert (one.model.policy.concurrency, many.model.policy.concurrency) == (1, 4)
    assert many.transform_bytes(data) == one.transform_bytes(data)


# --- the container policy -------------------------------------------------------------------------


def test_failed_requests_are_retried_then_fail_the_object():
    calls = []

    def flaky(body, content_type, accept):
        calls.append(body)
        if len(calls) < 3:
            raise ConnectionError("hiccup")
        return first_field(body, content_type, accept)

    t = fastjoin.Transformer(flaky, invocations_retries=2)
    assert t.transform_bytes(b"4,5\n") == b"4\n" and len(calls) == 3
    calls.clear()
    t = fastjoin.Transformer(flaky, invocations_retries=1)
    with pytest.raises(ModelError, match="the model failed 2 times: ConnectionError: hiccup"):
        t.transform_bytes(b"4,5\n")


def test_a_request_that_does_not_answer_in_time_fails():
    release = threading.Event()

    def stuck(body, content_type, accept):
        release.wait(5)
        return body

    t = fastjoin.Transformer(stuck, invocations_timeout=1)
    try:
        with pytest.raises(ModelError, match="no answer within InvocationsTimeoutInSeconds"):
            t.transform_bytes(b"1\n")
    finally:
        release.set()


def test_the_policy_wraps_only_containers():
    model = ModelSpec(first_field, policy=InvocationPolicy(retries=2)).load()
    assert model.is_container and model.policy.retries == 2


# --- models where they run ----------------------------------------------------------------------


def test_a_model_spec_pickles_and_loads_where_it_runs(tmp_path):
    xgb = pytest.importorskip("xgboost")
    import numpy as np

    X = np.random.default_rng(1).random((50, 3)).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, X[:, 0] > 0.5), 4)
    path = tmp_path / "m.json"
    booster.save_model(str(path))
    spec = pickle.loads(pickle.dumps(ModelSpec(str(path), nthread=1)))
    model = spec.load()
    assert np.array_equal(model.predict(X), booster.inplace_predict(X))
    from_bytes = pickle.loads(pickle.dumps(ModelSpec(bytes(booster.save_raw("ubj")), nthread=1))).load()
    assert np.array_equal(from_bytes.predict(X), booster.inplace_predict(X))
    with pytest.raises(ModelError, match="over the model size limit"):
        ModelSpec(bytes(booster.save_raw("ubj")), max_model_bytes=10).load()
    # a loaded predictor travels as its model's bytes
    again = pickle.loads(pickle.dumps(model))
    assert again.engine == model.engine and np.array_equal(again.predict(X), model.predict(X))


def test_a_callers_predictor_keeps_its_thread_count():
    xgb = pytest.importorskip("xgboost")
    import numpy as np

    X = np.random.default_rng(2).random((40, 2)).astype(np.float32)
    booster = xgb.train({"objective": "reg:squarederror"}, xgb.DMatrix(X, X[:, 0]), 3)
    for engine in ("compiled", "xgboost"):
        mine = fastjoin.load_model(booster, nthread=4, engine=engine)
        t = fastjoin.Transformer(mine, threads=2)
        assert mine.nthread == 4 and t.model.nthread == 1 and t.model is not mine
        data = b"".join(b"%r,%r\n" % (float(a), float(b)) for a, b in X)
        assert t.transform_bytes(data) == fastjoin.Transformer(mine, threads=1).transform_bytes(data)
        assert fastjoin.Transformer(mine, threads=1).model.nthread == 1 and mine.nthread == 4


# --- on_error="skip" for JSON Lines -------------------------------------------------------------


def json_first(body: bytes, content_type: str, accept: str) -> bytes:
    """A JSON Lines container answering each record's first feature."""
    import json

    return b"".join(b"%s\n" % json.dumps(json.loads(line)[0]).encode() for line in body.splitlines())


JSON_GOOD = [b"[1, 2]", b"[3, 4]", b"", b"[5.50, 6]"]
JSON_BAD = [b'{"oops"', b'"text"', b"[1, 2", b'{"a": 1}']  # malformed, or no features to slice


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from(JSON_GOOD + JSON_BAD), max_size=25),
    st.integers(1, 60),
    st.sampled_from(["container", "chunked"]),
)
def test_json_lines_skip_bad_records_like_csv_does(runner, lines, chunk_size, how):
    """With on_error="skip", JSON Lines writes the good records in order, as a run over the
    good lines alone does, and reports each bad one at its line."""
    data = b"[0, 0]\n" + b"\n".join(lines) + b"\n"  # a good first record
    job = dict(content_type="application/jsonlines", input_filter="$[0:]", join_source="Input")
    size = chunk_size if how == "chunked" else 1 << 20
    entries: list = []
    skip = fastjoin.Transformer(json_first, on_error="skip", chunk_size=size, **runner, **job)
    got = skip.transform_bytes(data, source="in.jsonl", errors=entries)
    good = [line for line in data.split(b"\n") if line not in JSON_BAD]
    assert got == fastjoin.Transformer(json_first, **job).transform_bytes(b"\n".join(good))
    bad_lines = [n for n, line in enumerate(data.split(b"\n"), 1) if line in JSON_BAD]
    assert [e.line for e in entries] == bad_lines
    assert all(data.split(b"\n")[e.line - 1] == e.record for e in entries)
    offsets = [sum(len(x) + 1 for x in data.split(b"\n")[: n - 1]) for n in bad_lines]
    assert [e.offset for e in entries] == offsets


def test_json_lines_skip_still_fails_on_a_first_record_the_filter_does_not_fit():
    t = fastjoin.Transformer(
        json_first, content_type="application/jsonlines", input_filter="$.f", on_error="skip"
    )
    with pytest.raises(FeatureError):
        t.transform_bytes(b'{"g": 1}\n{"f": [1]}\n')
    entries: list = []
    assert t.transform_bytes(b'{"f": [1]}\n{"g": 1}\n', errors=entries) == b"1\n"
    assert [e.line for e in entries] == [2] and entries[0].reason.startswith(
        "InputFilter $.f selects nothing"
    )


def test_the_first_error_in_line_order_is_reported_when_a_later_line_is_malformed():
    data = b'1,2\n1\n7,"oops\n'  # line 2 has no features for $[1:]; line 3 is malformed CSV
    t = fastjoin.Transformer(first_field, input_filter="$[1:]")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(data, source="s.csv")
    assert (info.value.location.line, info.value.location.record) == (2, 1)


@pytest.mark.parametrize("content_type", ["text/csv", "application/jsonlines"])
def test_an_earlier_records_later_stage_error_comes_before_a_later_records_earlier_stage(content_type):
    """Line 2 fails the output filter (after prediction), line 3 the input filter (before
    it): line 2's error is the one reported, as a worker holding lines 1-2 would report it."""
    if content_type == "text/csv":
        data, job = b"1,2,3\n1,2\n1\n", dict(input_filter="$[1:]", output_filter="$[3]")
        model = first_field
    else:
        data = b"[1, 2, 3]\n[1, 2]\n5\n"
        job = dict(content_type=content_type, input_filter="$[0:]", output_filter="$.SageMakerInput[2]")
        model = json_first
    t = fastjoin.Transformer(model, join_source="Input", **job)
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(data, source="s")
    assert info.value.location.line == 2, str(info.value)
    assert "OutputFilter" in str(info.value) or "$[3]" in str(info.value)
