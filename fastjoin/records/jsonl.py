"""JSON records (``application/jsonlines``, ``application/json``): one chunk in, its output out.

:func:`process_chunk` mirrors :func:`fastjoin.csv_records.process_chunk`: a pure function of
(compiled plan, model, chunk of complete lines) that parses, filters, predicts (or calls a
container), joins, filters again and encodes, and turns failures into located errors. It does
no I/O and touches no shared state, so worker threads run it side by side.

Records (SPEC §1): one JSON value per line; blank lines are skipped and counted (an error in
the ``sagemaker`` dialect). With ``application/json`` and ``SplitType=None`` the whole object
is one record (``JsonPlan.whole_object``).

Parsing is orjson's, a line at a time. For an in-process model a chunk runs in batches of
``BATCH`` records (one predict call each), parsed ``GROUP`` records at a time: a group's
features are taken and its records cut down to what the output needs (``$['id',…]`` keeps the
ids, as columns) before the next group is parsed, so the parsed arrays die young and the
cyclic garbage collector never walks thousands of live records. Features come from the input
filter's result (an array of numbers, an object whose values are taken in filter order, or one
number; ``null`` is missing) and become a float32 matrix in one ``numpy.array`` call per group
when the rows are plain numbers; anything else takes an exact per-row path that names the
record and the value. A filter of names on the joined record is written a column at a time,
without building the objects.

Join (SPEC §3, reference/semantics.md §3.3): an object record gains ``SageMakerOutput``
(overwritten if present), any other record becomes ``{"SageMakerInput": …,
"SageMakerOutput": …}``. The model's per-record output is parsed as JSON; an in-process
XGBoost prediction is the float32 value written as the container writes it
(``0.9899773597717285``; several outputs: a list). The output filter applies to the joined
record, which is written compactly by orjson with keys sorted by code point, which is UTF-8
byte order (``JsonPlan.key_order == "input"`` keeps the input order instead).

Number text (``JsonPlan.numbers == "preserve"``, the default): a number copied from the input
(or from a container's response) keeps its exact text. orjson re-encodes floats as their
shortest round-trip text, so a record whose written part holds a float (or a zero, which may
have been ``-0``) is checked: if orjson's encoding of the whole record equals its bytes (spaces
aside) the texts are already identical; otherwise the record is parsed again with Python's
``json`` keeping every number as an ``orjson.Fragment`` of its original text. ``"reencode"``
skips the check and writes orjson's text (``1.50`` → ``1.5``, ``1e5`` → ``100000.0``, integers
beyond 64 bits lose precision).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import orjson

from fastjoin import _impl
from fastjoin.errors import FeatureError, JsonLinesError, OutputError, plural
from fastjoin.jsonpath import NoMatch, Path, Values, kind_of
from fastjoin.records import invoke
from fastjoin.records.base import BLANK_LINE, OUTPUT_KEY, Chunk, ChunkResult, Plan, check_first_record

__all__ = ["JsonPlan", "process_chunk", "FORMAT", "INPUT_KEY"]

INPUT_KEY = "SageMakerInput"

_WHITESPACE = b" \t\r\n"
BATCH = 1024  # records predicted and written together (see process_chunk)
GROUP = 128  # records parsed together, their features taken before the next group
_READ_DEPTH = 1024  # orjson.loads refuses deeper nesting
_WRITE_DEPTH = 254  # orjson.dumps refuses deeper nesting


@dataclass(frozen=True)
class JsonPlan(Plan):
    """A JSON job's plan: the shared fields, and how joined records are written."""

    key_order: str = "sorted"  # "sorted" (SageMaker) or "input"
    numbers: str = "preserve"  # "preserve" number text, or "reencode" with orjson

    @property
    def dump_option(self) -> int:
        return orjson.OPT_SORT_KEYS if self.key_order == "sorted" else 0


