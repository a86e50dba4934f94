"""Fuzz target: the compiled JSON Lines scan (fastjoin._core.scan_jsonl, join_jsonl) against
its reference twin and against orjson.

An input is one byte choosing the query (which features, which members kept) and a body of
lines. Then:

* the core and fastjoin._reference agree exactly: records covered, member spans, rows and the
  features (bit for bit);
* every covered record is one orjson reads (the scan may leave valid records to orjson, never
  accept what it refuses), its features are orjson's numbers as float32 (null NaN), and each
  kept member is the record's own key and value, in the compact text orjson writes with
  sorted keys (numbers keeping their text);
* join_jsonl on the covered records writes what the core's twin writes.
"""

from __future__ import annotations

import json
import sys

import atheris
import harness
import numpy as np
import orjson

from fastjoin import _core as core  # noqa: E402
from fastjoin import _reference as ref  # noqa: E402

TARGET = "jsonl_scan"
PRED = b"SageMakerOutput"
QUERIES = [
    ((b"features",), True, None),
    ((b"features",), True, (PRED, b"id")),
    ((b"features",), True, ()),
    ((b"a", b"b"), False, None),
    ((b"a", b"b"), False, (b"a", PRED, b"id")),
    ((), True, ()),
]


def _spans(body: bytes):
    starts, ends, offset = [], [], 0
    for line in body.split(b"\n"):
        starts.append(offset)
        ends.append(offset + len(line))
        offset += len(line) + 1
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def _written(text: bytes) -> bytes:
    """``text`` (valid JSON) as fastjoin writes it: compact, keys sorted, number text kept."""
    value = json.loads(text, parse_float=orjson.Fragment, parse_int=orjson.Fragment)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def test_one_input(data: bytes) -> None:
    data = data[: harness.MAX_LEN]
    if not data:
        return
    names, array, out_names = QUERIES[data[0] % len(QUERIES)]
    width = 2 if not array else 1 + data[0] // len(QUERIES) % 3
    body = data[1:]
    starts, ends = _spans(body)
    results = []
    for impl in (core, ref):
        X = np.zeros((len(starts), width), dtype=np.float32)
        covered, members, rows = impl.scan_jsonl(body, starts, ends, names, array, out_names, PRED, X)
        results.append((covered, members.tolist(), rows.tolist(), X[:covered].view(np.uint32).tolist()))
    if results[0] != results[1]:
        harness.disagree(TARGET, data, f"scan_jsonl\ncore:      {results[0]!r}\nreference: {results[1]!r}")
    covered, kept, rows, _ = results[0]
    for r in range(covered):
        line = body[starts[r] : ends[r]]
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            harness.disagree(TARGET, data, f"record {r} covered, but orjson refuses it: {exc}")
        selected = (
            value
            if array and not names
            else value[names[0].decode()]
            if array
            else [value[n.decode()] for n in names]
        )
        with np.errstate(over="ignore"):  # beyond float32: inf, as the scan gives
            want = np.array([np.nan if v is None else v for v in selected], dtype=np.float64).astype(
                np.float32
            )
        got = np.array(results[0][3][r], dtype=np.uint32).view(np.float32)
        if want.view(np.uint32).tolist() != got.view(np.uint32).tolist():
            harness.disagree(TARGET, data, f"record {r}: features {got!r}, orjson {want!r}")
        for key, key_len, v, v_len in kept[rows[r] : rows[r + 1]]:
            if key == -1:
                continue
            name = orjson.loads(body[key : key + key_len])
            text = body[v : v + v_len]
            if orjson.loads(text) != value[name] or _written(text) != text:
                harness.disagree(TARGET, data, f"record {r}: member {name!r} kept as {text!r}")
    if covered:
        members = np.array(kept, dtype=np.int64).reshape(-1, 4)
        row_array = np.array(rows, dtype=np.int64)
        spans = np.array([[0, 1]] * covered, dtype=np.int64)
        a = core.join_jsonl(body, members, row_array, b'"SageMakerOutput"', b"1", spans, b"\n")
        b = ref.join_jsonl(body, members, row_array, b'"SageMakerOutput"', b"1", spans, b"\n")
        if a != b:
            harness.disagree(TARGET, data, f"join_jsonl\ncore:      {a!r}\nreference: {b!r}")


def main() -> None:
    harness.check_build(core)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
