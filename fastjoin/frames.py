"""Binary record framing: the SplitTypes whose records are not lines.

``RecordIO`` is MXNet's (dmlc) framing: a little-endian ``uint32`` magic ``0xced7230a``, a
``uint32`` whose top 3 bits say whether the frame is a whole record (0) or the first (1),
a middle (2) or the last (3) part of one, and whose low 29 bits are the data's length; then
the data, padded with zeros to a multiple of 4 bytes. A record split into parts had the magic
word at each cut (the writer removes it; a reader puts it back).

``TFRecord`` is TensorFlow's: a ``uint64`` length, the masked CRC-32C of those 8 bytes, the
data and the masked CRC-32C of the data (``((crc >> 15) | (crc << 17)) + 0xa282ead8``, all
little-endian). Both CRCs are checked: a frame that does not match fails its object.

Records are passed to a container model with their framing, as SageMaker sends them; these
functions only find where each one ends (:func:`record_ends`), cut a stream into pieces of
whole records (:func:`read_frames`) and, for tests and users who write such files, encode
and decode frames.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

from fastjoin.errors import ConfigError, InputError
from fastjoin.framing import Piece

__all__ = [
    "KINDS",
    "record_ends",
    "read_frames",
    "buffer_frames",
    "recordio_frame",
    "tfrecord_frame",
    "decode",
]

KINDS = ("RecordIO", "TFRecord")
RECORDIO_MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", RECORDIO_MAGIC)
_LENGTH_BITS = (1 << 29) - 1
_WHOLE, _FIRST, _MIDDLE, _LAST = range(4)
_MASK_DELTA = 0xA282EAD8


def _crc32c():
    try:
        import google_crc32c
    except ImportError:
        raise ConfigError(
            'TFRecord frames carry CRC-32C checksums, computed with google-crc32c, which is not installed: pip install "fastjoin[tfrecord]"'
        ) from None
    return google_crc32c.value


def masked_crc(data) -> int:
    crc = _crc32c()(bytes(data))
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def record_ends(
    kind: str,
    buf,
    start: int,
    end: int,
    *,
    source: str = "<bytes>",
    base_offset: int = 0,
    final: bool = True,
    checked: bool = False,
) -> list[int]:
    """The offset after each whole record in ``buf[start:end]``, in order. A frame cut short
    by ``end`` ends the list, or, when ``final`` (the object ends at ``end``), is an
    :class:`InputError`, as is a frame that is not one (bad magic, bad CRC). Errors name the
    frame's absolute byte offset (``base_offset`` is ``buf[0]``'s). ``checked``: the frames
    were checked when the stream was cut into these pieces; TFRecord data CRCs are not
    computed again."""
    view = memoryview(buf).cast("B")[:end]
    if kind == "RecordIO":
        ends, stop = _recordio(view, start, source, base_offset)
    else:
        ends, stop = _tfrecord(view, start, source, base_offset, check_data=not checked)
    if final and stop < end:
        raise _bad(
            source, base_offset + stop, f"the object ends inside a {kind} record ({end - stop} bytes of it)"
        )
    return ends


def _recordio(view, pos: int, source: str, base: int) -> tuple[list[int], int]:
    """(record ends, where the last whole record ends)."""
    ends: list[int] = []
    end = len(view)
    record_start = pos
    in_parts = False
    while end - pos >= 8:
        magic, word = struct.unpack_from("<II", view, pos)
        if magic != RECORDIO_MAGIC:
            raise _bad(
                source,
                base + pos,
                f"not a RecordIO frame: magic 0x{magic:08x}, expected 0x{RECORDIO_MAGIC:08x}",
            )
        flag, length = word >> 29, word & _LENGTH_BITS
        if flag > _LAST or (flag in (_WHOLE, _FIRST)) == in_parts:
            what = (
                "a record's part outside a split record"
                if not in_parts
                else "a new record inside a split one"
            )
            raise _bad(source, base + pos, f"RecordIO frame flag {flag}: {what}")
        size = 8 + length + (-length % 4)
        if pos + size > end:
            break
        pos += size
        in_parts = flag in (_FIRST, _MIDDLE)
        if not in_parts:
            ends.append(pos)
            record_start = pos
    return ends, record_start


def _tfrecord(view, pos: int, source: str, base: int, check_data: bool = True) -> tuple[list[int], int]:
    ends: list[int] = []
    end = len(view)
    while end - pos >= 12:
        length, length_crc = struct.unpack_from("<QI", view, pos)
        if masked_crc(view[pos : pos + 8]) != length_crc:
            raise _bad(source, base + pos, f"TFRecord length CRC mismatch (length field {length})")
        size = 12 + length + 4
        if pos + size > end:
            break
        (data_crc,) = struct.unpack_from("<I", view, pos + 12 + length)
        if check_data and masked_crc(view[pos + 12 : pos + 12 + length]) != data_crc:
            raise _bad(source, base + pos, f"TFRecord data CRC mismatch ({length} bytes of data)")
        pos += size
        ends.append(pos)
    return ends, pos


def _bad(source: str, offset: int, why: str) -> InputError:
    # binary records have no lines: the byte offset locates them
    return InputError(f"{source}: byte {offset:,}: {why}")


def read_frames(f: BinaryIO, chunk_size: int, kind: str, max_record: int, source: str) -> Iterator[Piece]:
    """A stream as pieces of whole ``kind`` records, each about ``chunk_size`` bytes (one
    record longer than that is a piece of its own, up to ``max_record`` bytes)."""
    pending = bytearray()
    base = 0
    want = chunk_size
    eof = False
    while True:
        while len(pending) < want and not eof:
            block = f.read(want - len(pending))
            eof = not block
            pending += block
        if not pending:
            return
        ends = record_ends(kind, pending, 0, len(pending), source=source, base_offset=base, final=eof)
        if ends:
            cut = ends[-1]
            yield Piece(bytes(pending[:cut]), 0, cut, base)
            del pending[:cut]
            base += cut
            want = chunk_size
        elif len(pending) > max_record:
            raise _bad(
                source,
                base,
                f"a {kind} record longer than {max_record:,} bytes, the max_record_bytes limit "
                f"(--max-record-size), or data that is not {kind}",
            )
        else:  # a record longer than a piece: read twice as much of it at once
            want = 2 * len(pending)


def recordio_frame(data: bytes) -> bytes:
    """``data`` as one RecordIO frame (a whole record)."""
    if len(data) > _LENGTH_BITS:
        raise ValueError(f"a RecordIO frame holds at most {_LENGTH_BITS} bytes, not {len(data)}")
    return struct.pack("<II", RECORDIO_MAGIC, len(data)) + data + bytes(-len(data) % 4)


def tfrecord_frame(data: bytes) -> bytes:
    """``data`` as one TFRecord frame."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data))