class _Records:
    """A batch of a chunk's records: byte spans ``buf[starts[r]:ends[r]]`` (no line terminator)
    and their parsed values, plus the number-exact values computed on demand. ``base`` records
    of the chunk come before the batch."""

    def __init__(self, chunk: Chunk, starts: list, ends: list, values: list | _Kept, base: int = 0):
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
            self._exact[r] = value if _canonical(value, raw) else _exact_load(raw, self.where(r))
        return self._exact[r]

    def set_exact(self, r: int, value) -> None:
        self._exact[r] = value

    def extend(self, other: "_Records") -> None:
        """Append the records of ``other``, the batch's next group (same chunk)."""
        offset = len(self.values)
        self.starts.extend(other.starts)
        self.ends.extend(other.ends)
        mine, theirs = self.values, other.values
        if isinstance(theirs, _Kept) and (not mine or (isinstance(mine, _Kept) and mine.keys == theirs.keys)):
            if isinstance(mine, _Kept) and mine:  # (a list gets here only when empty)
                for column, more in zip(mine.columns, theirs.columns):
                    column.extend(more)
            else:
                self.values = _Kept(theirs.keys, [list(c) for c in theirs.columns])
        else:
            if isinstance(mine, _Kept):
                self.values = mine = list(mine)
            mine.extend(theirs)
        self._exact.update((offset + r, v) for r, v in other._exact.items())


class _Kept:
    """Records reduced to some of their top-level keys (:func:`_keep`), one list per key; it
    reads as a sequence of small objects, built when asked for."""

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


def _split(plan: JsonPlan, chunk: Chunk) -> tuple[list, list, int]:
    """Record spans of a chunk and the number of blank lines skipped."""
    start, end = chunk.start, chunk.end
    if start >= end:
        return [], [], 0
    view = np.frombuffer(chunk.buf, dtype=np.uint8)
    if plan.whole_object:
        if not bytes(view[start:end]).strip(_WHITESPACE):
            return [], [], 0  # an empty object has no record
        return [start], [end], 0
    nl = np.flatnonzero(view[start:end] == 10) + start
    starts = np.empty(len(nl) + 1, dtype=np.int64)
    starts[0] = start
    starts[1:] = nl + 1
    ends = np.empty_like(starts)
    ends[:-1] = nl
    ends[-1] = end
    if starts[-1] == end:  # a terminator at the end does not start an empty record
        starts, ends = starts[:-1], ends[:-1]
    cr = (ends > starts) & (view[np.maximum(ends - 1, 0)] == 13)
    ends -= cr
    empty = ends == starts
    blank = int(empty.sum())
    if blank:
        if not plan.allow_blank:
            first = int(np.argmax(empty))
            # the records before it may hold an earlier error: report errors in line order
            _parse(plan, chunk, starts[:first].tolist(), ends[:first].tolist(), 0)
            raise JsonLinesError(BLANK_LINE, chunk.locate(int(starts[first]), first))
        starts, ends = starts[~empty], ends[~empty]
    return starts.tolist(), ends.tolist(), blank


def _parse(plan: JsonPlan, chunk: Chunk, starts: list, ends: list, base: int) -> tuple[_Records, int]:
    """Parse every record with orjson; whitespace-only lines count as blank. A malformed
    record raises a located :class:`JsonLinesError`."""
    buf = chunk.buf
    loads = orjson.loads
    if not starts:
        return _Records(chunk, starts, ends, [], base), 0
    try:
        # One slice split at its newlines when the lines are adjacent (no blank line between
        # them; a '\r' left at a line's end is JSON whitespace), else a slice per record.
        span = buf[starts[0] : ends[-1]]
        lines = (span if isinstance(span, (bytes, bytearray)) else bytes(span)).split(b"\n")
        if len(lines) == len(starts):
            return _Records(chunk, starts, ends, list(map(loads, lines)), base), 0
        return _Records(chunk, starts, ends, [loads(buf[s:e]) for s, e in zip(starts, ends)], base), 0
    except orjson.JSONDecodeError:
        pass  # find it, and tell blank lines from bad ones
    values, kept_starts, kept_ends, blank = [], [], [], 0
    for s, e in zip(starts, ends):
        try:
            values.append(loads(buf[s:e]))
        except orjson.JSONDecodeError as exc:
            raw = bytes(buf[s:e])
            if not raw.strip(_WHITESPACE) and not plan.whole_object:
                if not plan.allow_blank:
                    raise JsonLinesError(BLANK_LINE, chunk.locate(s, base + len(values))) from None
                blank += 1
                continue
            raise _decode_error(chunk, raw, s, exc, base + len(values)) from None
        kept_starts.append(s)
        kept_ends.append(e)
    return _Records(chunk, kept_starts, kept_ends, values, base), blank


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


