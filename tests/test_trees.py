"""The compiled tree predictor: bit-identical to XGBoost, or not used.

Every model here is trained by XGBoost and predicted by both engines; predictions must have
the same float32 bit patterns (equal values are not enough: -0.0, NaN). Rows mix blocks with
and without NaN (the vector kernel takes NaN-free blocks of 64 rows, the scalar one the
rest) and end with a partial block.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest
import tree_campaign
from helpers import optional_module
from hypothesis import given, settings
from hypothesis import strategies as st
from tree_campaign import Tree, booster_from, build_model, f32, leaf, stump

from fastjoin import _trees, trees, ubjson
from fastjoin.errors import ConfigError, ModelError
from fastjoin.predictor import load_model

xgb = optional_module("xgboost")  # None without xgboost: the tests that use it are marked requires_xgboost

N_FEATURES = 6


def _data(n: int, seed: int, nan_rows: slice = slice(None)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    X[:, 3] = np.round(X[:, 3] * 4) / 4  # repeated values: rows land exactly on thresholds
    part = X[nan_rows]
    part[rng.random(part.shape) < 0.1] = np.nan
    X[::9, 4] = 0.0
    return X


def _train(params: dict, rounds: int = 12, y=None, seed: int = 0) -> xgb.Booster:
    X = _data(600, seed)
    rng = np.random.default_rng(seed + 1)
    if y is None:
        y = (
            np.nan_to_num(X[:, 0])
            + np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 3])
            + rng.normal(scale=0.3, size=len(X))
            > 0
        ).astype(np.float32)
    return xgb.train(
        {"nthread": 1, "seed": seed, "max_depth": 4, **params},
        xgb.DMatrix(X, label=y, nthread=1),
        num_boost_round=rounds,
    )


def _rows() -> np.ndarray:
    """1,000 rows: NaN-free for the first 320 (whole vector blocks), NaNs after, the last
    block partial, plus the probe rows of the model's own thresholds."""
    return np.ascontiguousarray(_data(1000, 7, nan_rows=slice(320, None)))


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.fixture(params=["avx512", "avx2", "scalar"], autouse=True)
def kernel(request):
    """Every test with each kernel the CPU has: AVX-512, AVX2, scalar."""
    previous = _trees.set_vector_kernel(request.param)
    yield request.param
    _trees.set_vector_kernel(previous)


def _check(booster: xgb.Booster, X: np.ndarray | None = None) -> None:
    p = load_model(booster, nthread=1, engine="compiled")
    assert p.engine == "compiled"
    X = _rows() if X is None else X
    probe = trees.probe_rows(p._ensemble, 384, seed=3)
    for rows in (X, probe, X[:1], X[5:69], X[320:384]):  # X[320:384]: one block with NaNs
        if not len(rows):
            continue
        rows = np.ascontiguousarray(rows)
        assert _same_bits(p.predict(rows), booster.inplace_predict(rows))
        if not np.isinf(rows).any():  # a DMatrix refuses infinities; inplace_predict takes them
            assert _same_bits(p.predict(rows), booster.predict(xgb.DMatrix(rows, nthread=1)))


POSITIVE = (np.abs(np.nan_to_num(_data(600, 0)[:, 0])) + 0.1).astype(np.float32)
COUNTS = np.random.default_rng(5).poisson(2.0, size=600).astype(np.float32)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "params, y",
    [
        ({"objective": "binary:logistic"}, None),
        ({"objective": "binary:logistic", "base_score": 0.3}, None),
        ({"objective": "binary:logistic", "max_depth": 1}, None),
        ({"objective": "binary:logistic", "max_depth": 6, "eta": 0.8}, None),
        ({"objective": "binary:logistic", "max_depth": 7, "min_child_weight": 0}, None),
        ({"objective": "reg:logistic"}, None),
        ({"objective": "binary:logitraw"}, None),
        ({"objective": "reg:squarederror"}, POSITIVE),
        ({"objective": "reg:squarederror", "base_score": 0.0}, POSITIVE),
        ({"objective": "reg:absoluteerror"}, POSITIVE),
        ({"objective": "reg:pseudohubererror"}, POSITIVE),
        ({"objective": "reg:squaredlogerror"}, POSITIVE),
        ({"objective": "reg:quantileerror", "quantile_alpha": 0.3}, POSITIVE),
        ({"objective": "count:poisson"}, COUNTS),
        ({"objective": "reg:gamma"}, POSITIVE),
        ({"objective": "reg:tweedie"}, POSITIVE),
        (
            {
                "objective": "binary:logistic",
                "num_parallel_tree": 3,
                "subsample": 0.7,
                "colsample_bynode": 0.6,
            },
            None,
        ),
        ({"objective": "binary:logistic", "tree_method": "exact"}, None),
        (
            {
                "objective": "binary:logistic",
                "grow_policy": "lossguide",
                "max_depth": 0,
                "max_leaves": 40,
                "tree_method": "hist",
            },
            None,
        ),
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else "",
)
def test_bit_identical_to_xgboost(params, y):
    _check(_train(params, y=y))


