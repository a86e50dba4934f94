"""The four core functions, on both cores (``impl``), and the cores against each other.

Layout: tokenize, gather_float32, format_floats, splice (golden cases, then properties),
then differential tests (reference vs compiled core on the same inputs). The oracles are
Python itself: the ``csv`` module writes the rows, ``float()`` parses the numbers,
``repr(float(v))`` formats them.
"""

from __future__ import annotations

import csv
import decimal
import io
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

OK, ERR_BARE_QUOTE, ERR_UNTERMINATED_QUOTE, ERR_AFTER_QUOTE, ERR_BLANK_LINE, ERR_NUMBER = range(6)

QNAN = 0x7FC00000
NEG_QNAN = 0xFFC00000
SENTINEL = np.float32(-7.25)


# ---------------------------------------------------------------------------------------------
# helpers


def as_bytes(buf) -> bytes:
    with memoryview(buf) as view:
        return view.tobytes()


def i64(values, ndim=1) -> np.ndarray:
    return np.array(values, dtype=np.int64).reshape((-1, 2) if ndim == 2 else (-1,))


def f32(value) -> np.float32:
    with np.errstate(over="ignore"):
        return np.float32(value)


def bits(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def tokenize(impl, data, allow_blank=True, start=0, end=None):
    """``impl.tokenize`` plus the checks every result must pass."""
    result = impl.tokenize(data, start, len(as_bytes(data)) if end is None else end, allow_blank)
    check_tokenize_result(result)
    return result


def check_tokenize_result(result):
    fields, rows, blank_lines, status, err_offset = result
    assert isinstance(fields, np.ndarray) and fields.dtype == np.int64
    assert fields.ndim == 2 and fields.shape[1] == 2 and fields.flags.c_contiguous
    assert isinstance(rows, np.ndarray) and rows.dtype == np.int64 and rows.ndim == 1
    assert rows.flags.c_contiguous
    assert rows[0] == 0 and rows[-1] == len(fields)
    assert np.all(np.diff(rows) >= 1), "every record has at least one field"
    for value in (blank_lines, status, err_offset):
        assert type(value) is int
    assert status in range(5)
    assert (status == OK) == (err_offset == -1)


def records(data, result) -> list[list[bytes]]:
    """The raw bytes of each record's fields."""
    data = as_bytes(data)
    fields, rows = result[0], result[1]
    return [
        [data[o : o + n] for o, n in fields[rows[r] : rows[r + 1]].tolist()] for r in range(len(rows) - 1)
    ]


def assert_same_tokenize(a, b, where=""):
    assert a[0].shape == b[0].shape and np.array_equal(a[0], b[0]), where
    assert np.array_equal(a[1], b[1]), where
    assert a[2:] == b[2:], where


def unquote(raw: bytes) -> bytes:
    if raw.startswith(b'"'):
        return raw[1:-1].replace(b'""', b'"')
    return raw


def csv_line(row, quoting=csv.QUOTE_MINIMAL, terminator="\n") -> str:
    out = io.StringIO()
    csv.writer(out, quoting=quoting, lineterminator=terminator).writerow(row)
    return out.getvalue()


def test_constants(impl):
    assert (
        impl.OK,
        impl.ERR_BARE_QUOTE,
        impl.ERR_UNTERMINATED_QUOTE,
        impl.ERR_AFTER_QUOTE,
        impl.ERR_BLANK_LINE,
        impl.ERR_NUMBER,
    ) == (0, 1, 2, 3, 4, 5)


def test_status_codes_are_defined_once(core):
    """fastjoin/_status.py is the definition (the reference re-exports it); the enum in
    _core.pxd, which the compiled core is built from, must say the same."""
    from fastjoin import _reference, _status

    pxd = Path(_status.__file__).with_name("_core.pxd").read_text()
    expected = {name: getattr(_status, name) for name in _status.__all__}
    assert {name: int(value) for name, value in re.findall(r"^ +FJ_(\w+) = (\d+)$", pxd, re.M)} == expected
    assert {name: getattr(core, name) for name in _status.__all__} == expected
    assert all(getattr(_reference, name) is getattr(_status, name) for name in _status.__all__)


def test_core_is_compiled(core):
    from fastjoin import _impl

    assert core.__file__.endswith((".so", ".pyd")), core.__file__
    # and it is the core the package runs, not the reference (FASTJOIN_IMPL)
    assert _impl.NAME == "_core"
    assert _impl.tokenize is core.tokenize


# ---------------------------------------------------------------------------------------------
# tokenize: golden cases

# (id, data, allow_blank, records as raw field bytes, blank_lines, status, err_offset)
TOKENIZE_GOLDEN = [
    ("empty", b"", True, [], 0, OK, -1),
    ("empty-strict", b"", False, [], 0, OK, -1),
    ("one-field", b"a", False, [[b"a"]], 0, OK, -1),
    ("lf", b"a,b\nc,d\n", False, [[b"a", b"b"], [b"c", b"d"]], 0, OK, -1),
    ("crlf", b"a,b\r\nc,d\r\n", False, [[b"a", b"b"], [b"c", b"d"]], 0, OK, -1),
    ("no-final-terminator", b"a,b\nc", False, [[b"a", b"b"], [b"c"]], 0, OK, -1),
    ("final-cr-without-lf", b"a\nb\r", False, [[b"a"], [b"b"]], 0, OK, -1),
    ("only-one-cr-dropped", b"a\r\r\n", False, [[b"a\r"]], 0, OK, -1),
    ("cr-inside-field", b"a\rb,c\n", False, [[b"a\rb", b"c"]], 0, OK, -1),
    ("lf-at-end-makes-no-record", b"a\n", False, [[b"a"]], 0, OK, -1),
    ("blank-lines-counted", b"\na\n\r\n\nb\n\n", True, [[b"a"], [b"b"]], 4, OK, -1),
    ("only-lf", b"\n", True, [], 1, OK, -1),
    ("only-cr", b"\r", True, [], 1, OK, -1),
    ("only-crlf-twice", b"\r\n\r\n", True, [], 2, OK, -1),
    ("cr-cr-is-not-blank", b"\r\r\n", False, [[b"\r"]], 0, OK, -1),
    (
        "empty-fields",
        b",\n,,\na,\n,a",
        False,
        [[b"", b""], [b"", b"", b""], [b"a", b""], [b"", b"a"]],
        0,
        OK,
        -1,
    ),
    ("spaces-are-data", b" a , b \n \n", False, [[b" a ", b" b "], [b" "]], 0, OK, -1),
    ("quoted-kept-raw", b'"a,b",c,"x""y",""\n', False, [[b'"a,b"', b"c", b'"x""y"', b'""']], 0, OK, -1),
    ("quoted-empty-alone", b'""', False, [[b'""']], 0, OK, -1),
    ("quoted-crlf", b'"a"\r\n"b",""\r\n', False, [[b'"a"'], [b'"b"', b'""']], 0, OK, -1),
    ("quoted-cr-inside", b'"a\r"\n', False, [[b'"a\r"']], 0, OK, -1),
    ("quoted-then-empty", b'"a",\n', False, [[b'"a"', b""]], 0, OK, -1),
    ("quoted-only-quotes", b'"""",""""""\n', False, [[b'""""', b'""""""']], 0, OK, -1),
    ("numbers-kept", b"1001.0,1e3,-0,007\n", False, [[b"1001.0", b"1e3", b"-0", b"007"]], 0, OK, -1),
    (
        "non-ascii",
        'é,日本,"ü,ß"\n'.encode(),
        False,
        [["é".encode(), "日本".encode(), '"ü,ß"'.encode()]],
        0,
        OK,
        -1,
    ),
    ("not-utf8", b"\xff\xfe,\x00\n", False, [[b"\xff\xfe", b"\x00"]], 0, OK, -1),
    # errors: the records before the bad line stay, the blank lines before it are counted
    ("blank-strict", b"a\n\r\nb\n", False, [[b"a"]], 0, ERR_BLANK_LINE, 2),
    ("blank-strict-first", b"\na", False, [], 0, ERR_BLANK_LINE, 0),
    ("blank-strict-cr-at-end", b"a\n\r", False, [[b"a"]], 0, ERR_BLANK_LINE, 2),
    ("bare-quote", b'a"b', True, [], 0, ERR_BARE_QUOTE, 1),
    ("bare-quote-at-end", b'ab"\n', True, [], 0, ERR_BARE_QUOTE, 2),
    ("bare-quote-after-space", b' "a"', True, [], 0, ERR_BARE_QUOTE, 1),
    ("bare-quote-later-line", b'x\r\n\r\ny,a"b\n', True, [[b"x"]], 1, ERR_BARE_QUOTE, 8),
    ("unterminated", b'"abc', True, [], 0, ERR_UNTERMINATED_QUOTE, 0),
    ("unterminated-second-field", b'x,"abc\r\n', True, [], 0, ERR_UNTERMINATED_QUOTE, 2),
    ("unterminated-doubled-quote", b'"a""', True, [], 0, ERR_UNTERMINATED_QUOTE, 0),
    ("unterminated-cr-dropped", b'"a\r\n', True, [], 0, ERR_UNTERMINATED_QUOTE, 0),
    ("unterminated-lone-quote", b'ok\na,"', True, [[b"ok"]], 0, ERR_UNTERMINATED_QUOTE, 5),
    ("unterminated-no-embedded-newline", b'"a\nb"\n', True, [], 0, ERR_UNTERMINATED_QUOTE, 0),
    ("after-quote", b'"a"b', True, [], 0, ERR_AFTER_QUOTE, 3),
    ("after-quote-space", b'"a" ,b', True, [], 0, ERR_AFTER_QUOTE, 3),
    ("after-quote-cr", b'"a"\r\r\n', True, [], 0, ERR_AFTER_QUOTE, 3),
    ("after-quote-doubled", b'1,"a""b"x', True, [], 0, ERR_AFTER_QUOTE, 8),
    ("after-quote-after-blanks", b'\nok\n\n"a"b\n', True, [[b"ok"]], 2, ERR_AFTER_QUOTE, 8),
    ("first-error-in-line-wins", b'a"b,"c', True, [], 0, ERR_BARE_QUOTE, 1),
    ("error-before-blank-strict", b'"x\n\n', False, [], 0, ERR_UNTERMINATED_QUOTE, 0),
]


@pytest.mark.parametrize(
    "data, allow_blank, expected, blank_lines, status, err_offset",
    [case[1:] for case in TOKENIZE_GOLDEN],
    ids=[case[0] for case in TOKENIZE_GOLDEN],
)
def test_tokenize_golden(impl, buffer_kinds, data, allow_blank, expected, blank_lines, status, err_offset):
    result = tokenize(impl, data, allow_blank)
    assert records(data, result) == expected
    assert result[2:] == (blank_lines, status, err_offset)
    assert_record_layout(data, result)
    for kind, buf in buffer_kinds(data):
        assert_same_tokenize(tokenize(impl, buf, allow_blank), result, kind)


def assert_record_layout(data, result):
    """Fields of a record are adjacent, one comma apart, and never start or end in a line end."""
    data = as_bytes(data)
    fields, rows = result[0], result[1]
    for r in range(len(rows) - 1):
        spans = fields[rows[r] : rows[r + 1]].tolist()
        first, last = spans[0][0], spans[-1][0] + spans[-1][1]
        assert first == 0 or data[first - 1] == ord("\n")
        assert b"\n" not in data[first:last]
        assert data[last : last + 1] in (b"", b"\n") or data[last : last + 2] in (b"\r", b"\r\n")
        for (o1, n1), (o2, _) in zip(spans, spans[1:]):
            assert o2 == o1 + n1 + 1 and data[o1 + n1] == ord(",")


def test_tokenize_exact_spans(impl):
    data = b'1001.0,"a,b",\r\n\r\n,"x""y"\nlast'
    fields, rows, blank_lines, status, err_offset = tokenize(impl, data)
    assert fields.tolist() == [[0, 6], [7, 5], [13, 0], [17, 0], [18, 6], [25, 4]]
    assert rows.tolist() == [0, 3, 5, 6]
    assert (blank_lines, status, err_offset) == (1, OK, -1)


def test_tokenize_empty_result_shapes(impl):
    fields, rows, blank_lines, status, err_offset = tokenize(impl, b"\n\n")
    assert fields.shape == (0, 2) and rows.tolist() == [0]
    assert (blank_lines, status, err_offset) == (2, OK, -1)


def test_tokenize_window_offsets_are_into_buf(impl):
    data = b'x"\na,b\r\nc\n"q'  # bytes outside the window are malformed on purpose
    result = tokenize(impl, data, False, 3, 10)
    assert result[0].tolist() == [[3, 1], [5, 1], [8, 1]] and result[1].tolist() == [0, 2, 3]
    assert result[2:] == (0, OK, -1)
    assert records(data, tokenize(impl, data, False, 3, 7)) == [[b"a", b"b"]]  # ends at "\r"
    assert records(data, tokenize(impl, data, False, 3, 6)) == [[b"a", b"b"]]
    assert records(data, tokenize(impl, data, False, 3, 4)) == [[b"a"]]
    assert records(data, tokenize(impl, data, False, 5, 5)) == []
    assert tokenize(impl, data, False, 0, 3)[2:] == (0, ERR_BARE_QUOTE, 1)
    assert tokenize(impl, data, False, 10, 12)[2:] == (0, ERR_UNTERMINATED_QUOTE, 10)
    assert tokenize(impl, data, False, 7, 10)[2:] == (0, ERR_BLANK_LINE, 7)  # "\n" alone


def test_tokenize_window_on_every_buffer_kind(impl, buffer_kinds):
    data = b'x"\na,b\r\n\r\n"c",d\n"q'
    expected = tokenize(impl, data, True, 3, 16)
    assert records(data, expected) == [[b"a", b"b"], [b'"c"', b"d"]] and expected[2] == 1
    for kind, buf in buffer_kinds(data):
        assert_same_tokenize(tokenize(impl, buf, True, 3, 16), expected, kind)
        assert tokenize(impl, buf, True, 16, len(data))[2:] == (0, ERR_UNTERMINATED_QUOTE, 16)


@pytest.mark.parametrize("start, end", [(-1, 2), (0, 6), (3, 2), (6, 6)])
def test_tokenize_window_outside_buffer(impl, start, end):
    with pytest.raises(ValueError):
        impl.tokenize(b"a,b\nc", start, end, True)


# ---------------------------------------------------------------------------------------------
# tokenize: properties

csv_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=8)
csv_field = st.one_of(
    csv_text,
    st.sampled_from(
        ["", ",", '"', '""', " ", "a,b", '"x"', 'say "hi"', " lead", "trail ", "é", "日本", "1001.0"]
    ),
)


