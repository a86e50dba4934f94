"""The SageMaker XGBoost container's response bodies, byte for byte, from a prediction array.

Pure functions (no server, no model): ``encode(preds, objective, num_class, accept,
selected, batch)`` gives the bytes the container writes for a float32 prediction array
(``(n,)``, or ``(n, k)`` for ``multi:softprob``), following ``reference/serving.md``:

* §2.3, the batch body (``SAGEMAKER_BATCH`` set, no selectable output): one line per row,
  ``str`` of the value (the float32 as a double), a list repr for several outputs, the same
  bytes for every Accept;
* §2.4, the real-time bodies: ``text/csv`` one row per line, comma-joined for several outputs
  (``csv.writer``); ``application/json`` ``{"predictions": [{"score": ...}, ...]}``. JSON Lines
  without selectable output is a 500 in the container; here it is one ``{"score": ...}`` object
  per line (what the JSON body holds per record), and ``application/x-recordio-protobuf`` (a
  500 there too) one ``Record`` per row with the label ``score``;
* §2.5, selectable output (``SAGEMAKER_INFERENCE_OUTPUT``): the keys valid for the objective,
  computed as the container computes them (including ``raw_scores`` = ``[1 - v, v]`` for
  ``multi:softmax``), keys not valid for it kept with ``nan``. The container appends the
  invalid keys in ``set`` order (it varies with ``PYTHONHASHSEED`` when there are two or more);
  here they come in the order the variable names them. ``application/x-recordio-protobuf``:
  one ``Record`` per row, each key a float32 tensor in its ``label`` map (the container's
  writer never clears its buffer, so its *n*-th frame holds every earlier record too, which
  a reader merges into one; here each frame holds its own row).
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional, Sequence

import numpy as np

from fastjoin import _impl
from fastjoin.container import recordio_protobuf
from fastjoin.errors import ConfigError

__all__ = [
    "SELECTABLE_KEYS",
    "VALID_KEYS",
    "selected_keys",
    "check_selectable",
    "encode",
    "batch_body",
    "realtime_body",
    "selected_body",
    "selected_predictions",
]

PREDICTED_LABEL = "predicted_label"
LABELS = "labels"
PROBABILITY = "probability"
PROBABILITIES = "probabilities"
RAW_SCORE = "raw_score"
RAW_SCORES = "raw_scores"
PREDICTED_SCORE = "predicted_score"

# the container's code order (the order of the keys in each JSON object)
SELECTABLE_KEYS = (
    PREDICTED_LABEL,
    LABELS,
    PROBABILITY,
    PROBABILITIES,
    RAW_SCORE,
    RAW_SCORES,
    PREDICTED_SCORE,
)

_CLASSIFIER_KEYS = (PREDICTED_LABEL, LABELS, RAW_SCORE, RAW_SCORES)
_PROBABILISTIC_KEYS = (PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES, RAW_SCORE, RAW_SCORES)

# objective -> the keys it has (the container's VALID_OBJECTIVES)
VALID_KEYS: dict[str, tuple[str, ...]] = {
    "reg:squarederror": (PREDICTED_SCORE,),
    "reg:logistic": (PREDICTED_SCORE,),
    "reg:gamma": (PREDICTED_SCORE,),
    "reg:absoluteerror": (PREDICTED_SCORE,),
    "reg:tweedie": (PREDICTED_SCORE,),
    "binary:logistic": _PROBABILISTIC_KEYS,
    "binary:logitraw": _CLASSIFIER_KEYS,
    "binary:hinge": _CLASSIFIER_KEYS,
    "multi:softmax": _CLASSIFIER_KEYS,
    "multi:softprob": _PROBABILISTIC_KEYS,
}

JSON = "application/json"
JSONLINES = "application/jsonlines"
CSV = "text/csv"
RECORDIO = "application/x-recordio-protobuf"


def selected_keys(value: str) -> tuple[str, ...]:
    """``SAGEMAKER_INFERENCE_OUTPUT`` as the container reads it: spaces removed, lower-cased,
    split on commas (duplicates and empty names kept: the CSV body repeats them)."""
    return tuple(value.replace(" ", "").lower().split(","))


def check_selectable(objective: str, n_outputs: int) -> None:
    """Raise :class:`ConfigError` unless selectable output can be computed for a model of this
    objective with ``n_outputs`` values per row (the container answers every request of an
    unsupported objective with a 500; a server refuses the configuration at start-up)."""
    if objective not in VALID_KEYS:
        raise ConfigError(
            f"SAGEMAKER_INFERENCE_OUTPUT: Objective `{objective}` unsupported for selectable inference "
            f"predictions (supported: {', '.join(VALID_KEYS)}); unset the variable to serve this model"
        )
    expected = "several" if objective == "multi:softprob" else "1"
    if (n_outputs > 1) != (objective == "multi:softprob"):
        raise ConfigError(
            f"SAGEMAKER_INFERENCE_OUTPUT: a {objective} model with {n_outputs} outputs per row "
            f"(selectable output expects {expected})"
        )


def batch_body(preds: np.ndarray, terminator: bytes = b"\n") -> bytes:
    """The predictions as the SageMaker XGBoost container writes them in batch mode, one record
    each: ``repr`` of the float32 value widened to double, several outputs as a Python list
    (``[0.1, 0.2, 0.7]``): §2.3's ``"\\n".join(map(str, preds.tolist())) + "\\n"``, through the
    core's exact formatter."""
    text, spans = _impl.format_floats(np.ascontiguousarray(preds, dtype=np.float32).reshape(-1))
    n = len(preds)
    if preds.ndim == 1:
        rows = np.arange(n + 1, dtype=np.int64)
        return _impl.splice(
            text, spans, rows, text, spans, rows, 0, n, np.zeros(1, dtype=np.int64), 0, terminator
        )
    k = preds.shape[1]
    pieces = [text[s : s + length] for s, length in spans.tolist()]
    return b"".join(
        b"[" + b", ".join(pieces[i : i + k]) + b"]" + terminator for i in range(0, len(pieces), k)
    )


