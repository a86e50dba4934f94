"""Number text of JSON records: which written values may change a number's text, and how to
keep it.

Number text (``JsonPlan.numbers == "preserve"``, the default): a number copied from the input
(or from a container's response) keeps its exact text. orjson re-encodes floats as their
shortest round-trip text, so a record whose written part holds a float (or a zero, which may
have been ``-0``) is checked: if orjson's encoding of the whole record equals its bytes (spaces
aside) the texts are already identical; otherwise the record is parsed again with Python's
``json`` keeping every number as an ``orjson.Fragment`` of its original text. ``"reencode"``
skips the check and writes orjson's text (``1.50`` → ``1.5``, ``1e5`` → ``100000.0``, integers
beyond 64 bits lose precision).

An in-process XGBoost prediction is written as the container writes it
(:func:`prediction_values`).
"""

from __future__ import annotations

import json

import numpy as np
import orjson

from fastjoin.errors import JsonLinesError

WHITESPACE = b" \t\r\n"  # JSON whitespace
WRITE_DEPTH = 254  # orjson.dumps refuses deeper nesting


def canonical(value, raw: bytes) -> bool:
    """True when orjson writes ``value`` as ``raw`` up to whitespace, so every number in it
    keeps its text when written (JSON numbers hold no whitespace, and orjson writes none
    outside strings)."""
    try:
        text = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return text == raw or text.translate(None, WHITESPACE) == raw.translate(None, WHITESPACE)


def exact_load(raw: bytes, where):
    """Parse ``raw`` (already valid JSON: orjson read it) keeping each number's text."""
    try:
        return json.loads(raw.decode("utf-8"), parse_float=orjson.Fragment, parse_int=orjson.Fragment)
    except RecursionError:
        raise JsonLinesError(
            f"the record nests too deeply to be written (fastjoin writes at most {WRITE_DEPTH} levels)",
            where,
        ) from None


def text_at_risk(value, skip) -> bool:
    """Whether writing ``value`` could change a number's text: it holds a float, or a zero
    (``-0`` reads as 0). ``skip`` (by identity) is the model's prediction, already exact."""
    stack = [value]
    while stack:
        x = stack.pop()
        kind = type(x)
        if kind is float:
            if x is not skip:
                return True
        elif kind is int:
            if x == 0:
                return True
        elif kind is dict:
            if x is not skip:
                stack.extend(x.values())
        elif kind is list:
            if x is not skip:
                stack.extend(x)
    return False


def prediction_values(preds: np.ndarray) -> list:
    """XGBoost predictions as JSON values whose text is the container's: Python floats where
    orjson writes ``repr(float(p))`` (0, and 1e-4 <= |p| < 1e16, where both are the shortest
    round-trip decimal), an ``orjson.Fragment`` of that repr elsewhere. NaN and infinities are
    not JSON: orjson writes them as ``null``. Several outputs: a list per record."""
    wide = preds.astype(np.float64)
    values = wide.tolist()
    size = np.abs(wide)
    odd = np.isfinite(wide) & (wide != 0) & ((size < 1e-4) | (size >= 1e16))
    if odd.any():
        if wide.ndim == 1:
            for r in np.flatnonzero(odd).tolist():
                values[r] = orjson.Fragment(repr(values[r]))
        else:
            for r, j in np.argwhere(odd).tolist():
                values[r][j] = orjson.Fragment(repr(values[r][j]))
    return values


_SAFE_TYPES = frozenset({str, bool, type(None), orjson.Fragment})
_SAFE_OR_INT = _SAFE_TYPES | {int}


def at_risk(written: list, names, outputs, key) -> list:
    """Records whose written value may hold a number whose text orjson would change: see
    :func:`text_at_risk`. ``outputs`` (by identity) are exact predictions; ``names``: every
    value is an object with these keys, screened a column at a time (``key``'s column holds
    the predictions when they are exact)."""
    if names is not None:
        rows: set = set()
        for name in names:
            if name == key and outputs is not None:
                continue
            column = [w[name] for w in written]
            rows.update(risky_column(column))
        return sorted(rows)
    if outputs is None:
        return risky_column(written)
    return [r for r, w in enumerate(written) if text_at_risk(w, outputs[r])]


def risky_column(values: list) -> list:
    kinds = set(map(type, values))
    if kinds <= _SAFE_TYPES:
        return []
    if kinds <= _SAFE_OR_INT:
        return [r for r, x in enumerate(values) if type(x) is int and x == 0] if 0 in values else []
    return [r for r, x in enumerate(values) if text_at_risk(x, None)]
