"""CSV records: one chunk of complete lines in, its output bytes out.

:func:`process_chunk` is a pure function of (buffer, compiled plan, model): it tokenises,
gathers features, predicts (or calls a container), formats and splices through the core, and
turns core status codes into located errors. It does no I/O, so the same function serves
files, in-memory objects and byte ranges on other workers.
"""

from __future__ import annotations

import re

import numpy as np

from fastjoin import _impl
from fastjoin.deadletter import DeadLetter
from fastjoin.errors import CsvError, FeatureError, core_message, plural
from fastjoin.framing import next_newline
from fastjoin.jsonpath import Path
from fastjoin.records import invoke
from fastjoin.records.base import Chunk, ChunkResult, Plan, check_first_record, no_join_hint

_EMPTY_SPANS = np.empty((0, 2), dtype=np.int64)


def tokenize(chunk: Chunk, allow_blank: bool):
    """Tokenise a chunk; a malformed line raises a located :class:`CsvError`."""
    fields, rows, blank, status, err = _impl.tokenize(chunk.buf, chunk.start, chunk.end, allow_blank)
    if status != _impl.OK:
        where = chunk.locate(err, len(rows) - 1)
        raise CsvError(core_message(status) + json_hint(where.snippet), where)
    return fields, rows, blank


# -- hints: what a message adds when the input is likely not what the options say (errors only)

JSON_HINT = (
    "; the line starts with {!r}: it looks like JSON, not CSV: for JSON Lines use "
    "content_type='application/jsonlines' (--content-type application/jsonlines)"
)
_HEADER_NAME = re.compile(r"[^\W\d]\w*(?:[ .\-]\w+)*")  # mean_radius, Mean radius, size-cm


def json_hint(line: str) -> str:
    """The hint for a CSV error on a line that starts (after spaces) with ``{`` or ``[``."""
    start = line.lstrip()[:1]
    return JSON_HINT.format(start) if start in ("{", "[") else ""


def _field_text(buf, span) -> str:
    return bytes(memoryview(buf)[span[0] : span[0] + span[1]]).decode("utf-8", "replace")


def _unquoted(text: str) -> str:
    text = text.strip()
    return text[1:-1].replace('""', '"').strip() if len(text) > 1 and text[0] == text[-1] == '"' else text


def _is_number(text: str) -> bool:
    try:
        float(text)  # looser than the core (nan, 1_000): the hint errs on the side of silence
    except ValueError:
        return False
    return True


def _header_hint(plan: Plan, chunk: Chunk, fields, rows, cols, text: str, line: int) -> str:
    """The hint for a field that is not a number on an object's first record when that record
    looks like a header: the failing field is a name (a word, not a number) and no selected
    field on it is a number. Without header=True the header is read as a record."""
    if chunk.names is not None or not _HEADER_NAME.fullmatch(_unquoted(text)):
        return ""
    row = fields[rows[0] : rows[1]]
    for col in cols.tolist():
        value = _unquoted(_field_text(chunk.buf, row[col]))
        if value and _is_number(value):
            return ""
    if plan.input_filter.dialect == "sagemaker":
        return (
            f"; line {line} looks like a header: the sagemaker dialect reads every line as a record, "
            f"as SageMaker does: remove it, or use the extended dialect with header=True (--header)"
        )
    return f"; line {line} looks like a header: use header=True (--header) to read it as column names"


def _not_a_number(plan: Plan, chunk: Chunk, fields, rows, cols, r: int, field_index: int, where) -> str:
    """The message for field ``field_index`` of row ``r``, which is not a number, with what
    it likely means: a byte-order mark, JSON read as CSV, or (``where``: the location, given
    for the object's first record) a header read as a record."""
    text = _field_text(chunk.buf, fields[rows[r] + field_index])
    message = f"field {field_index + 1}: expected a number, got {text!r}"
    if text.startswith("\ufeff"):
        return message + (
            " (it starts with a UTF-8 byte-order mark: the extended dialect skips one at the "
            "very start of an object; the sagemaker dialect keeps it as data, as SageMaker does)"
        )
    hint = json_hint(_field_text(chunk.buf, fields[rows[r]]))
    if not hint and where is not None and chunk.first and r == 0:
        hint = _header_hint(plan, chunk, fields, rows, cols, text, where.line)
    return message + hint