@pytest.mark.requires_xgboost
def test_deep_trees_use_the_node_layout():
    booster = _train(
        {"objective": "binary:logistic", "max_depth": 14, "min_child_weight": 0, "eta": 1.0, "lambda": 0},
        rounds=4,
        y=np.random.default_rng(2).random(600).astype(np.float32),
    )
    p = load_model(booster, engine="compiled")
    assert p._ensemble.layout == "nodes"
    _check(booster)


@pytest.mark.requires_xgboost
def test_mixed_depths_and_single_leaf_trees():
    # gamma prunes later trees down to a leaf or two
    booster = _train({"objective": "reg:squarederror", "max_depth": 5, "gamma": 40.0}, rounds=30, y=POSITIVE)
    depths = load_model(booster, engine="compiled")._ensemble.groups[0]["depth"]
    assert depths.min() < depths.max()
    _check(booster)


@pytest.mark.requires_xgboost
def test_a_model_of_no_trees_predicts_its_base():
    booster = _train({"objective": "binary:logistic", "base_score": 0.25}, rounds=0)
    p = load_model(booster, engine="compiled")
    assert p._ensemble.n_trees == 0
    _check(booster)


@pytest.mark.requires_xgboost
def test_values_at_the_edges():
    booster = _train({"objective": "binary:logistic", "max_depth": 6})
    rows = np.array(
        [[np.inf, -np.inf, 0.0, -0.0, 3.4e38, -1e-45]] * 64
        + [[np.nan, np.inf, -np.inf, 1e-45, -3.4e38, np.nan]] * 3,
        dtype=np.float32,
    )
    _check(booster, rows)


@pytest.mark.requires_xgboost
def test_margin_outputs_far_out():
    # large margins: the sigmoid's exponent clamp and 0/1 saturation
    booster = _train(
        {"objective": "binary:logistic", "eta": 1.0, "max_depth": 6, "lambda": 0.0, "min_child_weight": 0},
        rounds=60,
    )
    _check(booster)


@pytest.mark.requires_xgboost
def test_threads_split_a_big_batch():
    booster = _train({"objective": "binary:logistic"})
    X = np.ascontiguousarray(_data(40_000, 11, nan_rows=slice(30_000, None)))
    one = load_model(booster, nthread=1, engine="compiled").predict(X)
    three = load_model(booster, nthread=3, engine="compiled").predict(X)
    assert _same_bits(one, three) and _same_bits(one, booster.inplace_predict(X))
    p = load_model(booster, nthread=2, engine="compiled")
    p.predict(X)
    four = p.with_threads(4)  # a twin with a pool of its own; p is left as it was
    assert _same_bits(four.predict(X), one) and four._pool._max_workers == 3
    assert p.nthread == 2 and p._pool._max_workers == 1 and p.with_threads(2) is p


# --- when the compiled engine is not used ---------------------------------------------------

CLASSES = np.random.default_rng(0).integers(0, 4, size=600).astype(np.float32)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "params",
    [
        {"objective": "multi:softprob", "num_class": 4},
        {"objective": "multi:softmax", "num_class": 4},
        {"objective": "multi:softprob", "num_class": 4, "num_parallel_tree": 2, "subsample": 0.8},
        {"objective": "multi:softprob", "num_class": 4, "max_depth": 12, "min_child_weight": 0},
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()),
)
def test_multiclass_bit_identical(params):
    booster = _train(params, y=CLASSES)
    p = load_model(booster, engine="compiled")
    assert p.n_outputs == (4 if params["objective"] == "multi:softprob" else 1)
    _check(booster)


