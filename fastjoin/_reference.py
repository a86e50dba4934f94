"""Pure-Python twin of :mod:`fastjoin._core`, written from ``_core.pyi`` and the spec.

Same names, signatures, results and errors as the compiled core, kept small and plain so it
can be read against the contract line by line. It is the oracle the tests hold the core to
and a fallback for bisecting (``FASTJOIN_IMPL=reference``); it is not a performance path.

Known deviations from the contract (``_core.pyi``) and the spec: none.

Points the contract leaves open, decided here (the core follows the same decisions):

* Argument checks that cost O(1) raise ``ValueError`` before any work: a buffer that is not
  1-D, byte-sized and C-contiguous; ``start``/``end`` outside ``0 <= start <= end <= len``;
  a row range outside ``0 <= row_start <= row_stop <= len(rows) - 1`` (``splice``: both
  ``len(pred_rows) - 1`` and, when ``width > 0``, ``len(in_rows) - 1``); ``out`` that is
  not a writable C-contiguous 2-D float32 array of at least ``(row_stop - row_start,
  len(cols))``; index arrays that are not int64 of the documented rank; ``values`` that is not
  1-D C-contiguous float32. Per-field promises ("the caller guarantees ...") are not checked.
* ``tokenize``: a line is cut at ``\\n`` first; then one trailing ``\\r`` is dropped, also on
  a last line that has no ``\\n``; only then are fields and quotes read, so a record is never
  longer than its line and a quote never spans a line end.
* ``gather_float32``: a field is quoted when its raw bytes start with ``"``. NaN results are
  the quiet NaN ``0x7FC00000``, with the sign bit set (``0xFFC00000``) only for a text
  spelled with ``-`` (``-nan``); an empty field gives ``0x7FC00000``. This is exactly what
  ``numpy.float32(float(text))`` gives. On ``ERR_NUMBER`` the rows before the bad row are
  filled; what the bad row and later rows of ``out`` hold is unspecified.
* ``format_floats``: every NaN, whatever its sign or payload, is ``nan`` (``repr`` says so).
* ``splice``: with ``width == 0``, ``in_buf``, ``in_fields`` and ``in_rows`` are not touched
  at all (pass ``b""`` and empty int64 arrays). ``terminator`` must be ``bytes`` (TypeError).
  ``row_start > row_stop`` is a ValueError, as in ``gather_float32``, not an empty result.
* Status and offsets come back as Python ``int``; arrays are fresh (never views of an
  argument), C-contiguous int64.
"""

from __future__ import annotations

import operator
import re

import numpy as np

from fastjoin._status import (
    ERR_AFTER_QUOTE,
    ERR_BARE_QUOTE,
    ERR_BLANK_LINE,
    ERR_NUMBER,
    ERR_UNTERMINATED_QUOTE,
    OK,
)

__all__ = [
    "OK",
    "ERR_BARE_QUOTE",
    "ERR_UNTERMINATED_QUOTE",
    "ERR_AFTER_QUOTE",
    "ERR_BLANK_LINE",
    "ERR_NUMBER",
    "tokenize",
    "gather_float32",
    "format_floats",
    "splice",
]

_QUOTE = ord('"')
_COMMA = ord(",")
_CR = ord("\r")