def _output_indices(plan: Plan, width: int, names, chunk: Chunk, fields, rows, r: int, k: int) -> np.ndarray:
    """The output filter's indexes for a joined row of ``width`` fields (``k`` of them the
    prediction's); without a join an error says the filter applies to the prediction alone."""
    try:
        return _indices(plan.output_filter, width, names, chunk, fields, rows, r)
    except FeatureError as exc:
        if plan.join:
            raise
        hint = no_join_hint(plan, f"({plural(k, 'field')})")
        raise FeatureError(f"{exc.message}; {hint}", exc.location, path=exc.path) from None


def runs(*keys: np.ndarray) -> list[tuple[int, int]]:
    """Split rows into maximal runs where every key (e.g. the row width) is constant, so
    each run is handled with one resolved index vector."""
    n = len(keys[0])
    if n == 0:
        return []
    change = np.zeros(n - 1, dtype=bool)
    for k in keys:
        change |= k[1:] != k[:-1]
    bounds = [0, *(np.flatnonzero(change) + 1).tolist(), n]
    return list(zip(bounds[:-1], bounds[1:]))


def _indices(path: Path, width: int, names, chunk: Chunk, fields, rows, r: int) -> np.ndarray:
    try:
        return path.csv_indices(width, names)
    except FeatureError as exc:
        raise FeatureError(
            exc.message, chunk.locate(int(fields[rows[r], 0]), r), path=path.expression
        ) from None


def _features(plan: Plan, model, chunk: Chunk, fields, rows, widths, bad=None) -> np.ndarray:
    n = len(rows) - 1
    X = np.empty((n, model.n_features), dtype=np.float32)
    for r0, r1 in runs(widths):
        width = int(widths[r0])
        try:
            cols = _indices(plan.input_filter, width, chunk.names, chunk, fields, rows, r0)
        except FeatureError as exc:
            if bad is None or (chunk.first and r0 == 0):
                raise
            bad.run(fields, rows, r0, r1, exc.message)
            continue
        if len(cols) != model.n_features:
            where = chunk.locate(int(fields[rows[r0], 0]), r0)
            if chunk.first and r0 == 0:
                why = f"InputFilter {plan.input_filter.expression} on a record of {plural(width, 'field')}"
                check_first_record(model, len(cols), where, why)
            message = (
                f"record has {plural(width, 'field')}, so InputFilter {plan.input_filter.expression} "
                f"selects {plural(len(cols), 'feature')}, but the model expects {model.n_features}"
            )
            if bad is None or (chunk.first and r0 == 0):
                raise FeatureError(message, where, path=plan.input_filter.expression)
            bad.run(fields, rows, r0, r1, message)
            continue
        r = r0
        while r < r1:
            status, err_row, err_col = _impl.gather_float32(chunk.buf, fields, rows, r, r1, cols, X[r:r1])
            if status == _impl.OK:
                break
            field_index = int(cols[err_col])
            span = fields[rows[err_row] + field_index]
            first = chunk.first and err_row == 0  # the object's first record
            # located only to raise, or for the header hint's line (skipped records: at the end)
            at = chunk.locate(int(span[0]), err_row, field_index + 1) if bad is None or first else None
            message = _not_a_number(plan, chunk, fields, rows, cols, err_row, field_index, at)
            if bad is None:
                raise FeatureError(message, at, path=plan.input_filter.expression)
            bad.row(fields, rows, err_row, message, int(span[0]))
            r = err_row + 1  # the rows before it are filled; go on after it
    return X