def _select(path: Path, role: str, records: _Records, values: Values) -> list:
    """``path`` on one value per record; a record it selects nothing from is a located
    :class:`FeatureError` naming the filter."""
    try:
        return path.select_all(values)
    except NoMatch as exc:
        assert exc.index is not None  # select_all tells which value
        raise FeatureError(f"{role} {exc.message}", records.where(exc.index), path=path.expression) from None


# ----------------------------------------------------------------------------- numbers


def _canonical(value, raw: bytes) -> bool:
    """True when orjson writes ``value`` as ``raw`` up to whitespace, so every number in it
    keeps its text when written (JSON numbers hold no whitespace, and orjson writes none
    outside strings)."""
    try:
        text = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return text == raw or text.translate(None, _WHITESPACE) == raw.translate(None, _WHITESPACE)


def _exact_load(raw: bytes, where):
    """Parse ``raw`` (already valid JSON: orjson read it) keeping each number's text."""
    try:
        return json.loads(raw.decode("utf-8"), parse_float=orjson.Fragment, parse_int=orjson.Fragment)
    except RecursionError:
        raise JsonLinesError(
            f"the record nests too deeply to be written (fastjoin writes at most {_WRITE_DEPTH} levels)",
            where,
        ) from None


def _text_at_risk(value, skip) -> bool:
    """Whether writing ``value`` could change a number's text: it holds a float, or a zero
    (``-0`` reads as 0). ``skip`` (by identity) is the model's prediction, already exact."""
    stack = [value]
    while stack:
        x = stack.pop()
        kind = type(x)
        if kind is float:
            if x is not skip:
                return True
        elif kind is int:
            if x == 0:
                return True
        elif kind is dict:
            if x is not skip:
                stack.extend(x.values())
        elif kind is list:
            if x is not skip:
                stack.extend(x)
    return False


def _prediction_values(preds: np.ndarray) -> list:
    """XGBoost predictions as JSON values whose text is the container's: Python floats where
    orjson writes ``repr(float(p))`` (0, and 1e-4 <= |p| < 1e16, where both are the shortest
    round-trip decimal), an ``orjson.Fragment`` of that repr elsewhere. NaN and infinities are
    not JSON: orjson writes them as ``null``. Several outputs: a list per record."""
    wide = preds.astype(np.float64)
    values = wide.tolist()
    size = np.abs(wide)
    odd = np.isfinite(wide) & (wide != 0) & ((size < 1e-4) | (size >= 1e16))
    if odd.any():
        if wide.ndim == 1:
            for r in np.flatnonzero(odd).tolist():
                values[r] = orjson.Fragment(repr(values[r]))
        else:
            for r, j in np.argwhere(odd).tolist():
                values[r][j] = orjson.Fragment(repr(values[r][j]))
    return values


# ----------------------------------------------------------------------------- features


def _mentions(records: _Records, word: bytes) -> bool:
    """Whether the batch's bytes contain ``word`` anywhere (a cheap, conservative screen)."""
    buf, start, end = records.chunk.buf, records.starts[0], records.ends[-1]
    if not hasattr(buf, "find"):
        return bytes(buf[start:end]).find(word) >= 0
    return buf.find(word, start, end) >= 0


