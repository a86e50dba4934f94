"""Record boundaries: however an object is cut (chunk size, stream kind, byte ranges at any
offsets), the pieces tile it and every line lands whole in exactly one piece."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from fastjoin.framing import buffer_chunks, byte_range, line_spans, next_newline, read_chunks

LINE = st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"x"))


@st.composite
def objects(draw) -> bytes:
    lines = draw(st.lists(st.one_of(LINE, st.just(b""), LINE.map(lambda b: b + b"\r")), max_size=25))
    return b"\n".join(lines) + (b"\n" if lines and draw(st.booleans()) else b"")


def line_starts(data: bytes) -> list[int]:
    starts = [0] + [i + 1 for i, c in enumerate(data) if c == 10]
    return [s for s in starts if s < len(data)]


def check_tiling(data: bytes, pieces) -> None:
    """Pieces in order cover ``data`` exactly, each holding whole lines (it starts at a line
    start and ends after a newline or at the end)."""
    offset = 0
    starts = set(line_starts(data))
    for buf, start, end, base_offset in pieces:
        assert base_offset + start == offset
        assert bytes(buf[start:end]) == data[offset : offset + end - start]
        if end > start:
            assert offset in starts
        offset += end - start
        assert offset == len(data) or data[offset - 1] == 10
    assert offset == len(data)


@settings(max_examples=200, deadline=None)
@given(objects(), st.integers(1, 40))
def test_buffer_and_stream_pieces_tile_the_object(data, chunk_size):
    check_tiling(data, list(buffer_chunks(data, chunk_size)))
    check_tiling(data, list(buffer_chunks(memoryview(bytearray(data)), chunk_size)))
    check_tiling(data, list(read_chunks(io.BytesIO(data), chunk_size)))


@settings(max_examples=300, deadline=None)
@given(objects(), st.lists(st.integers(0, 400), max_size=6))
def test_byte_ranges_at_any_offsets_tile_the_object(data, cuts):
    """A worker given [a, b) owns the lines whose first byte is in it: ranges that tile the
    object give pieces that tile it, whatever the cut points (inside a line, on a newline,
    past the end)."""
    bounds = sorted({0, len(data), *(min(c, len(data)) for c in cuts)})
    f = io.BytesIO(data)
    pieces = [byte_range(f, a, b) for a, b in zip(bounds, bounds[1:])]
    check_tiling(data, [p for p in pieces if p.end > p.start])
    for (a, b), piece in zip(zip(bounds, bounds[1:]), pieces):
        owned = [s for s in line_starts(data) if a <= s < b]
        if owned:
            assert piece.base_offset == owned[0]
        else:
            assert piece.end == piece.start


def test_a_whole_object_is_one_piece():
    data = b'{"a":\n1}\n'
    assert [(bytes(b[s:e]), o) for b, s, e, o in buffer_chunks(data, 2, whole=True)] == [(data, 0)]


def test_next_newline():
    data = b"ab\ncd" + b"x" * 200_000 + b"\n"
    assert next_newline(data, 0, len(data)) == 2
    assert next_newline(data, 3, len(data)) == len(data) - 1
    assert next_newline(data, 3, 10) == 10


@settings(max_examples=200, deadline=None)
@given(objects(), st.integers(0, 10))
def test_line_spans_are_the_lines_without_terminators(data, skip):
    start = min(skip, len(data))
    start = data.rfind(b"\n", 0, start) + 1  # from a line start
    starts, ends = line_spans(data, start, len(data))
    expected = data[start:].split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()  # a final newline ends the last line
    assert [data[s:e] for s, e in zip(starts.tolist(), ends.tolist())] == [
        line[:-1] if line.endswith(b"\r") else line for line in expected
    ]
