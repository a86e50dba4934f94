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

from fastjoin.errors import plural

__all__ = ["loads", "UBJSONError"]

# marker byte -> struct for scalars, all big-endian
_SCALARS = {
    ord(k): struct.Struct(f)
    for k, f in (("i", ">b"), ("U", ">B"), ("I", ">h"), ("l", ">i"), ("L", ">q"), ("d", ">f"), ("D", ">d"))
}
_INTEGERS = {k: v for k, v in _SCALARS.items() if k not in (ord("d"), ord("D"))}
_ARRAY_DTYPES = {
    ord(k): np.dtype(v)
    for k, v in (
        ("i", ">i1"),
        ("U", ">u1"),
        ("I", ">i2"),
        ("l", ">i4"),
        ("L", ">i8"),
        ("d", ">f4"),
        ("D", ">f8"),
    )
}
_S, _OBJ, _ARR, _END_OBJ, _END_ARR = map(ord, "S{[}]")
_TYPE, _COUNT = ord("$"), ord("#")
_CONSTANTS = {ord("T"): True, ord("F"): False, ord("Z"): None}


class UBJSONError(ValueError):
    """The bytes are not the UBJSON this reader understands."""


class _Reader:
    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.pos = 0

    def need(self, n: int) -> int:
        """The position of the next ``n`` bytes, consumed."""
        at = self.pos
        if at + n > len(self.data):
            raise UBJSONError(f"truncated at byte {at}: needs {n} more bytes")
        self.pos = at + n
        return at

    def marker(self) -> int:
        return self.data[self.need(1)]

    def integer(self, marker: int) -> int:
        unpack = _INTEGERS.get(marker)
        if unpack is None:
            raise UBJSONError(f"expected an integer marker at byte {self.pos - 1}, got {chr(marker)!r}")
        value = unpack.unpack_from(self.data, self.need(unpack.size))[0]
        if value < 0:
            raise UBJSONError(f"negative length {value} at byte {self.pos - unpack.size}")
        return value

    def string(self) -> str:
        n = self.integer(self.marker())
        at = self.need(n)
        return self.data[at : at + n].decode("utf-8")

    def value(self, marker: int) -> Any:
        unpack = _SCALARS.get(marker)
        if unpack is not None:
            return unpack.unpack_from(self.data, self.need(unpack.size))[0]
        if marker == _S:
            return self.string()
        if marker == _OBJ:
            return self.obj()
        if marker == _ARR:
            return self.array()
        if marker in _CONSTANTS:
            return _CONSTANTS[marker]
        if marker == ord("C"):
            return chr(self.data[self.need(1)])
        raise UBJSONError(f"unsupported marker {chr(marker)!r} at byte {self.pos - 1}")

    def container_header(self) -> tuple[int | None, int | None]:
        """The optional ``$type`` and ``#count`` after an opening bracket."""
        kind = count = None
        data = self.data
        if self.pos < len(data) and data[self.pos] == _TYPE:
            self.pos += 1
            kind = self.marker()
            if self.pos >= len(data) or data[self.pos] != _COUNT:
                raise UBJSONError(f"a typed container needs a count, at byte {self.pos}")
        if self.pos < len(data) and data[self.pos] == _COUNT:
            self.pos += 1
            count = self.integer(self.marker())
        return kind, count

    def array(self) -> Any:
        kind, count = self.container_header()
        dtype = _ARRAY_DTYPES.get(kind)
        if dtype is not None:
            at = self.need(count * dtype.itemsize)
            return np.frombuffer(self.data, dtype, count, at).astype(dtype.newbyteorder("="))
        if kind is not None:
            return [self.value(kind) for _ in range(count)]
        if count is not None:
            return [self.value(self.marker()) for _ in range(count)]
        items = []
        while True:
            marker = self.marker()
            if marker == _END_ARR:
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
        data = self.data
        while True:
            if self.pos < len(data) and data[self.pos] == _END_OBJ:
                self.pos += 1
                return out
            key = self.string()
            out[key] = self.value(self.marker())


def loads(data: bytes) -> Any:
    """Decode one UBJSON value; typed numeric arrays become native-endian numpy arrays."""
    reader = _Reader(data)
    result = reader.value(reader.marker())
    if reader.pos != len(reader.data):
        raise UBJSONError(f"{plural(len(reader.data) - reader.pos, 'byte')} after the value")
    return result
