"""fastjoin.container.recordio_protobuf against the real thing: protobuf's own parser (the
``Record`` schema from SageMaker's "Common data formats", built here as a descriptor) on random
and mangled messages, and the container's reading (``read_recordio_protobuf``'s rules: scipy
rows stacked, then ``xgboost.DMatrix`` and ``Booster.predict``) on random records, prediction for
prediction."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from fastjoin.container import recordio_protobuf as rp
from fastjoin.errors import FeatureError, InputError

protobuf = pytest.importorskip("google.protobuf", reason="needs protobuf (pip install -e '.[test]')")


def _record_class():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name="fastjoin_test_record.proto", package="aialgs.data", syntax="proto2"
    )

    def tensor(name, value_type):
        m = fdp.message_type.add(name=name)
        for number, field_name, kind in (
            (1, "values", value_type),
            (2, "keys", F.TYPE_UINT64),
            (3, "shape", F.TYPE_UINT64),
        ):
            f = m.field.add(name=field_name, number=number, type=kind, label=F.LABEL_REPEATED)
            f.options.packed = True

    tensor("Float32Tensor", F.TYPE_FLOAT)
    tensor("Float64Tensor", F.TYPE_DOUBLE)
    tensor("Int32Tensor", F.TYPE_INT32)
    b = fdp.message_type.add(name="Bytes")
    b.field.add(name="value", number=1, type=F.TYPE_BYTES, label=F.LABEL_REPEATED)
    b.field.add(name="content_type", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    v = fdp.message_type.add(name="Value")
    v.oneof_decl.add(name="value")
    for number, name, kind in (
        (2, "float32_tensor", "Float32Tensor"),
        (3, "float64_tensor", "Float64Tensor"),
        (7, "int32_tensor", "Int32Tensor"),
        (9, "bytes", "Bytes"),
    ):
        v.field.add(
            name=name,
            number=number,
            type=F.TYPE_MESSAGE,
            type_name=f".aialgs.data.{kind}",
            label=F.LABEL_OPTIONAL,
            oneof_index=0,
        )
    r = fdp.message_type.add(name="Record")
    for number, name in ((1, "features"), (2, "label")):
        entry = r.nested_type.add(name=f"{name.capitalize()}Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
        entry.field.add(
            name="value",
            number=2,
            type=F.TYPE_MESSAGE,
            type_name=".aialgs.data.Value",
            label=F.LABEL_OPTIONAL,
        )
        r.field.add(
            name=name,
            number=number,
            type=F.TYPE_MESSAGE,
            label=F.LABEL_REPEATED,
            type_name=f".aialgs.data.Record.{name.capitalize()}Entry",
        )
    for number, name in ((3, "uid"), (4, "metadata"), (5, "configuration")):
        r.field.add(name=name, number=number, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("aialgs.data.Record"))


Record = _record_class()
KINDS = {"float32_tensor": "float32", "float64_tensor": "float64", "int32_tensor": "int32"}


def _bits(values, kind):
    """Values comparable bit for bit (NaNs with their payloads)."""
    if kind == "int32":
        return list(values)
    fmt = "<f" if kind == "float32" else "<d"
    return [struct.pack(fmt, v) for v in values]


def theirs(payload: bytes):
    """protobuf's reading of the ``values`` feature (all the container looks up; other keys may
    not even be UTF-8, which proto2 leaves unchecked until a key is read), in fastjoin's shape."""
    record = Record.FromString(payload)
    if "values" not in record.features:
        return None
    value = record.features["values"]
    member = value.WhichOneof("value")
    if member not in KINDS:
        return (None, [], [], [])
    t = getattr(value, member)
    return (KINDS[member], _bits(t.values, KINDS[member]), list(t.keys), list(t.shape))


def ours(payload: bytes):
    features, _ = rp.parse_record(payload)
    t = features.get(b"values")
    if t is None:
        return None
    return (t.kind, _bits(t.values, t.kind) if t.kind else [], t.keys, t.shape)


# ------------------------------------------------------------------ random Records

floats = st.floats(width=32, allow_nan=True, allow_infinity=True)
keys = st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 8), max_size=6)


@st.composite
def values(draw):
    kind = draw(st.sampled_from(["float32_tensor", "float64_tensor", "int32_tensor", "bytes", None]))
    return (
        kind,
        (
            draw(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=6))
            if kind == "int32_tensor"
            else draw(st.lists(st.floats(allow_nan=True) if kind == "float64_tensor" else floats, max_size=6))
        ),
        draw(keys),
        draw(st.lists(st.integers(0, 2**64 - 1), max_size=3)),
    )


