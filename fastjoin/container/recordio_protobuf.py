"""SageMaker's RecordIO-protobuf (``application/x-recordio-protobuf``) as the XGBoost container
reads and writes it: a ``Record`` message per RecordIO frame.

The schema, from SageMaker's "Common data formats" (``aialgs.data``, proto2)::

    Record   { map<string, Value> features = 1; map<string, Value> label = 2;
               optional string uid = 3; optional string metadata = 4;
               optional string configuration = 5; }
    Value    { oneof value { Float32Tensor float32_tensor = 2; Float64Tensor float64_tensor = 3;
                             Int32Tensor int32_tensor = 7; Bytes bytes = 9; } }
    *Tensor  { repeated <float|double|int32> values = 1 [packed]; repeated uint64 keys = 2 [packed];
               repeated uint64 shape = 3 [packed]; }

:func:`parse_records` decodes the messages as protobuf's own parser does (packed or not, unknown
fields and groups skipped, a repeated message field merged, a oneof's last member kept, a map's
last entry for a key kept); :func:`feature_matrix` then builds what the container's reader
(``recordio_protobuf.read_recordio_protobuf`` + ``DMatrix``) gives the model, as a dense float32
matrix with NaN where the container's matrix has no entry:

* a record without a ``values`` feature, or whose ``values`` is not a tensor, gives no row;
* a tensor without keys is a dense row of its values (any length; rows of different lengths are
  an error); with keys, a sparse row whose width is ``shape[0]`` (else the largest key + 1), an
  entry per key (keys and values of different lengths, a key past the width: errors);
* when any row is sparse, every row is: a dense row then keeps only its non-zero values (scipy
  stacks it as a sparse block) and all rows must have the same width; a repeated key in a row
  is its last non-NaN value when every row is sparse, the sum of its values otherwise (how the
  stacked matrix reaches XGBoost);
* float64 values are rounded to float32 as ``DMatrix`` stores them; NaN is missing; ``inf`` (or
  a float64 too large for float32) is an error, as XGBoost refuses it.

Errors are :class:`~fastjoin.errors.InputError` (the container answers 415: "Loading
recordio-protobuf data failed") located by the frame's byte offset in the body.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

import numpy as np

from fastjoin.errors import FeatureError, InputError, locate

__all__ = [
    "Tensor",
    "parse",
    "read_frames",
    "parse_records",
    "feature_matrix",
    "encode_record",
    "encode_records",
]

MAGIC = 0xCED7230A  # RecordIO's

_VARINT, _I64, _LEN, _SGROUP, _EGROUP, _I32 = 0, 1, 2, 3, 4, 5
_TENSOR_KINDS = {2: "float32", 3: "float64", 7: "int32"}  # Value's oneof members that are tensors


def read_frames(body: bytes, source: str = "<body>") -> list[tuple[int, bytes]]:
    """``(offset, payload)`` of each RecordIO frame, read as the container reads them: the magic
    checked, the whole second word taken as the length (a split record's flag bits make it
    too long: an error, where MXNet would join the parts), the data padded to 4 bytes; fewer
    than 8 bytes left at the end are ignored."""
    frames = []
    offset = 0
    while offset + 8 <= len(body):
        magic, length = struct.unpack_from("<II", body, offset)
        if magic != MAGIC:
            raise InputError(f"no RecordIO magic (0x{magic:08x})", locate(source, body, offset))
        if offset + 8 + (length + 3) // 4 * 4 > len(body):
            raise InputError(
                f"a RecordIO frame of {length} bytes runs past the body", locate(source, body, offset)
            )
        frames.append((offset, body[offset + 8 : offset + 8 + length]))
        offset += 8 + (length + 3) // 4 * 4
    return frames


def parse(body: bytes, n_features: int, source: str = "<body>") -> np.ndarray:
    """The float32 matrix ``(rows, n_features)`` the container's reader gives the model for a
    RecordIO-protobuf body, NaN where it has no entry (see the module's rules)."""
    frames = read_frames(body, source)
    records = parse_records(frames, body, source)
    return feature_matrix(records, [offset for offset, _ in frames], n_features, body, source)


class _WireError(ValueError):
    """Bytes that are not a protobuf message (a truncated field, an unknown wire type)."""


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift >= 70:
            raise _WireError("a varint runs past its message")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7


def _fields(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or start, end) for each field of the message in
    ``buf[pos:end]``: a varint's value is in the third item, a fixed or length-delimited field's
    span (a group's too: no field here is one) in the third and fourth."""
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 0 or tag > 0xFFFFFFFF:  # a tag is a uint32
            raise _WireError("a field number 0 or past 2**29")
        if wire == _VARINT:
            value, pos = _varint(buf, pos, end)
            yield number, wire, value, pos
        elif wire == _I64:
            if pos + 8 > end:
                raise _WireError("a 64-bit field runs past its message")
            yield number, wire, pos, pos + 8
            pos += 8
        elif wire == _I32:
            if pos + 4 > end:
                raise _WireError("a 32-bit field runs past its message")
            yield number, wire, pos, pos + 4
            pos += 4
        elif wire == _LEN:
            length, pos = _varint(buf, pos, end)
            if length > end - pos:
                raise _WireError("a length-delimited field runs past its message")
            yield number, wire, pos, pos + length
            pos += length
        elif wire == _SGROUP:  # a group (an unknown field here): its span, for callers to skip
            start, pos = pos, _skip_group(buf, pos, end, number)
            yield number, wire, start, pos
        else:  # an end-group without its start, or wire types 6 and 7
            raise _WireError(f"wire type {wire} where a field starts")


def _skip_group(buf: bytes, pos: int, end: int, number: int, depth: int = 0) -> int:
    if depth > 100:  # protobuf's recursion limit
        raise _WireError("groups nested too deep")
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        inner, wire = tag >> 3, tag & 7
        if tag > 0xFFFFFFFF:
            raise _WireError("a field number past 2**29")
        if wire == _EGROUP:
            if inner != number:
                raise _WireError("a group ends with another group's number")
            return pos
        if inner == 0:
            raise _WireError("a field number 0")
        if wire == _VARINT:
            pos = _varint(buf, pos, end)[1]
        elif wire in (_I64, _I32):
            pos += 8 if wire == _I64 else 4
            if pos > end:
                raise _WireError("a fixed field runs past its message")
        elif wire == _LEN:
            length, pos = _varint(buf, pos, end)
            if length > end - pos:
                raise _WireError("a length-delimited field runs past its message")
            pos += length
        elif wire == _SGROUP:
            pos = _skip_group(buf, pos, end, inner, depth + 1)
        else:
            raise _WireError(f"wire type {wire} where a field starts")
    raise _WireError("a group without its end")


@dataclass
class Tensor:
    """A ``Value`` holding a tensor: its kind (``float32``, ``float64``, ``int32``) and the
    repeated fields as protobuf's parser leaves them (None: the ``Value`` holds no tensor)."""

    kind: Optional[str]
    values: list = field(default_factory=list)
    keys: list = field(default_factory=list)
    shape: list = field(default_factory=list)


_FIXED = {"float32": ("<f", 4, _I32), "float64": ("<d", 8, _I64)}


def _repeated_uint64(buf: bytes, wire: int, a: int, b: int, out: list) -> None:
    if wire == _VARINT:
        out.append(a)
    elif wire == _LEN:  # packed
        pos = a
        while pos < b:
            value, pos = _varint(buf, pos, b)
            out.append(value)
    # another wire type: an unknown field to protobuf, skipped


def _merge_tensor(buf: bytes, start: int, end: int, tensor: Tensor) -> None:
    kind = tensor.kind
    for number, wire, a, b in _fields(buf, start, end):
        if number == 1:
            if kind == "int32":
                if wire == _VARINT:
                    tensor.values.append(_int32(a))
                elif wire == _LEN:
                    pos = a
                    while pos < b:
                        value, pos = _varint(buf, pos, b)
                        tensor.values.append(_int32(value))
            else:
                fmt, size, fixed_wire = _FIXED[kind]  # type: ignore[index]
                if wire == fixed_wire:
                    tensor.values.append(struct.unpack_from(fmt, buf, a)[0])
                elif wire == _LEN:
                    if (b - a) % size:
                        raise _WireError(f"packed {kind} values of {b - a} bytes")
                    tensor.values.extend(struct.unpack_from(f"<{(b - a) // size}{fmt[1]}", buf, a))
        elif number == 2:
            _repeated_uint64(buf, wire, a, b, tensor.keys)
        elif number == 3:
            _repeated_uint64(buf, wire, a, b, tensor.shape)


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _value(buf: bytes, parts: list[tuple[int, int]]) -> Tensor:
    """A ``Value`` from the spans of its occurrences (a message field seen again is merged);
    every member met is decoded, as protobuf's parser does, so a corrupt one fails the record
    even when a later member replaces it."""
    tensor = Tensor(None)
    member = None
    for start, end in parts:
        for number, wire, a, b in _fields(buf, start, end):
            if wire != _LEN or number not in (2, 3, 7, 9):
                continue  # an unknown field
            if number != member:  # another oneof member replaces the one held
                member, tensor = number, Tensor(_TENSOR_KINDS.get(number))
            if tensor.kind is not None:
                _merge_tensor(buf, a, b, tensor)
            else:  # Bytes: its fields are bytes and a string, only their framing to check
                for _ in _fields(buf, a, b):
                    pass
    return tensor


def _map_entry(buf: bytes, start: int, end: int) -> tuple[bytes, list[tuple[int, int]], bool]:
    """A map entry's key, its value's spans, and whether it holds any other field (protobuf
    then keeps the entry aside as an unknown field instead of putting it in the map)."""
    key = b""
    value: list[tuple[int, int]] = []
    unknown = False
    for number, wire, a, b in _fields(buf, start, end):
        if wire == _LEN and number == 1:
            key = buf[a:b]
        elif wire == _LEN and number == 2:
            value.append((a, b))
        else:
            unknown = True
    return key, value, unknown


def parse_record(payload: bytes) -> tuple[dict[bytes, Tensor], dict[bytes, Tensor]]:
    """A ``Record``'s ``features`` and ``label`` maps (keys as bytes; a key's last entry)."""
    maps: tuple[dict, dict] = ({}, {})
    for number, wire, a, b in _fields(payload, 0, len(payload)):
        if number in (1, 2) and wire == _LEN:
            key, parts, unknown = _map_entry(payload, a, b)
            tensor = _value(payload, parts)  # decoded (and checked) even when set aside
            if not unknown:
                maps[number - 1][key] = tensor
    return maps


def parse_records(payloads: Sequence[tuple[int, bytes]], body: bytes, source: str = "<body>") -> list:
    """Each ``(offset, payload)``'s ``features`` map, an error located at the frame."""
    out = []
    for offset, payload in payloads:
        try:
            out.append(parse_record(payload)[0])
        except _WireError as exc:
            raise InputError(
                f"the record is not a protobuf Record: {exc}", locate(source, body, offset)
            ) from None
    return out


def feature_matrix(
    records: Sequence[dict[bytes, Tensor]],
    offsets: Sequence[int],
    n_features: int,
    body: bytes,
    source: str = "<body>",
) -> np.ndarray:
    """The float32 matrix ``(rows, n_features)`` the container's reader gives the model for these
    records' ``features`` (see the module's rules), NaN where it has no entry."""
    rows: list[tuple[int, Tensor]] = []  # (offset, tensor) of the records that give a row
    for offset, features in zip(offsets, records):
        tensor = features.get(b"values")
        if tensor is not None and tensor.kind is not None:
            rows.append((offset, tensor))
    if not rows:
        raise InputError("no records found in the RecordIO-protobuf body", locate(source, body, 0))
    sparse = any(t.keys for _, t in rows)

    def fail(offset: int, why: str):
        return InputError(why, locate(source, body, offset))

    dtype = np.result_type(*(np.dtype(t.kind) for _, t in rows))
    for offset, t in rows:  # XGBoost refuses inf (also a float64 too large for float32)
        if np.isinf(_float32(t.values, dtype)).any():
            raise fail(offset, "inf, or a value too large for float32, in the values (XGBoost refuses it)")
    if not sparse:
        width = len(rows[0][1].values)
        for offset, t in rows:
            if len(t.values) != width:
                raise fail(offset, f"a row of {len(t.values)} values where the first has {width}")
        dense = np.array([t.values for _, t in rows], dtype=dtype).reshape(len(rows), width)
        return _fit(
            dense.astype(np.float32), n_features, offsets=[o for o, _ in rows], body=body, source=source
        )
    widths = []
    for offset, t in rows:
        if t.keys:
            if len(t.keys) != len(t.values):
                raise fail(offset, f"{len(t.keys)} keys for {len(t.values)} values")
            if any(key >= 1 << 63 for key in t.keys):
                raise fail(offset, "a negative key (a uint64 past int64)")
            width = int(t.shape[0]) if t.shape else max(t.keys) + 1
            if max(t.keys) >= width:
                raise fail(offset, f"key {max(t.keys)} past the row's width {width} (shape)")
        else:
            width = len(t.values)
        widths.append(width)
    if len(set(widths)) != 1:
        i = next(i for i, w in enumerate(widths) if w != widths[0])
        raise fail(rows[i][0], f"a sparse row {widths[i]} wide where the first is {widths[0]}")
    out = np.full((len(rows), widths[0]), np.nan, dtype=np.float32)
    summed = not all(t.keys for _, t in rows)  # scipy's stacking of mixed blocks sums duplicates
    if not summed:  # repeated keys stay entries: XGBoost refuses more than the matrix has cells
        entries = sum(int((~np.isnan(np.asarray(t.values, dtype=np.float64))).sum()) for _, t in rows)
        if entries > len(rows) * widths[0]:
            raise FeatureError(
                f"{entries} entries (repeated keys) in a {len(rows)} x {widths[0]} matrix: XGBoost "
                f"refuses more entries than cells",
                locate(source, body, rows[0][0]),
            )
    for i, (_, t) in enumerate(rows):
        values = np.asarray(t.values, dtype=dtype)
        if t.keys:
            keys = np.asarray(t.keys, dtype=np.int64)
            if summed:
                sums = np.zeros(widths[0], dtype=dtype)
                np.add.at(sums, keys, values)
                present = np.zeros(widths[0], dtype=bool)
                present[keys] = True
                total = _float32(sums[present], dtype)
                if np.isinf(total).any():
                    raise fail(rows[i][0], "repeated keys whose sum is too large for float32")
                out[i, present] = total
            else:  # XGBoost drops NaN entries, then a repeated key's last value stays
                values32 = _float32(values, dtype)
                kept = ~np.isnan(values32)
                keys, values32 = keys[kept][::-1], values32[kept][::-1]
                unique, first = np.unique(keys, return_index=True)
                out[i, unique] = values32[first]
        else:
            nonzero = values != 0  # a dense block becomes sparse: its zeros are dropped
            out[i, nonzero] = values[nonzero].astype(np.float32)
    return _fit(out, n_features, offsets=[o for o, _ in rows], body=body, source=source)


def _float32(values, dtype) -> np.ndarray:
    """Values rounded to float32 as ``DMatrix`` stores them (too large: inf, no warning)."""
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=dtype).astype(np.float32)


def _fit(matrix: np.ndarray, n_features: int, *, offsets, body: bytes, source: str) -> np.ndarray:
    """The matrix widened with missing values to the model's features; wider is a 400."""
    width = matrix.shape[1]
    if width > n_features:
        raise FeatureError(
            f"{width} features in the RecordIO-protobuf records, the model takes {n_features}",
            locate(source, body, offsets[0]),
        )
    if width == n_features:
        return np.ascontiguousarray(matrix)
    wide = np.full((matrix.shape[0], n_features), np.nan, dtype=np.float32)
    wide[:, :width] = matrix
    return wide


# ----------------------------------------------------------------------------- writing


def _key(number: int, wire: int) -> bytes:
    return _encode_varint(number << 3 | wire)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len_field(number: int, data: bytes) -> bytes:
    return _key(number, _LEN) + _encode_varint(len(data)) + data


def encode_record(label: Sequence[tuple[str, Sequence[float]]]) -> bytes:
    """A ``Record`` whose ``label`` map holds each ``(key, values)`` as a float32 tensor, in
    the order given (packed values, as protobuf writes them)."""
    out = bytearray()
    for key, values in label:
        packed = np.asarray(values, dtype="<f4").tobytes()
        tensor = _len_field(1, packed) if packed else b""
        value = _len_field(2, tensor)  # Value.float32_tensor
        out += _len_field(2, _len_field(1, key.encode()) + _len_field(2, value))
    return bytes(out)


def encode_records(rows: Sequence[Sequence[tuple[str, Sequence[float]]]]) -> bytes:
    """A RecordIO body of one :func:`encode_record` per row (each frame padded to 4 bytes)."""
    out = bytearray()
    for row in rows:
        payload = encode_record(row)
        out += struct.pack("<II", MAGIC, len(payload)) + payload + bytes(-len(payload) % 4)
    return bytes(out)
