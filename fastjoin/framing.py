"""Record boundaries: every way fastjoin cuts an object into runs of complete lines.

A :class:`Piece` is ``buf[start:end]``, complete lines, with ``buf[0]`` at absolute byte
``base_offset`` of the object. Pieces come from a stream (:func:`read_chunks`), from memory
(:func:`buffer_chunks`), from one byte range of a seekable object (:func:`byte_range`, the
unit of work of a distributed runner) or whole (:func:`read_whole`: the object is one
record). They carry no line numbers: a location found in a piece counts lines from its start
and is made absolute when the pieces before it are known (:meth:`fastjoin.errors.Location.shifted`).

The one ownership rule (``scale-out.md`` §3.1): a line belongs to the piece holding its first
byte, so pieces cut at any offsets tile the object and every line lands in exactly one.
"""

from __future__ import annotations

import io
import sys
from typing import BinaryIO, Iterator, NamedTuple, Optional, Union, cast

import numpy as np

from fastjoin.errors import InputError, Location

__all__ = [
    "Piece",
    "DEFAULT_MAX_RECORD_BYTES",
    "read_chunks",
    "buffer_chunks",
    "read_whole",
    "byte_range",
    "line_start",
    "next_newline",
    "count_newlines",
    "line_spans",
]

#: bytes or bytearray as read, a memoryview of any other buffer (an mmap, an array).
Buffer = Union[bytes, bytearray, memoryview]

#: The longest record (line) fastjoin reads by default: SageMaker's largest payload
#: (MaxPayloadInMB=100), so anything SageMaker could send in one request is read here too.
DEFAULT_MAX_RECORD_BYTES = 100 * 1024 * 1024

_NO_LIMIT = sys.maxsize // 4  # a larger limit is no limit (and must not overflow a read size)
_STEP = 1 << 16  # newline searches look at this many bytes at a time


class Piece(NamedTuple):
    """Complete lines ``buf[start:end]``; ``buf[0]`` is byte ``base_offset`` of the object."""

    buf: Buffer
    start: int
    end: int
    base_offset: int


def next_newline(buf, start: int, end: int) -> int:
    """Index of the first ``\\n`` in ``buf[start:end]``, or ``end`` when there is none."""
    view = np.frombuffer(buf, dtype=np.uint8, count=end) if end else np.empty(0, np.uint8)
    for pos in range(start, end, _STEP):
        hits = np.flatnonzero(view[pos : min(pos + _STEP, end)] == 10)
        if len(hits):
            return pos + int(hits[0])
    return end


def count_newlines(buf, start: int, end: int, step: int = 1 << 18) -> int:
    """How many ``\\n`` are in ``buf[start:end]``."""
    # numpy's vectorised compare without the GIL (bytes.count is five times slower), in
    # slices so that the temporary stays small beside the chunks in flight
    a = np.frombuffer(buf, np.uint8, end) if end else np.empty(0, np.uint8)
    return sum(int(np.count_nonzero(a[i : min(i + step, end)] == 10)) for i in range(start, end, step))


