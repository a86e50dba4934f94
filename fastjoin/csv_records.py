"""CSV records: one chunk of complete lines in, its output bytes out.

:func:`process_chunk` is a pure function of (buffer, compiled plan, model): it tokenises,
gathers features, predicts (or calls a container), formats and splices through the core, and
turns core status codes into located errors. It does no I/O, so the same function serves
files, in-memory objects and, later, byte ranges on other workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

from fastjoin import _impl
from fastjoin.deadletter import DeadLetter
from fastjoin.errors import CsvError, FeatureError, ModelError, OutputError, locate, plural
from fastjoin.jsonpath import Path
from fastjoin.predictor import ContainerModel

#: A chunk's bytes: bytes or bytearray as read, a memoryview of any other buffer (an mmap, an array).
Buffer = Union[bytes, bytearray, memoryview]

_EMPTY_SPANS = np.empty((0, 2), dtype=np.int64)
_ONE_MB = 1024 * 1024

_CSV_MESSAGES = {
    _impl.ERR_BARE_QUOTE: 'bare " in non-quoted field (quote the whole field and double the quote)',
    _impl.ERR_UNTERMINATED_QUOTE: "quoted field is not closed before the end of the line "
    "(records are lines: embedded newlines are not allowed)",
    _impl.ERR_AFTER_QUOTE: "unexpected character after the closing quote of a field",
    _impl.ERR_BLANK_LINE: "blank line (the sagemaker dialect does not skip blank lines)",
}


@dataclass
class CsvPlan:
    """Everything fixed for a job: compiled filters, join mode, header names, batching."""

    input_filter: Path
    output_filter: Path
    join: bool
    allow_blank: bool
    terminator: bytes = b"\n"
    prediction_name: str = "SageMakerOutput"
    content_type: str = "text/csv"
    accept: str = "text/csv"
    single_record: bool = False
    max_payload_bytes: int = 6 * _ONE_MB  # 0: no limit (the whole chunk in one request)
    skip_errors: bool = False  # on_error="skip": bad records become dead letters

    def prediction_names(self, k: int) -> list[str]:
        if k == 1:
            return [self.prediction_name]
        return [f"{self.prediction_name}_{i}" for i in range(k)]


@dataclass
class Chunk:
    """Complete lines ``buf[start:end]``; ``buf[0]`` is byte ``base_offset`` of ``source``,
    on line ``base_line``; ``base_record`` records precede it."""

    source: str
    buf: Buffer
    start: int
    end: int
    base_offset: int = 0
    base_line: int = 1
    base_record: int = 0
    names: tuple[str, ...] | None = None  # the header, when header=True
    first: bool = False  # the object's first chunk (its first record is here)


@dataclass
class ChunkResult:
    data: bytes
    records: int  # records written
    blank_lines: int
    n_outputs: int
    errors: list = field(default_factory=list)  # DeadLetter entries, in input order (skip_errors)


def _locate(chunk: Chunk, offset: int, record: int | None = None, field: int | None = None):
    return locate(
        chunk.source,
        chunk.buf,
        offset,
        base_offset=chunk.base_offset,
        base_line=chunk.base_line,
        record=record,
        field=field,
    )


def tokenize(chunk: Chunk, allow_blank: bool):
    """Tokenise a chunk; a malformed line raises a located :class:`CsvError`."""
    fields, rows, blank, status, err = _impl.tokenize(chunk.buf, chunk.start, chunk.end, allow_blank)
    if status != _impl.OK:
        raise CsvError(_CSV_MESSAGES[status], _locate(chunk, err, chunk.base_record + len(rows) - 1))
    return fields, rows, blank


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
            exc.message, _locate(chunk, int(fields[rows[r], 0]), chunk.base_record + r), path=path.expression
        ) from None


def _features(plan: CsvPlan, model, chunk: Chunk, fields, rows, widths, bad=None) -> np.ndarray:
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
            where = _locate(chunk, int(fields[rows[r0], 0]), chunk.base_record + r0)
            if chunk.first and r0 == 0:
                # the object's first record: the filter or the model is wrong, not the data
                try:
                    model.check_features(len(cols))
                except ModelError as exc:
                    raise ModelError(
                        f"{where}: "
                        + where.explain(
                            f"{exc} (InputFilter {plan.input_filter.expression} "
                            f"on a record of {plural(width, 'field')})"
                        )
                    ) from None
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
            text = bytes(memoryview(chunk.buf)[span[0] : span[0] + span[1]]).decode("utf-8", "replace")
            message = f"field {field_index + 1}: expected a number, got {text!r}"
            if text.startswith("\ufeff"):
                message += (
                    " (it starts with a UTF-8 byte-order mark: the extended dialect skips one at the "
                    "very start of an object; the sagemaker dialect keeps it as data, as SageMaker does)"
                )
            if bad is None:
                raise FeatureError(
                    message,
                    _locate(chunk, int(span[0]), chunk.base_record + err_row, field_index + 1),
                    path=plan.input_filter.expression,
                )
            bad.row(fields, rows, err_row, message, int(span[0]))
            r = err_row + 1  # the rows before it are filled; go on after it
    return X


def _predict_xgboost(plan: CsvPlan, model, chunk: Chunk, fields, rows, widths, X=None):
    if X is None:
        X = _features(plan, model, chunk, fields, rows, widths)
    preds = model.predict(X)
    k = 1 if preds.ndim == 1 else preds.shape[1]
    text, spans = _impl.format_floats(np.ascontiguousarray(preds, dtype=np.float32).reshape(-1))
    return text, spans, np.arange(0, len(X) * k + 1, k, dtype=np.int64), k


def _payloads(body: bytes, line_ends: np.ndarray, limit: int, single: bool):
    """Split a request body of whole lines into mini-batches of at most ``limit`` bytes
    (MultiRecord) or one line each (SingleRecord): yields (start, stop, first, last) with
    byte bounds and record bounds."""
    first = 0
    start = 0
    n = len(line_ends)
    while first < n:
        if single or limit <= 0:
            last = first + 1 if single else n
        else:
            # the furthest line end within the payload limit; at least one record
            last = int(np.searchsorted(line_ends, start + limit, side="right"))
            last = max(last, first + 1)
        stop = int(line_ends[last - 1])
        yield start, stop, first, last
        first, start = last, stop


def _predict_container(plan: CsvPlan, model: ContainerModel, chunk: Chunk, fields, rows, widths):
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
    for start, stop, first, last in _payloads(body, line_ends, plan.max_payload_bytes, plan.single_record):
        if plan.max_payload_bytes and stop - start > plan.max_payload_bytes:
            raise FeatureError(
                f"record is {stop - start} bytes, larger than MaxPayloadInMB "
                f"({plan.max_payload_bytes // _ONE_MB} MB)",
                _locate(chunk, int(fields[rows[first], 0]), chunk.base_record + first),
            )
        response = model.invoke(body[start:stop], plan.content_type, plan.accept)
        resp_fields, resp_rows, _, status, err = _impl.tokenize(response, 0, len(response), False)
        got = len(resp_rows) - 1
        if status != _impl.OK or got != last - first:
            why = (
                f"returned {plural(got, 'line')} for {plural(last - first, 'record')}"
                if status == _impl.OK
                else f"returned a malformed CSV response ({_CSV_MESSAGES[status]})"
            )
            raise OutputError(
                f"{_locate(chunk, int(fields[rows[first], 0]), chunk.base_record + first)}: "
                f"the model {why} (records {chunk.base_record + first + 1}.."
                f"{chunk.base_record + last})"
            )
        texts.append(response)
        spans.append(resp_fields + np.array([offset, 0], dtype=np.int64))
        pred_rows.append(resp_rows[1:] + n_fields)
        offset += len(response)
        n_fields += len(resp_fields)
    k_rows = np.diff(np.concatenate(pred_rows))
    k = int(k_rows[0]) if n else 1
    return b"".join(texts), np.concatenate(spans) if spans else _EMPTY_SPANS, np.concatenate(pred_rows), k


def process_chunk(plan: CsvPlan, model, chunk: Chunk) -> ChunkResult:
    """Run one chunk of complete CSV lines through filter → predict → join → filter.

    With ``plan.skip_errors`` a bad record (malformed CSV, a feature that is not a number,
    a filter index outside the record) is left out and reported in ``ChunkResult.errors``;
    the object's first record still raises, as it is also the check that the filters fit
    the model. Otherwise the first bad record raises a located error.
    """
    bad = _BadRecords(chunk) if plan.skip_errors else None
    if bad is None:
        fields, rows, blank = tokenize(chunk, plan.allow_blank)
    else:
        fields, rows, blank = _tokenize_skipping(chunk, bad)
    n = len(rows) - 1
    if n == 0:
        return ChunkResult(b"", 0, blank, 0, bad.entries() if bad else [])
    widths = np.diff(rows)
    container = isinstance(model, ContainerModel)
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
            sel = _indices(plan.output_filter, joined, names, chunk, fields, rows, r0)
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
        # Lines are counted here, once per chunk that has bad records, from buf[0] (base_line).
        view = np.frombuffer(chunk.buf, dtype=np.uint8, count=int(starts[-1]))
        lines = np.searchsorted(np.flatnonzero(view == 10), starts) + chunk.base_line
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


def _next_newline(view: np.ndarray, pos: int, end: int) -> int:
    """Index of the first ``\n`` in view[pos:end], or ``end``."""
    step = 1 << 16
    for at in range(pos, end, step):
        hits = np.flatnonzero(view[at : min(at + step, end)] == 10)
        if len(hits):
            return at + int(hits[0])
    return end


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
        nl = _next_newline(view, err, chunk.end)
        end = nl - 1 if nl > start and view[nl - 1] == 13 else nl
        bad.line(start, end, err, _CSV_MESSAGES[status])
        pos = nl + 1
    if not field_parts:
        return _EMPTY_SPANS, np.zeros(1, dtype=np.int64), blank_lines
    fields = field_parts[0] if len(field_parts) == 1 else np.concatenate(field_parts)
    return fields, np.concatenate(row_parts), blank_lines


def _check_input_filter(plan: CsvPlan, chunk: Chunk, fields, rows, widths, bad: _BadRecords) -> None:
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


def header_line(plan: CsvPlan, chunk: Chunk, k: int) -> bytes:
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
    sel = _indices(plan.output_filter, width + k, names, chunk, fields, rows, 0)
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
        raise CsvError("header=True but the object has no header line", _locate(chunk, chunk.start))
    raw = memoryview(chunk.buf)
    names = []
    for off, length in fields[: rows[1]].tolist():
        text = bytes(raw[off : off + length]).decode("utf-8", "replace")
        if text.startswith('"'):
            text = text[1:-1].replace('""', '"')
        names.append(text)
    return tuple(names)