@pytest.mark.requires_xgboost
def test_multiclass_ties_take_the_first_class():
    # a model of no trees: every class has the same margin, softmax gives 1/4 each, argmax 0
    for objective in ("multi:softprob", "multi:softmax"):
        _check(_train({"objective": objective, "num_class": 4}, rounds=0, y=CLASSES))


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "params, reason",
    [
        ({"objective": "binary:logistic", "booster": "dart", "rate_drop": 0.3}, "'dart' booster"),
        ({"objective": "binary:hinge"}, "'binary:hinge' objective"),
        (
            {"objective": "reg:squarederror", "multi_strategy": "multi_output_tree", "tree_method": "hist"},
            "several targets per row",
        ),
        ({"objective": "reg:squarederror"}, "several targets per row"),
    ],
)
def test_unsupported_models_fall_back_to_xgboost(params, reason):
    y = None
    if reason == "several targets per row":
        y = np.random.default_rng(0).normal(size=(600, 2)).astype(np.float32)
    booster = _train(params, y=y)
    p = load_model(booster)
    assert p.engine == "xgboost" and reason in p.fallback_reason
    X = _rows()
    # inplace_predict: for dart, XGBoost's DMatrix predict can differ from it by an ulp
    assert _same_bits(p.predict(X), booster.inplace_predict(X).reshape(p.predict(X).shape))
    with pytest.raises(ModelError, match=f"engine='compiled' cannot run this model, which has .*{reason}"):
        load_model(booster, engine="compiled")


@pytest.mark.requires_xgboost
def test_categorical_splits_fall_back():
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"c": pd.Categorical(rng.choice(list("abcd"), 300)), "x": rng.normal(size=300)})
    y = (df["c"].isin(["a", "c"]).to_numpy() ^ (df["x"].to_numpy() > 1)).astype(np.float32)
    booster = xgb.train(
        {"objective": "binary:logistic", "nthread": 1, "max_cat_to_onehot": 1},
        xgb.DMatrix(df, label=y, enable_categorical=True),
        num_boost_round=3,
    )
    p = load_model(booster)
    assert p.engine == "xgboost" and "categorical" in p.fallback_reason


@pytest.mark.requires_xgboost
def test_engine_xgboost_and_bad_engine():
    booster = _train({"objective": "binary:logistic"})
    p = load_model(booster, engine="xgboost")
    assert p.engine == "xgboost" and p.fallback_reason is None
    assert "engine='xgboost'" in repr(p)
    with pytest.raises(ConfigError, match="engine must be one of"):
        load_model(booster, engine="fast")


@pytest.mark.requires_xgboost
def test_a_compiled_model_that_disagrees_is_not_used(monkeypatch):
    booster = _train({"objective": "binary:logistic"})
    real = trees.compile_model

    def off_by_one(ubj):  # leaf values one float32 step off: the probe must notice
        ensemble = real(ubj)
        for group in ensemble.groups:
            group["leaf"][:] = np.nextafter(group["leaf"], np.float32(np.inf))
        return ensemble

    monkeypatch.setattr(trees, "compile_model", off_by_one)
    p = load_model(booster)
    assert p.engine == "xgboost" and "differ from XGBoost" in p.fallback_reason
    with pytest.raises(ModelError, match="differ from XGBoost"):
        load_model(booster, engine="compiled")


def test_the_compiled_trees_are_built_and_chosen():
    from fastjoin import _impl

    assert _impl.TREES_MISSING is None and _impl.trees is _trees is trees._trees
    assert _trees.__file__.endswith((".so", ".pyd")), _trees.__file__


def test_without_the_compiled_trees_auto_runs_on_libxgboost_and_says_so(monkeypatch):
    from fastjoin import _impl

    missing = "fastjoin._trees is not built (a test). Build it."
    monkeypatch.setattr(_impl, "trees", None)
    monkeypatch.setattr(_impl, "TREES_MISSING", missing)
    booster = _train({"objective": "binary:logistic"})
    p = load_model(booster)
    assert p.engine == "xgboost" and p.fallback_reason == missing
    assert p.fallback_note == f"the model runs on libxgboost, not the compiled tree predictor: {missing}"
    X = _rows()
    assert _same_bits(p.predict(X), booster.inplace_predict(X))
    with pytest.raises(
        ConfigError,
        match=r"^engine='compiled' needs the compiled tree predictor: fastjoin\._trees is not built \(a test\)",
    ):
        load_model(booster, engine="compiled")
    assert load_model(booster, engine="xgboost").fallback_note is None


