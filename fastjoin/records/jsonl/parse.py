"""JSON records: record spans, parsing and located decode errors, and filters on parsed values.

Records (SPEC §1): one JSON value per line; blank lines are skipped and counted (an error in
the ``sagemaker`` dialect). With ``application/json`` and ``SplitType=None`` the whole object
is one record (``JsonPlan.whole_object``).

Parsing is orjson's, a line at a time. A batch of parsed records is a :class:`Records`; one
cut down to the keys the output needs holds them as :class:`Kept` columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np
import orjson

from fastjoin.errors import FeatureError, JsonLinesError
from fastjoin.framing import line_spans
from fastjoin.jsonpath import NoMatch, Path, Values
from fastjoin.records.base import BLANK_LINE, Chunk
from fastjoin.records.jsonl.numbers import WHITESPACE, canonical, exact_load

if TYPE_CHECKING:
    from fastjoin.records.jsonl import JsonPlan

_READ_DEPTH = 1024  # orjson.loads refuses deeper nesting


class Records:
    """A batch of a chunk's records: byte spans ``buf[starts[r]:ends[r]]`` (no line terminator)
    and their parsed values, plus the number-exact values computed on demand. ``base`` records
    of the chunk come before the batch."""

    def __init__(self, chunk: Chunk, starts: list, ends: list, values: list | Kept, base: int = 0):
        self.chunk = chunk
        self.starts = starts
        self.ends = ends
        self.values = values
        self.base = base
        self._exact: dict = {}

    def __len__(self) -> int:
        return len(self.values)

    def raw(self, r: int) -> bytes:
        return bytes(self.chunk.buf[self.starts[r] : self.ends[r]])

    def where(self, r: int):
        """Record ``r``'s location: its line, column 1."""
        return self.chunk.locate(self.starts[r], self.base + r)

    def is_first_of_object(self, r: int) -> bool:
        return self.chunk.first and self.base + r == 0

    def exact(self, r: int):
        """Record ``r`` with the exact text of every number (the parsed value itself when
        orjson writes it back byte for byte, spaces aside)."""
        if r not in self._exact:
            raw = self.raw(r)
            value = self.values[r]
            self._exact[r] = value if canonical(value, raw) else exact_load(raw, self.where(r))
        return self._exact[r]

    def set_exact(self, r: int, value) -> None:
        self._exact[r] = value

    def extend(self, other: "Records") -> None:
        """Append the records of ``other``, the batch's next group (same chunk)."""
        offset = len(self.values)
        self.starts.extend(other.starts)
        self.ends.extend(other.ends)
        mine, theirs = self.values, other.values
        if isinstance(theirs, Kept) and (not mine or (isinstance(mine, Kept) and mine.keys == theirs.keys)):
            if isinstance(mine, Kept) and mine:  # (a list gets here only when empty)
                for column, more in zip(mine.columns, theirs.columns):
                    column.extend(more)
            else:
                self.values = Kept(theirs.keys, [list(c) for c in theirs.columns])
        else:
            if isinstance(mine, Kept):
                self.values = mine = list(mine)
            mine.extend(theirs)
        self._exact.update((offset + r, v) for r, v in other._exact.items())


class Kept:
    """Records reduced to some of their top-level keys
    (:func:`~fastjoin.records.jsonl.features._keep`), one list per key; it reads as a sequence
    of small objects, built when asked for."""

    __slots__ = ("keys", "columns")

    def __init__(self, keys: tuple, columns: list):
        self.keys = keys
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, r: int) -> dict:
        return {k: column[r] for k, column in zip(self.keys, self.columns)}

    def __iter__(self) -> Iterator[dict]:
        return (dict(zip(self.keys, row)) for row in zip(*self.columns))


# ----------------------------------------------------------------------------- records


