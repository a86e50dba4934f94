"""Records fastjoin does not read, passed to a container model as they are: any content type
but CSV and JSON (images, protobuf, libsvm...), or RecordIO and TFRecord frames of any type.

A record is a line (SplitType ``Line``, its line end kept), the whole object (``None``) or a
frame (``RecordIO``, ``TFRecord``: :mod:`fastjoin.frames`, framing kept, CRCs checked).
Mini-batches are byte ranges of whole records (:mod:`fastjoin.records.invoke`); each response
is written as it came, followed by a line end with ``AssembleWith=Line`` unless it ends with
one. There is no DataProcessing (SageMaker applies it to CSV and JSON only) and no count of
outputs per record: a body in a format fastjoin does not read cannot be counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fastjoin import frames
from fastjoin.framing import line_spans
from fastjoin.records import invoke
from fastjoin.records.base import Chunk, ChunkResult, Plan

__all__ = ["PassPlan", "process_chunk", "FORMAT"]


@dataclass(frozen=True)
class PassPlan(Plan):
    split: str = "Line"  # SplitType: Line, None, RecordIO or TFRecord


def record_ends(plan: PassPlan, chunk: Chunk) -> np.ndarray:
    """The offset after each record of the chunk, from the chunk's start."""
    if plan.split in frames.KINDS:
        ends = frames.record_ends(  # the chunk was cut from checked frames (read_ or buffer_frames)
            plan.split,
            chunk.buf,
            chunk.start,
            chunk.end,
            source=chunk.source,
            base_offset=chunk.base_offset,
            checked=True,
        )
        return np.asarray(ends, dtype=np.int64) - chunk.start
    if plan.split == "None" or chunk.start == chunk.end:
        return np.array([chunk.end - chunk.start] if chunk.end > chunk.start else [], dtype=np.int64)
    starts, _ = line_spans(chunk.buf, chunk.start, chunk.end)
    return np.append(starts[1:], chunk.end) - chunk.start


def process_chunk(plan: PassPlan, model, chunk: Chunk) -> ChunkResult:
    ends = record_ends(plan, chunk)
    body = bytes(chunk.buf[chunk.start : chunk.end])
    starts = np.concatenate(([0], ends[:-1]))
    where = lambda r: chunk.locate(chunk.start + int(starts[r]), r)  # noqa: E731
    out = []
    for start, stop, first, last in invoke.batches(plan, ends, where):
        response = invoke.send(model, plan, body[start:stop], where, first, last)
        out.append(response)
        if plan.terminator and not response.endswith(plan.terminator):
            out.append(plan.terminator)
    return ChunkResult(b"".join(out), len(ends), 0, 1)


class _Format:
    """Records passed through as a :class:`~fastjoin.records.base.RecordFormat`."""

    name = "passthrough"
    content_types: tuple[str, ...] = ()  # chosen by TransformOptions.passes_through, not by type
    supports_header = False
    skips_bad_records = False  # a refused batch is bisected by records.skip (SplitType Line)
    make_plan = PassPlan
    process_chunk = staticmethod(process_chunk)

    @staticmethod
    def header_names(chunk: Chunk) -> tuple[str, ...]:
        raise AssertionError("header=True is refused for records passed through")

    @staticmethod
    def header_line(plan, chunk: Chunk, k: int) -> bytes:
        raise AssertionError("header=True is refused for records passed through")


FORMAT = _Format()