@pytest.mark.parametrize("impl", ["core", "reference"])
def test_an_unbuilt_trees_extension_is_resolved_in_impl(tmp_path, impl):
    """fastjoin._trees really unimportable, in a fresh process: no bare ImportError from
    loading a model, whichever core FASTJOIN_IMPL picks; the reason says how to build it."""
    import os
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    path = tmp_path / "model.ubj"
    _train({"objective": "binary:logistic"}).save_model(path)
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["fastjoin._trees"] = None  # what an unbuilt extension looks like to import
        from fastjoin import _impl
        from fastjoin.errors import ConfigError
        from fastjoin.predictor import load_model

        assert _impl.trees is None
        p = load_model({str(path)!r})
        print(p.engine)
        print(p.fallback_note)
        try:
            load_model({str(path)!r}, engine="compiled")
        except ConfigError as exc:
            print(exc)
        try:
            import fastjoin.trees
        except ImportError as exc:
            print(exc)
        """
    )
    env = {**os.environ, "FASTJOIN_IMPL": impl}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).parents[1],
    )
    assert proc.returncode == 0, proc.stderr
    engine, note, compiled, direct = proc.stdout.splitlines()
    missing = "fastjoin._trees is not built"
    build = "Build it with `pip install -e .` or `python setup.py build_ext --inplace`"
    assert engine == "xgboost"
    assert note.startswith(f"the model runs on libxgboost, not the compiled tree predictor: {missing}")
    assert compiled.startswith(f"engine='compiled' needs the compiled tree predictor: {missing}")
    assert direct.startswith(missing)
    assert all(build in line for line in (note, compiled, direct))


# --- the pieces ------------------------------------------------------------------------------


@pytest.mark.requires_xgboost
def test_ubjson_matches_the_json_dump():
    booster = _train({"objective": "binary:logistic"}, rounds=3)
    import json

    from_ubj = ubjson.loads(bytes(booster.save_raw("ubj")))
    from_json = json.loads(bytes(booster.save_raw("json")))
    tree_u = from_ubj["learner"]["gradient_booster"]["model"]["trees"][1]
    tree_j = from_json["learner"]["gradient_booster"]["model"]["trees"][1]
    for key, value in tree_j.items():
        if isinstance(value, list) and value:
            assert np.array_equal(tree_u[key], np.asarray(value, dtype=tree_u[key].dtype)), key
    assert from_ubj["learner"]["objective"] == from_json["learner"]["objective"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"[$d#U\x03\x00\x00", "truncated"),
        (b"{U\x01aX", "unsupported marker"),
        (b"Z Z", "2 bytes after the value"),
        (b"ZZ", "1 byte after the value"),
        (b"[#U\xff", "truncated"),
    ],
)
def test_ubjson_errors(data, message):
    with pytest.raises(ubjson.UBJSONError, match=message):
        ubjson.loads(data)


def test_ubjson_values():
    data = (
        b"{U\x01a[$l#U\x02\x00\x00\x00\x01\xff\xff\xff\xff"
        b"U\x01b[U\x05T\x46Z SU\x02hi d\x3f\x80\x00\x00]U\x01c{#U\x01U\x01dD\x40\x00\x00\x00\x00\x00\x00\x00}"
    )  # a counted object has no '}'
    value = ubjson.loads(data.replace(b" ", b""))
    assert value["a"].tolist() == [1, -1] and value["a"].dtype == np.int32
    assert value["b"] == [5, True, False, None, "hi", 1.0]
    assert value["c"] == {"d": 2.0}


def _nearest_float32(text: str) -> np.float32:
    """Exact reference: the float32 nearest to the decimal, ties to even."""
    exact = Fraction(text)
    f = np.float32(float(text))
    best = None
    for c in (np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))):
        if not np.isfinite(c):
            continue
        key = (abs(Fraction(float(c)) - exact), int(np.array(c).view(np.uint32)) & 1)
        if best is None or key < best[0]:
            best = (key, c)
    return best[1]


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**24), 2**24), st.integers(-60, 30), st.sampled_from(["", "1", "0000001"]))
def test_float32_from_text_is_correctly_rounded(mantissa, exponent, tail):
    # midpoints between float32 neighbours and decimals a hair off them are the hard cases
    f = np.float32(mantissa * 2.0**exponent)
    g = np.nextafter(f, np.float32(np.inf))
    mid = (Fraction(float(f)) + Fraction(float(g))) / 2
    digits = f"{mid.numerator / mid.denominator:.25e}" if not tail else None
    text = format_fraction(mid) + tail if tail else digits
    assert trees._float32_exact(text) == _nearest_float32(text)


def format_fraction(value: Fraction) -> str:
    """A terminating binary fraction written out in full as a decimal."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    scale = 0
    while value.denominator != 1:
        value *= 10
        scale += 1
    digits = str(value.numerator).rjust(scale + 1, "0")
    return f"{sign}{digits[: len(digits) - scale]}.{digits[len(digits) - scale :] or '0'}"


