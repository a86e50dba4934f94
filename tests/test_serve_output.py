"""``fastjoin serve``'s XGBoost container bodies beyond the batch body, through a real server
process (tests/test_serve.py's ``server``): the real-time bodies (no ``SAGEMAKER_BATCH``) and
selectable output (``SAGEMAKER_INFERENCE_OUTPUT``), byte for byte against what the container's
rules (``reference/serving.md`` §2.4–§2.5) give for xgboost's own predictions; and the
configurations refused at start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_serve import CSV, JSONL, server

httpx = pytest.importorskip("httpx", reason="needs httpx (pip install -e '.[test]')")
pytest.importorskip("uvicorn", reason="needs uvicorn (pip install -e '.[serve]')")

pytestmark = pytest.mark.requires_xgboost

N = 12


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny models (3 features) by objective, and a CSV body of N rows with an id first."""
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    folder = tmp_path_factory.mktemp("objectives")
    paths = {}
    for objective, y, extra in (
        ("binary:logistic", X[:, 0] + X[:, 2] > 0, {}),
        ("multi:softprob", (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5), {"num_class": 3}),
        ("rank:pairwise", X[:, 0] > 0, {}),
    ):
        params = {"objective": objective, "max_depth": 2, "eta": 0.5, **extra}
        booster = xgb.train(params, xgb.DMatrix(X, label=y.astype(float)), num_boost_round=3)
        paths[objective] = str(folder / (objective.replace(":", "_") + ".json"))
        booster.save_model(paths[objective])
    rows = X[:N].tolist()
    body = "".join(f"id{i}," + ",".join(repr(v) for v in row) + "\n" for i, row in enumerate(rows)).encode()
    return paths, body


def _preds(path: str, body: bytes) -> np.ndarray:
    """xgboost's own predictions for the body's features (after the id)."""
    import xgboost as xgb

    X = np.array([[float(v) for v in line.split(b",")[1:]] for line in body.splitlines()], dtype=np.float32)
    return xgb.Booster(model_file=path).inplace_predict(X)


def _post(url: str, body: bytes, accept: str, headers=CSV) -> httpx.Response:
    return httpx.post(url + "/invocations", content=body, headers=dict(headers, Accept=accept), timeout=60)


def test_real_time_bodies(models):
    paths, body = models
    model = paths["binary:logistic"]
    features = b"".join(line.split(b",", 1)[1] + b"\n" for line in body.splitlines())
    rows = _preds(model, body).tolist()
    with server("--model", model) as (_, url):
        answer = _post(url, features, "application/json")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.content == json.dumps({"predictions": [{"score": p} for p in rows]}).encode()
        answer = _post(url, features, "text/csv")
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        assert answer.content == "".join(f"{float(np.float32(p))!r}\n" for p in rows).encode()
        # the container answers 500 here (no JSON Lines encoder); fastjoin a score object a line
        answer = _post(url, features, "application/jsonlines")
        assert answer.headers["content-type"] == "application/jsonlines"
        assert answer.content == "".join(json.dumps({"score": p}) + "\n" for p in rows).encode()


def test_real_time_bodies_with_an_input_filter_for_csv_and_jsonlines(models):
    paths, body = models
    model = paths["multi:softprob"]
    rows = _preds(model, body).tolist()
    jsonl = b"".join(
        json.dumps(line.decode().split(",")[:1] + [float(v) for v in line.split(b",")[1:]]).encode() + b"\n"
        for line in body.splitlines()
    )
    with server("--model", model, "--input-filter", "$[1:]") as (_, url):
        for data, headers in ((body, CSV), (jsonl, JSONL)):
            answer = _post(url, data, "application/json", headers)
            assert answer.status_code == 200, answer.text
            assert answer.content == json.dumps({"predictions": [{"score": row} for row in rows]}).encode()
            # several outputs: comma-joined rows (the batch body has the list repr)
            answer = _post(url, data, "text/csv", headers)
            assert answer.content == "".join(",".join(map(str, row)) + "\n" for row in rows).encode()


def _selected(rows, keys):
    """serving.md §2.5 for multi:softprob, row by row (invalid keys nan, in the variable's order)."""
    valid = {"predicted_label", "labels", "probability", "probabilities", "raw_score", "raw_scores"}
    out = []
    for row in rows:
        entry: dict = {}
        for key in ("predicted_label", "labels", "probability", "probabilities", "raw_score", "raw_scores"):
            if key in keys:
                entry[key] = {
                    "predicted_label": int(np.argmax(row)),
                    "labels": [0, 1, 2],
                    "probability": max(row),
                    "probabilities": row,
                    "raw_score": max(row),
                    "raw_scores": row,
                }[key]
        entry.update((key, float("nan")) for key in keys if key not in valid)
        out.append(entry)
    return out


@pytest.mark.parametrize("batch", [False, True])
def test_selectable_output(models, batch):
    paths, body = models
    model = paths["multi:softprob"]
    rows = _preds(model, body).tolist()
    keys = ["probabilities", "predicted_label", "bogus"]
    entries = _selected(rows, keys)
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "Probabilities, predicted_label,bogus"}
    if batch:
        env["SAGEMAKER_BATCH"] = "true"
    with server("--model", model, "--input-filter", "$[1:]", env=env) as (_, url):
        answer = _post(url, body, "text/csv")
        assert answer.status_code == 200, answer.text
        lines = "\n".join(f'"{e["probabilities"]}",{e["predicted_label"]},nan' for e in entries)
        assert answer.content == (lines + ("\n" if batch else "")).encode()
        answer = _post(url, body, "application/jsonlines")
        assert answer.content == "".join(json.dumps(e) + "\n" for e in entries).encode()
        assert answer.content.startswith(b'{"predicted_label": ')  # code order, not the variable's
        answer = _post(url, body, "application/json")  # one document, no newline even in batch
        assert answer.content == json.dumps({"predictions": entries}).encode()
        # the batch body's other rules hold: empty 204, unsupported Accept 406
        assert _post(url, b"", "application/json").status_code == 204
        assert _post(url, body, "image/png").status_code == 406


def _start(*args, env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "SM_"))}
    return subprocess.run(
        [sys.executable, "-m", "fastjoin", "serve", "--host", "127.0.0.1", "--port", "0", *args],
        capture_output=True,
        text=True,
        env=dict(environ, **env),
        timeout=120,
    )


def test_selectable_output_that_cannot_be_served_is_refused_at_start_up(models):
    paths, _ = models
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "predicted_label"}
    refused = _start("--model", paths["rank:pairwise"], env=env)
    assert refused.returncode != 0 and "on http://" not in refused.stdout
    assert "Objective `rank:pairwise` unsupported for selectable inference predictions" in refused.stderr
    joined = _start("--model", paths["binary:logistic"], "--join-source", "Input", env=env)
    assert joined.returncode != 0 and "on http://" not in joined.stdout
    assert "cannot be combined with --join-source" in joined.stderr