def _predict_xgboost(plan: Plan, model, chunk: Chunk, fields, rows, widths, X=None):
    if X is None:
        X = _features(plan, model, chunk, fields, rows, widths)
    preds = model.predict(X)
    k = 1 if preds.ndim == 1 else preds.shape[1]
    text, spans = _impl.format_floats(np.ascontiguousarray(preds, dtype=np.float32).reshape(-1))
    return text, spans, np.arange(0, len(X) * k + 1, k, dtype=np.int64), k


def _predict_container(plan: Plan, model, chunk: Chunk, fields, rows, widths):
    """Send the filtered records to the container in mini-batches; split the responses back
    into one CSV record per input record."""
    n = len(rows) - 1
    bodies = []
    for r0, r1 in runs(widths):
        cols = _indices(plan.input_filter, int(widths[r0]), chunk.names, chunk, fields, rows, r0)
        bodies.append(
            _impl.splice(
                chunk.buf, fields, rows, b"", _EMPTY_SPANS, rows, r0, r1, cols, int(widths[r0]), b"\n"
            )
        )
    body = b"".join(bodies)
    line_ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10) + 1
    texts, spans, pred_rows = [], [], [np.zeros(1, dtype=np.int64)]
    offset = n_fields = 0
    where = lambda r: chunk.locate(int(fields[rows[r], 0]), r)  # noqa: E731
    for start, stop, first, last in invoke.batches(plan, line_ends, where):
        response = invoke.send(model, plan, body[start:stop], where, first, last)
        resp_fields, resp_rows, _, status, err = _impl.tokenize(response, 0, len(response), False)
        got = len(resp_rows) - 1
        if status != _impl.OK or got != last - first:
            why = (
                f"returned {plural(got, 'line')}"
                if status == _impl.OK
                else f"returned a malformed CSV response ({core_message(status)})"
            )
            raise invoke.wrong_count(where(first), why, last - first)
        texts.append(response)
        spans.append(resp_fields + np.array([offset, 0], dtype=np.int64))
        pred_rows.append(resp_rows[1:] + n_fields)
        offset += len(response)
        n_fields += len(resp_fields)
    k_rows = np.diff(np.concatenate(pred_rows))
    k = int(k_rows[0]) if n else 1
    return b"".join(texts), np.concatenate(spans) if spans else _EMPTY_SPANS, np.concatenate(pred_rows), k


def process_chunk(plan: Plan, model, chunk: Chunk) -> ChunkResult:
    """Run one chunk of complete CSV lines through filter → predict → join → filter.

    With ``plan.skip_errors`` a bad record (malformed CSV, a feature that is not a number,
    a filter index outside the record) is left out and reported in ``ChunkResult.errors``;
    the object's first record still raises, as it is also the check that the filters fit
    the model. Otherwise the first bad record raises a located error.
    """
    bad = _BadRecords(chunk) if plan.skip_errors else None
    if bad is None:
        fields, rows, blank = tokenize(chunk, plan.allow_blank)  # an earlier error: Pipeline.process
    else:
        fields, rows, blank = _tokenize_skipping(chunk, bad)
    n = len(rows) - 1
    if n == 0:
        return ChunkResult(b"", 0, blank, 0, bad.entries() if bad else [])
    widths = np.diff(rows)
    container = model.is_container
    X = None
    if bad is not None:
        # Screen the records before predicting: bad ones are dropped, the rest go on as usual.
        if container:
            _check_input_filter(plan, chunk, fields, rows, widths, bad)
        else:
            X = _features(plan, model, chunk, fields, rows, widths, bad)
        if bad.rows:
            keep = np.ones(n, dtype=bool)
            keep[bad.rows] = False
            bad.rows.clear()
            fields, rows = _select_rows(fields, rows, keep)
            X = None if X is None else X[keep]
            n = len(rows) - 1
            if n == 0:
                return ChunkResult(b"", 0, blank, 0, bad.entries())
            widths = np.diff(rows)
    if container:
        pred_buf, pred_fields, pred_rows, k = _predict_container(plan, model, chunk, fields, rows, widths)
    else:
        pred_buf, pred_fields, pred_rows, k = _predict_xgboost(plan, model, chunk, fields, rows, widths, X)
    pred_widths = np.diff(pred_rows)
    in_widths = widths if plan.join else np.zeros_like(widths)
    out = []
    written = n
    for r0, r1 in runs(in_widths, pred_widths):
        width = int(in_widths[r0])
        joined = width + int(pred_widths[r0])
        names = None
        if chunk.names is not None:
            names = (list(chunk.names) if plan.join else []) + plan.prediction_names(int(pred_widths[r0]))
        try:
            sel = _output_indices(plan, joined, names, chunk, fields, rows, r0, int(pred_widths[r0]))
        except FeatureError as exc:
            if bad is None or (chunk.first and r0 == 0):
                raise
            bad.run(fields, rows, r0, r1, exc.message)
            written -= r1 - r0
            continue
        out.append(
            _impl.splice(
                chunk.buf, fields, rows, pred_buf, pred_fields, pred_rows, r0, r1, sel, width, plan.terminator
            )
        )
    return ChunkResult(b"".join(out), written, blank, k, bad.entries() if bad else [])