_DECIMAL = re.compile(rb"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPECIAL = re.compile(rb"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# argument checks


def _as_bytes(buf) -> bytes:
    """A copy of ``buf``'s bytes; the buffer export is released before returning."""
    with memoryview(buf) as view:
        if view.ndim != 1 or view.itemsize != 1 or not view.c_contiguous:
            raise ValueError("buffer must be a 1-D C-contiguous buffer of bytes")
        return view.tobytes()


def _array(obj, dtype, ndim: int, name: str, writable: bool = False) -> np.ndarray:
    """``obj`` as a C-contiguous ndarray of ``dtype`` and rank ``ndim`` (a view, never a copy)."""
    arr = np.asarray(memoryview(obj))
    if arr.dtype != dtype or arr.ndim != ndim or not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be a C-contiguous {ndim}-D {np.dtype(dtype).name} array")
    if writable and not arr.flags.writeable:
        raise ValueError(f"{name} must be writable")
    return arr


def _check_row_range(row_start: int, row_stop: int, rows: np.ndarray, name: str) -> None:
    if not 0 <= row_start <= row_stop <= len(rows) - 1:
        raise ValueError(f"row range [{row_start}, {row_stop}) is outside {name} ({len(rows) - 1} records)")


# ---------------------------------------------------------------------------------------------
# tokenize


def _split_record(data: bytes, begin: int, end: int):
    """Fields of the record ``data[begin:end]`` (non-empty, no line end in it).

    Returns ``(spans, status, err_offset)``.
    """
    spans: list[tuple[int, int]] = []
    i = begin
    while True:
        if i < end and data[i] == _QUOTE:
            # Quoted field: find the closing quote, stepping over doubled quotes.
            j = i + 1
            while True:
                q = data.find(b'"', j, end)
                if q < 0:
                    return spans, ERR_UNTERMINATED_QUOTE, i
                if q + 1 < end and data[q + 1] == _QUOTE:
                    j = q + 2
                    continue
                break
            after = q + 1
            spans.append((i, after - i))
            if after == end:
                return spans, OK, -1
            if data[after] != _COMMA:
                return spans, ERR_AFTER_QUOTE, after
            i = after + 1
        else:
            # Unquoted field: runs to the next comma or the end of the record.
            comma = data.find(b",", i, end)
            stop = end if comma < 0 else comma
            bare = data.find(b'"', i, stop)
            if bare >= 0:
                return spans, ERR_BARE_QUOTE, bare
            spans.append((i, stop - i))
            if comma < 0:
                return spans, OK, -1
            i = comma + 1


def _tokenize_result(fields, rows, blank_lines, status, err_offset):
    return (
        np.array(fields, dtype=np.int64).reshape(-1, 2),
        np.array(rows, dtype=np.int64),
        blank_lines,
        status,
        err_offset,
    )


def tokenize(buf, start, end, allow_blank):
    data = _as_bytes(buf)
    start, end = operator.index(start), operator.index(end)
    if not 0 <= start <= end <= len(data):
        raise ValueError(f"window [{start}, {end}) is outside the buffer ({len(data)} bytes)")
    fields: list[tuple[int, int]] = []
    rows = [0]
    blank_lines = 0
    pos = start
    while pos < end:  # each pass takes one line; a "\n" right before end leaves pos == end
        newline = data.find(b"\n", pos, end)
        line_end = end if newline < 0 else newline
        next_pos = end if newline < 0 else newline + 1
        record_end = line_end
        if record_end > pos and data[record_end - 1] == _CR:
            record_end -= 1
        if record_end == pos:
            if not allow_blank:
                return _tokenize_result(fields, rows, blank_lines, ERR_BLANK_LINE, pos)
            blank_lines += 1
        else:
            spans, status, err_offset = _split_record(data, pos, record_end)
            if status != OK:
                return _tokenize_result(fields, rows, blank_lines, status, err_offset)
            fields.extend(spans)
            rows.append(len(fields))
        pos = next_pos
    return _tokenize_result(fields, rows, blank_lines, OK, -1)


# ---------------------------------------------------------------------------------------------
# gather_float32


def _parse_float32(raw: bytes):
    """The float32 value of one field's raw bytes, or None when it is not a number."""
    if raw[:1] == b'"':
        raw = raw[1:-1].replace(b'""', b'"')
    text = raw.strip(b" \t")
    if not text:
        return np.float32(np.nan)
    if _DECIMAL.fullmatch(text) is None and _SPECIAL.fullmatch(text) is None:
        return None
    with np.errstate(over="ignore"):
        return np.float32(float(text.decode("ascii")))


def gather_float32(buf, fields, rows, row_start, row_stop, cols, out):
    data = _as_bytes(buf)
    fields = _array(fields, np.int64, 2, "fields")
    rows = _array(rows, np.int64, 1, "rows")
    cols = _array(cols, np.int64, 1, "cols")
    out = _array(out, np.float32, 2, "out", writable=True)
    row_start, row_stop = operator.index(row_start), operator.index(row_stop)
    _check_row_range(row_start, row_stop, rows, "rows")
    if out.shape[0] < row_stop - row_start or out.shape[1] < len(cols):
        raise ValueError(f"out has shape {out.shape}, needs at least ({row_stop - row_start}, {len(cols)})")
    for r in range(row_start, row_stop):
        for j in range(len(cols)):
            offset, length = fields[rows[r] + cols[j]]
            value = _parse_float32(data[offset : offset + length])
            if value is None:
                return ERR_NUMBER, r, j
            out[r - row_start, j] = value
    return OK, -1, -1


# ---------------------------------------------------------------------------------------------
# format_floats


def format_floats(values):
    values = _array(values, np.float32, 1, "values")
    pieces = [repr(float(v)).encode("ascii") for v in values]
    spans = []
    offset = 0
    for piece in pieces:
        spans.append((offset, len(piece)))
        offset += len(piece)
    return b"".join(pieces), np.array(spans, dtype=np.int64).reshape(-1, 2)


# ---------------------------------------------------------------------------------------------
# splice


def splice(
    in_buf, in_fields, in_rows, pred_buf, pred_fields, pred_rows, row_start, row_stop, sel, width, terminator
):
    width, row_start, row_stop = (operator.index(width), operator.index(row_start), operator.index(row_stop))
    pred_data = _as_bytes(pred_buf)
    pred_fields = _array(pred_fields, np.int64, 2, "pred_fields")
    pred_rows = _array(pred_rows, np.int64, 1, "pred_rows")
    sel = _array(sel, np.int64, 1, "sel")
    if not isinstance(terminator, bytes):
        raise TypeError(f"terminator must be bytes, not {type(terminator).__name__}")
    _check_row_range(row_start, row_stop, pred_rows, "pred_rows")
    if width > 0:
        in_data = _as_bytes(in_buf)
        in_fields = _array(in_fields, np.int64, 2, "in_fields")
        in_rows = _array(in_rows, np.int64, 1, "in_rows")
        _check_row_range(row_start, row_stop, in_rows, "in_rows")
    elif width < 0:
        raise ValueError("width must be >= 0")
    out = bytearray()
    for r in range(row_start, row_stop):
        pieces = []
        for s in sel:
            if s < width:
                offset, length = in_fields[in_rows[r] + s]
                pieces.append(in_data[offset : offset + length])
            else:
                offset, length = pred_fields[pred_rows[r] + s - width]
                pieces.append(pred_data[offset : offset + length])
        out += b",".join(pieces)
        out += terminator
    return bytes(out)