def test_float32_exact_known_double_rounding_case():
    # 1 + 2^-24 is halfway between float32 1 and its successor; a hair above must round up,
    # though the nearest double to the text is the midpoint itself
    text = "1.00000005960464477539062500000001"
    assert float(text) == 1 + 2.0**-24
    assert trees._float32_exact(text) == np.nextafter(np.float32(1), np.float32(2))
    assert trees._float32_exact("1.000000059604644775390625") == np.float32(1)


# --- in the pipeline -------------------------------------------------------------------------


@pytest.mark.requires_xgboost
def test_transformer_engines_agree_and_bad_engine_is_a_config_error():
    from fastjoin.transformer import Transformer

    booster = _train({"objective": "binary:logistic"})
    X = _data(3000, 4, nan_rows=slice(1000, 2000))
    text = (
        "\n".join(
            f"{i}," + ",".join("" if np.isnan(v) else repr(float(v)) for v in row) for i, row in enumerate(X)
        ).encode()
        + b"\n"
    )
    options = dict(
        input_filter="$[1:]",
        join_source="Input",
        output_filter="$[0,-1]",
        accept="text/csv",
        chunk_size=20_000,
    )
    out = {engine: Transformer(booster, engine=engine, **options) for engine in ("compiled", "xgboost")}
    assert out["compiled"].model.engine == "compiled" and out["xgboost"].model.engine == "xgboost"
    assert out["compiled"].transform_bytes(text) == out["xgboost"].transform_bytes(text)
    with pytest.raises(ConfigError, match="engine must be one of"):
        Transformer(booster, engine="gpu", **options)


@pytest.mark.requires_xgboost
def test_a_job_says_when_the_model_falls_back(tmp_path):
    from fastjoin.job import run_job

    booster = _train({"objective": "binary:logistic", "booster": "dart", "rate_drop": 0.3})
    booster.save_model(str(tmp_path / "dart.json"))
    X = _data(50, 3)
    (tmp_path / "in.csv").write_text(
        "".join(",".join(repr(float(v)) for v in row) + "\n" for row in np.nan_to_num(X))
    )
    request = {
        "TransformJobName": "dart",
        "ModelName": "dart",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(tmp_path / "in.csv")}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": str(tmp_path / "out")},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    d = run_job(request, model=str(tmp_path / "dart.json"), progress=False)
    assert d["TransformJobStatus"] == "Completed", d.get("FailureReason")
    assert d["fastjoin"]["engine"] == "xgboost"
    assert any("runs on libxgboost" in w and "'dart' booster" in w for w in d["fastjoin"]["warnings"])


# --- found in review -------------------------------------------------------------------------


def _nudge(ensemble, direction: float):
    """Every real threshold one float32 step towards ``direction`` (a plausible rounding bug)."""
    import dataclasses

    groups = []
    for g in ensemble.groups:
        real = np.zeros(len(g["thr"]), dtype=bool)
        for f, t in zip(g["split_feat"], g["split_thr"]):
            real |= (g["thr"] == t) & (ensemble.used[g["feat"]] == f)
        thr = g["thr"].copy()
        thr[real] = np.nextafter(thr[real], np.float32(direction))
        groups.append(dict(g, thr=thr))
    return dataclasses.replace(ensemble, groups=tuple(groups))


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("direction", [np.inf, -np.inf])
def test_the_probe_notices_thresholds_one_step_off_in_unbalanced_trees(direction):
    # lossguide trees of depth 7-10: most slots of the complete layout are filler nodes
    booster = _train(
        {
            "objective": "reg:squarederror",
            "grow_policy": "lossguide",
            "max_leaves": 24,
            "max_depth": 10,
            "min_child_weight": 0,
            "tree_method": "hist",
        },
        rounds=20,
        y=POSITIVE,
    )
    ensemble = load_model(booster, engine="compiled")._ensemble
    assert ensemble.layout == "complete"
    bad = _nudge(ensemble, direction)
    probe = trees.probe_rows(bad)
    assert not _same_bits(bad.predict(probe), booster.inplace_predict(probe))


