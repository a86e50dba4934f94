"""The compiled JSON Lines path: a batch of records straight from bytes to output bytes.

For an in-process model and the shapes users send (features as ``$.features``, an array of
numbers; as named keys, ``$['a','b','c']``; or the record itself, ``$`` on an array), the
core's :func:`~fastjoin._core.scan_jsonl` validates each record and finds the features'
text and the members the output keeps in one pass, without the GIL and without Python
objects; the numbers go through the CSV path's float32 parser, and
:func:`~fastjoin._core.join_jsonl` writes the joined records by copying the kept members'
bytes around the prediction (keys sorted, compact: what orjson would write, since the scan
keeps only members already in that form).

A batch holding any record the scan does not cover (an escape in a key, a repeated key, a
value that is not a number, whitespace inside a kept value, invalid JSON...) goes the orjson
way instead, which gives the same bytes or the same located error: the scan never decides an
error. ``FASTJOIN_JSON_SCAN=0`` turns this path off (to compare, or to bisect).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np
import orjson

from fastjoin import _impl
from fastjoin.container.xgboost_output import batch_body
from fastjoin.records.base import Chunk
from fastjoin.records.jsonl.numbers import prediction_values

if TYPE_CHECKING:
    from fastjoin.records.jsonl import JsonPlan

ENABLED = os.environ.get("FASTJOIN_JSON_SCAN", "1") != "0"


@dataclass(frozen=True)
class Query:
    """What the scan looks for (the arguments of :func:`~fastjoin._core.scan_jsonl`)."""

    names: tuple[bytes, ...]
    array: bool
    out_names: Optional[tuple[bytes, ...]]  # None: every member, the prediction where it sorts
    width: int
    pred_name: bytes
    pred_key: bytes  # the prediction's key as JSON text


def query(plan: JsonPlan, model) -> Optional[Query]:
    """The scan for this job, or None when the job is not one it covers (then every record
    goes the orjson way)."""
    if not ENABLED or model.is_container or plan.whole_object or plan.numbers != "preserve":
        return None
    width = getattr(model, "n_features", None)
    if type(width) is not int:
        return None
    selected = _input(plan, width)
    if selected is None:
        return None
    names, array = selected
    out_names = _output(plan, array and not names)
    if out_names == "uncovered":
        return None
    pred = plan.prediction_name
    return Query(
        tuple(n.encode() for n in names),
        array,
        None if out_names is None else tuple(n.encode() for n in out_names),
        width,
        pred.encode(),
        orjson.dumps(pred),
    )


def _input(plan: JsonPlan, width: int):
    """(names, array) for the input filter, or None."""
    path = plan.input_filter
    if path.is_root:
        return (), True
    chain = path.name_chain
    if chain is None:
        return None
    keys, last = chain
    if len(keys) == 1 and last is None:
        return tuple(keys), True
    if not keys and last is not None and len(set(last)) == len(last) == width:
        return tuple(last), False
    return None


def _output(plan: JsonPlan, array_record: bool):
    """The names the output keeps, in writing order: ``()`` none (no join: the prediction
    alone), None every member (``$`` on the joined record), or "uncovered"."""
    path = plan.output_filter
    if not plan.join:
        return () if path.is_root else "uncovered"
    if array_record:
        return "uncovered"  # joined as {"SageMakerInput": record, ...}
    if path.is_root:
        return None if plan.key_order == "sorted" else "uncovered"
    chain = path.name_chain
    if chain is None or chain[0] or chain[1] is None or len(set(chain[1])) != len(chain[1]):
        return "uncovered"
    names = tuple(chain[1])
    return tuple(sorted(names)) if plan.key_order == "sorted" else names


def process(plan: JsonPlan, model, q: Query, chunk: Chunk, starts: np.ndarray, ends: np.ndarray):
    """(output bytes, outputs per record, records) for the records the scan covers from the
    first on (the scan stops at the first it does not), or None when it covers none."""
    n = len(starts)
    X = np.empty((n, q.width), dtype=np.float32)
    covered, members, rows = _impl.scan_jsonl(
        chunk.buf,
        np.ascontiguousarray(starts, dtype=np.int64),
        np.ascontiguousarray(ends, dtype=np.int64),
        q.names,
        q.array,
        q.out_names,
        q.pred_name,
        X,
    )
    if not covered:
        return None
    preds = model.predict(X[:covered])  # members and rows end with the last record covered
    k = 1 if preds.ndim == 1 else preds.shape[1]
    if not plan.join:
        return batch_body(preds, plan.terminator), k, covered
    text, spans = _prediction_text(preds)
    return _impl.join_jsonl(chunk.buf, members, rows, q.pred_key, text, spans, plan.terminator), k, covered


def _prediction_text(preds: np.ndarray):
    """Each record's prediction as the orjson way writes it (``repr`` of the float32 widened
    to double; NaN and infinities ``null``; several outputs a list): (text, spans)."""
    if preds.ndim == 1 and np.isfinite(preds).all():
        return _impl.format_floats(np.ascontiguousarray(preds, dtype=np.float32))
    pieces = [orjson.dumps(v) for v in prediction_values(preds)]
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    offsets = np.cumsum(lengths) - lengths  # each one's start
    return b"".join(pieces), np.ascontiguousarray(np.stack([offsets, lengths], axis=1))