def _fast_matrix(records: _Records, rows: list):
    """float64 (n, width) from plain rows in one numpy call, or None when any row needs the
    exact path (ragged, nested, strings, booleans). numpy would parse "1.5" if asked for
    floats, so it infers the dtype and anything not numeric is refused; it also casts true to
    1.0, so the 0s and 1s are looked at (:func:`_may_hold_booleans`). Nulls among numbers
    become NaN."""
    if dict in set(map(type, rows)):
        rows = [list(row.values()) if type(row) is dict else row for row in rows]
    try:
        a = np.array(rows)
    except (ValueError, TypeError, OverflowError):
        return None
    if a.ndim == 1 and a.dtype.kind in "fiu":
        a = a.reshape(-1, 1)  # one number per record
    if a.ndim != 2:
        return None
    if a.dtype == object:  # nulls among numbers
        missing = a == None  # noqa: E711 (elementwise)
        present = a[~missing].tolist()
        try:
            numbers = np.array(present) if present else np.empty(0)
        except (ValueError, TypeError, OverflowError):
            return None
        if numbers.ndim != 1 or numbers.dtype.kind not in "fiu":
            return None
        out = np.full(a.shape, np.nan)
        out[~missing] = numbers.astype(np.float64)
        a = out
    elif a.dtype.kind not in "fiu":
        return None
    if _may_hold_booleans(records, rows, a):
        return None
    return np.asarray(a, dtype=np.float64)  # integers: the nearest double first, as CSV text


