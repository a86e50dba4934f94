# Typed stub of exactly what fastjoin._core (and its twin fastjoin._reference) export.
# This file is the contract between the two implementations; see each function's docstring.
from typing import Union

import numpy as np
import numpy.typing as npt

Buffer = Union[bytes, bytearray, memoryview]  # any C-contiguous byte buffer (mmap, uint8 arrays too)
Int64Array = npt.NDArray[np.int64]
Float32Array = npt.NDArray[np.float32]

OK: int  # 0
ERR_BARE_QUOTE: int  # 1: '"' inside an unquoted field; offset of that quote
ERR_UNTERMINATED_QUOTE: (
    int  # 2: quoted field not closed before the end of the line; offset of the opening quote
)
ERR_AFTER_QUOTE: (
    int  # 3: closing quote followed by something other than ',' or end of line; offset of that byte
)
ERR_BLANK_LINE: int  # 4: blank line while blank lines are not allowed; offset of the line's first byte
ERR_NUMBER: int  # 5: a feature field that is not a number (gather_float32)

def tokenize(
    buf: Buffer, start: int, end: int, allow_blank: bool
) -> tuple[Int64Array, Int64Array, int, int, int]:
    """Split ``buf[start:end]`` into CSV records, one per line, and their fields (RFC 4180).

    A line ends at ``\\n`` or at ``end``; one ``\\r`` right before that end is not part of the
    record. A ``\\n`` right before ``end`` does not start an empty record. A blank line (empty
    once the ``\\r`` is dropped) is skipped and counted when ``allow_blank``, else an error.
    Fields split on ``,``; a field starting with ``"`` is quoted and ends at the next ``"``
    not doubled (``""`` is a quote inside it); after the closing quote comes ``,`` or the end
    of the record.

    Returns ``(fields, rows, blank_lines, status, err_offset)``:
    ``fields`` int64 (n_fields, 2): (offset into buf, length) of each field's raw bytes, quotes
    included; ``rows`` int64 (n_rows + 1,): record r owns ``fields[rows[r]:rows[r+1]]`` (always
    at least one field; rows[0] == 0); ``blank_lines`` counted; ``status`` OK or an ERR_* code;
    ``err_offset`` the index into buf named by the code (-1 when OK). On error, fields and rows
    hold the complete records before the bad line, and blank_lines the blanks before it.
    """

def gather_float32(
    buf: Buffer,
    fields: Int64Array,
    rows: Int64Array,
    row_start: int,
    row_stop: int,
    cols: Int64Array,
    out: Float32Array,
) -> tuple[int, int, int]:
    """Parse selected fields into ``out`` (float32, C-contiguous, shape >= (row_stop-row_start, len(cols))).

    ``out[r - row_start, j]`` = value of field ``rows[r] + cols[j]`` for r in [row_start, row_stop).
    The caller guarantees each such row has more than ``max(cols)`` fields.
    Field text: a quoted field's text is what is inside the quotes (``""`` -> ``"``); spaces and
    tabs around the text are ignored; then empty -> NaN;
    ``[+-]?(digits[.digits*]|.digits)([eE][+-]?digits)?`` -> the decimal rounded to the nearest
    double, then that double rounded to float32 (== numpy.float32(float(text)), overflow -> inf);
    ``[+-]?(nan|inf|infinity)`` in any case -> NaN / inf with that sign; anything else is an error.
    Returns ``(OK, -1, -1)``, or ``(ERR_NUMBER, r, j)`` for the first bad field in row-major order
    (rows before it are filled).
    """

def format_floats(values: Float32Array) -> tuple[bytes, Int64Array]:
    """Text of each float32 value as ``repr(float(v))``: Python's shortest round-trip repr of the
    value widened to double (``1.0``, ``0.9899773597717285``, ``2.9999999242136255e-05``, ``nan``,
    ``inf``, ``-inf``, ``-0.0``), concatenated. Returns ``(text, spans)`` with spans int64 (n, 2)
    (offset into text, length). ``values`` is 1-D and C-contiguous.
    """