# ----------------------------------------------------------------------------- on_error="skip"


class _BadRecords:
    """The bad records of one chunk, kept as byte spans and located only when reported."""

    def __init__(self, chunk: Chunk):
        self.chunk = chunk
        self.spans: list[tuple[int, int, int, str]] = []  # (record start, record end, error at, reason)
        self.rows: list[int] = []  # rows of the current fields/rows arrays to drop

    def line(self, start: int, end: int, at: int, reason: str) -> None:
        self.spans.append((start, end, at, reason))

    def row(self, fields, rows, r: int, reason: str, at: int | None = None) -> None:
        start = int(fields[rows[r], 0])
        last = fields[rows[r + 1] - 1]
        self.spans.append((start, int(last[0] + last[1]), start if at is None else at, reason))
        self.rows.append(r)

    def run(self, fields, rows, r0: int, r1: int, reason: str) -> None:
        for r in range(r0, r1):
            self.row(fields, rows, r, reason)

    def entries(self) -> list[DeadLetter]:
        if not self.spans:
            return []
        chunk = self.chunk
        spans = sorted(self.spans)
        starts = np.array([s[0] for s in spans], dtype=np.int64)
        # Lines are counted here, once per chunk that has bad records, from the chunk's start.
        view = np.frombuffer(chunk.buf, dtype=np.uint8, count=int(starts[-1]))[chunk.start :]
        lines = np.searchsorted(np.flatnonzero(view == 10) + chunk.start, starts) + 1
        raw = memoryview(chunk.buf).cast("B") if not isinstance(chunk.buf, (bytes, bytearray)) else chunk.buf
        out = []
        for (start, end, at, reason), line in zip(spans, lines.tolist()):
            column = len(bytes(raw[start:at]).decode("utf-8", "replace")) + 1
            out.append(
                DeadLetter(
                    chunk.source, line, column, chunk.base_offset + start, bytes(raw[start:end]), reason
                )
            )
        return out


def _tokenize_skipping(chunk: Chunk, bad: _BadRecords):
    """Tokenise a chunk, recording each malformed line and going on after it.

    The core stops at the first bad line and returns the complete records before it; the
    pieces are joined here (field offsets are into the one buffer, so only row bounds shift).
    """
    view = np.frombuffer(chunk.buf, dtype=np.uint8, count=chunk.end)
    field_parts, row_parts = [], [np.zeros(1, dtype=np.int64)]
    blank_lines = n_fields = 0
    pos = chunk.start
    while pos < chunk.end:
        fields, rows, blank, status, err = _impl.tokenize(chunk.buf, pos, chunk.end, True)
        blank_lines += blank
        field_parts.append(fields)
        row_parts.append(rows[1:] + n_fields)
        n_fields += len(fields)
        if status == _impl.OK:
            break
        before = np.flatnonzero(view[pos:err] == 10)
        start = pos + int(before[-1]) + 1 if len(before) else pos
        nl = next_newline(chunk.buf, err, chunk.end)
        end = nl - 1 if nl > start and view[nl - 1] == 13 else nl
        bad.line(start, end, err, core_message(status) + json_hint(_field_text(chunk.buf, (start, 64))))
        pos = nl + 1
    if not field_parts:
        return _EMPTY_SPANS, np.zeros(1, dtype=np.int64), blank_lines
    fields = field_parts[0] if len(field_parts) == 1 else np.concatenate(field_parts)
    return fields, np.concatenate(row_parts), blank_lines