def _may_hold_booleans(records: _Records, rows: list, a: np.ndarray) -> bool:
    """Whether a JSON true/false hides among the numbers numpy made of ``rows`` (as 1 or 0).
    Only the 0s and 1s need a look; when there are many, a search of the batch's bytes is
    cheaper (conservative: a true/false anywhere in the batch counts)."""
    candidates = np.flatnonzero((a == 0) | (a == 1))
    if len(candidates) == 0:
        return False
    if len(candidates) > len(rows):
        return _mentions(records, b"true") or _mentions(records, b"false")
    width = a.shape[1]
    for index in candidates.tolist():
        row = rows[index // width]
        value = row[index % width] if type(row) is list else row
        if value is True or value is False:
            return True
    return False


def _exact_row(plan: JsonPlan, records: _Records, r: int, row) -> list:
    """One feature row, checked value by value; raises a located FeatureError."""
    expression = plan.input_filter.expression
    names = None
    if type(row) is dict:
        names, items = list(row), list(row.values())
    elif type(row) is list:
        items = row
    elif row is None or type(row) in (int, float):
        items = [row]
    else:
        raise FeatureError(
            f"InputFilter {expression} selects {kind_of(row)}: a feature row is an array of numbers, "
            f"an object of numbers (values taken in filter order) or one number",
            records.where(r),
            path=expression,
        )
    for j, x in enumerate(items):
        kind = type(x)
        if kind is float or kind is int or x is None:
            continue
        label = f"feature {j + 1}" + (f" ({names[j]!r})" if names else "")
        shown = "" if kind in (dict, list) or x is True or x is False else f" {json.dumps(x)[:40]}"
        raise FeatureError(
            f"InputFilter {expression}: {label} is {kind_of(x)}{shown}, not a number",
            records.where(r),
            path=expression,
        )
    return items


def _features(plan: JsonPlan, model, records: _Records) -> np.ndarray:
    rows = _select(plan.input_filter, "InputFilter", records, records.values)
    n_features = model.n_features
    X = _fast_matrix(records, rows)
    if X is None or X.shape[1] != n_features:
        checked = []
        for r, row in enumerate(rows):
            items = _exact_row(plan, records, r, row)
            if len(items) != n_features:
                _width_error(plan, model, records, r, len(items))
            checked.append(items)
        X = np.array(checked, dtype=np.float64).reshape(len(rows), n_features)  # null -> NaN
    with np.errstate(over="ignore"):  # beyond float32: inf, as CSV text gives
        return np.ascontiguousarray(X, dtype=np.float32)


def _width_error(plan: JsonPlan, model, records: _Records, r: int, width: int):
    expression = plan.input_filter.expression
    where = records.where(r)
    if records.is_first_of_object(r):
        check_first_record(model, width, where, f"InputFilter {expression} on the first record")
    raise FeatureError(
        f"InputFilter {expression} selects {plural(width, 'value')} "
        f"from this record, but the model expects {model.n_features}",
        where,
        path=expression,
    )


# ----------------------------------------------------------------------------- predict


def _raw_predictions(preds: np.ndarray, terminator: bytes) -> bytes:
    """The predictions as the SageMaker XGBoost container writes them in batch mode, one record
    each: ``repr`` of the float32 value widened to double, several outputs as a Python list
    (``[0.1, 0.2, 0.7]``)."""
    text, spans = _impl.format_floats(np.ascontiguousarray(preds, dtype=np.float32).reshape(-1))
    n = len(preds)
    if preds.ndim == 1:
        rows = np.arange(n + 1, dtype=np.int64)
        return _impl.splice(
            text, spans, rows, text, spans, rows, 0, n, np.zeros(1, dtype=np.int64), 0, terminator
        )
    k = preds.shape[1]
    pieces = [text[s : s + length] for s, length in spans.tolist()]
    return b"".join(
        b"[" + b", ".join(pieces[i : i + k]) + b"]" + terminator for i in range(0, len(pieces), k)
    )


def _request_lines(plan: JsonPlan, records: _Records) -> list:
    """The filtered records as the container gets them: the record's own bytes for ``$``,
    otherwise the selection written compactly (number text kept)."""
    if plan.input_filter.is_root:
        buf = records.chunk.buf
        return [buf[s:e] for s, e in zip(records.starts, records.ends)]
    selected = _select(plan.input_filter, "InputFilter", records, records.values)
    if plan.numbers == "preserve":
        for r, value in enumerate(selected):
            if _text_at_risk(value, None):
                selected[r] = plan.input_filter.select(records.exact(r))
    return _encode(plan, records, selected)


def _split_response(response: bytes) -> list:
    lines = response.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _predict_container(plan: JsonPlan, model, records: _Records) -> list:
    """Send the filtered records in mini-batches, one per line (the whole object in one request
    for SplitType None); split each response back into one output per record."""
    lines = _request_lines(plan, records)
    if plan.whole_object:
        body = bytes(lines[0])
        if plan.max_payload_bytes and len(body) > plan.max_payload_bytes:
            raise invoke.too_large(len(body), plan.max_payload_bytes, records.where(0))
        return [model.invoke(body, plan.content_type, plan.accept)]
    body = b"\n".join(lines) + b"\n"
    line_ends = np.cumsum(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)) + 1)
    outputs: list = []
    for start, stop, first, last in invoke.batches(plan, line_ends, records.where):
        got = _split_response(model.invoke(body[start:stop], plan.content_type, plan.accept))
        if len(got) != last - first:
            raise invoke.wrong_count(
                records.where(first),
                f"returned {plural(len(got), 'line')}",
                last - first,
                ": JSON Lines models must answer one line per record",
            )
        outputs.extend(got)
    return outputs


def _load_outputs(plan: JsonPlan, records: _Records, raws: list) -> list:
    """The container's per-record outputs parsed as JSON; one that is not JSON is an error
    naming its record (number text is kept later, for what is written: see _outputs)."""
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


# ----------------------------------------------------------------------------- output


def _join(value, output, key: str = OUTPUT_KEY):
    if type(value) is dict:
        return {**value, key: output}  # an existing SageMakerOutput is overwritten in place
    return {INPUT_KEY: value, key: output}


