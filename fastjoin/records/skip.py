"""``on_error="skip"`` for any record format: a chunk that fails on a bad record is cut in
two at a line boundary, each half run again, until the bad record is alone; it becomes a
dead letter and the rest is written as usual, in order.

A format that finds its bad records in one pass (CSV, over the core's status codes) does not
need this; one whose pass stops at the first error (JSON Lines) gets skipping from it at the
cost of re-running the halves of a chunk that holds a bad record: about twice the chunk's
work per bad record, nothing for a clean chunk. The object's first record still fails the
object: it is also the check that the filters fit the model (SageMaker's rule).
"""

from __future__ import annotations

from typing import Callable

from fastjoin.deadletter import DeadLetter
from fastjoin.errors import FeatureError, InputError
from fastjoin.framing import count_newlines, line_spans
from fastjoin.records.base import Chunk, ChunkResult

__all__ = ["process_skipping"]

Process = Callable[[object, object, Chunk], ChunkResult]


def process_skipping(process: Process, plan, model, chunk: Chunk) -> ChunkResult:
    """``process(plan, model, chunk)`` with bad records left out and reported as dead letters
    (line numbers from the chunk's first line, as every location in a chunk)."""
    try:
        return process(plan, model, chunk)
    except InputError as exc:
        error = exc
    ends = _line_ends(chunk)
    if len(ends) == 1:  # the bad record alone
        if chunk.first and isinstance(error, FeatureError):  # the object's first record
            raise error
        return ChunkResult(b"", 0, 0, 0, [_dead_letter(chunk, error)])
    middle = ends[len(ends) // 2 - 1]
    head = Chunk(chunk.source, chunk.buf, chunk.start, middle, chunk.base_offset, chunk.names, chunk.first)
    a = process_skipping(process, plan, model, head)
    # the tail holds the object's first record when the head held none (blank lines only)
    first = chunk.first and a.records == 0 and not a.errors
    tail = Chunk(chunk.source, chunk.buf, middle, chunk.end, chunk.base_offset, chunk.names, first)
    b = process_skipping(process, plan, model, tail)
    lines = count_newlines(chunk.buf, chunk.start, middle)  # the head's, before the tail's
    return ChunkResult(
        a.data + b.data,
        a.records + b.records,
        a.blank_lines + b.blank_lines,
        a.n_outputs or b.n_outputs,
        a.errors + [d.shifted(lines) for d in b.errors],
    )


def _line_ends(chunk: Chunk) -> list[int]:
    """The offset after each line of the chunk (its terminator included)."""
    starts, _ = line_spans(chunk.buf, chunk.start, chunk.end)
    return [*starts[1:].tolist(), chunk.end]


def _dead_letter(chunk: Chunk, error: InputError) -> DeadLetter:
    raw = bytes(chunk.buf[chunk.start : chunk.end])
    record = raw[:-1] if raw.endswith(b"\n") else raw
    record = record[:-1] if record.endswith(b"\r") else record
    where = error.location
    column = where.column if where is not None else 1
    return DeadLetter(chunk.source, 1, column, chunk.base_offset + chunk.start, record, error.message)
