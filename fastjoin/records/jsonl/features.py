"""The feature matrix of a batch of JSON records, and the part of each record kept for the output.

For an in-process model a chunk runs in batches of ``BATCH`` records (one predict call each),
parsed ``GROUP`` records at a time: a group's features are taken and its records cut down to
what the output needs (``$['id',…]`` keeps the ids, as columns) before the next group is
parsed, so the parsed arrays die young and the cyclic garbage collector never walks thousands
of live records. Features come from the input filter's result (an array of numbers, an object
whose values are taken in filter order, or one number; ``null`` is missing) and become a
float32 matrix in one ``numpy.array`` call per group when the rows are plain numbers; anything
else takes an exact per-row path that names the record and the value.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from fastjoin.errors import FeatureError, plural
from fastjoin.jsonpath import kind_of
from fastjoin.records.base import Chunk, check_first_record
from fastjoin.records.jsonl.numbers import at_risk, risky_column
from fastjoin.records.jsonl.parse import Kept, Records, parse, select

if TYPE_CHECKING:
    from fastjoin.records.jsonl import JsonPlan


def _mentions(records: Records, word: bytes) -> bool:
    """Whether the batch's bytes contain ``word`` anywhere (a cheap, conservative screen)."""
    buf, start, end = records.chunk.buf, records.starts[0], records.ends[-1]
    if not hasattr(buf, "find"):
        return bytes(buf[start:end]).find(word) >= 0
    return buf.find(word, start, end) >= 0


def _fast_matrix(records: Records, rows: list):
    """float64 (n, width) from plain rows in one numpy call, or None when any row needs the
    exact path (ragged, nested, strings, booleans). numpy would parse "1.5" if asked for
    floats, so it infers the dtype and anything not numeric is refused; it also casts true to
    1.0, so the 0s and 1s are looked at (:func:`_may_hold_booleans`). Nulls among numbers
    become NaN."""
    if dict in set(map(type, rows)):
        rows = [list(row.values()) if type(row) is dict else row for row in rows]
    try:
        a = np.array(rows)
    except (ValueError, TypeError, OverflowError):
        return None
    if a.ndim == 1 and a.dtype.kind in "fiu":
        a = a.reshape(-1, 1)  # one number per record
    if a.ndim != 2:
        return None
    if a.dtype == object:  # nulls among numbers
        missing = a == None  # noqa: E711 (elementwise)
        present = a[~missing].tolist()
        try:
            numbers = np.array(present) if present else np.empty(0)
        except (ValueError, TypeError, OverflowError):
            return None
        if numbers.ndim != 1 or numbers.dtype.kind not in "fiu":
            return None
        out = np.full(a.shape, np.nan)
        out[~missing] = numbers.astype(np.float64)
        a = out
    elif a.dtype.kind not in "fiu":
        return None
    if _may_hold_booleans(records, rows, a):
        return None
    return np.asarray(a, dtype=np.float64)  # integers: the nearest double first, as CSV text