def splice(
    in_buf: Buffer,
    in_fields: Int64Array,
    in_rows: Int64Array,
    pred_buf: Buffer,
    pred_fields: Int64Array,
    pred_rows: Int64Array,
    row_start: int,
    row_stop: int,
    sel: Int64Array,
    width: int,
    terminator: bytes,
) -> bytes:
    """Assemble output records: for r in [row_start, row_stop), the fields ``sel[0], sel[1], ...``
    of joined record r, joined by ``,`` and followed by ``terminator``.

    Joined record r = the ``width`` fields of input record r (``in_fields[in_rows[r]:]``) followed
    by the fields of prediction record r (``pred_fields[pred_rows[r]:pred_rows[r+1]]``).
    ``sel[j] < width`` copies input field ``in_rows[r] + sel[j]``; ``sel[j] >= width`` copies
    prediction field ``pred_rows[r] + sel[j] - width``. Bytes are copied exactly as they are.
    The caller guarantees every index is inside the joined record; with ``width == 0`` the
    input arrays are never read.
    """

def scan_jsonl(
    buf: Buffer,
    starts: Int64Array,
    ends: Int64Array,
    names: tuple[bytes, ...],
    array: bool,
    out_names: tuple[bytes, ...] | None,
    pred_name: bytes,
    X: Float32Array,
) -> tuple[int, Int64Array, Int64Array]:
    """Scan JSON Lines records ``buf[starts[r]:ends[r]]`` for their features and the members
    the output keeps, in one pass that validates each record.

    The scan covers a subset of what orjson accepts and leaves the rest to it: a record is
    covered when it is valid JSON (RFC 8259, UTF-8) without an escaped surrogate
    (``\\ud800``), without an escape in a top-level key, without a number of more than 100
    integer digits or more than 2 exponent digits, nested at most 64 levels, and it has the
    selected shape:

    - ``array`` and no name: the record is an array of exactly ``X.shape[1]`` features;
    - ``array`` and one name: an object whose key ``names[0]`` occurs once and holds such an array;
    - not ``array``: an object holding each of ``names`` (``X.shape[1]`` of them) once, each a feature.

    ``names`` and ``out_names`` hold no repeats (the caller's promise). A feature is a number
    or ``null``. Its value goes to ``X[r, j]``: NaN for null, 0.0 for the
    integer ``-0``, else the decimal rounded to the nearest double, then to float32 (as
    ``gather_float32``).

    Kept members (for an object record only): ``out_names`` None keeps every top-level member,
    sorted by key (UTF-8 byte order; no key repeated, none equal to ``pred_name``), the
    prediction placed where its name sorts; a tuple keeps those names in that order (each
    present once, the one equal to ``pred_name`` being the prediction, which the record must
    not hold); ``()`` keeps nothing (an array record needs ``()``). A kept value must be
    written as fastjoin writes it: no whitespace, no backslash in a string, no object inside.

    Returns ``(covered, members, rows)``: records ``[0, covered)`` are covered (the scan stops
    at the first that is not; ``X[covered]`` may hold some of that record's values, the rows
    after it are left as they were); ``members`` int64 (m, 4): key offset, key length (with quotes),
    value offset, value length, key offset -1 for the prediction; record r keeps
    ``members[rows[r]:rows[r+1]]``.
    """

def join_jsonl(
    buf: Buffer,
    members: Int64Array,
    rows: Int64Array,
    pred_key: bytes,
    pred_text: bytes,
    pred_spans: Int64Array,
    terminator: bytes,
) -> bytes:
    """Write record r (``rows`` has n + 1 entries) as ``{`` + its members ``key:value`` joined by
    ``,`` + ``}`` + ``terminator``, copying the key and value bytes from ``buf``, and for a member
    with key offset -1 ``pred_key:`` followed by ``pred_text`` at ``pred_spans[r]`` (offset,
    length). ValueError when a span is outside its buffer.
    """
