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
* ``scan_jsonl``: written as "parse the record's top level, then apply the shape rules"
  (the core decides while it scans); the rules are the contract's, so both cover the same
  records. What ``X`` holds from row ``covered`` on is unspecified.
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
    "scan_jsonl",
    "join_jsonl",
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


# ---------------------------------------------------------------------------------------------
# JSON Lines


class _Uncovered(Exception):
    """The record is not one the scan covers: orjson reads it."""


_JSON_WS = b" \t\n\r"
_JSON_NUMBER = re.compile(rb"-?(0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?([0-9]+))?")
_ESCAPES = frozenset(b'"\\/bfnrt')
_HEX = frozenset(b"0123456789abcdefABCDEF")
_JSON_MAX_DEPTH = 64


def _ws(data: bytes, i: int, end: int) -> int:
    while i < end and data[i] in _JSON_WS:
        i += 1
    return i


def _json_string(data: bytes, i: int, end: int) -> tuple[int, bool]:
    """The string at ``data[i] == '"'`` → (offset after it, holds a backslash)."""
    j = i + 1
    while True:
        if j >= end or data[j] < 0x20:
            raise _Uncovered
        if data[j] == _QUOTE:
            break
        if data[j] == 0x5C:
            kind = data[j + 1] if j + 1 < end else -1
            if kind == ord("u"):
                digits = data[j + 2 : j + 6]
                if j + 6 > end or not set(digits) <= _HEX or 0xD800 <= int(digits, 16) <= 0xDFFF:
                    raise _Uncovered
                j += 6
            elif kind in _ESCAPES:
                j += 2
            else:
                raise _Uncovered
        else:
            j += 1
    body = data[i + 1 : j]
    try:
        body.decode("utf-8")  # strict: no surrogates, overlongs or code points past U+10FFFF
    except UnicodeDecodeError:
        raise _Uncovered from None
    return j + 1, b"\\" in body


def _json_number(data: bytes, i: int, end: int) -> int:
    match = _JSON_NUMBER.match(data, i, end)
    if match is None or len(match.group(1)) > 100 or len(match.group(2) or b"") > 2:
        raise _Uncovered
    return match.end()


def _json_value(data: bytes, i: int, end: int, depth: int) -> tuple[int, bool]:
    """The value at ``data[i]`` → (offset after it, written as is: no whitespace, backslash
    or object in it)."""
    if i >= end:
        raise _Uncovered
    c = data[i]
    if c == _QUOTE:
        i, escaped = _json_string(data, i, end)
        return i, not escaped
    for word in (b"true", b"false", b"null"):
        if c == word[0]:
            if data[i : i + len(word)] != word or i + len(word) > end:
                raise _Uncovered
            return i + len(word), True
    if c not in b"[{":
        return _json_number(data, i, end), True
    if depth >= _JSON_MAX_DEPTH:
        raise _Uncovered
    close = ord("]") if c == ord("[") else ord("}")
    compact = close == ord("]")
    j = _ws(data, i + 1, end)
    compact &= j == i + 1
    if j < end and data[j] == close:
        return j + 1, compact
    while True:
        if close == ord("}"):
            if j >= end or data[j] != _QUOTE:
                raise _Uncovered
            j, _ = _json_string(data, j, end)
            j = _ws(data, j, end)
            if j >= end or data[j] != ord(":"):
                raise _Uncovered
            j = _ws(data, j + 1, end)
        k, inner = _json_value(data, j, end, depth + 1)
        j = _ws(data, k, end)
        compact &= inner and j == k
        if j >= end:
            raise _Uncovered
        if data[j] == close:
            return j + 1, compact
        if data[j] != _COMMA:
            raise _Uncovered
        k = j + 1
        j = _ws(data, k, end)
        compact &= j == k


def _feature(data: bytes, span: tuple[int, int]):
    """A feature's value from its text (a number or null), or _Uncovered."""
    text = data[span[0] : span[1]]
    if text == b"null":
        return np.float32(np.nan)
    if not text or text[0] not in b"-0123456789":
        raise _Uncovered
    if text == b"-0":
        return np.float32(0.0)  # orjson reads the integer 0
    with np.errstate(over="ignore"):
        return np.float32(float(text))


def _elements(data: bytes, start: int, end: int) -> list:
    """Spans of the elements of the array ``data[start:end]`` (already scanned as valid)."""
    spans: list = []
    j = _ws(data, start + 1, end)
    if data[j] == ord("]"):
        return spans
    while True:
        k, _ = _json_value(data, j, end, 1)
        spans.append((j, k))
        j = _ws(data, k, end)
        if data[j] == ord("]"):
            return spans
        j = _ws(data, j + 1, end)


def _top_members(data: bytes, start: int, end: int) -> list:
    """(key start, key end, value start, value end, compact) of the object ``data[start:end]``."""
    members = []
    j = _ws(data, start + 1, end)
    if j < end and data[j] == ord("}"):
        raise _Uncovered  # no features in {}
    while True:
        if j >= end or data[j] != _QUOTE:
            raise _Uncovered
        k, escaped = _json_string(data, j, end)
        if escaped:
            raise _Uncovered
        i = _ws(data, k, end)
        if i >= end or data[i] != ord(":"):
            raise _Uncovered
        v = _ws(data, i + 1, end)
        w, compact = _json_value(data, v, end, 1)
        members.append((j, k, v, w, compact))
        j = _ws(data, w, end)
        if j >= end:
            raise _Uncovered
        if data[j] == ord("}"):
            if _ws(data, j + 1, end) != end:
                raise _Uncovered
            return members
        if data[j] != _COMMA:
            raise _Uncovered
        j = _ws(data, j + 1, end)