@pytest.mark.requires_xgboost
def test_wide_rows_whose_trees_use_a_few_columns():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(700, 400)).astype(np.float32)
    y = (X[:, 7] + X[:, 300] > 0).astype(np.float32)
    booster = xgb.train(
        {"objective": "binary:logistic", "nthread": 1, "max_depth": 3, "colsample_bytree": 0.02, "seed": 1},
        xgb.DMatrix(X, label=y),
        num_boost_round=8,
    )
    p = load_model(booster, engine="compiled")
    assert 0 < len(p._ensemble.used) < 400
    X[300:, :][rng.random((400, 400)) < 0.01] = np.nan
    _check(booster, np.ascontiguousarray(X))


@pytest.mark.requires_xgboost
def test_ensemble_predict_checks_its_input():
    booster = _train({"objective": "binary:logistic"})
    ensemble = load_model(booster, engine="compiled")._ensemble
    for bad in (
        np.zeros((3, 1), np.float32),
        np.zeros((3, N_FEATURES), np.float64),
        np.zeros((N_FEATURES, 3), np.float32).T,
    ):
        with pytest.raises(ValueError, match=f"C-contiguous float32 matrix of {N_FEATURES} columns"):
            ensemble.predict(bad)


@pytest.mark.requires_xgboost
def test_trees_whose_right_child_is_not_next_are_refused():
    booster = _train({"objective": "binary:logistic"}, rounds=2)
    learner = ubjson.loads(bytes(booster.save_raw("ubj")))["learner"]
    tree = learner["gradient_booster"]["model"]["trees"][0]
    tree["left_children"][0], tree["right_children"][0] = tree["right_children"][0], tree["left_children"][0]
    with pytest.raises(trees.Unsupported, match="right children do not follow"):
        trees._compile(learner)


# --- base scores, NaNs, load-time errors -----------------------------------------------------


SATURATING = 100.0  # a leaf that takes the sigmoid to 0 or 1 whatever the base score


def _nan_gated(base_score, sign: float = 1.0) -> xgb.Booster:
    """binary:logistic whose leaves saturate the sigmoid, except the one reached only when
    features 0, 1 and 2 are all NaN (x < -inf is never true: every number goes right)."""
    chain = Tree(
        [1, 3, -1, 5, -1, -1, -1],
        [2, 4, -1, 6, -1, -1, -1],
        [0, 1, 0, 2, 0, 0, 0],
        [-np.inf, -np.inf, SATURATING * sign, -np.inf, SATURATING * sign, 0.0, SATURATING * sign],
        [1, 1, 0, 1, 0, 0, 0],
    )
    return booster_from(build_model("binary:logistic", [chain], base_score, 3))


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("score", [1e-7, 1e-30, 0.0, float(np.nextafter(np.float32(1), np.float32(0)))])
def test_logistic_base_scores_outside_the_bounds_are_clamped(score):
    booster = _nan_gated(score, sign=1.0 if score < 0.5 else -1.0)
    X = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, np.nan], [np.nan] * 3], np.float32)
    p = load_model(booster)
    assert p.engine == "compiled", p.fallback_reason
    assert _same_bits(p.predict(X), booster.inplace_predict(X))
    _check(booster, X)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("labels", [0.0, 1.0])
def test_logistic_models_of_one_class_run_compiled(labels):
    # all-0 or all-1 labels: XGBoost 3 saves a base score of 0 or 1
    booster = _train({"objective": "binary:logistic"}, rounds=3, y=np.full(600, labels, np.float32))
    assert load_model(booster).engine == "compiled"
    _check(booster)


@pytest.mark.requires_xgboost
def test_the_logistic_clamp_bounds_are_xgboosts():
    # each bound, and one float32 step either side of it
    for bound in np.array([1e-6, 1 - 1e-6], np.float32):
        for score in (np.nextafter(bound, np.float32(0)), bound, np.nextafter(bound, np.float32(1))):
            booster = booster_from(build_model("binary:logistic", [leaf(-0.0)], score, 1))  # x + -0 is x
            ensemble = trees.compile_model(bytes(booster.save_raw("ubj")))
            margin = booster.inplace_predict(np.zeros((1, 1), np.float32), predict_type="margin")
            assert _same_bits(ensemble.base_margins, margin.reshape(1)), score