def _check_input_filter(plan: Plan, chunk: Chunk, fields, rows, widths, bad: _BadRecords) -> None:
    for r0, r1 in runs(widths):
        try:
            _indices(plan.input_filter, int(widths[r0]), chunk.names, chunk, fields, rows, r0)
        except FeatureError as exc:
            if chunk.first and r0 == 0:
                raise
            bad.run(fields, rows, r0, r1, exc.message)


def _select_rows(fields: np.ndarray, rows: np.ndarray, keep: np.ndarray):
    """The fields/rows arrays of the kept records only (field spans are unchanged)."""
    widths = np.diff(rows)[keep]
    new_rows = np.zeros(len(widths) + 1, dtype=np.int64)
    np.cumsum(widths, out=new_rows[1:])
    index = np.repeat(rows[:-1][keep] - new_rows[:-1], widths) + np.arange(new_rows[-1], dtype=np.int64)
    return np.ascontiguousarray(fields[index]), new_rows


def header_line(plan: Plan, chunk: Chunk, k: int) -> bytes:
    """The output header: the names of the selected columns of the joined record.

    ``chunk`` holds just the input's header line. Input names keep their bytes as written;
    prediction names are new text.
    """
    fields, rows, _ = tokenize(chunk, False)
    pred_names = plan.prediction_names(k)
    pred_buf = ",".join(map(_quote, pred_names)).encode()
    pred_fields = _impl.tokenize(pred_buf, 0, len(pred_buf), False)[0]
    pred_rows = np.array([0, k], dtype=np.int64)
    width = int(rows[1]) if plan.join else 0
    assert chunk.names is not None  # the header chunk carries its names (header_names)
    names = (list(chunk.names) if plan.join else []) + pred_names
    sel = _output_indices(plan, width + k, names, chunk, fields, rows, 0, k)
    return _impl.splice(
        chunk.buf, fields, rows, pred_buf, pred_fields, pred_rows, 0, 1, sel, width, plan.terminator
    )


def _quote(name: str) -> str:
    """RFC 4180 quoting for a new header field."""
    if any(c in name for c in ',"\r\n') or name != name.strip():
        return '"' + name.replace('"', '""') + '"'
    return name


def header_names(chunk: Chunk) -> tuple[str, ...]:
    """Column names from a header line: fields unquoted, decoded as UTF-8."""
    fields, rows, _ = tokenize(chunk, False)
    if len(rows) < 2:
        raise CsvError("header=True (--header) but the object has no header line", chunk.locate(chunk.start))
    raw = memoryview(chunk.buf)
    names = []
    for off, length in fields[: rows[1]].tolist():
        text = bytes(raw[off : off + length]).decode("utf-8", "replace")
        if text.startswith('"'):
            text = text[1:-1].replace('""', '"')
        names.append(text)
    return tuple(names)


class _Format:
    """CSV as a :class:`~fastjoin.records.base.RecordFormat`."""

    name = "csv"
    content_types = ("text/csv",)
    supports_header = True
    skips_bad_records = True  # on_error="skip" in one pass (_BadRecords)
    make_plan = Plan
    process_chunk = staticmethod(process_chunk)
    header_names = staticmethod(header_names)
    header_line = staticmethod(header_line)


FORMAT = _Format()