def build(features: dict) -> bytes:
    record = Record()
    for key, (kind, vals, ks, shape) in features.items():
        value = record.features[key]
        if kind == "bytes":
            value.bytes.value.append(b"\x00\xff")
        elif kind is not None:
            t = getattr(value, kind)
            t.values.extend(vals)
            t.keys.extend(ks)
            t.shape.extend(shape)
    record.uid = "id"
    return record.SerializeToString()


record_maps = st.dictionaries(st.sampled_from(["values", "other", ""]), values(), max_size=3)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(record_maps, st.lists(record_maps, max_size=2))
def test_records_read_as_protobuf_reads_them(features, more):
    # concatenated messages merge: repeated fields append, a map's later entry for a key wins
    payload = build(features) + b"".join(build(m) for m in more)
    assert ours(payload) == theirs(payload)


def _unpacked_float(number, value):  # a repeated float written one field at a time (legal)
    return bytes([number << 3 | 5]) + struct.pack("<f", value)


@example(b"\x0a\x0a\x0a\x06values\x12\x00")  # a Value without a member
@settings(max_examples=500)
@given(st.binary(max_size=64))
def test_any_bytes_fail_or_read_as_protobuf_reads_them(payload):
    try:
        expected = theirs(payload)
    except Exception:  # DecodeError: fastjoin must refuse them too
        with pytest.raises(rp._WireError):
            ours(payload)
        return
    assert ours(payload) == expected


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(record_maps, st.data())
def test_mangled_records_fail_or_read_as_protobuf_reads_them(features, data):
    payload = bytearray(build(features))
    for _ in range(data.draw(st.integers(1, 3))):
        if not payload:
            break
        at = data.draw(st.integers(0, len(payload) - 1))
        payload[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(payload)))
    payload = bytes(payload[:cut])
    try:
        expected = theirs(payload)
    except Exception:
        with pytest.raises(rp._WireError):
            ours(payload)
        return
    assert ours(payload) == expected


@pytest.mark.parametrize("extra", [b"", b"\x33\x08\x01\x34", b"\x20\x01", b"\x08\x01"])
def test_unpacked_values_unknown_fields_and_groups(extra):
    """Unknown fields inside a tensor are skipped; a map entry holding one (a group, field 4, a
    key written as a varint) is kept aside by protobuf, out of the map."""
    tensor = _unpacked_float(1, 1.5) + _unpacked_float(1, -2.0) + b"\x20\x07"  # unknown field 4
    value = b"\x12" + bytes([len(tensor)]) + tensor
    entry = b"\x0a\x06values" + b"\x12" + bytes([len(value)]) + value + extra
    payload = b"\x0a" + bytes([len(entry)]) + entry + b"\x33\x08\x01\x34"  # a group in the Record
    assert ours(payload) == theirs(payload)
    assert (ours(payload) is not None) == (extra == b"")


# ------------------------------------------------------------------ the container's matrix

N_FEATURES = 4


@pytest.fixture(scope="module")
def booster():
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, N_FEATURES)).astype(np.float32)
    X[rng.random(X.shape) < 0.2] = np.nan
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) > 0).astype(float)
    return xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(X, label=y), 8)


def container_matrix(payloads):
    """The container's reading, from its rules (reference/serving.md; read_recordio_protobuf):
    protobuf's Record, scipy rows stacked: what it hands ``xgboost.DMatrix``."""
    import scipy.sparse

    rows, sparse = [], False
    for payload in payloads:
        record = Record.FromString(payload)
        if "values" not in record.features:
            continue
        value = record.features["values"]
        member = value.WhichOneof("value")
        if member not in KINDS:
            continue
        t = getattr(value, member)
        vals = np.array(t.values, dtype=KINDS[member])
        if t.keys:
            sparse = True
            ks = np.array(t.keys, dtype=np.uint64)
            ncols = int(t.shape[0]) if t.shape else int(ks.max()) + 1
            rows.append(scipy.sparse.csr_matrix((vals, ks.astype(np.int64), [0, len(ks)]), shape=(1, ncols)))
        else:
            rows.append(vals.reshape(1, -1))
    if not rows:
        raise ValueError("No records found")
    return scipy.sparse.vstack(rows).tocsr() if sparse else np.vstack(rows)


