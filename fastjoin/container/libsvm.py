"""The SageMaker XGBoost container's libsvm request bodies, as a float32 feature matrix.

:func:`parse` reads a body the way the container's ``libsvm_to_dmatrix`` does
(``reference/serving.md`` §2.1, the container at the version it pins) and gives the matrix
its ``DMatrix`` feeds the model, so fastjoin's predictor (bit-identical to ``inplace_predict``
with NaN as missing) predicts what the container predicts:

* the body is UTF-8 text, stripped; every ``\\n``-separated line is a row (a blank line inside
  the body is a row with no entries); a line is split on whitespace;
* a token holding ``:`` is ``index:value`` (split at the first ``:``; the index read by Python's
  ``int``, the value by ``float``, then rounded to float32); every other token is skipped: the
  label (so a line without a label is read the same), a ``# comment`` word. A ``qid:3`` token is
  an index that is not a number: an error, as in the container;
* indices are 1-based, shifted to 0-based, when the smallest index in the whole body is ≥ 1,
  else taken as 0-based; a repeated index in a row keeps its last value;
* **an absent index is 0.0, not missing**: the container fills a dense ``np.zeros`` matrix as
  wide as the largest index and builds the ``DMatrix`` from it. Only the columns beyond the
  largest index in the body (up to the model's feature count) are missing (NaN), as XGBoost
  treats the features of a matrix narrower than the model. ``nan`` as a value is missing;
* a body with no ``index:value`` token at all (labels only) has no rows: no predictions.

Errors carry fastjoin's location (``<body>:LINE:COLUMN``): text that is not UTF-8, an index or
a value that does not parse (:class:`~fastjoin.errors.InputError`, a 415: the container's
``Loading libsvm data failed`` too); an index beyond the model's features or a negative one
(:class:`~fastjoin.errors.FeatureError`, a 400: the container fails the prediction for the
first, and wraps the second around numpy's negative indexing, writing the last columns).
"""

from __future__ import annotations

import re

import numpy as np

from fastjoin.errors import FeatureError, InputError, locate

__all__ = ["parse"]

_TOKEN = re.compile(r"\S+")  # str.split()'s whitespace: both are Py_UNICODE_ISSPACE


def parse(body: bytes, n_features: int, source: str = "<body>") -> np.ndarray:
    """The float32 matrix ``(rows, n_features)`` the container's ``DMatrix`` holds for
    ``body`` (see the module's rules)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", locate(source, body, exc.start)) from None

    def where(char: int):
        return locate(source, body, len(text[:char].encode("utf-8")))

    stripped = text.strip()
    start = len(text) - len(text.lstrip())  # where ``stripped`` starts in ``text``
    rows: list[dict[int, float]] = []
    places: list[dict[int, int]] = []  # each entry's place, for an index beyond the model
    for line in stripped.split("\n"):
        row: dict[int, float] = {}
        place: dict[int, int] = {}
        for match in _TOKEN.finditer(line):
            token = match.group()
            if ":" not in token:
                continue
            at = start + match.start()
            index_text, value_text = token.split(":", 1)
            try:
                index = int(index_text)
            except ValueError:
                raise InputError(f"feature index {index_text!r} is not a whole number", where(at)) from None
            try:
                value = float(value_text)
            except ValueError:
                raise InputError(
                    f"the value {value_text!r} of feature {index_text} is not a number",
                    where(at + len(index_text) + 1),
                ) from None
            if index < 0:
                raise FeatureError(f"feature index {index} is negative", where(at))
            row[index] = value
            place[index] = at
        rows.append(row)
        places.append(place)
        start += len(line) + 1

    present = [index for row in rows for index in row]
    if not present:
        return np.empty((0, n_features), dtype=np.float32)
    shift = 1 if min(present) >= 1 else 0
    width = max(present) - shift + 1
    if width > n_features:
        first = min(at for place in places for index, at in place.items() if index - shift >= n_features)
        index = next(i for place in places for i, at in place.items() if at == first)
        based = "1-based" if shift else "0-based"
        raise FeatureError(
            f"feature index {index} is beyond the model's {n_features} features "
            f"(the body's indices are {based}: {n_features - 1 + shift} at most)",
            where(first),
        )
    values = np.full((len(rows), n_features), np.nan, dtype=np.float64)
    values[:, :width] = 0.0
    for r, row in enumerate(rows):
        for index, value in row.items():
            values[r, index - shift] = value
    with np.errstate(over="ignore"):  # 1e40 is inf in float32, as in the DMatrix
        return values.astype(np.float32)