@pytest.mark.slow
@given(
    rows=st.lists(st.lists(csv_field, min_size=1, max_size=6), max_size=8),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    final_terminator=st.booleans(),
    blanks=st.lists(st.sampled_from(["\n", "\r\n"]), max_size=3),
    data=st.data(),
)
def test_tokenize_reads_back_what_csv_writes(impl, rows, quoting, terminator, final_terminator, blanks, data):
    lines = [csv_line(row, quoting, terminator) for row in rows]
    for blank in blanks:  # blank lines anywhere, also first and last
        lines.insert(data.draw(st.integers(0, len(lines))), blank)
    text = "".join(lines)
    if not final_terminator and lines and lines[-1] not in blanks:
        text = text[: -len(terminator)]
    encoded = text.encode()
    result = tokenize(impl, encoded, allow_blank=True)
    assert result[2:] == (len(blanks), OK, -1)
    assert [[unquote(raw).decode() for raw in rec] for rec in records(encoded, result)] == rows
    assert_record_layout(encoded, result)
    strict = tokenize(impl, encoded, allow_blank=False)
    if blanks:
        assert strict[3] == ERR_BLANK_LINE
    else:
        assert_same_tokenize(strict, result)


FIELD = rb'(?:[^",]*|"(?:[^"]|"")*")'
RECORD = re.compile(FIELD + rb"(?:," + FIELD + rb")*")
messy_bytes = st.lists(
    st.sampled_from([b"a", b"1", b",", b'"', b'""', b"\r", b"\n", b"\r\n", b" ", b"\xff"]), max_size=40
).map(b"".join)


