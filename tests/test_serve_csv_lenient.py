"""``fastjoin serve`` without an input filter reads the CSV bodies its own reader refuses but the
XGBoost container reads (``reference/serving.md`` §2.1: a sniffed delimiter, fewer fields than
the model's features, empty fields missing): byte for byte against xgboost's ``Booster.predict``
on the ``DMatrix`` the container builds; bodies the container refuses too keep fastjoin's
located error. Through a real server process (tests/test_serve.py's ``server``)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from test_serve import CSV, server
from test_serve_libsvm import models  # noqa: F401  (the fixture: 4-feature models)

httpx = pytest.importorskip("httpx", reason="needs httpx (pip install -e '.[test]')")
pytest.importorskip("uvicorn", reason="needs uvicorn (pip install -e '.[serve]')")

pytestmark = pytest.mark.requires_xgboost


def _container_preds(path: str, body: bytes) -> list:
    """xgboost's predictions on the DMatrix the container builds from a CSV body (written here
    from §2.1's rules)."""
    import xgboost as xgb

    text = body.strip().decode()
    delimiter = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
    delimiter = "," if delimiter.isalnum() else delimiter
    rows = [[field or "nan" for field in line.split(delimiter)] for line in text.split("\n")]
    dmatrix = xgb.DMatrix(np.array(rows).astype(float))
    return xgb.Booster(model_file=path).predict(dmatrix, validate_features=False).tolist()


@pytest.fixture(scope="module")
def batch_client(models):  # noqa: F811
    with server("--model", models["binary:logistic"], env={"SAGEMAKER_BATCH": "true"}) as (_, url):
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client


@pytest.mark.parametrize(
    "body",
    [
        b"0.5;-1.25;3;0.75\n1.5;0.25;-2;0\n",  # semicolons
        b"0.5\t-1.25\t3\t0.75\n1.5\t0.25\t-2\t0\n",  # tabs
        b"0.5 -1.25 3 0.75\n1.5 0.25 -2 0\n",  # spaces
        # fewer fields than features: the rest missing (with an empty field: XGBoost 3.2
        # predicts a narrower DMatrix without any missing value wrongly, see the module)
        b"0.5,-1.25\n,0.25\n",
        b"0.5;;3\n;0.25;-2\n",  # empty fields missing, and fewer fields
    ],
)
def test_bodies_the_container_reads(models, batch_client, body):  # noqa: F811
    want = "".join(f"{p}\n" for p in _container_preds(models["binary:logistic"], body)).encode()
    answer = batch_client.post("/invocations", content=body, headers=CSV)
    assert answer.status_code == 200, answer.text
    assert answer.content == want


def test_real_time_body(models):  # noqa: F811
    body = b"0.5;-1.25;3\n1.5;;-2\n"
    rows = _container_preds(models["multi:softprob"], body)
    with server("--model", models["multi:softprob"]) as (_, url):
        answer = httpx.post(url + "/invocations", content=body, headers=dict(CSV, Accept="application/json"))
        assert answer.status_code == 200, answer.text
        assert answer.content == json.dumps({"predictions": [{"score": row} for row in rows]}).encode()


@pytest.mark.parametrize(
    "body, status",
    [
        (b"0.5;1\n0.5;1;2\n", 400),  # ragged rows: the container's numpy error too
        (b"0.5,1,2,3,4\n", 400),  # more fields than features
        (b"0.5,abc\n", 400),  # text
        (b"0.5,1e40\n", 400),  # too large for float32: XGBoost refuses it
    ],
)
def test_bodies_the_container_refuses_too_keep_fastjoins_error(batch_client, body, status):
    answer = batch_client.post("/invocations", content=body, headers=CSV)
    assert answer.status_code == status
    assert "<body>:1:" in answer.text or "<body>:2:" in answer.text


def test_not_with_an_input_filter(models):  # noqa: F811
    # with an input filter fastjoin's reader is the only one: fewer fields stay a 400
    with server("--model", models["binary:logistic"], "--input-filter", "$[1:]") as (_, url):
        answer = httpx.post(url + "/invocations", content=b"id,0.5,1\n", headers=CSV)
        assert answer.status_code == 400