class _Objects:
    """Output values that are all objects with the same keys (``names``, no repeats), held a
    column per key: a filter of names on joined records. Written without building them."""

    __slots__ = ("names", "columns")

    def __init__(self, names: tuple, columns: list):
        self.names = names
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0])

    def set(self, r: int, value: dict) -> None:
        for name, column in zip(self.names, self.columns):
            column[r] = value[name]


_SCALAR_TYPES = frozenset({int, float, bool, type(None), orjson.Fragment})  # no ',' in their JSON


def _write(plan: JsonPlan, records: _Records, written) -> bytes:
    """The output bytes: each value compact, followed by the terminator."""
    terminator = plan.terminator
    if not isinstance(written, _Objects):
        encoded = _encode(plan, records, written)
        return terminator.join(encoded) + terminator if terminator else b"".join(encoded)
    # {"k1":v1,"k2":v2}: one column at a time, then interleaved with the constant parts
    order = (
        sorted(range(len(written.names)), key=written.names.__getitem__)
        if plan.key_order == "sorted"
        else range(len(written.names))
    )
    n, parts_per_row = len(written), 2 * len(written.names) + 1
    parts = [b""] * (n * parts_per_row)
    separator = b"{"
    for j, i in enumerate(order):
        column = written.columns[i]
        pieces = None
        if set(map(type, column)) <= _SCALAR_TYPES:
            try:  # one call for the column, split where no value holds a ','
                pieces = orjson.dumps(column)[1:-1].split(b",")
            except orjson.JSONEncodeError:
                pass  # (an integer beyond 64 bits) encoded one by one, which says where
        if pieces is None:
            pieces = _encode(plan, records, column)
        parts[2 * j :: parts_per_row] = [separator + orjson.dumps(written.names[i]) + b":"] * n
        parts[2 * j + 1 :: parts_per_row] = pieces
        separator = b","
    parts[parts_per_row - 1 :: parts_per_row] = [b"}" + terminator] * n
    return b"".join(parts)


def _encode(plan: JsonPlan, records: _Records, values: list) -> list:
    dumps, option = orjson.dumps, plan.dump_option
    try:
        return [dumps(v, option=option) for v in values]
    except orjson.JSONEncodeError:
        pass  # find the record, below
    encoded = []
    for r, v in enumerate(values):
        try:
            encoded.append(dumps(v, option=option))
        except orjson.JSONEncodeError as exc:
            why = (
                f"it nests deeper than {_WRITE_DEPTH} levels, the most orjson writes"
                if "ecursion" in str(exc)
                else str(exc)
            )
            raise JsonLinesError(f"cannot write the output record: {why}", records.where(r)) from None
    return encoded


def _outputs(plan: JsonPlan, records: _Records, outputs: list, raws, exact_outputs: bool) -> list:
    """What is written for each record: the joined record (or the model output) through the
    output filter, with number text kept when asked. ``exact_outputs``: the outputs are
    in-process predictions, exact by construction; otherwise container responses (``raws``)."""
    key = plan.prediction_name
    written, names, prediction = _joined_selection(plan, records, outputs)
    if plan.numbers != "preserve" or (exact_outputs and not plan.join):
        return written
    select = plan.output_filter.select
    if isinstance(written, _Objects):
        risky = sorted(
            set().union(
                *(
                    _risky_column(column)
                    for name, column in zip(written.names, written.columns)
                    if not (exact_outputs and name == prediction)
                )
            )
        )
    else:
        risky = _at_risk(written, names, outputs if exact_outputs else None, prediction)
    for r in risky:
        output = outputs[r]
        if not exact_outputs:
            raw = bytes(raws[r])
            if not _canonical(output, raw):
                output = _exact_load(raw, records.where(r))
        record = records.exact(r) if plan.join else None
        if output is outputs[r] and (not plan.join or record is records.values[r]):
            continue  # orjson writes these numbers as they were written: nothing to redo
        value = select(_join(record, output, key) if plan.join else output)
        if isinstance(written, _Objects):
            written.set(r, value)
        else:
            written[r] = value
    return written