def _nan_leaves(first: float, second: float, deep: bool) -> xgb.Booster:
    """A sum that is already NaN, then a NaN leaf: rows left of 0.5 on feature 0 take
    ``first``, rows right of it ``second`` (NaN rows go left)."""
    forest = [
        stump(0, 0.5, np.inf, -np.inf),
        stump(1, 0.0, -np.inf, np.inf),
        stump(0, 0.5, first, second),
        stump(1, 0.0, 1.0, second),
    ]
    if deep:  # one tree deeper than the complete layout: the node layout runs all of them
        depth = trees.COMPLETE_MAX_DEPTH + 1
        inner = [i % 2 == 0 and i < 2 * depth for i in range(2 * depth + 1)]  # node 2k: leaf 2k + 1 or on
        spine = Tree(
            [i + 1 if inner[i] else -1 for i in range(2 * depth + 1)],
            [i + 2 if inner[i] else -1 for i in range(2 * depth + 1)],
            [0] * (2 * depth + 1),
            [0.0] * (2 * depth + 1),
            [1] * (2 * depth + 1),
        )
        forest.insert(1, spine)
    return booster_from(build_model("reg:squarederror", forest, 0.0, 2))


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("deep", [False, True], ids=["complete", "nodes"])
@pytest.mark.parametrize(
    "first, second",
    [
        (f32(0x7FC00000), f32(0xFFC00000)),  # +NaN after the default -NaN of inf - inf
        (f32(0x7FC12345), f32(0xFFC00001)),  # payloads
        (f32(0x7F800001), f32(0xFF800003)),  # signalling NaNs
    ],
)
def test_a_nan_leaf_replaces_a_nan_sum_as_in_xgboost(first, second, deep):
    booster = _nan_leaves(first, second, deep)
    p = load_model(booster, engine="compiled")
    assert p._ensemble.layout == ("nodes" if deep else "complete")
    rng = np.random.default_rng(0)
    X = rng.choice(np.array([-1.0, 0.0, 0.5, 1.0], np.float32), size=(200, 2))
    X[128:][rng.random((72, 2)) < 0.2] = np.nan  # whole blocks with and without NaN, a partial one
    expected = booster.inplace_predict(X)
    assert len(np.unique(expected.view(np.uint32))) > 1  # several NaNs: which one survives matters
    _check(booster, X)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("objective", ["binary:logistic", "count:poisson"])
def test_no_trees_and_boost_from_average_keep_the_base_score_as_the_margin(objective):
    # XGBoost links the base score only for a fitted model: here 0.5 is the margin itself
    y = None if "logistic" in objective else POSITIVE
    X = _rows()[250:400]  # whole blocks with and without NaN
    booster = _train({"objective": objective}, rounds=0, y=y)
    p = load_model(booster)
    assert p.engine == "compiled", p.fallback_reason
    _check(booster, X)
    # nor is the score checked against the link's domain
    built = booster_from(build_model(objective, [], -1.0, N_FEATURES, boost_from_average=True))
    assert load_model(built).engine == "compiled"
    _check(built, X)


@pytest.mark.requires_xgboost
def test_the_log_link_takes_libms_nan_for_a_negative_base_score():
    # logf(-1) is -NaN in glibc's logf, +NaN in the SVID wrapper an unlinked libm binds to
    booster = booster_from(build_model("count:poisson", [stump(0, 0.0, 1.0, -1.0)], -1.0, 2))
    p = load_model(booster)
    assert p.engine == "compiled", p.fallback_reason
    _check(booster, np.array([[-1.0, 0.0], [0.0, 1.0], [np.nan, 2.0]] * 30, np.float32))


FLT_MAX = float(np.finfo(np.float32).max)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("score", [FLT_MAX, -FLT_MAX])
@pytest.mark.parametrize("objective", ["reg:squarederror", "count:poisson"])
def test_a_base_score_of_float_max_loads(objective, score):
    booster = booster_from(build_model(objective, [stump(0, 0.0, 1.0, -1.0)], score, 2))
    p = load_model(booster)
    assert p.engine == "compiled", p.fallback_reason
    _check(booster, np.array([[-1.0, 0.0], [0.0, 1.0], [np.nan, 2.0]] * 30, np.float32))


@pytest.mark.requires_xgboost
def test_loading_does_not_depend_on_the_callers_numpy_error_state():
    one_class = _train(
        {"objective": "binary:logistic"}, rounds=2, y=np.zeros(600, np.float32)
    )  # base score 0
    at_the_edges = booster_from(
        build_model(
            "reg:squarederror", [stump(0, FLT_MAX, 1.0, 2.0), stump(1, -FLT_MAX, 3.0, 4.0)], FLT_MAX, 2
        )
    )
    X = np.array([[FLT_MAX, -FLT_MAX], [np.inf, -np.inf], [np.nan, 0.0]] * 30, np.float32)
    for booster, rows in ((one_class, None), (at_the_edges, X)):
        with np.errstate(all="raise"):
            p = load_model(booster)
            assert p.engine == "compiled", p.fallback_reason
            _check(booster, rows)


