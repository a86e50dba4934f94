"""The SageMaker XGBoost container's lenient reading of ``text/csv`` request bodies.

:func:`parse` reads a body the way the container's algorithm-mode server does
(``encoder.csv_to_dmatrix``; ``reference/serving.md`` §2.1) and gives the float32 matrix its
``DMatrix`` holds, widened with missing values (NaN) to the model's feature count:

* the body is stripped of ASCII whitespace and decoded as UTF-8; the delimiter is what
  ``csv.Sniffer`` finds in the first 512 characters of the first line, ``,`` when that is a
  letter or a digit (so ``;``, tab and space separated bodies are read);
* lines are split on ``\\n``, then on the delimiter, with no quote handling; an empty field is
  missing; each field is parsed by numpy's float parsing and rounded to float32;
* every row has the same number of fields, at most the model's features; features after a
  row's last field are missing. That is what XGBoost (3.2, checked) predicts for a ``DMatrix``
  narrower than the model when it holds a missing value; for one without any missing value
  its predictions are neither the missing nor the zero reading (the dense path reads past the
  row), so there fastjoin's answer differs from the container's.

It returns None for a body the container cannot load or predict either (a sniffer that finds
no delimiter, ragged rows, text, ``inf`` or a value too large for float32, too many fields):
fastjoin serve uses it only where its own CSV reader refuses a body, and then keeps its own
located error for those.
"""

from __future__ import annotations

import csv
from typing import Optional

import numpy as np

__all__ = ["parse"]


def parse(body: bytes, n_features: int) -> Optional[np.ndarray]:
    """The matrix ``(rows, n_features)`` the container predicts for ``body``, or None."""
    try:
        text = body.strip().decode("utf-8")
        delimiter = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
        if delimiter.isalnum():
            delimiter = ","
        fields = [
            ["nan" if field == "" else field for field in line.split(delimiter)] for line in text.split("\n")
        ]
        values = np.array(fields).astype(np.float64)
    except (UnicodeDecodeError, csv.Error, ValueError):
        return None
    if values.ndim != 2 or values.shape[1] > n_features:
        return None
    with np.errstate(over="ignore"):
        matrix = values.astype(np.float32)
    if np.isinf(matrix).any():  # XGBoost refuses inf unless it is the missing value
        return None
    if matrix.shape[1] == n_features:
        return matrix
    wide = np.full((matrix.shape[0], n_features), np.nan, dtype=np.float32)
    wide[:, : matrix.shape[1]] = matrix
    return wide