def _scan_record(data, start, end, names, array, out_names, pred_name, width):
    """(features, kept members) of one record, or _Uncovered."""
    i = _ws(data, start, end)
    if array and not names:
        if i >= end or data[i] != ord("[") or out_names != ():
            raise _Uncovered
        stop, _ = _json_value(data, i, end, 0)
        if _ws(data, stop, end) != end:
            raise _Uncovered
        spans = _elements(data, i, stop)
        if len(spans) != width:
            raise _Uncovered
        return [_feature(data, s) for s in spans], []
    if i >= end or data[i] != ord("{"):
        raise _Uncovered
    members = _top_members(data, i, end)
    by_key: dict = {}
    for m in members:
        by_key.setdefault(data[m[0] + 1 : m[1] - 1], []).append(m)
    features: list = []
    for name in names:
        found = by_key.get(name, [])
        if len(found) != 1:
            raise _Uncovered
        _, _, v, w, _ = found[0]
        if array:
            if data[v] != ord("["):
                raise _Uncovered
            spans = _elements(data, v, w)
            if len(spans) != width:
                raise _Uncovered
            features.extend(_feature(data, s) for s in spans)
        else:
            features.append(_feature(data, (v, w)))
    prediction = (-1, 0, 0, 0)
    kept = []
    if out_names is None:
        members = sorted(members, key=lambda m: data[m[0] + 1 : m[1] - 1])
        keys = [data[m[0] + 1 : m[1] - 1] for m in members]
        if len(set(keys)) != len(keys) or pred_name in keys or not all(m[4] for m in members):
            raise _Uncovered
        kept = [(m[0], m[1] - m[0], m[2], m[3] - m[2]) for m in members]
        kept.insert(sum(key < pred_name for key in keys), prediction)
    else:
        for name in out_names:
            found = by_key.get(name, [])
            if name == pred_name:
                if found:
                    raise _Uncovered
                kept.append(prediction)
            elif len(found) != 1 or not found[0][4]:
                raise _Uncovered
            else:
                j, k, v, w, _ = found[0]
                kept.append((j, k - j, v, w - v))
    return features, kept


def scan_jsonl(buf, starts, ends, names, array, out_names, pred_name, X):
    data = _as_bytes(buf)
    starts = _array(starts, np.int64, 1, "starts")
    ends = _array(ends, np.int64, 1, "ends")
    X = _array(X, np.float32, 2, "X", writable=True)
    n, width = len(starts), X.shape[1]
    if len(ends) != n or X.shape[0] < n:
        raise ValueError("starts, ends and X must have a row per record")
    if array and len(names) > 1:
        raise ValueError("an array is selected by one name (or none: the record)")
    if not array and len(names) != width:
        raise ValueError("named keys select one feature each")
    if not all(0 <= s <= e <= len(data) for s, e in zip(starts.tolist(), ends.tolist())):
        raise ValueError("a record span is outside the buffer")
    members: list = []
    rows = [0]
    covered = 0
    for r in range(n):
        try:
            features, kept = _scan_record(
                data, int(starts[r]), int(ends[r]), names, array, out_names, pred_name, width
            )
        except _Uncovered:
            break
        X[r, :] = features
        members.extend(kept)
        rows.append(len(members))
        covered += 1
    return (
        covered,
        np.array(members, dtype=np.int64).reshape(-1, 4),
        np.array(rows, dtype=np.int64),
    )


def join_jsonl(buf, members, rows, pred_key, pred_text, pred_spans, terminator):
    data = _as_bytes(buf)
    members = _array(members, np.int64, 2, "members")
    rows = _array(rows, np.int64, 1, "rows")
    pred_spans = _array(pred_spans, np.int64, 2, "pred_spans")
    n = len(rows) - 1
    if n < 0 or len(pred_spans) < n or (n and rows[n] > len(members)):
        raise ValueError("rows, members and pred_spans do not fit together")
    out = bytearray()
    for r in range(n):
        offset, length = pred_spans[r]
        if not 0 <= offset <= offset + length <= len(pred_text):
            raise ValueError("a prediction span is outside pred_text")
        if rows[r] > rows[r + 1]:
            raise ValueError("rows must not decrease")
        pieces = []
        for key, key_len, value, value_len in members[rows[r] : rows[r + 1]].tolist():
            if key == -1:
                pieces.append(pred_key + b":" + pred_text[offset : offset + length])
                continue
            if not (
                0 <= key and key + key_len <= len(data) and 0 <= value and value + value_len <= len(data)
            ):
                raise ValueError("a member span is outside the buffer")
            pieces.append(data[key : key + key_len] + b":" + data[value : value + value_len])
        out += b"{" + b",".join(pieces) + b"}" + terminator
    return bytes(out)