def realtime_body(preds: np.ndarray, accept: str) -> bytes:
    """§2.4: the body outside Batch Transform without selectable output."""
    rows = preds.tolist()
    if accept == CSV:  # csv.writer(lineterminator="\n") over (n, 1) or (n, k): str of each float
        return "".join(
            ",".join(map(str, row)) + "\n" if isinstance(row, list) else f"{row}\n" for row in rows
        ).encode()
    if accept == JSON:
        return json.dumps({"predictions": [{"score": row} for row in rows]}).encode()
    if accept == JSONLINES:  # the container answers 500; one JSON object per record instead
        return "".join(json.dumps({"score": row}) + "\n" for row in rows).encode()
    if accept == RECORDIO:  # the container answers 500; a Record per record, as its JSON holds
        return recordio_protobuf.encode_records([[("score", _floats(row))] for row in rows])
    raise ValueError(f"no real-time body for Accept {accept}")


def _floats(value: Any) -> list:
    """A value as a float32 tensor holds it (a label, a class list, nan)."""
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def selected_predictions(
    preds: np.ndarray, objective: str, num_class: int, selected: Sequence[str]
) -> list[dict[str, Any]]:
    """§2.5: one dict per row, valid keys in code order, then the invalid ones (``nan``) in
    the order ``selected`` names them."""
    valid = [key for key in SELECTABLE_KEYS if key in selected and key in VALID_KEYS[objective]]
    invalid = list(dict.fromkeys(key for key in selected if key not in VALID_KEYS[objective]))
    if objective.startswith("binary:"):
        labels: Any = [0, 1]
    elif objective.startswith("multi:") and num_class:
        labels = list(range(num_class))
    else:
        labels = math.nan
    out = []
    for row in preds.tolist():
        if objective == "multi:softprob":
            top = max(row)
            values: dict[str, Any] = {
                PREDICTED_LABEL: int(np.argmax(np.asarray(row))),
                PROBABILITY: top,
                PROBABILITIES: row,
                RAW_SCORE: top,
                RAW_SCORES: row,
            }
        else:
            v = row  # the float32 value as a double
            if objective == "binary:logistic":
                label: Any = int(v > 0.5)
            elif objective == "binary:logitraw":
                label = int(v > 0)
            else:  # binary:hinge, multi:softmax: the value itself (1.0, 2.0)
                label = v
            values = {
                PREDICTED_LABEL: label,
                PROBABILITY: v,
                PROBABILITIES: [1.0 - v, v],
                RAW_SCORE: v,
                RAW_SCORES: [1.0 - v, v],  # also for multi:softmax (the container's quirk)
                PREDICTED_SCORE: v,
            }
        values[LABELS] = labels
        entry = {key: values[key] for key in valid}
        entry.update((key, math.nan) for key in invalid)
        out.append(entry)
    return out


def _csv_value(value: Any) -> str:
    return f'"{value}"' if isinstance(value, list) else str(value)


def selected_body(
    preds: np.ndarray, objective: str, num_class: int, accept: str, selected: Sequence[str], batch: bool
) -> bytes:
    """§2.5's encodings: CSV in the variable's order (``"\\n"`` after the last line only in
    batch), JSON Lines in code order (a line per record), JSON one document (no newline)."""
    entries = selected_predictions(preds, objective, num_class, selected)
    if accept == CSV:
        text = "\n".join(",".join(_csv_value(entry[key]) for key in selected) for entry in entries)
        return (text + "\n" if batch else text).encode()
    if accept == JSONLINES:
        return "".join(json.dumps(entry) + "\n" for entry in entries).encode()
    if accept == JSON:
        return json.dumps({"predictions": entries}).encode()
    if accept == RECORDIO:  # a Record per record (the container's holds every earlier one too)
        return recordio_protobuf.encode_records([[(k, _floats(v)) for k, v in e.items()] for e in entries])
    raise ValueError(f"no selectable output for Accept {accept}")


def encode(
    preds: np.ndarray,
    objective: str,
    num_class: int,
    accept: str,
    selected: Optional[Sequence[str]] = None,
    batch: bool = False,
) -> bytes:
    """The container's body for ``preds`` (float32): selectable output when ``selected`` (the
    keys of ``SAGEMAKER_INFERENCE_OUTPUT``) is given, else the batch body when ``batch``, else
    the real-time body for ``accept``."""
    preds = np.asarray(preds, dtype=np.float32)
    if selected is not None:
        return selected_body(preds, objective, num_class, accept, selected, batch)
    if batch:
        return batch_body(preds)
    return realtime_body(preds, accept)
