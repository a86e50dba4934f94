"""RecordIO and TFRecord framing (``fastjoin.frames``): round trips, frames cut anywhere,
bad magic words and bad CRCs, and streams cut into pieces of whole records."""

from __future__ import annotations

import io
import random
import struct
import sys

import pytest

from fastjoin import frames
from fastjoin.errors import ConfigError, InputError

pytest.importorskip("google_crc32c", reason="TFRecord CRCs need google-crc32c (pip install -e '.[tfrecord]')")

ENCODE = {"RecordIO": frames.recordio_frame, "TFRecord": frames.tfrecord_frame}
MAGIC = struct.pack("<I", 0xCED7230A)
PAYLOADS = [b"", b"a", b"abcd", b"hello world", MAGIC * 3, bytes(range(256)) * 5, b"\n\n\r\n"]


def test_the_crc_is_crc32c():
    assert frames._crc32c()(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720)


@pytest.mark.parametrize("kind", frames.KINDS)
def test_round_trip(kind):
    rng = random.Random(7)
    records = PAYLOADS + [rng.randbytes(rng.randrange(0, 3000)) for _ in range(50)]
    data = b"".join(map(ENCODE[kind], records))
    assert frames.decode(kind, data) == records
    ends = frames.record_ends(kind, data, 0, len(data))
    assert len(ends) == len(records) and ends[-1] == len(data)


def test_recordio_frames_are_padded_to_four_bytes():
    assert frames.recordio_frame(b"abcde") == MAGIC + struct.pack("<I", 5) + b"abcde\0\0\0"


def test_a_split_recordio_record_is_one_record_with_the_magic_put_back():
    first = MAGIC + struct.pack("<I", (1 << 29) | 4) + b"head"
    middle = MAGIC + struct.pack("<I", (2 << 29) | 1) + b"m\0\0\0"
    last = MAGIC + struct.pack("<I", (3 << 29) | 4) + b"tail"
    data = frames.recordio_frame(b"x") + first + middle + last
    assert frames.decode("RecordIO", data) == [b"x", b"head" + MAGIC + b"m" + MAGIC + b"tail"]
    assert frames.record_ends("RecordIO", data, 0, len(data)) == [12, len(data)]
    with pytest.raises(
        InputError, match="byte 12: RecordIO frame flag 2: a record's part outside a split record"
    ):
        frames.decode("RecordIO", frames.recordio_frame(b"x") + middle)
    with pytest.raises(InputError, match="byte 12: RecordIO frame flag 0: a new record inside a split one"):
        frames.decode("RecordIO", first + frames.recordio_frame(b"x"))
    with pytest.raises(InputError, match="byte 0: the object ends inside a RecordIO record"):
        frames.decode("RecordIO", first + middle)


@pytest.mark.parametrize("kind", frames.KINDS)
def test_a_frame_cut_anywhere(kind):
    records = [b"one", b"second record", b"3"]
    data = b"".join(map(ENCODE[kind], records))
    ends = frames.record_ends(kind, data, 0, len(data))
    for cut in range(1, len(data)):
        whole = [e for e in ends if e <= cut]
        assert frames.record_ends(kind, data, 0, cut, final=False) == whole
        if cut in ends:
            continue
        start = whole[-1] if whole else 0
        with pytest.raises(InputError) as info:
            frames.record_ends(kind, data, 0, cut, source="in.rec", base_offset=100)
        assert str(info.value) == (
            f"in.rec: byte {100 + start}: the object ends inside a {kind} record ({cut - start} bytes of it)"
        )


def test_bad_crcs_and_bad_magic_name_the_frame():
    data = bytearray(frames.tfrecord_frame(b"abc") + frames.tfrecord_frame(b"defgh"))
    second = 12 + 3 + 4
    spoiled = bytearray(data)
    spoiled[second + 13] ^= 1  # a byte of the second record's data
    with pytest.raises(
        InputError, match=r"^in.tfrecord: byte 19: TFRecord data CRC mismatch \(5 bytes of data\)$"
    ):
        frames.record_ends("TFRecord", spoiled, 0, len(spoiled), source="in.tfrecord")
    spoiled = bytearray(data)
    spoiled[second] ^= 2  # its length
    with pytest.raises(
        InputError, match=r"^in.tfrecord: byte 19: TFRecord length CRC mismatch \(length field 7\)$"
    ):
        frames.record_ends("TFRecord", spoiled, 0, len(spoiled), source="in.tfrecord")
    spoiled = bytearray(data)
    spoiled[-1] ^= 0x80  # the data CRC itself
    with pytest.raises(InputError, match="byte 19: TFRecord data CRC mismatch"):
        frames.decode("TFRecord", spoiled)
    text = b"1,2,3\n" * 4
    with pytest.raises(
        InputError, match=r"byte 0: not a RecordIO frame: magic 0x2c322c31, expected 0xced7230a"
    ):
        frames.decode("RecordIO", text)


@pytest.mark.parametrize("kind", frames.KINDS)
@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1000, 1 << 20])
def test_a_stream_is_read_as_pieces_of_whole_records(kind, chunk_size):
    rng = random.Random(chunk_size)
    records = [rng.randbytes(rng.randrange(0, 200)) for _ in range(40)]
    data = b"".join(map(ENCODE[kind], records))
    pieces = list(frames.read_frames(io.BytesIO(data), chunk_size, kind, 1 << 20, "s"))
    assert b"".join(bytes(p.buf[p.start : p.end]) for p in pieces) == data
    assert [p.base_offset for p in pieces] == [
        sum(p.end - p.start for p in pieces[:i]) for i in range(len(pieces))
    ]
    got = [r for p in pieces for r in frames.decode(kind, p.buf[p.start : p.end])]
    assert got == records


@pytest.mark.parametrize("kind", frames.KINDS)
def test_a_truncated_stream_and_a_record_over_the_limit_fail(kind):
    data = b"".join(map(ENCODE[kind], [b"a" * 10, b"b" * 500]))
    with pytest.raises(InputError, match=f"the object ends inside a {kind} record"):
        list(frames.read_frames(io.BytesIO(data[:-3]), 8, kind, 1 << 20, "s"))
    with pytest.raises(
        InputError, match=f"a {kind} record longer than 100 bytes, the max_record_bytes limit"
    ):
        list(frames.read_frames(io.BytesIO(data), 8, kind, 100, "s"))


def test_without_google_crc32c_tfrecord_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "google_crc32c", None)
    with pytest.raises(ConfigError, match=r'pip install "fastjoin\[tfrecord\]"'):
        frames.tfrecord_frame(b"x")
