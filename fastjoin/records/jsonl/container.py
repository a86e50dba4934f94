"""JSON records and a model container: the request lines, and the responses split back into one
output per record (mini-batches by MaxPayloadInMB: :mod:`fastjoin.records.invoke`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import orjson

from fastjoin.errors import OutputError, plural
from fastjoin.records import invoke
from fastjoin.records.jsonl.numbers import text_at_risk
from fastjoin.records.jsonl.parse import Records, select
from fastjoin.records.jsonl.write import encode

if TYPE_CHECKING:
    from fastjoin.records.jsonl import JsonPlan


def _request_lines(plan: JsonPlan, records: Records) -> list:
    """The filtered records as the container gets them: the record's own bytes for ``$``,
    otherwise the selection written compactly (number text kept)."""
    if plan.input_filter.is_root:
        buf = records.chunk.buf
        return [buf[s:e] for s, e in zip(records.starts, records.ends)]
    selected = select(plan.input_filter, "InputFilter", records, records.values)
    if plan.numbers == "preserve":
        for r, value in enumerate(selected):
            if text_at_risk(value, None):
                selected[r] = plan.input_filter.select(records.exact(r))
    return encode(plan, records, selected)


def _split_response(response: bytes) -> list:
    lines = response.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def predict_container(plan: JsonPlan, model, records: Records) -> list:
    """Send the filtered records in mini-batches, one per line (the whole object in one request
    for SplitType None); split each response back into one output per record."""
    lines = _request_lines(plan, records)
    if plan.whole_object:
        body = bytes(lines[0])
        if plan.max_payload_bytes and len(body) > plan.max_payload_bytes:
            raise invoke.too_large(len(body), plan.max_payload_bytes, records.where(0))
        return [invoke.send(model, plan, body, records.where, 0, 1)]
    body = b"\n".join(lines) + b"\n"
    line_ends = np.cumsum(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)) + 1)
    outputs: list = []
    for start, stop, first, last in invoke.batches(plan, line_ends, records.where):
        got = _split_response(invoke.send(model, plan, body[start:stop], records.where, first, last))
        if len(got) != last - first:
            raise invoke.wrong_count(
                records.where(first),
                f"returned {plural(len(got), 'line')}",
                last - first,
                ": JSON Lines models must answer one line per record",
            )
        outputs.extend(got)
    return outputs


def load_outputs(plan: JsonPlan, records: Records, raws: list) -> list:
    """The container's per-record outputs parsed as JSON; one that is not JSON is an error
    naming its record (number text is kept later, for what is written: see
    :func:`~fastjoin.records.jsonl.write.outputs`)."""
    loads = orjson.loads
    try:
        return [loads(raw) for raw in raws]
    except orjson.JSONDecodeError:
        pass  # find the record, below
    values = []
    for r, raw in enumerate(raws):
        try:
            values.append(loads(raw))
        except orjson.JSONDecodeError as exc:
            shown = bytes(raw[:80]).decode("utf-8", "replace")
            raise OutputError(
                f"the model's output for this record is not JSON ({exc.msg}): {shown!r}", records.where(r)
            ) from None
    return values