def _joined_selection(plan: JsonPlan, records: _Records, outputs: list):
    """The output filter on each joined record → (values, names, prediction): ``names`` when
    every value is an object with exactly those keys, ``prediction`` the one of them that
    holds the model output. A filter of names reads the joined record without building it
    (the common ``$['id','SageMakerOutput']``, straight from the kept columns); any record it
    does not fit goes the general way, which also words the error."""
    path = plan.output_filter
    if not plan.join:
        return _select(path, "OutputFilter", records, outputs), None, None
    key = plan.prediction_name
    chain = path.name_chain
    values = records.values
    if chain is not None and (chain[0] or chain[1]):
        keys, last = chain
        try:
            if keys:
                head, rest = keys[0], path.rest
                if head == key:
                    picked = list(outputs)
                elif isinstance(values, _Kept):
                    picked = list(values.columns[values.keys.index(head)])
                else:
                    picked = [v[head] for v in values]
                return rest.select_all(picked), last, None
            assert last is not None  # no single-name steps: the path is one multi-name bracket
            if len(set(last)) == len(last):
                if isinstance(values, _Kept):
                    kept = dict(zip(values.keys, values.columns))
                    columns = [list(outputs) if name == key else list(kept[name]) for name in last]
                else:
                    columns = [list(outputs) if name == key else [v[name] for v in values] for name in last]
                return _Objects(last, columns), last, key
            return (
                [{name: (o if name == key else v[name]) for name in last} for v, o in zip(values, outputs)],
                last,
                key,
            )
        except (KeyError, TypeError, ValueError, NoMatch):
            pass  # some record is not an object, or lacks a key
    joined = [_join(v, o, key) for v, o in zip(values, outputs)]
    return _select(path, "OutputFilter", records, joined), None, None


_SAFE_TYPES = frozenset({str, bool, type(None), orjson.Fragment})
_SAFE_OR_INT = _SAFE_TYPES | {int}


def _at_risk(written: list, names, outputs, key) -> list:
    """Records whose written value may hold a number whose text orjson would change: see
    :func:`_text_at_risk`. ``outputs`` (by identity) are exact predictions; ``names``: every
    value is an object with these keys, screened a column at a time (``key``'s column holds
    the predictions when they are exact)."""
    if names is not None:
        rows: set = set()
        for name in names:
            if name == key and outputs is not None:
                continue
            column = [w[name] for w in written]
            rows.update(_risky_column(column))
        return sorted(rows)
    if outputs is None:
        return _risky_column(written)
    return [r for r, w in enumerate(written) if _text_at_risk(w, outputs[r])]


def _risky_column(values: list) -> list:
    kinds = set(map(type, values))
    if kinds <= _SAFE_TYPES:
        return []
    if kinds <= _SAFE_OR_INT:
        return [r for r, x in enumerate(values) if type(x) is int and x == 0] if 0 in values else []
    return [r for r, x in enumerate(values) if _text_at_risk(x, None)]


def _kept_keys(plan: JsonPlan):
    """What of a record the output still needs once its features are taken: ``()`` nothing
    (no join: the output is the prediction), a tuple of top-level keys (a filter of names on
    the joined record: ``$['id','SageMakerOutput']`` needs ``id``), or None (all of it)."""
    if not plan.join:
        return ()
    chain = plan.output_filter.name_chain
    if chain is None or not (chain[0] or chain[1]):
        return None
    keys, last = chain
    names = keys[:1] if keys else last
    assert names is not None  # no single-name steps: the path is one multi-name bracket
    return tuple(n for n in names if n != plan.prediction_name)