def lines_of(data: bytes, start: int, end: int):
    """(offset, record bytes) per line of data[start:end], by str.split: an oracle for tokenize."""
    pieces = data[start:end].split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()  # "\n" at the end starts no record (and empty input has none)
    offset = start
    for piece in pieces:
        yield offset, piece[:-1] if piece.endswith(b"\r") else piece
        offset += len(piece) + 1


@given(data=messy_bytes, allow_blank=st.booleans(), window=st.data())
@example(data=b'a,"b""c",\r\n\r\n"', allow_blank=True, window=None)
def test_tokenize_agrees_with_a_regex_oracle(impl, data, allow_blank, window):
    start, end = 0, len(data)
    if window is not None:
        start = window.draw(st.integers(0, len(data)))
        end = window.draw(st.integers(start, len(data)))
    result = tokenize(impl, data, allow_blank, start, end)
    got = records(data, result)
    expected, blank_lines, failed_line = [], 0, None
    for offset, rec in lines_of(data, start, end):
        if rec == b"":
            if not allow_blank:
                failed_line = (offset, rec)
                break
            blank_lines += 1
        elif RECORD.fullmatch(rec):
            expected.append(rec)
        else:
            failed_line = (offset, rec)
            break
    assert [b",".join(rec) for rec in got] == expected
    assert all(re.fullmatch(FIELD, raw) for rec in got for raw in rec)
    assert result[2] == blank_lines
    status, err_offset = result[3:]
    if failed_line is None:
        assert (status, err_offset) == (OK, -1)
    elif failed_line[1] == b"":
        assert (status, err_offset) == (ERR_BLANK_LINE, failed_line[0])
    else:
        line_start, rec = failed_line
        assert line_start <= err_offset < line_start + len(rec)
        if status in (ERR_BARE_QUOTE, ERR_UNTERMINATED_QUOTE):
            assert data[err_offset] == ord('"')
        else:
            assert status == ERR_AFTER_QUOTE
            assert data[err_offset - 1] == ord('"') and data[err_offset] != ord(",")


def combine(first, second):
    """The result of tokenizing two adjacent windows, as one result over both."""
    if first[3] != OK:
        return first
    fields = np.concatenate([first[0], second[0]]).reshape(-1, 2)
    rows = np.concatenate([first[1], second[1][1:] + len(first[0])])
    return fields, rows, first[2] + second[2], second[3], second[4]