def line_spans(buf, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """The lines of ``buf[start:end]`` as int64 ``(starts, ends)``: ``buf[starts[i]:ends[i]]``
    is line ``i`` without its ``\\n`` or ``\\r\\n``. A final ``\\n`` ends the last line; it
    does not start an empty one."""
    if start >= end:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    view = np.frombuffer(buf, dtype=np.uint8, count=end)
    nl = np.flatnonzero(view[start:end] == 10) + start
    starts = np.empty(len(nl) + 1, dtype=np.int64)
    starts[0] = start
    starts[1:] = nl + 1
    ends = np.empty_like(starts)
    ends[:-1] = nl
    ends[-1] = end
    if starts[-1] == end:  # a terminator at the end does not start an empty line
        starts, ends = starts[:-1], ends[:-1]
    ends -= (ends > starts) & (view[np.maximum(ends - 1, 0)] == 13)  # a CR before the LF
    return starts, ends


def buffer_chunks(data, chunk_size: int, whole: bool = False) -> Iterator[Piece]:
    """Cut an in-memory object into pieces of about ``chunk_size`` bytes without copying it
    (one piece when ``whole``: the object is one record)."""
    buf = data if isinstance(data, (bytes, bytearray)) else memoryview(data).cast("B")
    n = len(buf)
    if whole:
        chunk_size = max(n, 1)
    start = 0
    while start < n:
        end = n if start + chunk_size >= n else min(next_newline(buf, start + chunk_size - 1, n) + 1, n)
        yield Piece(buf, start, end, 0)
        start = end


def read_chunks(
    f: BinaryIO,
    chunk_size: int,
    *,
    max_record: int = DEFAULT_MAX_RECORD_BYTES,
    source: str = "<stream>",
    limit: Optional[int] = None,
) -> Iterator[Piece]:
    """Read a stream (its next ``limit`` bytes, when given) as pieces of complete lines (the last may lack a final newline), each
    with a buffer of its own (workers may still hold earlier ones). Memory stays near
    ``chunk_size`` unless a single line is longer; a line longer than ``max_record`` bytes
    (without its terminator) is an :class:`InputError` located at its start (line 1 of the
    piece it starts), so one endless line cannot take the machine's memory.

    The bytes are copied once: a local file is read at each piece's offset (the partial last
    line is read again with the next piece, instead of copied into it), any other stream
    straight into a buffer after the previous piece's partial line. A line longer than a
    piece doubles the buffer, so reading it takes time linear in its length."""
    max_record = min(max_record, _NO_LIMIT)
    chunk_size = max(1, min(chunk_size, max_record))  # lines after a piece's first fit in a piece
    # a buffered local file: its read(n) returns n bytes unless at the end
    if isinstance(f, io.BufferedReader) and isinstance(f.raw, io.FileIO) and f.seekable():
        yield from _read_file_chunks(f, chunk_size, max_record, source, limit)
        return
    if limit is not None:
        f = cast(BinaryIO, _Limited(f, limit))
    readinto = getattr(f, "readinto", None)
    buf = bytearray(chunk_size)
    filled = 0  # buf[:filled] holds data; a piece is cut only from a full buffer or at the end
    offset = 0
    while True:
        while filled < len(buf):
            if readinto is not None:
                with memoryview(buf) as view:
                    got = readinto(view[filled:]) or 0
            else:
                block = f.read(len(buf) - filled)
                got = len(block)
                buf[filled : filled + got] = block
            if not got:
                break
            filled += got
        if filled < len(buf):  # the end of the stream
            del buf[filled:]
            if filled:
                _check_first_line(buf, filled, max_record, source, offset, final=True)
                yield Piece(buf, 0, filled, offset)
            return
        cut = buf.rfind(b"\n") + 1
        _check_first_line(buf, filled, max_record, source, offset, final=False)
        if cut == 0:  # a line longer than the buffer: double it, so the copies add up linearly
            buf.extend(bytes(min(len(buf), max_record + 2 - len(buf)) or 1))
            continue
        tail = buf[cut:]
        yield Piece(buf, 0, cut, offset)
        offset += cut
        buf = bytearray(len(tail) + chunk_size)
        buf[: len(tail)] = tail
        filled = len(tail)


def _check_first_line(buf, filled: int, max_record: int, source: str, offset: int, *, final: bool) -> None:
    """Fail when the line that starts ``buf`` is longer than ``max_record`` bytes, its
    terminator (``\\n`` or ``\\r\\n``) not counted. Only the first line can be: the others in
    a piece fit in ``chunk_size <= max_record`` bytes."""
    if filled <= max_record:
        return
    nl = buf.find(b"\n", 0, max_record + 2)
    if nl >= 0:
        if nl <= max_record or buf[nl - 1] == 13:
            return
    elif not final and filled == max_record + 1 and buf[max_record] == 13:
        return  # a CR whose LF may be the next byte read
    raise InputError(
        # the same words however much was buffered (a file, a stream, a byte range)
        f"a line longer than {max_record:,} bytes, the max_record_bytes limit (no line end in its "
        f"first {max_record + 1:,} bytes): raise the limit (--max-record-size) if records are "
        f"meant to be this long, or check that the object is line-delimited text (CR-only line "
        f"endings or binary data have no newline to split on)",
        Location(source, 1, 1, offset),
    )


def _read_file_chunks(
    f: BinaryIO, chunk_size: int, max_record: int, source: str, limit: Optional[int]
) -> Iterator[Piece]:
    """read_chunks for a seekable local file: each piece read whole from its own offset (up
    to ``base + limit``: a byte range's end is read as the file's)."""
    offset = f.tell()
    base = offset
    stop = None if limit is None else base + limit
    size = chunk_size
    while True:
        want = size if stop is None else min(size, stop - offset)
        buf = f.read(want)
        if len(buf) < size:  # the end of the file (or of the range)
            if buf:
                _check_first_line(buf, len(buf), max_record, source, offset - base, final=True)
                yield Piece(buf, 0, len(buf), offset - base)
            return
        _check_first_line(buf, len(buf), max_record, source, offset - base, final=False)
        cut = buf.rfind(b"\n") + 1
        if cut == 0:  # a line longer than the piece: read twice as much of it at once
            size = min(2 * size, max_record + 2)
            f.seek(offset)
            continue
        yield Piece(buf, 0, cut, offset - base)
        offset += cut
        size = chunk_size
        f.seek(offset)


class _Limited:
    """The next ``size`` bytes of a stream, as a stream."""

    def __init__(self, f: BinaryIO, size: int):
        self._f, self._left = f, size

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(self._left if n < 0 else min(n, self._left))
        self._left -= len(data)
        return data


def read_whole(f: BinaryIO, max_record: int = DEFAULT_MAX_RECORD_BYTES, source: str = "<stream>") -> bytes:
    """The whole stream as one record (``application/json`` with SplitType None), refusing one
    longer than ``max_record`` bytes before holding more than that in memory."""
    max_record = min(max_record, _NO_LIMIT)
    parts, total = [], 0
    while total <= max_record:
        block = f.read(min(1 << 22, max_record + 1 - total))
        if not block:
            break
        parts.append(block)
        total += len(block)
    if total > max_record:
        raise InputError(
            f"the object is one record (SplitType None) longer than {max_record:,} bytes, the "
            f"max_record_bytes limit: raise it (--max-record-size) or split the input by line",
            Location(source, 1, 1, 0),
        )
    return b"".join(parts)


def read_pieces(f: BinaryIO, chunk_size: int, whole: bool, max_record: int, source: str) -> Iterator[Piece]:
    """:func:`read_chunks`, or the whole stream as one piece when the object is one record."""
    if not whole:
        yield from read_chunks(f, chunk_size, max_record=max_record, source=source)
        return
    data = read_whole(f, max_record, source)
    if data:
        yield Piece(data, 0, len(data), 0)


def line_start(f: BinaryIO, pos: int) -> int:
    """The offset of the first line that starts at or after ``pos`` (the object's size when
    none does): the byte after the first ``\\n`` at ``pos - 1`` or later."""
    if pos <= 0:
        return 0
    f.seek(pos - 1)
    at = pos - 1
    while True:
        block = f.read(_STEP)
        if not block:
            return at
        nl = block.find(b"\n")
        if nl >= 0:
            return at + nl + 1
        at += len(block)


def byte_range(f: BinaryIO, start: int, stop: int) -> Piece:
    """The lines of a seekable object whose first byte lies in ``[start, stop)``: the piece a
    worker given that nominal range owns. Ranges that tile the object give pieces that tile
    it (a line longer than a range leaves some ranges empty)."""
    first = line_start(f, start)
    last = line_start(f, stop)
    if last <= first:
        return Piece(b"", 0, 0, first)
    f.seek(first)
    data = f.read(last - first)
    return Piece(data, 0, len(data), first)
