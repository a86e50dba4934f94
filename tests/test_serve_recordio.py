"""``fastjoin serve`` with RecordIO-protobuf bodies (``application/x-recordio-protobuf``,
``recordio-protobuf``) and Accept, through a real server process (tests/test_serve.py's
``server``): the answers against xgboost's own ``Booster.predict`` on the matrix the container
builds from the same records (tests/test_recordio_protobuf.py's ``container_matrix``), encoded
by the container's rules; the errors and their statuses."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
from test_recordio_protobuf import Record, container_matrix
from test_serve import server

from fastjoin.container.recordio_protobuf import MAGIC, read_frames

httpx = pytest.importorskip("httpx", reason="needs httpx (pip install -e '.[test]')")
pytest.importorskip("uvicorn", reason="needs uvicorn (pip install -e '.[serve]')")

pytestmark = pytest.mark.requires_xgboost

FEATURES = 4
RECORDIO = "application/x-recordio-protobuf"


def frame(payload: bytes) -> bytes:
    return struct.pack("<II", MAGIC, len(payload)) + payload + bytes(-len(payload) % 4)


def records() -> list[bytes]:
    """Dense rows, sparse rows (with and without shape, a repeated key), NaN, float64, int32,
    a record without ``values``."""
    out = []
    for kind, values, keys, shape in (
        ("float32_tensor", [0.5, -1.25, 3.0, 0.75], [], []),
        ("float32_tensor", [1.5, 0.0], [1, 3], [4]),
        ("float64_tensor", [2.5, -1.0, float("nan"), 0.25], [], []),
        ("int32_tensor", [1, -2], [0, 0], [4]),
        (None, [], [], []),
        ("float32_tensor", [0.1, 0.2, 0.3], [3, 2, 1], []),
    ):
        record = Record()
        if kind is None:
            record.features["other"].float32_tensor.values.append(1.0)
        else:
            t = getattr(record.features["values"], kind)
            t.values.extend(values)
            t.keys.extend(keys)
            t.shape.extend(shape)
        record.label["values"].float32_tensor.values.append(1.0)  # a label, ignored
        out.append(record.SerializeToString())
    return out


BODY = b"".join(frame(p) for p in records())


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(11)
    X = rng.normal(size=(120, FEATURES)).astype(np.float32)
    X[rng.random(X.shape) < 0.2] = np.nan
    y = np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 3]) > 0
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "eta": 0.5}, xgb.DMatrix(X, label=y.astype(float)), 6
    )
    path = str(tmp_path_factory.mktemp("recordio") / "model.json")
    booster.save_model(path)
    return path, booster


def expected_predictions(booster) -> np.ndarray:
    import xgboost as xgb

    return booster.predict(xgb.DMatrix(container_matrix(records())), validate_features=False)


def read_back(body: bytes) -> list[dict]:
    """Each frame's label map, by protobuf's parser."""
    out = []
    for _, payload in read_frames(body):
        record = Record.FromString(payload)
        out.append({k: list(v.float32_tensor.values) for k, v in record.label.items()})
    return out


@pytest.mark.parametrize("content_type", [RECORDIO, "recordio-protobuf", "Application/X-RecordIO-Protobuf"])
def test_batch_body_for_recordio_records(model, content_type):
    path, booster = model
    preds = expected_predictions(booster)
    with server("--model", path, env={"SAGEMAKER_BATCH": "true"}) as (_, url):
        for accept in ("text/csv", RECORDIO):
            answer = httpx.post(
                url + "/invocations", content=BODY, headers={"Content-Type": content_type, "Accept": accept}
            )
            assert answer.status_code == 200, answer.text
            assert answer.content == ("\n".join(map(str, preds.tolist())) + "\n").encode()  # §2.3
            assert answer.headers["content-type"].startswith(accept)


def test_real_time_and_selectable_bodies(model):
    path, booster = model
    preds = expected_predictions(booster)
    headers = {"Content-Type": RECORDIO}
    with server("--model", path) as (_, url):
        answer = httpx.post(
            url + "/invocations", content=BODY, headers={**headers, "Accept": "application/json"}
        )
        assert answer.content == json.dumps({"predictions": [{"score": p} for p in preds.tolist()]}).encode()
        answer = httpx.post(url + "/invocations", content=BODY, headers={**headers, "Accept": RECORDIO})
        assert answer.status_code == 200
        assert read_back(answer.content) == [{"score": [p]} for p in preds.tolist()]
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,probabilities,predicted_score"}
    with server("--model", path, env=env) as (_, url):
        answer = httpx.post(url + "/invocations", content=BODY, headers={**headers, "Accept": RECORDIO})
        assert answer.status_code == 200
        expected = [
            # predicted_score is not binary:logistic's: kept, with nan
            {
                "predicted_label": [float(p > 0.5)],
                "probabilities": [1.0 - p, p],
                "predicted_score": [math.nan],
            }
            for p in preds.tolist()
        ]
        got = read_back(answer.content)
        assert len(got) == len(expected)
        for row, want in zip(got, expected):
            assert row.keys() == want.keys()
            for key in want:
                assert (
                    np.array(row[key], dtype=np.float32).tobytes()
                    == np.array(want[key], dtype=np.float32).tobytes()
                )


@pytest.mark.parametrize(
    "body, phrase",
    [
        (b"\x00\x01\x02\x03\x04\x05\x06\x07", "no RecordIO magic"),
        (frame(records()[0])[:-4], "runs past the body"),
        (frame(b"\x0a\x05ab"), "not a protobuf Record"),
        (frame(records()[4]), "no records found"),
        (b"", None),  # 204
    ],
)
def test_bodies_the_container_cannot_load_are_415(model, body, phrase):
    path, _ = model
    with server("--model", path, env={"SAGEMAKER_BATCH": "true"}) as (_, url):
        answer = httpx.post(url + "/invocations", content=body, headers={"Content-Type": RECORDIO})
        if phrase is None:
            assert answer.status_code == 204
            return
        assert answer.status_code == 415, answer.text
        assert answer.text.startswith(
            "Loading recordio-protobuf data failed with Exception, please ensure data is in recordio-protobuf format:"
        )
        assert phrase in answer.text and "<body>:" in answer.text


def test_wider_than_the_model_is_400_and_filters_refuse_recordio(model):
    path, _ = model
    record = Record()
    record.features["values"].float32_tensor.values.extend([1.0] * (FEATURES + 2))
    with server("--model", path, env={"SAGEMAKER_BATCH": "true"}) as (_, url):
        answer = httpx.post(
            url + "/invocations",
            content=frame(record.SerializeToString()),
            headers={"Content-Type": RECORDIO},
        )
        assert answer.status_code == 400 and "6 features" in answer.text
    with server("--model", path, "--input-filter", "$[1:]") as (_, url):
        answer = httpx.post(url + "/invocations", content=BODY, headers={"Content-Type": RECORDIO})
        assert answer.status_code == 415 and "no Batch Transform records" in answer.text