@given(data=messy_bytes, allow_blank=st.booleans(), cuts=st.data())
def test_tokenize_any_line_boundary_split_gives_the_same_result(impl, data, allow_blank, cuts):
    boundaries = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    chosen = sorted(cuts.draw(st.lists(st.sampled_from(boundaries), unique=True)) if boundaries else [])
    edges = [0, *chosen, len(data)]
    parts = [tokenize(impl, data, allow_blank, a, b) for a, b in zip(edges, edges[1:])]
    joined = parts[0]
    for part in parts[1:]:
        joined = combine(joined, part)
    assert_same_tokenize(joined, tokenize(impl, data, allow_blank))


# ---------------------------------------------------------------------------------------------
# gather_float32


def gather(impl, data, cols, row_start=0, row_stop=None, out=None):
    """Tokenize ``data`` (blank lines allowed) and gather ``cols``; returns (result, out)."""
    fields, rows, _, status, _ = tokenize(impl, data, allow_blank=True)
    assert status == OK
    row_stop = len(rows) - 1 if row_stop is None else row_stop
    cols = i64(cols)
    if out is None:
        out = np.full((row_stop - row_start, len(cols)), SENTINEL, dtype=np.float32)
    result = impl.gather_float32(data, fields, rows, row_start, row_stop, cols, out)
    assert type(result) is tuple and all(type(x) is int for x in result)
    return result, out


# (id, raw field bytes, expected float32 as a float or as uint32 bits)
GATHER_GOLDEN = [
    ("int", b"1001", 1001.0),
    ("keeps-text-1001.0", b"1001.0", 1001.0),
    ("plus", b"+2.5", 2.5),
    ("minus-zero", b"-0", -0.0),
    ("minus-zero-point", b"-0.0e5", -0.0),
    ("trailing-dot", b"7.", 7.0),
    ("leading-dot", b".5", 0.5),
    ("signed-leading-dot", b"-.5e1", -5.0),
    ("exp", b"1E3", 1000.0),
    ("exp-plus", b"1.e+3", 1000.0),
    ("exp-minus", b"25e-1", 2.5),
    ("leading-zeros", b"007.50", 7.5),
    ("tenth", b"0.1", 0x3DCCCCCD),
    ("spaces-tabs", b" \t 2.5\t ", 2.5),
    ("quoted", b'"3"', 3.0),
    ("quoted-spaces", b'" -4e1\t"', -40.0),
    ("empty", b"", QNAN),
    ("quoted-empty", b'""', QNAN),
    ("spaces-only", b"  \t", QNAN),
    ("quoted-spaces-only", b'" "', QNAN),
    ("nan", b"nan", QNAN),
    ("NaN-plus", b"+NaN", QNAN),
    ("nan-minus", b"-nan", NEG_QNAN),
    ("quoted-nan", b'" NAN "', QNAN),
    ("inf", b"inf", float("inf")),
    ("Infinity", b"+Infinity", float("inf")),
    ("minus-INF", b"-INF", float("-inf")),
    ("minus-infinity", b"-iNfInItY", float("-inf")),
    ("overflow", b"1e39", float("inf")),
    ("overflow-minus", b"-1e39", float("-inf")),
    ("huge-exponent", b"1e99999999999999999999", float("inf")),
    ("tiny-exponent", b"-1e-99999999999999999999", -0.0),
    ("max", b"3.4028235e38", 0x7F7FFFFF),
    ("below-half-ulp-over-max", b"3.4028235677973362e38", 0x7F7FFFFF),
    ("half-ulp-over-max-ties-to-inf", b"3.4028235677973366e38", float("inf")),
    ("smallest-subnormal", b"1e-45", 0x00000001),
    ("under-half-smallest", b"7e-46", 0.0),
    ("over-half-smallest", b"7.1e-46", 0x00000001),
    ("underflow-minus", b"-1e-50", -0.0),
    ("largest-subnormal", b"1.1754942e-38", 0x007FFFFF),
    ("smallest-normal", b"1.1754944e-38", 0x00800000),
    ("tie-to-even-down", b"16777217", 16777216.0),
    ("tie-to-even-up", b"16777219", 16777220.0),
    # decimal -> nearest double -> float32 (double rounding, as numpy.float32(float(text))):
    # 1 + 2**-24 + 1e-35 is above the float32 midpoint, but its nearest double IS the
    # midpoint, which then ties to even: 1.0 (a direct decimal->float32 gives 1.0000001).
    ("double-rounding", b"1.00000005960464477539062500000000001", 1.0),
    ("exact-midpoint", b"1.000000059604644775390625", 1.0),
    ("long-mantissa", b"0." + b"0" * 400 + b"1e401", 1.0),
    ("long-integer", b"1" + b"0" * 800 + b"e-800", 1.0),
    (
        "many-digits-pi",
        b"3.14159265358979323846264338327950288419716939937510582097494459",
        float(np.float32(3.141592653589793)),
    ),
]

GATHER_ERRORS = [
    b"abc",
    b"1e",
    b"e1",
    b"e",
    b".",
    b"+",
    b"-",
    b"+-1",
    b"--1",
    b"1..2",
    b"1.2.3",
    b"1e5.0",
    b"0x10",
    b"1_000",
    b"1 2",
    b"1\t2",
    b'"1,5"',
    b'"1""5"',
    b"nan(1)",
    b"nana",
    b"infinit",
    b"infinityy",
    b"in",
    b"na",
    b"1d5",
    b"1.5f",
    b"True",
    b"+ 1",
    b"1e 5",
    "١".encode(),
    "１".encode(),
    "∞".encode(),
    b"\xc2\xa01",
    b"1\x0b",
    b"\x0c1",
    b"\r1",
    b"\xff",
    b"\x00",
    b"1\x00",
    b"'1'",
]


@pytest.mark.parametrize(
    "raw, expected", [case[1:] for case in GATHER_GOLDEN], ids=[case[0] for case in GATHER_GOLDEN]
)
def test_gather_golden(impl, raw, expected):
    result, out = gather(impl, b"x," + raw + b"\n", [1])
    assert result == (OK, -1, -1)
    want = expected if isinstance(expected, int) else int(bits(f32(expected)))
    assert hex(int(bits(out)[0, 0])) == hex(want)
    if not isinstance(expected, int):
        text = unquote(raw).strip(b" \t").decode()
        assert int(bits(f32(float(text)))) == want, "the case itself disagrees with float()"


