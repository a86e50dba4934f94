"""Fuzz target: the JSON Lines reader (fastjoin.records.jsonl.process_chunk) with an
in-process model, against a naive record-at-a-time pipeline written here from its docstring
and SPEC §1-§4.

An input is three plan bytes (join, blank lines, key order, number mode, terminator, outputs
per record, filters, feature count) and a body of JSON Lines. The naive pipeline reads each
line with orjson (for validity and features) and with Python's json keeping every number's
text (for what is written), takes the features, joins the model's output, applies the output
filter and writes each record with orjson. Then:

* when no line has a problem, process_chunk must give the same bytes, record and blank-line
  counts, and hand the model the same float32 features (bit for bit);
* otherwise it must raise an error of the kind the naive pipeline found, located on a line
  where it found one (which bad line is reported first is the reader's business).

The model is a small float32 function of the features, so predictions reach every shape the
formatter writes: NaN, infinities, -0.0, subnormals, huge and tiny magnitudes.
"""

from __future__ import annotations

import json
import sys

import atheris
import harness
import numpy as np
import orjson

with atheris.instrument_imports(include=["fastjoin.records.jsonl"]):
    from fastjoin.errors import FastjoinError, FeatureError, JsonLinesError, ModelError
    from fastjoin.jsonpath import NoMatch, compile_path
    from fastjoin.records.base import OUTPUT_KEY, Chunk
    from fastjoin.records.jsonl import INPUT_KEY, JsonPlan, process_chunk

TARGET = "jsonl"
INPUT_FILTERS = [
    "$",
    "$.features",
    "$[1:]",
    "$.features[0,-1]",
    "$['x','y']",
    "$.f.*",
    "$[*]",
    "$.features[:1]",
]
OUTPUT_FILTERS = [
    "$",
    "$['id','SageMakerOutput']",
    "$.SageMakerOutput",
    "$['SageMakerOutput','id','features']",
    "$.SageMakerInput",
    "$.id",
    "$.*",
    "$.features[-1]",
]
INPUT_PATHS = [compile_path(p) for p in INPUT_FILTERS]
OUTPUT_PATHS = [compile_path(p) for p in OUTPUT_FILTERS]


class Model:
    """n_features in, k float32 outputs per row; remembers every matrix it was given."""

    is_container = False

    def __init__(self, n_features: int, k: int):
        self.n_features = n_features
        self.k = k
        self.seen: list = []

    def check_features(self, width: int) -> None:
        if width != self.n_features:
            raise ModelError(f"the model expects {self.n_features} features, not {width}")

    def predict(self, X: np.ndarray) -> np.ndarray:
        self.seen.append(X.copy())
        return predictions(X, self.k)