def _may_hold_booleans(records: Records, rows: list, a: np.ndarray) -> bool:
    """Whether a JSON true/false hides among the numbers numpy made of ``rows`` (as 1 or 0).
    Only the 0s and 1s need a look; when there are many, a search of the batch's bytes is
    cheaper (conservative: a true/false anywhere in the batch counts)."""
    candidates = np.flatnonzero((a == 0) | (a == 1))
    if len(candidates) == 0:
        return False
    if len(candidates) > len(rows):
        return _mentions(records, b"true") or _mentions(records, b"false")
    width = a.shape[1]
    for index in candidates.tolist():
        row = rows[index // width]
        value = row[index % width] if type(row) is list else row
        if value is True or value is False:
            return True
    return False


def _exact_row(plan: JsonPlan, records: Records, r: int, row) -> list:
    """One feature row, checked value by value; raises a located FeatureError."""
    expression = plan.input_filter.expression
    names = None
    if type(row) is dict:
        names, items = list(row), list(row.values())
    elif type(row) is list:
        items = row
    elif row is None or type(row) in (int, float):
        items = [row]
    else:
        raise FeatureError(
            f"InputFilter {expression} selects {kind_of(row)}: a feature row is an array of numbers, "
            f"an object of numbers (values taken in filter order) or one number",
            records.where(r),
            path=expression,
        )
    for j, x in enumerate(items):
        kind = type(x)
        if kind is float or kind is int or x is None:
            continue
        label = f"feature {j + 1}" + (f" ({names[j]!r})" if names else "")
        shown = "" if kind in (dict, list) or x is True or x is False else f" {json.dumps(x)[:40]}"
        raise FeatureError(
            f"InputFilter {expression}: {label} is {kind_of(x)}{shown}, not a number",
            records.where(r),
            path=expression,
        )
    return items


def _features(plan: JsonPlan, model, records: Records) -> np.ndarray:
    rows = select(plan.input_filter, "InputFilter", records, records.values)
    n_features = model.n_features
    X = _fast_matrix(records, rows)
    if X is None or X.shape[1] != n_features:
        checked = []
        for r, row in enumerate(rows):
            items = _exact_row(plan, records, r, row)
            if len(items) != n_features:
                _width_error(plan, model, records, r, len(items))
            checked.append(items)
        X = np.array(checked, dtype=np.float64).reshape(len(rows), n_features)  # null -> NaN
    with np.errstate(over="ignore"):  # beyond float32: inf, as CSV text gives
        return np.ascontiguousarray(X, dtype=np.float32)


def _width_error(plan: JsonPlan, model, records: Records, r: int, width: int):
    expression = plan.input_filter.expression
    where = records.where(r)
    if records.is_first_of_object(r):
        check_first_record(model, width, where, f"InputFilter {expression} on the first record")
    raise FeatureError(
        f"InputFilter {expression} selects {plural(width, 'value')} "
        f"from this record, but the model expects {model.n_features}",
        where,
        path=expression,
    )


# ----------------------------------------------------------------------------- kept


def _kept_keys(plan: JsonPlan):
    """What of a record the output still needs once its features are taken: ``()`` nothing
    (no join: the output is the prediction), a tuple of top-level keys (a filter of names on
    the joined record: ``$['id','SageMakerOutput']`` needs ``id``), or None (all of it)."""
    if not plan.join:
        return ()
    chain = plan.output_filter.name_chain
    if chain is None or not (chain[0] or chain[1]):
        return None
    keys, last = chain
    names = keys[:1] if keys else last
    assert names is not None  # no single-name steps: the path is one multi-name bracket
    return tuple(n for n in names if n != plan.prediction_name)


def _keep(records: Records, keys) -> None:
    """Replace each parsed record by the part of it the output needs (``_kept_keys``), so the
    rest dies now; number-exact versions of what is kept are taken while the whole record is
    still here. A record that is not an object or lacks a key stays whole: the output filter
    then wraps it or words the error."""
    if keys is None:
        return
    values = records.values
    if not keys:
        records.values = [None] * len(values)
        return
    kept: list | Kept
    try:  # v[k] raises unless v is an object holding k
        columns = [[v[k] for v in values] for k in keys]
    except (KeyError, TypeError):
        kept = [
            {k: v[k] for k in keys} if type(v) is dict and all(map(v.__contains__, keys)) else v
            for v in values
        ]
        risky = [r for r in at_risk(kept, None, None, None) if kept[r] is not values[r]]
    else:
        kept = Kept(keys, columns)
        risky = sorted(set().union(*map(risky_column, columns)))
    for r in risky:
        exact = records.exact(r)
        records.set_exact(r, {k: exact[k] for k in keys})
    records.values = kept


def parse_features(plan: JsonPlan, model, chunk: Chunk, starts: list, ends: list, base: int, group_size: int):
    """Parse a batch for an in-process model in small groups (of ``group_size`` records: the
    package's ``GROUP``), taking each group's features and the part of its records the output
    needs before the next group is parsed: the records' arrays then die young, in cache,
    before the garbage collector walks them. Returns (records, X, blank lines)."""
    keys = _kept_keys(plan)
    batch = Records(chunk, [], [], [], base)
    parts, blank = [], 0
    for first in range(0, len(starts), group_size):
        group, more = parse(
            plan,
            chunk,
            starts[first : first + group_size],
            ends[first : first + group_size],
            base + len(batch),
        )
        blank += more
        if not len(group):
            continue
        parts.append(_features(plan, model, group))
        _keep(group, keys)
        batch.extend(group)
    X = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else None
    return batch, X, blank