@pytest.mark.parametrize("raw", GATHER_ERRORS, ids=[repr(raw)[2:-1] for raw in GATHER_ERRORS])
def test_gather_error_names_first_bad_field(impl, raw):
    data = b"1,2\n\n3,4\n5," + raw + b"\n6,7\n"
    result, out = gather(impl, data, [0, 1])
    assert result == (ERR_NUMBER, 2, 1)
    assert out[:2].tolist() == [[1.0, 2.0], [3.0, 4.0]]  # the bad row and later: unspecified
    result, _ = gather(impl, data, [1, 0], row_start=1)
    assert result == (ERR_NUMBER, 2, 0), "r is the record index, j the index into cols"
    result, out = gather(impl, data, [0])
    assert result == (OK, -1, -1) and out[:, 0].tolist() == [1, 3, 5, 6], "unselected: no error"


def test_gather_error_row_major_order(impl):
    data = b"1,x,2\n3,4,y\n"
    assert gather(impl, data, [2, 1])[0] == (ERR_NUMBER, 0, 1)
    assert gather(impl, data, [2, 0])[0] == (ERR_NUMBER, 1, 0)
    assert gather(impl, data, [0, 1], row_start=1)[0] == (OK, -1, -1)


def test_gather_selection_order_duplicates_and_ragged_rows(impl):
    data = b'1,2,3\n"4", 5 ,6,extra\n\r\n7,8,9\n'
    result, out = gather(impl, data, [2, 0, 2])
    assert result == (OK, -1, -1)
    assert out.tolist() == [[3, 1, 3], [6, 4, 6], [9, 7, 9]]


def test_gather_row_range_and_larger_out(impl, buffer_kinds):
    data = b"1,2\n3,4\n5,6\n7,8\n"
    for kind, buf in buffer_kinds(data):
        fields, rows = tokenize(impl, buf)[:2]
        out = np.full((4, 3), SENTINEL, dtype=np.float32)
        assert impl.gather_float32(buf, fields, rows, 1, 3, i64([1, 0]), out) == (OK, -1, -1)
        expected = np.full((4, 3), SENTINEL, dtype=np.float32)
        expected[:2, :2] = [[4, 3], [6, 5]]
        assert np.array_equal(bits(out), bits(expected)), kind


def test_gather_nothing_to_do(impl):
    data = b"1,2\nz,3\n"
    fields, rows = tokenize(impl, data)[:2]
    out = np.full((2, 2), SENTINEL, dtype=np.float32)
    assert impl.gather_float32(data, fields, rows, 0, 2, i64([]), out) == (OK, -1, -1)
    assert impl.gather_float32(data, fields, rows, 1, 1, i64([0]), out) == (OK, -1, -1)
    assert np.all(bits(out) == bits(SENTINEL))


def test_gather_out_checks(impl):
    data = b"1,2\n3,4\n"
    fields, rows = tokenize(impl, data)[:2]
    cols = i64([0, 1])
    read_only = np.zeros((2, 2), np.float32)
    read_only.flags.writeable = False
    for out in [
        np.zeros((2, 2), np.float64),
        np.zeros((1, 2), np.float32),
        np.zeros((2, 1), np.float32),
        np.zeros((2, 2), np.float32, order="F"),
        np.zeros(4, np.float32),
        read_only,
    ]:
        with pytest.raises(ValueError):
            impl.gather_float32(data, fields, rows, 0, 2, cols, out)


@pytest.mark.parametrize("row_start, row_stop", [(-1, 1), (0, 3), (2, 1)])
def test_gather_row_range_outside_rows(impl, row_start, row_stop):
    data = b"1,2\n3,4\n"
    fields, rows = tokenize(impl, data)[:2]
    with pytest.raises(ValueError):
        impl.gather_float32(data, fields, rows, row_start, row_stop, i64([0]), np.zeros((4, 1), np.float32))


signs = st.sampled_from(["", "+", "-"])
padding = st.text(" \t", max_size=2)


@st.composite
def decimal_texts(draw):
    """Number texts in the grammar: random shapes, long mantissas, exact and shortest float32
    decimals, float32 midpoints (exact, and nudged just off them), subnormals."""
    kind = draw(st.sampled_from(["random", "long", "float32", "midpoint"]))
    if kind == "random":
        whole = draw(st.text("0123456789", max_size=25))
        frac = draw(st.none() | st.text("0123456789", max_size=25))
        if not whole and not frac:
            whole = "0"
        text = whole + ("" if frac is None else "." + frac)
        if draw(st.booleans()):
            text += draw(st.sampled_from("eE")) + draw(signs) + str(draw(st.integers(0, 400)))
        return draw(signs) + text
    if kind == "long":
        digits = draw(st.text("0123456789", min_size=30, max_size=800))
        shift = draw(st.integers(-60, 60)) - len(digits)
        return draw(signs) + "0." + digits + f"e{shift + len(digits)}"
    value = np.uint32(draw(st.integers(0, 0x7F7FFFFE))).view(np.float32)  # finite, not max
    if kind == "float32":
        form = draw(st.sampled_from(["repr", "shortest32", "exact"]))
        if form == "repr":
            text = repr(float(value))
        elif form == "shortest32":
            text = np.format_float_scientific(value, unique=True)
        else:
            text = str(decimal.Decimal(float(value)))
        return draw(st.sampled_from(["", "-"])) + text
    upper = np.nextafter(value, np.float32(np.inf))
    with decimal.localcontext() as ctx:
        ctx.prec = 2000
        mid = (decimal.Decimal(float(value)) + decimal.Decimal(float(upper))) / 2
        nudge = draw(st.sampled_from([0, 1, -1]))
        if nudge:
            mid += nudge * decimal.Decimal(10) ** (mid.adjusted() - draw(st.integers(17, 60)))
        return draw(st.sampled_from(["", "-"])) + str(mid)


special_words = st.tuples(signs, st.sampled_from(["nan", "inf", "infinity"]), st.randoms()).map(
    lambda t: t[0] + "".join(c.upper() if t[2].random() < 0.5 else c for c in t[1])
)


