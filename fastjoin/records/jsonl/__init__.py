"""JSON records (``application/jsonlines``, ``application/json``): one chunk in, its output out.

:func:`process_chunk` mirrors :func:`fastjoin.records.csv.process_chunk`: a pure function of
(compiled plan, model, chunk of complete lines) that parses, filters, predicts (or calls a
container), joins, filters again and encodes, and turns failures into located errors. It does
no I/O and touches no shared state, so worker threads run it side by side.

The steps live in their modules: :mod:`~fastjoin.records.jsonl.parse` (record spans, orjson
parsing, located decode errors), :mod:`~fastjoin.records.jsonl.features` (the feature matrix,
parsed a group at a time), :mod:`~fastjoin.records.jsonl.container` (a container's requests
and responses), :mod:`~fastjoin.records.jsonl.write` (join, output filter and the column
writer) and :mod:`~fastjoin.records.jsonl.numbers` (number-text preservation). The shapes users
send mostly take :mod:`~fastjoin.records.jsonl.scan` instead, the compiled path from bytes to
bytes; a batch it does not cover goes the way above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import orjson

from fastjoin.container.xgboost_output import batch_body
from fastjoin.records.base import Chunk, ChunkResult, Plan
from fastjoin.records.jsonl import container, features, parse, scan, write
from fastjoin.records.jsonl.numbers import prediction_values as _prediction_values
from fastjoin.records.jsonl.write import INPUT_KEY

__all__ = ["JsonPlan", "process_chunk", "FORMAT", "INPUT_KEY"]

BATCH = 1024  # records parsed by orjson, predicted and written together (see process_chunk)
GROUP = 128  # records parsed together, their features taken before the next group


@dataclass(frozen=True)
class JsonPlan(Plan):
    """A JSON job's plan: the shared fields, and how joined records are written."""

    key_order: str = "sorted"  # "sorted" (SageMaker) or "input"
    numbers: str = "preserve"  # "preserve" number text, or "reencode" with orjson

    @property
    def dump_option(self) -> int:
        return orjson.OPT_SORT_KEYS if self.key_order == "sorted" else 0

    def output_filter_warning(self, n_outputs: Optional[int], header: bool = False) -> str:
        """As :meth:`Plan.output_filter_warning`; a JSON prediction is a number (one output),
        which no filter but ``$`` selects from (every record fails, with the hint), or a list
        (several), indexed as a CSV row is."""
        if n_outputs == 1:
            return ""
        return super().output_filter_warning(n_outputs)


def _process(plan: JsonPlan, model, records: parse.Records, X=None) -> tuple[bytes, int]:
    """One batch of parsed records → (output bytes, outputs per record). ``X``: the features,
    already taken (in-process models)."""
    terminator = plan.terminator
    if model.is_container:
        raws = container.predict_container(plan, model, records)
        if not plan.join and plan.output_filter.is_root:
            return b"".join(bytes(raw) + terminator for raw in raws), 1
        outputs = container.load_outputs(plan, records, raws)
        written = write.outputs(plan, records, outputs, raws, exact_outputs=False)
        k = 1
    else:
        preds = model.predict(X)
        k = 1 if preds.ndim == 1 else preds.shape[1]
        if not plan.join and plan.output_filter.is_root:
            return batch_body(preds, terminator), k
        written = write.outputs(plan, records, _prediction_values(preds), None, exact_outputs=True)
    return write.write(plan, records, written), k


def process_chunk(plan: JsonPlan, model, chunk: Chunk) -> ChunkResult:
    """Run one chunk of complete JSON lines (or one whole JSON object) through
    filter → predict → join → filter.

    The compiled scan (:mod:`~fastjoin.records.jsonl.scan`) takes as many records as it covers
    at a time, up to the first it does not; from there, in-process models take a batch of
    ``BATCH`` records (one predict call each) the orjson way,
    parsed ``GROUP`` records at a time (see :func:`~fastjoin.records.jsonl.features.parse_features`):
    parsed values die young and the cyclic garbage collector never walks a chunk's worth of live
    records, which would cost more than the parsing. A container gets the whole chunk, batched
    by MaxPayloadInMB as SageMaker does.
    """
    starts, ends, blank = parse.split(plan, chunk)
    in_container = model.is_container
    step = max(len(starts), 1) if in_container else BATCH
    query = scan.query(plan, model)
    pieces, n, k = [], 0, 0
    first = 0
    while first < len(starts):
        if query:  # the compiled scan takes every record it covers, up to the first it does not
            scanned = scan.process(plan, model, query, chunk, starts[first:], ends[first:])
            if scanned:
                data, k, covered = scanned
                pieces.append(data)
                n += covered
                first += covered
                continue
        # orjson's way for the next batch, from a record the scan does not cover
        batch_starts, batch_ends = starts[first : first + step].tolist(), ends[first : first + step].tolist()
        first += len(batch_starts)
        if in_container:
            records, more_blank = parse.parse(plan, chunk, batch_starts, batch_ends, n)
            X = None
        else:
            records, X, more_blank = features.parse_features(
                plan, model, chunk, batch_starts, batch_ends, n, GROUP
            )
        blank += more_blank
        if len(records):
            data, k = _process(plan, model, records, X)
            pieces.append(data)
            n += len(records)
    return ChunkResult(b"".join(pieces), n, blank, k)


class _Format:
    """JSON Lines and JSON as a :class:`~fastjoin.records.base.RecordFormat`."""

    name = "json"
    content_types = ("application/jsonlines", "application/json")
    supports_header = False
    skips_bad_records = False  # a chunk stops at its first bad record: records.skip halves it
    make_plan = JsonPlan
    process_chunk = staticmethod(process_chunk)

    @staticmethod
    def header_names(*_) -> tuple[str, ...]:
        raise AssertionError("JSON records name their own fields (the options refuse header=True)")

    header_line = header_names


FORMAT = _Format()