def xgboost_reads_stale_values(X) -> bool:
    """A sparse matrix with as many (non-NaN) entries as cells that is narrower than the model
    or repeats a column in a row: XGBoost takes it for a dense one and predicts from values it
    never set (the README's "where fastjoin answers differently"); fastjoin reads the entries."""
    if isinstance(X, np.ndarray):
        return False
    entries = int(np.count_nonzero(~np.isnan(X.data)))
    repeated = any(len(set(X.indices[a:b])) < b - a for a, b in zip(X.indptr[:-1], X.indptr[1:]))
    return entries == X.shape[0] * X.shape[1] and (X.shape[1] < N_FEATURES or repeated)


@st.composite
def matrix_records(draw):
    """Records as users send them, and the corners: dense rows of the model's width (a narrower
    dense DMatrix is XGBoost's own quirk, see the README), sparse rows with or without shape,
    repeated keys, NaN, zeros, float64 and int32 values, records without ``values``."""
    out = []
    for _ in range(draw(st.integers(1, 5))):
        record = Record()
        kind = draw(st.sampled_from(list(KINDS)))
        if draw(st.integers(0, 9)) == 0:
            record.features["other"].float32_tensor.values.append(1.0)
            out.append(record.SerializeToString())
            continue
        t = getattr(record.features["values"], kind)
        number = (
            st.integers(-5, 5)
            if kind == "int32_tensor"
            else st.sampled_from([0.0, 1.5, -0.25, math.nan, 3.0, -1e-3, 2.5e-8])
        )
        if draw(st.booleans()):  # dense
            t.values.extend(draw(st.lists(number, min_size=N_FEATURES, max_size=N_FEATURES)))
        else:
            ks = draw(st.lists(st.integers(0, N_FEATURES - 1), min_size=1, max_size=6))
            t.keys.extend(ks)
            t.values.extend(draw(st.lists(number, min_size=len(ks), max_size=len(ks))))
            if draw(st.booleans()):
                t.shape.append(N_FEATURES)
        out.append(record.SerializeToString())
    return out


def our_predictions(booster, payloads):
    features = [rp.parse_record(p)[0] for p in payloads]
    offsets = list(range(len(payloads)))
    X = rp.feature_matrix(features, offsets, N_FEATURES, b"x" * len(payloads))
    return booster.inplace_predict(X, missing=np.nan)


@pytest.mark.requires_xgboost
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads=matrix_records())
def test_predictions_are_the_containers(booster, payloads):
    import xgboost as xgb

    try:
        X = container_matrix(payloads)
        assume(not xgboost_reads_stale_values(X))
        expected = booster.predict(xgb.DMatrix(X), validate_features=False)
    except ValueError:  # scipy's, numpy's or xgboost's (XGBoostError is one)
        with pytest.raises((InputError, FeatureError)):
            our_predictions(booster, payloads)
        return
    got = our_predictions(booster, payloads)
    assert got.dtype == np.float32 and got.tobytes() == np.asarray(expected, dtype=np.float32).tobytes()


def test_wider_than_the_model_is_a_feature_error():
    record = Record()
    record.features["values"].float32_tensor.values.extend([1.0] * (N_FEATURES + 1))
    with pytest.raises(FeatureError, match="5 features"):
        rp.feature_matrix([rp.parse_record(record.SerializeToString())[0]], [0], N_FEATURES, b"x")


def test_no_row_and_inf_are_input_errors():
    record = Record()
    record.features["other"].float32_tensor.values.append(1.0)
    with pytest.raises(InputError, match="no records"):
        rp.feature_matrix([rp.parse_record(record.SerializeToString())[0]], [0], N_FEATURES, b"x")
    record = Record()
    record.features["values"].float64_tensor.values.extend([1e300, 0, 0, 0])
    with pytest.raises(InputError, match="too large for float32"):
        rp.feature_matrix([rp.parse_record(record.SerializeToString())[0]], [0], N_FEATURES, b"x")


def test_encoded_records_read_back_with_protobuf():
    payload = rp.encode_record([("predicted_label", [1.0]), ("probabilities", [0.25, 0.75])])
    record = Record.FromString(payload)
    assert sorted(record.label) == ["predicted_label", "probabilities"]
    assert list(record.label["probabilities"].float32_tensor.values) == [0.25, 0.75]
    assert list(record.label["predicted_label"].float32_tensor.values) == [1.0]