@pytest.mark.slow
@given(
    texts=st.lists(
        st.tuples(decimal_texts() | special_words, padding, padding, st.booleans()), min_size=1, max_size=8
    )
)
def test_gather_equals_numpy_float32_of_float(impl, texts):
    raw_fields, expected = [], []
    for text, before, after, quoted in texts:
        raw = before + text + after
        raw_fields.append(f'"{raw}"' if quoted else raw)
        expected.append(f32(float(text)))
    data = ",".join(raw_fields).encode() + b"\n"
    result, out = gather(impl, data, range(len(texts)))
    assert result == (OK, -1, -1)
    assert bits(out[0]).tolist() == bits(expected).tolist(), texts


def python_float32(raw: str):
    """Oracle for one unquoted field over a small alphabet: float() after stripping, or None."""
    text = raw.strip(" \t")
    if text == "":
        return f32(float("nan"))
    if "_" in text:
        return None  # float() allows digit separators; the grammar does not
    try:
        return f32(float(text))
    except ValueError:
        return None


@given(raws=st.lists(st.text("0123456789+-.eEnaIiNfFty \t_x", max_size=10), min_size=1, max_size=6))
@example(raws=["1", " -Inf", "NaN ", "1e", "1_0", ".", "\t", "in f"])
def test_gather_accepts_what_float_accepts(impl, raws):
    expected = [python_float32(raw) for raw in raws]
    data = "".join(f"{raw},0\n" for raw in raws).encode()
    result, out = gather(impl, data, [0])
    bad = [i for i, value in enumerate(expected) if value is None]
    if bad:
        assert result == (ERR_NUMBER, bad[0], 0)
    else:
        assert result == (OK, -1, -1)
    good = len(raws) if not bad else bad[0]
    assert bits(out[:good, 0]).tolist() == bits(expected[:good]).tolist()


# ---------------------------------------------------------------------------------------------
# format_floats


def expected_text(values) -> list[bytes]:
    return [repr(float(v)).encode() for v in values]


def check_format(impl, values):
    values = np.ascontiguousarray(values, dtype=np.float32)
    text, spans = impl.format_floats(values)
    assert type(text) is bytes
    assert spans.dtype == np.int64 and spans.shape == (len(values), 2)
    assert spans.flags.c_contiguous
    pieces = [text[o : o + n] for o, n in spans.tolist()]
    assert pieces == expected_text(values)
    assert b"".join(pieces) == text
    return text, spans


FORMAT_GOLDEN = [
    (0.0, "0.0"),
    (-0.0, "-0.0"),
    (1.0, "1.0"),
    (0.5, "0.5"),
    (0.25, "0.25"),
    (-2.5, "-2.5"),
    (float("nan"), "nan"),
    (float("inf"), "inf"),
    (float("-inf"), "-inf"),
    (1e-45, "1.401298464324817e-45"),
    (3.4028235e38, "3.4028234663852886e+38"),
    (-3.4028235e38, "-3.4028234663852886e+38"),
    (1.1754944e-38, "1.1754943508222875e-38"),
    (2.9999999242136255e-05, "2.9999999242136255e-05"),
    (0.9899773597717285, "0.9899773597717285"),
    (12.34567928314209, "12.34567928314209"),
    (0.1, "0.10000000149011612"),
    (1e-8, "9.99999993922529e-09"),
    (1e-4, "9.999999747378752e-05"),
    (0.00010000000474974513, "0.00010000000474974513"),
    (1e16, "1.0000000272564224e+16"),
    (9999999198822400.0, "9999999198822400.0"),
    (16777216.0, "16777216.0"),
    (1001.0, "1001.0"),
    (123456789.0, "123456792.0"),
]


def test_format_golden(impl):
    values = np.array([v for v, _ in FORMAT_GOLDEN], dtype=np.float32)
    text, spans = check_format(impl, values)
    assert text == "".join(s for _, s in FORMAT_GOLDEN).encode()
    assert [text[o : o + n].decode() for o, n in spans.tolist()] == [s for _, s in FORMAT_GOLDEN]


def test_format_every_power_of_two(impl):
    values = np.array([2.0**k for k in range(-149, 128)], dtype=np.float32)
    assert np.array_equal(values.astype(np.float64), [2.0**k for k in range(-149, 128)])
    text, spans = check_format(impl, np.concatenate([values, -values]))
    assert text.startswith(b"1.401298464324817e-452.802596928649634e-45")
    assert b"1.7014118346046923e+38-1.401298464324817e-45" in text


@pytest.mark.parametrize("around", [1e-4, 1e-5, 1e15, 1e16, 1e17])
def test_format_where_repr_switches_notation(impl, around):
    center = int(bits(f32(around)))
    values = np.arange(center - 64, center + 65, dtype=np.uint32).view(np.float32)
    text, _ = check_format(impl, values)
    notations = {b"e" in piece for piece in expected_text(values)}
    if around in (1e-4, 1e16):
        assert notations == {True, False}


def test_format_nan_payloads_and_signs(impl):
    values = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF, 0x7FBFFFFF], dtype=np.uint32).view(
        np.float32
    )
    text, spans = check_format(impl, values)
    assert text == b"nan" * 5 and spans.tolist() == [[0, 3], [3, 3], [6, 3], [9, 3], [12, 3]]


def test_format_empty(impl):
    text, spans = impl.format_floats(np.zeros(0, np.float32))
    assert text == b"" and spans.dtype == np.int64 and spans.shape == (0, 2)


def test_format_accepts_read_only(impl):
    values = np.array([0.5, 1.5], np.float32)
    values.flags.writeable = False
    assert impl.format_floats(values)[0] == b"0.51.5"


@pytest.mark.parametrize(
    "values",
    [np.zeros(3, np.float64), np.zeros((2, 2), np.float32), np.zeros(6, np.float32)[::2]],
    ids=["float64", "2-D", "strided"],
)
def test_format_rejects_other_arrays(impl, values):
    with pytest.raises(ValueError):
        impl.format_floats(values)


@given(st.lists(st.integers(0, 2**32 - 1), max_size=64))
@example([0x00000001, 0x80000001, 0x00800000, 0x7F7FFFFF, 0x3F800000, 0x38D1B717])
def test_format_equals_repr_of_float(impl, patterns):
    check_format(impl, np.array(patterns, dtype=np.uint32).view(np.float32))