def predictions(X: np.ndarray, k: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        cols = [X[:, j % X.shape[1]] * np.float32(1 - 2 * j) / np.float32(3 + j) for j in range(k)]
        out = np.stack(cols, axis=1).astype(np.float32)
    return out[:, 0].copy() if k == 1 else out


def prediction_value(p: np.float32):
    value = float(p)
    return orjson.Fragment(repr(value)) if np.isfinite(value) else None  # NaN, inf: null


def container_text(row) -> bytes:
    if len(row) == 1:
        return repr(float(row[0])).encode()
    return ("[" + ", ".join(repr(float(v)) for v in row) + "]").encode()


class Plan:
    def __init__(self, header: bytes):
        a, b, c = header
        self.join = bool(a & 1)
        self.allow_blank = bool(a & 2)
        self.sorted = not a & 4
        self.preserve = not a & 8
        self.terminator = b"" if a & 16 else b"\n"
        self.k = 1 + (a >> 5 & 3) % 3
        self.first = bool(a & 128)
        self.input_filter = b & 7
        self.n_features = 1 + (b >> 3 & 3)
        self.output_filter = c & 7

    def json_plan(self) -> JsonPlan:
        return JsonPlan(
            input_filter=INPUT_PATHS[self.input_filter],
            output_filter=OUTPUT_PATHS[self.output_filter],
            join=self.join,
            allow_blank=self.allow_blank,
            terminator=self.terminator,
            key_order="sorted" if self.sorted else "input",
            numbers="preserve" if self.preserve else "reencode",
        )


def feature_row(plan: Plan, value):
    """The record's features as float32, or None when they cannot feed the model."""
    try:
        selected = INPUT_PATHS[plan.input_filter].select(value)
    except NoMatch:
        return None
    if type(selected) is list:
        items = selected
    elif type(selected) is dict:
        items = list(selected.values())
    elif selected is None or type(selected) in (int, float):
        items = [selected]
    else:
        return None
    if len(items) != plan.n_features or any(x is not None and type(x) not in (int, float) for x in items):
        return None
    with np.errstate(over="ignore"):
        return np.array([np.nan if x is None else float(x) for x in items], dtype=np.float64).astype(
            np.float32
        )


def naive(plan: Plan, body: bytes):
    """(output bytes, records, blank lines, features) or (None, {line: error kinds})."""
    lines = body.split(b"\n") if body else []
    if body.endswith(b"\n"):
        lines.pop()  # a terminator at the end does not start an empty record
    problems: dict = {}
    records, blank = [], 0
    for number, line in enumerate(lines, start=1):
        raw = line[:-1] if line.endswith(b"\r") else line
        if not raw.strip(b" \t\r\n"):
            blank += 1
            if not plan.allow_blank:
                problems[number] = {"JsonLinesError"}
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            problems[number] = {"JsonLinesError"}
            continue
        row = feature_row(plan, value)
        if row is None:
            kinds = {"FeatureError"}
            if not records and plan.first:
                kinds.add("ModelError")  # the object's first record: the model may be wrong
            problems[number] = kinds
        records.append((number, raw, value, row))
    for number, raw, value, _ in records:
        output = [None] * plan.k if plan.k > 1 else None  # the shape is all a filter sees
        try:
            write(plan, raw, value, output)
        except (NoMatch, orjson.JSONEncodeError):
            problems.setdefault(number, set()).update({"FeatureError", "JsonLinesError"})
    if problems:
        return None, problems
    if not records:
        return b"", 0, blank, None
    X = np.stack([row for *_, row in records])
    preds = predictions(X, plan.k).reshape(len(records), plan.k)
    out = []
    for (_, raw, value, _), p in zip(records, preds):
        if not plan.join and OUTPUT_FILTERS[plan.output_filter] == "$":
            out.append(container_text(p))
        else:
            output = prediction_value(p[0]) if plan.k == 1 else [prediction_value(v) for v in p]
            out.append(write(plan, raw, value, output))
    return (
        plan.terminator.join(out) + plan.terminator if plan.terminator else b"".join(out),
        len(records),
        blank,
        X,
    )


def write(plan: Plan, raw: bytes, value, output) -> bytes:
    record = value
    if plan.preserve:
        record = json.loads(raw.decode("utf-8"), parse_float=orjson.Fragment, parse_int=orjson.Fragment)
    if plan.join:
        record = (
            {**record, OUTPUT_KEY: output}
            if type(record) is dict
            else {INPUT_KEY: record, OUTPUT_KEY: output}
        )
    else:
        record = output
    selected = OUTPUT_PATHS[plan.output_filter].select(record)
    return orjson.dumps(selected, option=orjson.OPT_SORT_KEYS if plan.sorted else 0)


def test_one_input(data: bytes) -> None:
    data = data[: harness.MAX_LEN]
    if len(data) < 3:
        return
    plan = Plan(data[:3])
    body = data[3:]
    model = Model(plan.n_features, plan.k)
    chunk = Chunk("fuzz", body, 0, len(body), first=plan.first)
    try:
        result = process_chunk(plan.json_plan(), model, chunk)
        error = None
    except FastjoinError as exc:
        result, error = None, exc
    if body.count(b"[") + body.count(b"{") > 200:
        return  # deep nesting: Python's json (the naive reader) runs out of recursion first
    expected = naive(plan, body)
    if expected[0] is None:
        problems = expected[1]
        if error is None:
            harness.disagree(TARGET, data, f"process_chunk succeeded; naive pipeline found {problems}")
        kind = type(error).__name__
        if isinstance(error, (JsonLinesError, FeatureError)):
            line = error.location.line if error.location else None
            if kind not in problems.get(line, ()):
                harness.disagree(
                    TARGET, data, f"{kind} on line {line}: {error}\nnaive pipeline found {problems}"
                )
        elif not (isinstance(error, ModelError) and any("ModelError" in k for k in problems.values())):
            harness.disagree(TARGET, data, f"{kind}: {error}\nnaive pipeline found {problems}")
        return
    if error is not None:
        harness.disagree(
            TARGET, data, f"process_chunk raised {type(error).__name__}: {error}\nnaive: {expected}"
        )
    out, n, blank, X = expected
    got_X = np.concatenate(model.seen) if model.seen else None
    if (result.data, result.records, result.blank_lines) != (out, n, blank):
        harness.disagree(
            TARGET,
            data,
            f"process_chunk: {result.data!r} {result.records} {result.blank_lines}\nnaive: {out!r} {n} {blank}",
        )
    if (X is None) != (got_X is None) or (
        X is not None and not np.array_equal(X.view(np.uint32), got_X.view(np.uint32))
    ):
        harness.disagree(TARGET, data, f"features: {got_X!r}\nnaive: {X!r}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
