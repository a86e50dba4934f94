"""read_chunks: whole lines and their offsets, for every kind of stream it reads."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastjoin.framing import read_chunks


class ReadOnly:
    """A stream with read() and nothing else, returning short reads as a socket does."""

    def __init__(self, data: bytes):
        self._f = io.BytesIO(data)

    def read(self, n=-1):
        return self._f.read(min(n, 7) if n and n > 0 else n)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class ShortReads(io.RawIOBase):
    """An unbuffered stream whose readinto() fills at most 5 bytes a call."""

    def __init__(self, data: bytes):
        self._f = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        chunk = self._f.read(min(len(b), 5))
        b[: len(chunk)] = chunk
        return len(chunk)


def _streams(data: bytes, tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    yield "local file", open(path, "rb")
    yield "BytesIO", io.BytesIO(data)
    yield "read() only", ReadOnly(data)
    yield "short readinto", ShortReads(data)


def _check(data: bytes, chunk_size: int, tmp_path) -> None:
    for kind, f in _streams(data, tmp_path):
        with f:
            pieces = list(read_chunks(f, chunk_size))
        joined = b"".join(bytes(buf[start:end]) for buf, start, end, _ in pieces)
        assert joined == data, kind
        offset = 0
        for i, (buf, start, end, base_offset) in enumerate(pieces):
            assert (start, base_offset) == (0, offset), kind
            assert end > 0
            if i < len(pieces) - 1:
                assert buf[end - 1 : end] == b"\n", kind
            offset += end


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x")), max_size=30),
    st.booleans(),
    st.integers(1, 64),
)
def test_chunks_are_whole_lines_with_their_offsets(tmp_path_factory, lines, final_newline, chunk_size):
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    _check(data, chunk_size, tmp_path_factory.mktemp("chunks"))


def test_a_line_longer_than_the_chunk(tmp_path):
    data = b"a" * 1000 + b"\n" + b"b,c\n" * 10 + b"d" * 300
    _check(data, 16, tmp_path)


def test_a_local_file_read_from_where_it_stands(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"skip me\n1,2\n3,4\n")
    with open(path, "rb") as f:
        f.readline()
        pieces = [(bytes(b[s:e]), o) for b, s, e, o in read_chunks(f, 4)]
    assert pieces == [(b"1,2\n", 0), (b"3,4\n", 4)]


@pytest.mark.parametrize("data", [b"", b"\n", b"no newline"])
def test_small_inputs(tmp_path, data):
    _check(data, 4, tmp_path)