# ---------------------------------------------------------------------------------------------
# splice


def spliced(
    impl, in_data, pred_data, sel, width, terminator=b"\n", row_start=0, row_stop=None, allow_blank=False
):
    if width:
        in_fields, in_rows = tokenize(impl, in_data, allow_blank)[:2]
    else:
        in_fields, in_rows = i64([], 2), i64([])
    pred_fields, pred_rows = tokenize(impl, pred_data, allow_blank)[:2]
    row_stop = len(pred_rows) - 1 if row_stop is None else row_stop
    out = impl.splice(
        in_data,
        in_fields,
        in_rows,
        pred_data,
        pred_fields,
        pred_rows,
        row_start,
        row_stop,
        i64(sel),
        width,
        terminator,
    )
    assert type(out) is bytes
    return out


IN_DATA = b'1001.0,"a,b",x\r\n\r\n2,"",\n'
PRED_DATA = b"0.5,1\n2.9999999242136255e-05,0\n"


@pytest.mark.parametrize(
    "sel, terminator, row_start, row_stop, expected",
    [
        ([0, 1, 2, 3], b"\n", 0, 2, b'1001.0,"a,b",x,0.5\n2,"",,2.9999999242136255e-05\n'),
        ([0, 1, 2, 3, 4], b"\n", 0, 2, b'1001.0,"a,b",x,0.5,1\n2,"",,2.9999999242136255e-05,0\n'),
        ([3, 0], b"\n", 0, 2, b"0.5,1001.0\n2.9999999242136255e-05,2\n"),
        ([1, 1, 4], b"\n", 0, 2, b'"a,b","a,b",1\n"","",0\n'),
        ([2], b"\n", 0, 2, b"x\n\n"),
        ([0, 3], b"", 0, 2, b"1001.0,0.52,2.9999999242136255e-05"),
        ([0, 3], b"\r\n", 0, 2, b"1001.0,0.5\r\n2,2.9999999242136255e-05\r\n"),
        ([0, 3], b"\n", 1, 2, b"2,2.9999999242136255e-05\n"),
        ([0, 3], b"\n", 1, 1, b""),
        ([], b"\n", 0, 2, b"\n\n"),
    ],
    ids=[
        "all",
        "all-multi-output",
        "reorder",
        "duplicates",
        "empty-field-alone",
        "no-terminator",
        "crlf",
        "row-range",
        "no-rows",
        "no-fields",
    ],
)
def test_splice_golden(impl, sel, terminator, row_start, row_stop, expected):
    out = spliced(impl, IN_DATA, PRED_DATA, sel, 3, terminator, row_start, row_stop, allow_blank=True)
    assert out == expected


def test_splice_width_zero_never_reads_input(impl):
    pred = b"0.1,0.2\n0.3,0.4\n"
    assert spliced(impl, b"", pred, [1, 0, 1], 0) == b"0.2,0.1,0.2\n0.4,0.3,0.4\n"


def test_splice_with_format_floats_spans(impl):
    """Prediction spans need not come from CSV: format_floats' spans work as they are."""
    in_data = b"a,1\nb,2\n"
    in_fields, in_rows = tokenize(impl, in_data)[:2]
    text, spans = impl.format_floats(np.array([0.25, 1e-8], np.float32))
    out = impl.splice(
        in_data, in_fields, in_rows, text, spans, i64([0, 1, 2]), 0, 2, i64([0, 2, 1]), 2, b"\n"
    )
    assert out == b"a,0.25,1\nb,9.99999993922529e-09,2\n"


def test_splice_on_every_buffer_kind(impl, buffer_kinds):
    expected = spliced(impl, IN_DATA, PRED_DATA, [4, 1, 0, 3], 3, allow_blank=True)
    in_fields, in_rows = tokenize(impl, IN_DATA)[:2]
    pred_fields, pred_rows = tokenize(impl, PRED_DATA)[:2]
    for (kind, in_buf), (_, pred_buf) in zip(buffer_kinds(IN_DATA), buffer_kinds(PRED_DATA)):
        out = impl.splice(
            in_buf, in_fields, in_rows, pred_buf, pred_fields, pred_rows, 0, 2, i64([4, 1, 0, 3]), 3, b"\n"
        )
        assert out == expected, kind


@pytest.mark.parametrize("row_start, row_stop", [(-1, 1), (0, 3), (2, 1)])
def test_splice_row_range_outside_rows(impl, row_start, row_stop):
    fields, rows = tokenize(impl, b"1\n2\n")[:2]
    with pytest.raises(ValueError):
        impl.splice(
            b"1\n2\n", fields, rows, b"1\n2\n", fields, rows, row_start, row_stop, i64([0, 1]), 1, b"\n"
        )


def test_splice_terminator_must_be_bytes(impl):
    fields, rows = tokenize(impl, b"1\n")[:2]
    with pytest.raises(TypeError):
        impl.splice(b"1\n", fields, rows, b"1\n", fields, rows, 0, 1, i64([0]), 1, bytearray(b"\n"))


@pytest.mark.slow
@given(
    width=st.integers(0, 4),
    outputs=st.integers(1, 3),
    data=st.data(),
    terminator=st.sampled_from([b"\n", b"\r\n"]),
)
def test_splice_output_parses_back_to_selected_fields(impl, width, outputs, data, terminator):
    n = data.draw(st.integers(0, 6))
    rows = data.draw(st.lists(st.lists(csv_field, min_size=width, max_size=width), min_size=n, max_size=n))
    predictions = (
        np.array(
            data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=n * outputs, max_size=n * outputs)),
            dtype=np.uint32,
        )
        .view(np.float32)
        .reshape(n, outputs)
    )
    sel = data.draw(st.lists(st.integers(0, width + outputs - 1), min_size=1, max_size=8))
    quoting = data.draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    in_data = "".join(csv_line(row, quoting) for row in rows).encode() if width else b""
    pred_data = b"".join(b",".join(expected_text(p)) + b"\n" for p in predictions)
    out = spliced(impl, in_data, pred_data, sel, width, terminator)

    joined = [row + [repr(float(v)) for v in p] for row, p in zip(rows, predictions)]
    expected = [[record[s] for s in sel] for record in joined]
    parsed = list(csv.reader(io.StringIO(out.decode(), newline="")))
    assert [p if p else [""] for p in parsed] == expected  # csv reads a lone "" field as []
    assert out.count(terminator) == n and (n == 0 or out.endswith(terminator))

    # Byte for byte: each output field is the input's raw field (quotes and all).
    result = tokenize(impl, out, allow_blank=True)
    raw_in = records(in_data, tokenize(impl, in_data)) if width else [[]] * n
    raw_joined = [r + expected_text(p) for r, p in zip(raw_in, predictions)]
    want = [[record[s] for s in sel] for record in raw_joined]
    assert records(out, result) == [w for w in want if w != [b""]]
    assert result[2] == sum(w == [b""] for w in want)


