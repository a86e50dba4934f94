"""The serving stack the SageMaker XGBoost container runs, as a peer for bench_serve.py: a Flask
app on gunicorn with gevent workers (``gunicorn -k gevent -w N peer_container:app``), one
prediction thread per worker, written from ``reference/serving.md`` §1.6–§2.3 (not the
container's code): the model loaded on the first request after the worker starts; a CSV body
stripped, its delimiter sniffed from the first line, split on newlines and the delimiter,
``float()`` per field (an empty field is NaN), a ``DMatrix`` and ``Booster.predict``; the batch
body ``"\\n".join(map(str, preds.tolist())) + "\\n"`` (``SAGEMAKER_BATCH`` set). The container
also puts nginx in front; this peer is gunicorn alone, which favours it.

``PEER_MODEL``: the model file.
"""

from __future__ import annotations

import csv
import os

import numpy as np
import xgboost as xgb
from flask import Flask, Response, request

app = Flask(__name__)
_booster = None


def booster() -> xgb.Booster:
    global _booster
    if _booster is None:  # after the worker exists, as the container (no --preload)
        b = xgb.Booster()
        b.load_model(os.environ["PEER_MODEL"])
        b.set_param("nthread", 1)
        _booster = b
    return _booster


@app.route("/ping")
def ping() -> Response:
    booster()
    return Response(status=200)


def _delimiter(first_line: str) -> str:
    try:
        delimiter = csv.Sniffer().sniff(first_line[:512]).delimiter
    except csv.Error:
        return ","
    return "," if delimiter.isalnum() else delimiter


@app.route("/invocations", methods=["POST"])
def invocations() -> Response:
    data = request.get_data()
    if not data:
        return Response(status=204)
    if (request.content_type or "").split(";")[0].strip().lower() not in ("text/csv", "csv"):
        return Response(f"{request.content_type} is not an accepted ContentType", status=415)
    try:
        text = data.decode("utf-8").strip()
        delimiter = _delimiter(text.split("\n", 1)[0])
        rows = [[float(v) if v else np.nan for v in line.split(delimiter)] for line in text.split("\n")]
        matrix = xgb.DMatrix(np.array(rows))
    except Exception as exc:
        return Response(
            f"Loading csv data failed with Exception, please ensure data is in csv format:\n {exc}",
            status=415,
        )
    preds = booster().predict(matrix, validate_features=False)
    return Response("\n".join(map(str, preds.tolist())) + "\n", mimetype="text/csv")
