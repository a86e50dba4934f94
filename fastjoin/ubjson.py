"""A reader for the UBJSON that XGBoost writes (``save_raw("ubj")``).

Why UBJSON and not the JSON dump: its typed arrays carry every threshold and leaf value as
the float32 bits XGBoost holds, while decimal text would have to be re-rounded to float32
(through a double, which can round twice). Typed arrays come back as numpy arrays, without
a Python object per value.

Only what the format needs is read: objects, arrays (plain, counted, or typed and counted),
strings, integers, float32/float64, booleans and null. High-precision numbers ('H') and
no-ops ('N') are not written by XGBoost and are refused.
"""
from __future__ import annotations

import struct
from typing import Any

import numpy as np

__all__ = ["loads", "UBJSONError"]

# marker -> (struct format, size) for scalars, all big-endian
_SCALARS = {
    b"i": (">b", 1), b"U": (">B", 1), b"I": (">h", 2), b"l": (">i", 4), b"L": (">q", 8),
    b"d": (">f", 4), b"D": (">d", 8),
}
_ARRAY_DTYPES = {b"i": ">i1", b"U": ">u1", b"I": ">i2", b"l": ">i4", b"L": ">i8", b"d": ">f4",
                 b"D": ">f8"}


class UBJSONError(ValueError):
    """The bytes are not the UBJSON this reader understands."""


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        end = self.pos + n
        if end > len(self.data):
            raise UBJSONError(f"truncated at byte {self.pos}: needs {n} more bytes")
        view = self.data[self.pos:end]
        self.pos = end
        return view

    def marker(self) -> bytes:
        return bytes(self.take(1))

    def integer(self, marker: bytes) -> int:
        if marker not in _SCALARS or marker in (b"d", b"D"):
            raise UBJSONError(f"expected an integer marker at byte {self.pos - 1}, got {marker!r}")
        fmt, size = _SCALARS[marker]
        value = struct.unpack(fmt, self.take(size))[0]
        if value < 0:
            raise UBJSONError(f"negative length {value} at byte {self.pos - size}")
        return value

    def string(self) -> str:
        n = self.integer(self.marker())
        return bytes(self.take(n)).decode("utf-8")

    def value(self, marker: bytes) -> Any:
        if marker in _SCALARS:
            fmt, size = _SCALARS[marker]
            return struct.unpack(fmt, self.take(size))[0]
        if marker == b"S":
            return self.string()
        if marker == b"{":
            return self.obj()
        if marker == b"[":
            return self.array()
        if marker == b"T":
            return True
        if marker == b"F":
            return False
        if marker == b"Z":
            return None
        if marker == b"C":
            return bytes(self.take(1)).decode("latin-1")
        raise UBJSONError(f"unsupported marker {marker!r} at byte {self.pos - 1}")

    def container_header(self) -> tuple[bytes | None, int | None]:
        """The optional ``$type`` and ``#count`` after an opening bracket."""
        kind = count = None
        if self.data[self.pos:self.pos + 1] == b"$":
            self.pos += 1
            kind = self.marker()
            if self.data[self.pos:self.pos + 1] != b"#":
                raise UBJSONError(f"a typed container needs a count, at byte {self.pos}")
        if self.data[self.pos:self.pos + 1] == b"#":
            self.pos += 1
            count = self.integer(self.marker())
        return kind, count

    def array(self) -> Any:
        kind, count = self.container_header()
        if kind in _ARRAY_DTYPES:
            dtype = np.dtype(_ARRAY_DTYPES[kind])
            raw = self.take(count * dtype.itemsize)
            return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
        if kind is not None:
            return [self.value(kind) for _ in range(count)]
        if count is not None:
            return [self.value(self.marker()) for _ in range(count)]
        items = []
        while True:
            marker = self.marker()
            if marker == b"]":
                return items
            items.append(self.value(marker))

    def obj(self) -> dict:
        kind, count = self.container_header()
        if kind is not None:
            raise UBJSONError(f"typed objects are not supported (byte {self.pos})")
        out = {}
        if count is not None:
            for _ in range(count):
                key = self.string()
                out[key] = self.value(self.marker())
            return out
        while True:
            if self.data[self.pos:self.pos + 1] == b"}":
                self.pos += 1
                return out
            key = self.string()
            out[key] = self.value(self.marker())


def loads(data: bytes) -> Any:
    """Decode one UBJSON value; typed numeric arrays become native-endian numpy arrays."""
    reader = _Reader(data)
    result = reader.value(reader.marker())
    if reader.pos != len(reader.data):
        raise UBJSONError(f"{len(reader.data) - reader.pos} bytes after the value")
    return result