def split(plan: JsonPlan, chunk: Chunk) -> tuple[np.ndarray, np.ndarray, int]:
    """Record spans of a chunk (int64 starts and ends) and the number of blank lines skipped."""
    start, end = chunk.start, chunk.end
    none = np.zeros(0, dtype=np.int64)
    if start >= end:
        return none, none, 0
    view = np.frombuffer(chunk.buf, dtype=np.uint8)
    if plan.whole_object:
        if not bytes(view[start:end]).strip(WHITESPACE):
            return none, none, 0  # an empty object has no record
        return np.array([start], dtype=np.int64), np.array([end], dtype=np.int64), 0
    starts, ends = line_spans(chunk.buf, start, end)
    empty = ends == starts
    blank = int(empty.sum())
    if blank:
        if not plan.allow_blank:
            first = int(np.argmax(empty))
            # the records before it may hold an earlier error: report errors in line order
            parse(plan, chunk, starts[:first].tolist(), ends[:first].tolist(), 0)
            raise JsonLinesError(BLANK_LINE, chunk.locate(int(starts[first]), first))
        starts, ends = starts[~empty], ends[~empty]
    return starts, ends, blank


def parse(plan: JsonPlan, chunk: Chunk, starts: list, ends: list, base: int) -> tuple[Records, int]:
    """Parse every record with orjson; whitespace-only lines count as blank. A malformed
    record raises a located :class:`JsonLinesError`."""
    buf = chunk.buf
    loads = orjson.loads
    if not starts:
        return Records(chunk, starts, ends, [], base), 0
    try:
        # One slice split at its newlines when the lines are adjacent (no blank line between
        # them; a '\r' left at a line's end is JSON whitespace), else a slice per record.
        span = buf[starts[0] : ends[-1]]
        lines = (span if isinstance(span, (bytes, bytearray)) else bytes(span)).split(b"\n")
        if len(lines) == len(starts):
            return Records(chunk, starts, ends, list(map(loads, lines)), base), 0
        return Records(chunk, starts, ends, [loads(buf[s:e]) for s, e in zip(starts, ends)], base), 0
    except orjson.JSONDecodeError:
        pass  # find it, and tell blank lines from bad ones
    values, kept_starts, kept_ends, blank = [], [], [], 0
    for s, e in zip(starts, ends):
        try:
            values.append(loads(buf[s:e]))
        except orjson.JSONDecodeError as exc:
            raw = bytes(buf[s:e])
            if not raw.strip(WHITESPACE) and not plan.whole_object:
                if not plan.allow_blank:
                    raise JsonLinesError(BLANK_LINE, chunk.locate(s, base + len(values))) from None
                blank += 1
                continue
            raise _decode_error(chunk, raw, s, exc, base + len(values)) from None
        kept_starts.append(s)
        kept_ends.append(e)
    return Records(chunk, kept_starts, kept_ends, values, base), blank


def _decode_error(
    chunk: Chunk, raw: bytes, offset: int, exc: orjson.JSONDecodeError, record: int
) -> JsonLinesError:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return JsonLinesError(
            f"not valid UTF-8: byte 0x{raw[bad.start]:02x} ({bad.reason})",
            chunk.locate(offset + bad.start, record),
        )
    # orjson counts characters; the location wants the byte offset
    column = len(text[: max(0, min(exc.pos, len(text)))].encode("utf-8"))
    message = f"invalid JSON: {exc.msg}"
    if "depth" in exc.msg:
        message += f" (fastjoin reads at most {_READ_DEPTH} levels of nesting)"
    return JsonLinesError(message, chunk.locate(offset + column, record))


# ----------------------------------------------------------------------------- filters


def select(path: Path, role: str, records: Records, values: Values) -> list:
    """``path`` on one value per record; a record it selects nothing from is a located
    :class:`FeatureError` naming the filter."""
    try:
        return path.select_all(values)
    except NoMatch as exc:
        assert exc.index is not None  # select_all tells which value
        raise FeatureError(f"{role} {exc.message}", records.where(exc.index), path=path.expression) from None