def _keep(records: _Records, keys) -> None:
    """Replace each parsed record by the part of it the output needs (``_kept_keys``), so the
    rest dies now; number-exact versions of what is kept are taken while the whole record is
    still here. A record that is not an object or lacks a key stays whole: the output filter
    then wraps it or words the error."""
    if keys is None:
        return
    values = records.values
    if not keys:
        records.values = [None] * len(values)
        return
    kept: list | _Kept
    try:  # v[k] raises unless v is an object holding k
        columns = [[v[k] for v in values] for k in keys]
    except (KeyError, TypeError):
        kept = [
            {k: v[k] for k in keys} if type(v) is dict and all(map(v.__contains__, keys)) else v
            for v in values
        ]
        risky = [r for r in _at_risk(kept, None, None, None) if kept[r] is not values[r]]
    else:
        kept = _Kept(keys, columns)
        risky = sorted(set().union(*map(_risky_column, columns)))
    for r in risky:
        exact = records.exact(r)
        records.set_exact(r, {k: exact[k] for k in keys})
    records.values = kept


def _parse_features(plan: JsonPlan, model, chunk: Chunk, starts: list, ends: list, base: int):
    """Parse a batch for an in-process model in small groups, taking each group's features
    and the part of its records the output needs before the next group is parsed: the
    records' arrays then die young, in cache, before the garbage collector walks them.
    Returns (records, X, blank lines)."""
    keys = _kept_keys(plan)
    batch = _Records(chunk, [], [], [], base)
    parts, blank = [], 0
    for first in range(0, len(starts), GROUP):
        group, more = _parse(
            plan, chunk, starts[first : first + GROUP], ends[first : first + GROUP], base + len(batch)
        )
        blank += more
        if not len(group):
            continue
        parts.append(_features(plan, model, group))
        _keep(group, keys)
        batch.extend(group)
    X = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else None
    return batch, X, blank


def _process(plan: JsonPlan, model, records: _Records, X=None) -> tuple[bytes, int]:
    """One batch of parsed records → (output bytes, outputs per record). ``X``: the features,
    already taken (in-process models)."""
    terminator = plan.terminator
    if model.is_container:
        raws = _predict_container(plan, model, records)
        if not plan.join and plan.output_filter.is_root:
            return b"".join(bytes(raw) + terminator for raw in raws), 1
        outputs = _load_outputs(plan, records, raws)
        written = _outputs(plan, records, outputs, raws, exact_outputs=False)
        k = 1
    else:
        preds = model.predict(X)
        k = 1 if preds.ndim == 1 else preds.shape[1]
        if not plan.join and plan.output_filter.is_root:
            return _raw_predictions(preds, terminator), k
        written = _outputs(plan, records, _prediction_values(preds), None, exact_outputs=True)
    return _write(plan, records, written), k


def process_chunk(plan: JsonPlan, model, chunk: Chunk) -> ChunkResult:
    """Run one chunk of complete JSON lines (or one whole JSON object) through
    filter → predict → join → filter.

    In-process models take the chunk in batches of ``BATCH`` records (one predict call each),
    parsed ``GROUP`` records at a time (see :func:`_parse_features`): parsed values die young
    and the cyclic garbage collector never walks a chunk's worth of live records, which would
    cost more than the parsing. A container gets the whole chunk, batched by MaxPayloadInMB as
    SageMaker does.
    """
    starts, ends, blank = _split(plan, chunk)
    container = model.is_container
    step = max(len(starts), 1) if container else BATCH
    pieces, n, k = [], 0, 0
    for first in range(0, len(starts), step):
        batch_starts, batch_ends = starts[first : first + step], ends[first : first + step]
        if container:
            records, more_blank = _parse(plan, chunk, batch_starts, batch_ends, n)
            X = None
        else:
            records, X, more_blank = _parse_features(plan, model, chunk, batch_starts, batch_ends, n)
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
    make_plan = JsonPlan
    process_chunk = staticmethod(process_chunk)

    @staticmethod
    def header_names(*_) -> tuple[str, ...]:
        raise AssertionError("JSON records name their own fields (the options refuse header=True)")

    header_line = header_names


FORMAT = _Format()
