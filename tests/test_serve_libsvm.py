"""``fastjoin serve`` with libsvm bodies (``text/libsvm``, ``text/x-libsvm``, ``libsvm`` and no
Content-Type), through a real server process (tests/test_serve.py's ``server``): the bodies byte
for byte against xgboost's own ``Booster.predict`` on the ``DMatrix`` the container builds from
the same text (``reference/serving.md`` §2.1), formatted by the container's rules (§2.3–§2.4);
the errors and their statuses."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_serve import server

httpx = pytest.importorskip("httpx", reason="needs httpx (pip install -e '.[test]')")
pytest.importorskip("uvicorn", reason="needs uvicorn (pip install -e '.[serve]')")

pytestmark = pytest.mark.requires_xgboost

FEATURES = 4
# labels or none, 1-based indices in any order, absent ones, an explicit 0, a line without an
# entry inside (a row) and at the end (none), a comment, CRLF, a repeated index (summed)
BODY = b"".join(
    [
        b"1 1:0.5 2:-1.25 3:3 4:0.75\n",
        b"0 2:1.5 4:0\n",
        b"3:2.5 1:-1\r\n",
        b"\n",
        b"1 1:0.1 1:2 # a comment\n",
        b"0 1:-0.3 2:0.2\n",
        b"1\n",
    ]
)
LIBSVM_TYPES = ["text/libsvm", "text/x-libsvm", "libsvm", "TEXT/LIBSVM; charset=utf-8", None]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(7)
    X = rng.normal(size=(80, FEATURES)).astype(np.float32)
    X[rng.random(X.shape) < 0.2] = np.nan
    folder = tmp_path_factory.mktemp("libsvm-models")
    paths = {}
    for objective, y, extra in (
        ("binary:logistic", np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 2]) > 0, {}),
        (
            "multi:softprob",
            (np.nan_to_num(X[:, 1]) > 0).astype(int) + (np.nan_to_num(X[:, 3]) > 0.5),
            {"num_class": 3},
        ),
    ):
        params = {"objective": objective, "max_depth": 3, "eta": 0.5, **extra}
        booster = xgb.train(params, xgb.DMatrix(X, label=y.astype(float)), num_boost_round=4)
        paths[objective] = str(folder / (objective.replace(":", "_") + ".json"))
        booster.save_model(paths[objective])
    return paths


def _container_dmatrix(body: bytes):
    """The DMatrix the container's algorithm-mode server builds from a libsvm body (written here
    from §2.1's rules): a scipy CSR matrix of the ``index:value`` tokens of each line (split on
    spaces), 1-based indices shifted when none is 0."""
    import xgboost as xgb
    from scipy.sparse import csr_matrix

    rows, cols, values = [], [], []
    for r, line in enumerate(body.strip().decode().split("\n")):
        for token in line.split(" "):
            if ":" in token:
                rows.append(r)
                cols.append(int(token.split(":")[0]))
                values.append(token.split(":")[1])
    cols = np.array(cols) - (1 if min(cols) >= 1 else 0)
    return xgb.DMatrix(csr_matrix((np.array(values).astype(float), (np.array(rows), cols))))


def _expected(path: str, body: bytes) -> list:
    import xgboost as xgb

    preds = xgb.Booster(model_file=path).predict(_container_dmatrix(body), validate_features=False)
    return preds.astype(np.float32).tolist()


def _batch_text(rows: list) -> bytes:
    return "".join(f"{row}\n" for row in rows).encode()  # str of the float32 as a double, or a list


def _post(client, body: bytes, content_type, accept=None) -> httpx.Response:
    headers = {} if content_type is None else {"Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    return client.post("/invocations", content=body, headers=headers)


@pytest.fixture(scope="module")
def batch_client(models):
    with server("--model", models["binary:logistic"], env={"SAGEMAKER_BATCH": "true"}) as (_, url):
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client


@pytest.mark.parametrize("content_type", LIBSVM_TYPES)
def test_the_batch_body_for_every_libsvm_content_type(models, batch_client, content_type):
    want = _batch_text(_expected(models["binary:logistic"], BODY))
    assert want.count(b"\n") == 6  # the blank line inside is a row, the last line none
    answer = _post(batch_client, BODY, content_type)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content == want
    answer = _post(batch_client, BODY, content_type, "application/jsonlines")
    assert answer.status_code == 200, answer.text
    assert answer.content == want  # the same bytes for every Accept


def test_zero_based_indices_are_kept(models, batch_client):
    body = b"1 0:0.5 3:2\n0 1:-1 2:0.25\n"
    answer = _post(batch_client, body, "text/libsvm")
    assert answer.status_code == 200, answer.text
    assert answer.content == _batch_text(_expected(models["binary:logistic"], body))


def test_a_body_of_labels_only_is_415(batch_client):
    answer = _post(batch_client, b"1\n0\n", "text/libsvm")
    assert answer.status_code == 415  # the container's sparse matrix cannot be built
    assert "<body>:1:1: no index:value entry in the body" in answer.text


def test_multi_class_batch_and_real_time_bodies(models):
    path = models["multi:softprob"]
    rows = _expected(path, BODY)
    with server("--model", path, env={"SAGEMAKER_BATCH": "true"}) as (_, url):
        with httpx.Client(base_url=url, timeout=60) as client:
            answer = _post(client, BODY, "text/libsvm")
            assert answer.status_code == 200, answer.text
            assert answer.content == _batch_text(rows)  # list reprs
    with server("--model", path) as (_, url):
        with httpx.Client(base_url=url, timeout=60) as client:
            answer = _post(client, BODY, None, "application/json")
            assert answer.status_code == 200, answer.text
            assert answer.content == json.dumps({"predictions": [{"score": row} for row in rows]}).encode()
            answer = _post(client, BODY, "text/libsvm", "text/csv")
            assert answer.content == "".join(",".join(map(str, row)) + "\n" for row in rows).encode()


def test_selectable_output(models):
    path = models["binary:logistic"]
    rows = _expected(path, BODY)
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label,probability"}
    with server("--model", path, env=env) as (_, url):
        with httpx.Client(base_url=url, timeout=60) as client:
            answer = _post(client, BODY, "text/libsvm", "text/csv")
            assert answer.status_code == 200, answer.text
            want = "\n".join(f"{int(p > 0.5)},{p}" for p in rows)  # no newline after the last outside batch
            assert answer.text == want


def test_errors(models, batch_client):
    answer = _post(batch_client, b"1 1:0.5\n0 qid:2 1:1\n", "text/libsvm", "image/png")
    assert answer.status_code == 415  # the body first, as the container: then the Accept
    assert answer.text.startswith(
        "Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n"
        " <body>:2:3: feature index 'qid' is not a whole number"
    )
    answer = _post(batch_client, b"1 1:0.5\n", "text/libsvm", "image/png")
    assert answer.status_code == 406
    answer = _post(batch_client, b"1 1:0.5\n0 2:1 5:1\n", None)
    assert answer.status_code == 400
    assert answer.text.startswith(
        "Unable to evaluate payload provided: <body>:2:7: feature index 5 is beyond the model's 4 features"
    )
    answer = _post(batch_client, b"", "text/libsvm")
    assert answer.status_code == 204


def test_servers_with_filters_refuse_libsvm_bodies(models):
    with server("--model", models["binary:logistic"], "--input-filter", "$[1:]") as (_, url):
        with httpx.Client(base_url=url, timeout=60) as client:
            answer = _post(client, BODY, "text/x-libsvm")
            assert answer.status_code == 415
            assert "text/x-libsvm cannot be served with these options" in answer.text