def decode(kind: str, buf) -> list[bytes]:
    """The records' data in a whole object of ``kind`` frames (checked as
    :func:`record_ends` checks them; a split RecordIO record joined again)."""
    view = memoryview(buf).cast("B")
    records: list[bytes] = []
    start = 0
    for end in record_ends(kind, view, 0, len(view)):
        if kind == "TFRecord":
            records.append(bytes(view[start + 12 : end - 4]))
        else:
            parts = []
            pos = start
            while pos < end:
                length = struct.unpack_from("<I", view, pos + 4)[0] & _LENGTH_BITS
                parts.append(bytes(view[pos + 8 : pos + 8 + length]))
                pos += 8 + length + (-length % 4)
            records.append(_MAGIC_BYTES.join(parts))
        start = end
    return records


def buffer_frames(data, chunk_size: int, kind: str, source: str = "<bytes>") -> Iterator[Piece]:
    """An in-memory object of ``kind`` frames as pieces of whole records of about
    ``chunk_size`` bytes, without copying it."""
    buf = data if isinstance(data, (bytes, bytearray)) else memoryview(data).cast("B")
    start = 0
    ends = record_ends(kind, buf, 0, len(buf), source=source)
    for i, end in enumerate(ends):
        if end - start >= chunk_size or i == len(ends) - 1:
            yield Piece(buf, start, end, 0)
            start = end
