"""The XGBoost container's response bodies (``fastjoin.container.xgboost_output``) against
``reference/serving.md`` §2.3–§2.5: literal bodies worked out by hand from the rules, and, for
tiny models of each objective, the container's computation written out here from the same rules
(``.item()`` of the float32 value, ``int(p > 0.5)``, ``json.dumps`` of the container's
structure) — never by calling the encoder."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fastjoin.container.xgboost_output import check_selectable, encode, selected_keys
from fastjoin.errors import ConfigError

ALL_KEYS = (
    "predicted_label",
    "labels",
    "probability",
    "probabilities",
    "raw_score",
    "raw_scores",
    "predicted_score",
)
# serving.md §2.5's table (the container's VALID_OBJECTIVES)
VALID = {
    "reg:squarederror": {"predicted_score"},
    "binary:logistic": set(ALL_KEYS) - {"predicted_score"},
    "binary:logitraw": {"predicted_label", "labels", "raw_score", "raw_scores"},
    "binary:hinge": {"predicted_label", "labels", "raw_score", "raw_scores"},
    "multi:softmax": {"predicted_label", "labels", "raw_score", "raw_scores"},
    "multi:softprob": set(ALL_KEYS) - {"predicted_score"},
}


def f32(*values) -> np.ndarray:
    return np.array(values, dtype=np.float32)


# ------------------------------------------------------------------ by hand, from serving.md


def test_real_time_json_is_the_containers_document():
    preds = f32(0.43861907720565796, 0.4533972144126892)
    assert encode(preds, "binary:logistic", 0, "application/json") == (
        b'{"predictions": [{"score": 0.43861907720565796}, {"score": 0.4533972144126892}]}'
    )


def test_real_time_csv_one_value_per_line_and_softprob_rows_comma_joined():
    assert encode(f32(0.5, 0.25), "binary:logistic", 0, "text/csv") == b"0.5\n0.25\n"
    probs = f32([0.1, 0.2, 0.7], [0.5, 0.25, 0.25])
    assert encode(probs, "multi:softprob", 3, "text/csv") == (
        b"0.10000000149011612,0.20000000298023224,0.699999988079071\n0.5,0.25,0.25\n"
    )
    assert encode(probs, "multi:softprob", 3, "application/json") == (
        b'{"predictions": [{"score": [0.10000000149011612, 0.20000000298023224, 0.699999988079071]}, '
        b'{"score": [0.5, 0.25, 0.25]}]}'
    )


def test_real_time_jsonlines_is_one_score_object_per_line():
    # the container answers 500 (no encoder); fastjoin writes what the JSON body holds per record
    assert encode(f32(0.5, 0.25), "binary:logistic", 0, "application/jsonlines") == (
        b'{"score": 0.5}\n{"score": 0.25}\n'
    )


def test_batch_body_is_the_same_for_every_accept():
    for accept in ("text/csv", "application/json", "application/jsonlines"):
        assert encode(f32(2, 0), "multi:softmax", 3, accept, batch=True) == b"2.0\n0.0\n"
        assert encode(f32([0.1, 0.9]), "multi:softprob", 2, accept, batch=True) == (
            b"[0.10000000149011612, 0.8999999761581421]\n"
        )


def test_selected_csv_in_the_variables_order_lists_quoted():
    preds = f32(0.6, 0.1)
    keys = selected_keys("predicted_label, Probabilities")
    assert keys == ("predicted_label", "probabilities")
    body = b'1,"[0.3999999761581421, 0.6000000238418579]"\n0,"[0.8999999985098839, 0.10000000149011612]"'
    assert encode(preds, "binary:logistic", 0, "text/csv", keys) == body  # real time: no final newline
    assert encode(preds, "binary:logistic", 0, "text/csv", keys, batch=True) == body + b"\n"


def test_selected_jsonlines_in_code_order_and_json_one_document():
    keys = selected_keys("probability,predicted_label")
    lines = b'{"predicted_label": 1, "probability": 0.9899773597717285}\n'
    preds = f32(0.9899773597717285)
    for batch in (False, True):
        assert encode(preds, "binary:logistic", 0, "application/jsonlines", keys, batch) == lines
        assert encode(preds, "binary:logistic", 0, "application/json", keys, batch) == (
            b'{"predictions": [{"predicted_label": 1, "probability": 0.9899773597717285}]}'
        )


def test_half_is_label_0_and_logitraw_labels_on_the_sign():
    keys = ("predicted_label",)
    assert encode(f32(0.5, 0.50000006), "binary:logistic", 0, "text/csv", keys) == b"0\n1"
    assert encode(f32(0.0, -1.5, 0.25), "binary:logitraw", 0, "text/csv", keys) == b"0\n0\n1"


def test_softmax_raw_scores_quirk_and_float_labels():
    keys = selected_keys("predicted_label,labels,raw_score,raw_scores")
    assert encode(f32(2, 0), "multi:softmax", 3, "text/csv", keys) == (
        b'2.0,"[0, 1, 2]",2.0,"[-1.0, 2.0]"\n0.0,"[0, 1, 2]",0.0,"[1.0, 0.0]"'
    )
    assert encode(f32(1), "binary:hinge", 0, "application/jsonlines", keys) == (
        b'{"predicted_label": 1.0, "labels": [0, 1], "raw_score": 1.0, "raw_scores": [0.0, 1.0]}\n'
    )


def test_softprob_label_is_the_argmax_and_probability_the_max():
    keys = selected_keys("predicted_label,probability,raw_scores")
    assert encode(f32([0.25, 0.5, 0.25]), "multi:softprob", 3, "application/json", keys) == (
        b'{"predictions": [{"predicted_label": 1, "probability": 0.5, "raw_scores": [0.25, 0.5, 0.25]}]}'
    )


def test_invalid_keys_are_nan_after_the_valid_ones_in_the_variables_order():
    keys = selected_keys("zeta,predicted_score,raw_score,alpha,zeta")
    assert encode(f32(1.5), "binary:logitraw", 0, "application/jsonlines", keys) == (
        b'{"raw_score": 1.5, "zeta": NaN, "predicted_score": NaN, "alpha": NaN}\n'
    )
    # CSV: every name as the variable lists it, duplicates too
    assert encode(f32(1.5), "binary:logitraw", 0, "text/csv", keys) == b"nan,nan,1.5,nan,nan"
    assert encode(f32(3.25), "reg:squarederror", 0, "text/csv", selected_keys("predicted_score,labels")) == (
        b"3.25,nan"
    )


def test_selectable_output_of_an_unsupported_objective_is_refused():
    with pytest.raises(ConfigError, match="Objective `rank:pairwise` unsupported for selectable inference"):
        check_selectable("rank:pairwise", 1)
    with pytest.raises(ConfigError, match="3 outputs per row"):
        check_selectable("reg:squarederror", 3)  # multi-target: no value per key
    check_selectable("multi:softprob", 3)
    check_selectable("binary:hinge", 1)


# ------------------------------------------------------------------ tiny models, each objective


def _train(objective: str):
    import xgboost as xgb

    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    params: dict = {"objective": objective, "max_depth": 2, "eta": 0.5}
    if objective.startswith("multi:"):
        y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
        params["num_class"] = 3
    elif objective.startswith("binary:"):
        y = (X[:, 0] + X[:, 2] > 0).astype(int)
    else:
        y = X[:, 0] * 2 + X[:, 1]
    booster = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=4)
    learner = json.loads(booster.save_config())["learner"]
    assert learner["objective"]["name"] == objective
    num_class = int(learner["learner_model_param"]["num_class"])
    return booster.predict(xgb.DMatrix(X)), num_class


def _container_selection(preds, keys, objective, num_class):
    """serving.md §2.5, computed per row on the float32 values as the container does; the
    invalid keys in the variable's order (fastjoin's choice where the container uses a set)."""
    valid = set(keys) & VALID[objective]
    invalid = [key for key in dict.fromkeys(keys) if key not in VALID[objective]]
    out = []
    for raw in preds:
        entry: dict = {}
        if "predicted_label" in valid:
            if objective in ("binary:hinge", "multi:softmax"):
                entry["predicted_label"] = raw.item()
            elif objective == "binary:logistic":
                entry["predicted_label"] = int(raw > 0.5)
            elif objective == "binary:logitraw":
                entry["predicted_label"] = int(raw > 0)
            else:
                entry["predicted_label"] = np.argmax(raw).item()
        if "labels" in valid:
            entry["labels"] = [0, 1] if objective.startswith("binary:") else list(range(num_class))
        if "probability" in valid:
            entry["probability"] = max(raw).item() if objective == "multi:softprob" else raw.item()
        if "probabilities" in valid:
            entry["probabilities"] = (
                raw.tolist() if objective == "multi:softprob" else [1.0 - raw.item(), raw.item()]
            )
        if "raw_score" in valid:
            entry["raw_score"] = max(raw).item() if objective == "multi:softprob" else raw.item()
        if "raw_scores" in valid:
            entry["raw_scores"] = (
                raw.tolist() if objective == "multi:softprob" else [1.0 - raw.item(), raw.item()]
            )
        if "predicted_score" in valid:
            entry["predicted_score"] = raw.item()
        for key in invalid:
            entry[key] = np.nan
        out.append(entry)
    return out


def _container_csv(entries, keys, batch):
    lines = [
        ",".join('"{}"'.format(e[k]) if isinstance(e[k], list) else str(e[k]) for k in keys) for e in entries
    ]
    return ("\n".join(lines) + ("\n" if batch else "")).encode()


OBJECTIVES = sorted(VALID)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("batch", [False, True])
def test_selectable_output_of_each_objective_as_the_container_computes_it(objective, batch):
    preds, num_class = _train(objective)
    check_selectable(objective, 1 if preds.ndim == 1 else preds.shape[1])
    variable = (
        "raw_scores, Predicted_Label,bogus,probability,labels,predicted_score,raw_score,probabilities,bogus2"
    )
    keys = selected_keys(variable)
    entries = _container_selection(preds, keys, objective, num_class)
    assert encode(preds, objective, num_class, "text/csv", keys, batch) == _container_csv(
        entries, keys, batch
    )
    assert (
        encode(preds, objective, num_class, "application/jsonlines", keys, batch)
        == "".join(json.dumps(e) + "\n" for e in entries).encode()
    )
    assert (
        encode(preds, objective, num_class, "application/json", keys, batch)
        == json.dumps({"predictions": entries}).encode()
    )


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_real_time_and_batch_bodies_of_each_objective(objective):
    preds, num_class = _train(objective)
    rows = preds.tolist()
    assert (
        encode(preds, objective, num_class, "application/json")
        == json.dumps({"predictions": [{"score": row} for row in rows]}).encode()
    )
    csv_rows = [
        ",".join(repr(float(np.float32(v))) for v in (row if isinstance(row, list) else [row]))
        for row in rows
    ]
    assert encode(preds, objective, num_class, "text/csv") == "".join(r + "\n" for r in csv_rows).encode()
    batch = "".join(str(row) + "\n" for row in rows).encode()
    assert encode(preds, objective, num_class, "application/json", batch=True) == batch
    if preds.ndim == 1:  # one output per record: the real-time CSV body is the batch body
        assert encode(preds, objective, num_class, "text/csv") == batch
    assert not any(math.isnan(v) for v in np.ravel(preds))