@pytest.mark.requires_xgboost
def test_an_unexpected_error_in_compilation_falls_back_with_its_reason(monkeypatch):
    booster = _train({"objective": "binary:logistic"}, rounds=2)

    def broken(ubj):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(trees, "compile_model", broken)
    p = load_model(booster)
    assert p.engine == "xgboost" and "ZeroDivisionError: a bug" in p.fallback_reason
    assert "ZeroDivisionError: a bug" in p.fallback_note
    with pytest.raises(
        ModelError, match="engine='compiled' cannot run this model, which has .*ZeroDivisionError"
    ):
        load_model(booster, engine="compiled")


@pytest.mark.requires_xgboost
def test_the_fallback_reason_says_what_differs(monkeypatch):
    booster = _train({"objective": "binary:logistic", "base_score": 0.3}, rounds=3)
    real = trees.compile_model

    def wrong_base(ubj):  # a margin one float32 step off: every probe row differs
        ensemble = real(ubj)
        return dataclasses.replace(ensemble, base_margins=np.nextafter(ensemble.base_margins, np.float32(1)))

    monkeypatch.setattr(trees, "compile_model", wrong_base)
    p = load_model(booster)
    assert p.engine == "xgboost"
    reason = p.fallback_reason
    for part in ("binary:logistic", "base score [3E-1] as margin", "3 trees"):
        assert part in reason, reason
    probe = trees.probe_rows(real(bytes(booster.save_raw("ubj"))))
    ours, theirs = wrong_base(bytes(booster.save_raw("ubj"))).predict(probe), booster.inplace_predict(probe)
    bad = np.flatnonzero(ours != theirs)
    assert f"on {bad.size} of {len(probe)} probe rows" in reason
    r = bad[0]
    assert (
        f"row {r}: {ours[r]} ({ours[r : r + 1].view(np.uint32)[0]:#010x}) where XGBoost gives {theirs[r]}"
        in reason
    )


@pytest.mark.requires_xgboost
def test_a_seeded_differential_campaign(kernel):
    # trained and hand-built models, rows on and next to every threshold, bits compared;
    # python -m tests.tree_campaign --seconds N runs the same for longer
    stats = tree_campaign.run(models=16, seed=1, kernels=(kernel,))
    assert stats.models >= 14 and not stats.unsupported and not stats.fallbacks, stats.report()
    assert not stats.disagreements, stats.report()


@pytest.mark.requires_xgboost
def test_an_early_stopped_model_predicts_with_all_its_trees():
    # as the README says: fastjoin and inplace_predict use every tree, XGBClassifier stops
    # at best_iteration; the sliced booster gives XGBClassifier's predictions
    pytest.importorskip("sklearn")
    X = _data(600, 8)
    y = (np.nan_to_num(X[:, 0]) + np.random.default_rng(8).normal(size=600) > 0).astype(int)
    clf = xgb.XGBClassifier(
        n_estimators=200, early_stopping_rounds=3, learning_rate=0.5, max_depth=3, n_jobs=1
    )
    clf.fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])], verbose=False)
    booster = clf.get_booster()
    assert booster.num_boosted_rounds() == clf.best_iteration + 4
    p = load_model(clf, engine="compiled")
    assert _same_bits(p.predict(X), booster.inplace_predict(X))
    assert not _same_bits(p.predict(X), clf.predict_proba(X)[:, 1])
    best = load_model(booster[: clf.best_iteration + 1], engine="compiled")
    assert _same_bits(best.predict(X), clf.predict_proba(X)[:, 1])


@pytest.mark.requires_xgboost
def test_softmax_of_nan_margins_keeps_xgboosts_nan():
    # the sum of the exponentials is NaN after class 0; class 2's NaN must not replace it
    # (an -O0 build of the old code let it: the operand order of + was the compiler's)
    forest = [leaf(f32(0x7FC00000)), stump(0, 0.0, -1e38, 2.0), leaf(f32(0xFFC00001))]
    booster = booster_from(build_model("multi:softprob", forest, 0.0, 1, num_class=3))
    X = np.array([[-1.0], [1.0], [np.nan]] * 30, np.float32)
    assert np.all(booster.inplace_predict(X)[:, 1].view(np.uint32) == 0x7FC00000)  # the sum's NaN
    _check(booster, X)