# ---------------------------------------------------------------------------------------------
# differential: the compiled core against the reference, same inputs, identical outputs

any_bytes = st.lists(
    st.sampled_from([b"a", b"1", b",", b'"', b"\r", b"\n", b" ", b"\t", b"\xff", b"e", b"-", b".", b"n"]),
    max_size=60,
).map(b"".join)


@given(data=any_bytes, allow_blank=st.booleans(), window=st.data())
def test_differential_tokenize(reference, core, data, allow_blank, window):
    start = window.draw(st.integers(0, len(data)))
    end = window.draw(st.integers(start, len(data)))
    assert_same_tokenize(
        core.tokenize(data, start, end, allow_blank), reference.tokenize(data, start, end, allow_blank)
    )


def test_differential_golden(reference, core):
    for _, data, allow_blank, *_ in TOKENIZE_GOLDEN:
        assert_same_tokenize(
            core.tokenize(data, 0, len(data), allow_blank),
            reference.tokenize(data, 0, len(data), allow_blank),
        )
    for _, raw, _ in GATHER_GOLDEN:
        check_gather_same(reference, core, b"x," + raw + b"\n", [0, 1])
    for raw in GATHER_ERRORS:
        check_gather_same(reference, core, b"1,2\n3," + raw + b"\n", [1, 0])


def check_gather_same(reference, core, data, cols):
    fields, rows, _, status, _ = reference.tokenize(data, 0, len(data), True)
    if status != OK or len(rows) == 1 or np.diff(rows).min() <= max(cols):
        return
    n = len(rows) - 1
    outs = [np.full((n, len(cols)), SENTINEL, np.float32) for _ in range(2)]
    results = [
        impl.gather_float32(data, fields, rows, 0, n, i64(cols), out)
        for impl, out in zip((reference, core), outs)
    ]
    assert results[0] == results[1]
    filled = n if results[0][0] == OK else results[0][1]
    assert np.array_equal(bits(outs[0][:filled]), bits(outs[1][:filled]))


field_bytes = st.lists(
    st.sampled_from(
        [
            b"1",
            b"0",
            b"9",
            b".",
            b"e",
            b"E",
            b"+",
            b"-",
            b" ",
            b"\t",
            b"n",
            b"a",
            b"i",
            b"f",
            b"N",
            b"I",
            b"x",
            b"\xff",
            b'""',
        ]
    ),
    max_size=12,
).map(b"".join)


@given(st.lists(st.tuples(field_bytes, st.booleans()), min_size=1, max_size=12), st.integers(1, 3))
def test_differential_gather(reference, core, fields, width):
    raw = [b'"' + f + b'"' if quoted or b'"' in f else f for f, quoted in fields]
    raw += [b"0"] * (-len(raw) % width)
    data = b"\n".join(b",".join(raw[i : i + width]) for i in range(0, len(raw), width))
    check_gather_same(reference, core, data, list(range(width)))


@given(st.lists(st.integers(0, 2**32 - 1), max_size=64))
def test_differential_format(reference, core, patterns):
    values = np.array(patterns, dtype=np.uint32).view(np.float32)
    text_r, spans_r = reference.format_floats(values)
    text_c, spans_c = core.format_floats(values)
    assert text_c == text_r and np.array_equal(spans_c, spans_r)
    assert spans_c.dtype == spans_r.dtype and spans_c.shape == spans_r.shape


@given(width=st.integers(0, 3), data=st.data())
def test_differential_splice(reference, core, width, data):
    n = data.draw(st.integers(0, 5))
    outputs = data.draw(st.integers(1, 3))
    in_data = b"".join(
        csv_line(row).encode()
        for row in data.draw(
            st.lists(
                st.lists(csv_field, min_size=max(width, 1), max_size=max(width, 1)), min_size=n, max_size=n
            )
        )
    )
    pred_field = st.sampled_from([b"1.0", b"nan", b'""', b"-0.5"])
    pred_data = b"".join(
        b",".join(data.draw(st.lists(pred_field, min_size=outputs, max_size=outputs))) + b"\n"
        for _ in range(n)
    )
    sel = i64(data.draw(st.lists(st.integers(0, width + outputs - 1), max_size=6)))
    in_fields, in_rows = reference.tokenize(in_data, 0, len(in_data), True)[:2]
    pred_fields, pred_rows = reference.tokenize(pred_data, 0, len(pred_data), True)[:2]
    assert len(pred_rows) == n + 1
    row_start = data.draw(st.integers(0, n))
    row_stop = data.draw(st.integers(row_start, n))
    term = data.draw(st.sampled_from([b"\n", b"", b"\r\n"]))
    args = (
        in_data,
        in_fields,
        in_rows,
        pred_data,
        pred_fields,
        pred_rows,
        row_start,
        row_stop,
        sel,
        width,
        term,
    )
    assert core.splice(*args) == reference.splice(*args)


def test_format_sweep_of_float32_bit_patterns(core):
    # Every 4093rd bit pattern (~1M values, both signs, every exponent, subnormals, NaNs)
    # plus the neighbours of every power of two: the compiled formatter against repr().
    bits = np.arange(0, 2**32, 4093, dtype=np.uint64).astype(np.uint32)
    powers = np.arange(0, 255, dtype=np.uint32) << 23
    bits = np.concatenate([bits, powers, powers + 1, powers - 1, powers | 0x80000000])
    values = bits.view(np.float32)
    text, spans = core.format_floats(values)
    with np.errstate(invalid="ignore"):  # signalling NaN patterns
        expected = [repr(v) for v in values.astype(np.float64).tolist()]
    got = [text[o : o + n].decode() for o, n in spans.tolist()]
    assert got == expected
