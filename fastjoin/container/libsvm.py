"""The SageMaker XGBoost container's libsvm request bodies, as a float32 feature matrix.

:func:`parse` reads a body the way the container's algorithm-mode server does
(``serve_utils.parse_content_data``: a ``scipy.sparse.csr_matrix`` made into a ``DMatrix``;
``reference/serving.md`` §2.1, the container at the commit it pins) and gives the dense matrix
that holds the same values, NaN where the sparse one has no entry, so fastjoin's predictor
(bit-identical to ``inplace_predict`` with NaN as missing) predicts what the container predicts:

* the body is stripped of ASCII whitespace and decoded as UTF-8; each ``\\n``-separated line is
  a row, split on single spaces (a tab is not a separator);
* a token holding ``:`` is ``index:value`` (the index read by Python's ``int``, the value by
  numpy's float parsing: ``nan``, ``1_0``, surrounding whitespace are accepted; a third ``:``
  part is ignored); every other token is skipped: the label (so a line without a label reads
  the same), a ``#`` comment word. ``qid:3`` is an index that is not a number: an error, as in
  the container;
* indices are 1-based, shifted to 0-based, when the smallest index in the whole body is ≥ 1,
  else taken as they are;
* **an absent index is missing** (NaN), an explicit ``0`` a value; a repeated index in a row is
  the sum of its values (the sparse matrix sums duplicates); ``nan`` is missing;
* columns beyond the body's largest index are missing too. (XGBoost 3.2 predicts otherwise
  for a body where every row has every index up to a largest one below the model's feature
  count: a narrower ``DMatrix`` without any missing value, whose predictions are neither the
  missing nor the zero reading; fastjoin's answer differs from the container's there only.)
* the rows are the lines up to the last one with an entry: lines without any entry after it
  give no row (the sparse matrix's shape), lines without an entry before it a row of missing
  values.

Errors carry fastjoin's location (``<body>:LINE:COLUMN``). Those the container answers 415
(``Loading libsvm data failed``) are :class:`~fastjoin.errors.InputError`: text that is not
UTF-8, an index or a value that does not parse, a negative index, ``inf`` or a value too large
for float32 (XGBoost refuses it), a body without any entry. An index beyond the model's features
is a :class:`~fastjoin.errors.FeatureError` (400: the container's prediction fails).
"""

from __future__ import annotations

import numpy as np

from fastjoin.errors import FeatureError, InputError, locate

__all__ = ["parse"]


def parse(body: bytes, n_features: int, source: str = "<body>") -> np.ndarray:
    """The float32 matrix ``(rows, n_features)`` holding what the container's ``DMatrix`` holds
    for ``body``, NaN where it has no entry (see the module's rules)."""
    start = len(body) - len(body.lstrip())  # where the stripped text starts in ``body``
    try:
        text = body.strip().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", locate(source, body, start + exc.start)) from None

    def where(char: int):
        return locate(source, body, start + len(text[:char].encode("utf-8")))

    rows: list[int] = []
    cols: list[int] = []
    texts: list[str] = []
    places: list[int] = []  # where each entry starts in ``text``
    line_at = 0
    for row, line in enumerate(text.split("\n")):
        at = line_at
        for token in line.split(" "):
            if ":" in token:
                index_text, value_text = token.split(":")[:2]
                try:
                    index = int(index_text)
                except ValueError:
                    raise InputError(
                        f"feature index {index_text!r} is not a whole number", where(at)
                    ) from None
                rows.append(row)
                cols.append(index)
                texts.append(value_text)
                places.append(at)
            at += len(token) + 1
        line_at += len(line) + 1
    if not cols:
        raise InputError("no index:value entry in the body", where(0))
    try:
        values = np.array(texts).astype(np.float64)
    except ValueError:
        for i, value_text in enumerate(texts):
            try:
                float(np.array(value_text).astype(np.float64))
            except ValueError:
                raise InputError(
                    f"the value {value_text!r} of feature {cols[i]} is not a number",
                    where(text.index(":", places[i]) + 1),
                ) from None
        raise
    shift = 1 if min(cols) >= 1 else 0
    at_col = np.array(cols, dtype=np.int64) - shift
    for i in np.flatnonzero(at_col < 0)[:1]:
        raise InputError(f"feature index {cols[i]} is negative", where(places[i]))
    for i in np.flatnonzero(at_col >= n_features)[:1]:
        based = "1-based" if shift else "0-based"
        raise FeatureError(
            f"feature index {cols[i]} is beyond the model's {n_features} features "
            f"(the body's indices are {based}: {n_features - 1 + shift} at most)",
            where(places[i]),
        )
    at_row = np.array(rows, dtype=np.int64)
    sums = np.zeros((at_row[-1] + 1, n_features), dtype=np.float64)
    np.add.at(sums, (at_row, at_col), values)
    present = np.zeros(sums.shape, dtype=bool)
    present[at_row, at_col] = True
    with np.errstate(over="ignore"):  # 1e40 is inf in float32: refused below, as XGBoost does
        matrix = np.where(present, sums, np.nan).astype(np.float32)
    for i in np.flatnonzero(np.isinf(matrix[at_row, at_col]))[:1]:
        raise InputError(
            f"feature {cols[i]} is inf or too large for float32 (XGBoost refuses it unless inf is missing)",
            where(places[i]),
        )
    return matrix
