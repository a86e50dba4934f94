"""A randomized differential campaign: fastjoin's compiled tree predictor against libxgboost.

Models of two kinds, at random:

* trained by XGBoost on small random data (NaN features, labels that are sometimes all 0 or
  all 1, several objectives, depths up to 14 so that the node layout runs too, multi-class,
  parallel trees, lossguide, explicit base scores);
* built by hand as UBJSON (thresholds at +-0, subnormals, FLT_MIN, +-FLT_MAX, +-inf, NaN;
  leaves of +-inf, NaNs of either sign with payloads, signalling NaNs, huge and tiny values;
  base scores at the edges: 0, 1, 1e-7, 1e-30, +-FLT_MAX, subnormals, NaN, +-inf; forests of
  no trees with and without boost_from_average).

Each model is loaded by XGBoost (a model XGBoost refuses is counted and skipped), compiled by
:func:`fastjoin.trees.compile_model` and predicted on rows that sit on and one float32 step
either side of every threshold, rows of special values and the same rows with NaNs (so the
vector kernels' NaN-free and NaN variants, whole 64-row blocks and a partial one all run),
with every kernel; each prediction is compared as uint32 with ``Booster.inplace_predict``.
``load_model(engine="auto")`` is checked end to end too, and its fallbacks are counted.

    python -m tests.tree_campaign --seconds 600      # from the repository root
    python -m tests.tree_campaign --models 200 --seed 3 --kernels avx2,scalar

prints the models and rows checked per kernel and every disagreement, with the seed and model
number that rebuild it (``--seed S --first N --models 1``); the exit status is 1 if any.
tests/test_trees.py runs a small seeded version (:func:`run` with ``models=``).
"""

from __future__ import annotations

import argparse
import dataclasses
import struct
import sys
import time
import warnings

import numpy as np

try:
    import xgboost as xgb
except ModuleNotFoundError:  # test_trees imports the builders (f32, Tree...) without xgboost too
    xgb = None

from fastjoin import _trees, trees, ubjson
from fastjoin.predictor import load_model

KERNELS = ("avx512", "avx2", "scalar")
FLT_MAX = float(np.finfo(np.float32).max)
FLT_MIN = float(np.finfo(np.float32).tiny)


def f32(bits: int) -> np.float32:
    """The float32 of a bit pattern (NaN payloads survive)."""
    return np.array([bits], np.uint32).view(np.float32)[0]


THRESHOLDS = np.array(
    [0.0, -0.0, 1e-45, -1e-45, 1.1754942e-38, -1.1754942e-38, FLT_MIN, -FLT_MIN, 1.0, -1.0]
    + [0.5, 1e-30, -1e30, FLT_MAX, -FLT_MAX, np.inf, -np.inf, np.nan],
    dtype=np.float32,
)
LEAVES = np.array(
    [0.0, -0.0, np.inf, -np.inf, FLT_MAX, -FLT_MAX, 1e38, -1e38, 1e-45, -1e-45, 1e-30]
    + [f32(b) for b in (0x7FC00000, 0xFFC00000, 0x7FC12345, 0xFFC00001, 0x7F800001, 0xFF800003)],
    dtype=np.float32,
)
BASE_SCORES = np.array(
    [0.0, -0.0, 1.0, 1e-7, 1e-30, 1e-6, 1 - 1e-6, 0.999999, 1 - 2**-24, 2**-24, 0.5, 1e-45, FLT_MIN]
    + [FLT_MAX, -FLT_MAX, -1.0, 2.0, np.inf, -np.inf, np.nan, 0.25, 3.0],
    dtype=np.float32,
)
ROW_VALUES = np.array(
    [0.0, -0.0, 1e-45, -1e-45, FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX, np.inf, -np.inf, 1.0, -1.0],
    dtype=np.float32,
)
NAN_FEATURES = np.array([np.nan, f32(0xFFC00000), f32(0x7FC00001), f32(0x7F800001)], dtype=np.float32)

_SIGMOID = ("binary:logistic", "reg:logistic")
_OBJECTIVES = _SIGMOID + (
    "binary:logitraw",
    "reg:squarederror",
    "reg:absoluteerror",
    "count:poisson",
    "reg:gamma",
    "reg:tweedie",
    "multi:softprob",
    "multi:softmax",
)


# --- hand-built models -----------------------------------------------------------------------

_TYPED = {
    np.dtype(np.float32): b"d",
    np.dtype(np.int32): b"l",
    np.dtype(np.int64): b"L",
    np.dtype(np.uint8): b"U",
}


def encode_ubjson(value) -> bytes:
    """UBJSON as XGBoost writes it: numpy arrays as typed arrays (float32 bits kept)."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _encode(value, out: bytearray) -> None:
    if isinstance(value, dict):
        out += b"{"
        for key, item in value.items():
            raw = key.encode()
            out += b"L" + struct.pack(">q", len(raw)) + raw
            _encode(item, out)
        out += b"}"
    elif isinstance(value, np.ndarray):
        marker = _TYPED[value.dtype]
        out += b"[$" + marker + b"#L" + struct.pack(">q", value.size)
        out += value.astype(value.dtype.newbyteorder(">")).tobytes()
    elif isinstance(value, (list, tuple)):
        out += b"["
        for item in value:
            _encode(item, out)
        out += b"]"
    elif isinstance(value, bool):
        out += b"T" if value else b"F"
    elif isinstance(value, int):
        out += b"L" + struct.pack(">q", value)
    elif isinstance(value, float):
        out += b"D" + struct.pack(">d", value)
    elif isinstance(value, str):
        raw = value.encode()
        out += b"SL" + struct.pack(">q", len(raw)) + raw
    else:
        raise TypeError(f"cannot encode a {type(value).__name__}")


def score_text(values) -> str:
    """A base score as XGBoost writes it: ``[5E-1]``, ``[1E-1,2E-1]``, ``[NaN]``."""

    def one(v):
        v = np.float32(v)
        if np.isnan(v):
            return "NaN"
        if np.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return np.format_float_scientific(v, unique=True, trim="-").upper()

    return "[" + ",".join(one(v) for v in np.atleast_1d(values)) + "]"


_SKELETONS: dict = {}


def _skeleton(objective: str, num_class: int) -> dict:
    """A model of no trees for the objective, as XGBoost saves it (its objective parameters)."""
    key = (objective, num_class)
    if key not in _SKELETONS:
        params = {"objective": objective, "nthread": 1}
        if num_class:
            params["num_class"] = num_class
        y = np.arange(4, dtype=np.float32) % max(num_class, 2) + (objective == "reg:gamma")
        booster = xgb.train(params, xgb.DMatrix(np.zeros((4, 1), np.float32), label=y, nthread=1), 0)
        _SKELETONS[key] = bytes(booster.save_raw("ubj"))
    return ubjson.loads(_SKELETONS[key])


@dataclasses.dataclass
class Tree:
    """One tree in XGBoost's arrays: children of node i at left[i], right[i] (-1 for a
    leaf); a leaf's value in cond."""

    left: list
    right: list
    feat: list
    cond: list
    default_left: list

    def as_json(self, tree_id: int, n_features: int) -> dict:
        n = len(self.left)
        left = np.asarray(self.left, np.int32)
        right = np.asarray(self.right, np.int32)
        parents = np.full(n, 2147483647, np.int32)
        inner = np.flatnonzero(left >= 0)
        parents[left[inner]] = inner
        parents[right[inner]] = inner
        cond = np.asarray(self.cond, np.float32)
        empty32, empty64 = np.zeros(0, np.int32), np.zeros(0, np.int64)
        return {
            "base_weights": cond.copy(),
            "categories": empty32,
            "categories_nodes": empty32,
            "categories_segments": empty64,
            "categories_sizes": empty64,
            "default_left": np.asarray(self.default_left, np.uint8),
            "id": tree_id,
            "left_children": left,
            "loss_changes": np.zeros(n, np.float32),
            "parents": parents,
            "right_children": right,
            "split_conditions": cond,
            "split_indices": np.asarray(self.feat, np.int32),
            "split_type": np.zeros(n, np.uint8),
            "sum_hessian": np.ones(n, np.float32),
            "tree_param": {
                "num_deleted": "0",
                "num_feature": str(n_features),
                "num_nodes": str(n),
                "size_leaf_vector": "1",
            },
        }


def leaf(value) -> Tree:
    return Tree([-1], [-1], [0], [np.float32(value)], [0])


def stump(feature: int, threshold, below, above, nan_left: bool = True) -> Tree:
    """x[feature] < threshold: ``below``, else ``above``; a NaN goes left if ``nan_left``."""
    return Tree(
        [1, -1, -1],
        [2, -1, -1],
        [feature, 0, 0],
        [np.float32(threshold), np.float32(below), np.float32(above)],
        [int(nan_left), 0, 0],
    )


def build_model(
    objective: str,
    forest: list,
    base_score,
    n_features: int,
    *,
    num_class: int = 0,
    boost_from_average: bool = False,
    groups: list | None = None,
) -> bytes:
    """A model's UBJSON from trees (class of each tree: ``groups``, default round robin)."""
    model = _skeleton(objective, num_class)
    learner = model["learner"]
    k = max(num_class, 1)
    gbtree = learner["gradient_booster"]["model"]
    gbtree["trees"] = [t.as_json(i, n_features) for i, t in enumerate(forest)]
    gbtree["tree_info"] = list(groups) if groups is not None else [i % k for i in range(len(forest))]
    gbtree["iteration_indptr"] = list(range(0, len(forest) + 1, k))
    gbtree["gbtree_model_param"] = {"num_parallel_tree": "1", "num_trees": str(len(forest))}
    param = learner["learner_model_param"]
    param["base_score"] = base_score if isinstance(base_score, str) else score_text(base_score)
    param["boost_from_average"] = "1" if boost_from_average else "0"
    param["num_feature"] = str(n_features)
    return encode_ubjson(model)


def booster_from(ubj: bytes) -> xgb.Booster:
    booster = xgb.Booster(model_file=bytearray(ubj))
    booster.set_param({"nthread": 1})  # small batches: threads cost more than they save
    return booster


def _random_tree(rng, n_features: int, max_depth: int, thresholds, leaves) -> Tree:
    """Nodes in breadth-first order, so a right child follows its left one, as XGBoost's."""
    t = Tree([], [], [], [], [])
    depth = [0]
    grow = rng.uniform(0.5, 0.95)
    i = 0
    while i < len(depth):
        d = depth[i]
        if d < max_depth and (d == 0 or rng.random() < grow) and len(depth) < 3000:
            child = len(depth)
            depth += [d + 1, d + 1]
            t.left.append(child)
            t.right.append(child + 1)
            t.feat.append(int(rng.integers(n_features)))
            t.cond.append(thresholds[rng.integers(len(thresholds))])
            t.default_left.append(int(rng.integers(2)))
        else:
            t.left.append(-1)
            t.right.append(-1)
            t.feat.append(0)
            t.cond.append(leaves[rng.integers(len(leaves))])
            t.default_left.append(0)
        i += 1
    return t


def hand_built(rng) -> tuple[bytes, str]:
    objective = _OBJECTIVES[rng.integers(len(_OBJECTIVES))]
    num_class = int(rng.integers(2, 5)) if objective.startswith("multi:") else 0
    k = max(num_class, 1)
    n_features = int(rng.integers(1, 6))
    n_trees = k * int(rng.choice([0, 1, 2, 3, 6, 12]))
    max_depth = int(rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 10, 11, 13]))
    # thresholds: special values, and a few random ones that the trees share
    common = (rng.standard_normal(6) * 10.0 ** rng.integers(-3, 4)).astype(np.float32)
    thresholds = np.concatenate([THRESHOLDS[rng.random(len(THRESHOLDS)) < 0.5], common])
    scale = np.float32(10.0 ** rng.integers(-2, 39))
    with np.errstate(over="ignore"):  # beyond FLT_MAX: inf leaves, welcome
        finite = (rng.standard_normal(8) * scale).astype(np.float32)
    special = rng.uniform(0, 0.6)  # share of special leaves
    pool = np.concatenate([finite, LEAVES])
    weights = np.concatenate(
        [np.full(len(finite), (1 - special) / len(finite)), np.full(len(LEAVES), special / len(LEAVES))]
    )
    leaves = pool[rng.choice(len(pool), size=64, p=weights)]
    forest = [_random_tree(rng, n_features, max_depth, thresholds, leaves) for _ in range(n_trees)]
    if rng.random() < 0.7:
        score = BASE_SCORES[rng.integers(len(BASE_SCORES))]
    else:
        score = np.float32(rng.uniform(0, 1))
    if num_class and rng.random() < 0.5:
        score = BASE_SCORES[rng.integers(len(BASE_SCORES), size=num_class)]
    bfa = bool(rng.random() < 0.5)
    ubj = build_model(objective, forest, score, n_features, num_class=num_class, boost_from_average=bfa)
    desc = (
        f"hand-built {objective}{f' ({num_class} classes)' if num_class else ''}, {n_trees} trees of "
        f"depth <= {max_depth}, {n_features} features, base score {score_text(score)}, "
        f"boost_from_average {int(bfa)}"
    )
    return ubj, desc


# --- trained models --------------------------------------------------------------------------


def trained(rng) -> tuple[bytes, str]:
    objective = _OBJECTIVES[rng.integers(len(_OBJECTIVES))]
    n, n_features = int(rng.integers(40, 300)), int(rng.choice([1, 2, 3, 5, 8, 40]))
    X = rng.standard_normal((n, n_features)).astype(np.float32)
    steps = rng.random(n_features) < 0.3  # repeated values: rows land on thresholds
    X[:, steps] = np.round(X[:, steps] * 4) / 4
    X[rng.random(X.shape) < rng.uniform(0, 0.3)] = np.nan
    signal = np.nan_to_num(X[:, 0]) + rng.standard_normal(n) * rng.uniform(0, 2)
    params = {
        "objective": objective,
        "nthread": 1,
        "seed": int(rng.integers(1000)),
        "max_depth": int(rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 14])),
        "eta": float(rng.choice([0.05, 0.3, 1.0])),
        "min_child_weight": float(rng.choice([0, 1])),
        "lambda": float(rng.choice([0, 1])),
        "tree_method": str(rng.choice(["hist", "exact", "approx"])),
    }
    if objective.startswith("multi:"):
        params["num_class"] = int(rng.integers(2, 5))
        y = np.clip((signal * 2).astype(int) % params["num_class"], 0, None).astype(np.float32)
    elif objective in _SIGMOID or objective == "binary:logitraw":
        y = (signal > rng.normal()).astype(np.float32)
        if rng.random() < 0.2:  # one class only: the base score is 0 or 1
            y[:] = float(rng.integers(2))
    elif objective == "count:poisson":
        y = rng.poisson(np.exp(np.clip(signal, -3, 3))).astype(np.float32)
    elif objective in ("reg:gamma", "reg:tweedie"):
        y = np.exp(np.clip(signal, -5, 5)).astype(np.float32)
    else:
        y = (signal * 10.0 ** rng.integers(-3, 6)).astype(np.float32)
    if rng.random() < 0.2:
        params.update(grow_policy="lossguide", max_leaves=int(rng.integers(2, 40)), tree_method="hist")
    if rng.random() < 0.15:
        params.update(num_parallel_tree=int(rng.integers(2, 4)), subsample=0.7)
    if rng.random() < 0.2 and not objective.startswith("multi:"):
        low = objective in _SIGMOID
        params["base_score"] = float(rng.choice([0.3, 0.9]) if low else rng.normal() * 3)
        if objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
            params["base_score"] = abs(params["base_score"]) + 0.1
    rounds = int(rng.integers(0, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XGBoost's own warnings about parameters
        booster = xgb.train(params, xgb.DMatrix(X, label=y, nthread=1), num_boost_round=rounds)
    shown = {k: v for k, v in params.items() if k not in ("nthread", "objective")}
    return bytes(booster.save_raw("ubj")), f"trained {objective}, {rounds} rounds, {shown}"


# --- rows ------------------------------------------------------------------------------------


def rows_for(ubj: bytes, n_features: int, rng, limit: int = 1500) -> np.ndarray:
    """Rows on and one float32 step either side of every threshold (the other features near
    their own thresholds or special values), special rows, then the same with NaNs."""
    model = ubjson.loads(ubj)["learner"]["gradient_booster"]["model"]
    pairs = set()
    for t in model["trees"]:
        inner = np.asarray(t["left_children"]) >= 0
        feats = np.asarray(t["split_indices"])[inner]
        conds = np.asarray(t["split_conditions"], np.float32)[inner]
        pairs.update(zip(feats.tolist(), conds.view(np.uint32).tolist()))
    by_feature = [[] for _ in range(n_features)]
    for f, bits in pairs:
        by_feature[f].append(f32(bits))
    values = []
    for j in range(n_features):
        own = np.asarray(by_feature[j], np.float32)
        near = np.concatenate([own, _step(own, -1), _step(own, 1), ROW_VALUES])
        values.append(near[~np.isnan(near)])
    exact = []
    for f, bits in sorted(pairs):
        t = np.array([f32(bits)], np.float32)
        for v in np.concatenate([t, _step(t, -1), _step(t, 1)]):
            if not np.isnan(v):
                exact.append((f, v))
    if len(exact) > limit:
        exact = [exact[i] for i in rng.choice(len(exact), limit, replace=False)]
    n = max(len(exact), 64) + 64 + int(rng.integers(0, 64))  # a partial block at the end
    X = np.empty((n, n_features), np.float32)
    for j in range(n_features):
        X[:, j] = values[j][rng.integers(len(values[j]), size=n)]
    for r, (f, v) in enumerate(exact):
        X[r, f] = v
    X = X[rng.permutation(n)]
    with_nans = X.copy()
    mask = rng.random(X.shape) < rng.uniform(0.05, 0.5)
    with_nans[mask] = NAN_FEATURES[rng.integers(len(NAN_FEATURES), size=int(mask.sum()))]
    all_nan = np.full((1, n_features), np.nan, np.float32)
    return np.ascontiguousarray(np.concatenate([X, with_nans, all_nan]))


def _step(values: np.ndarray, direction: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.nextafter(values, np.float32(np.inf * direction)).astype(np.float32)


# --- the campaign ----------------------------------------------------------------------------


@dataclasses.dataclass
class Stats:
    models: int = 0
    trained: int = 0
    hand_built: int = 0
    refused: int = 0  # by XGBoost: a hand-built model it will not load or predict
    unsupported: list = dataclasses.field(default_factory=list)
    fallbacks: list = dataclasses.field(default_factory=list)  # engine="auto" used libxgboost
    per_kernel: dict = dataclasses.field(default_factory=dict)  # kernel -> [models, rows]
    disagreements: list = dataclasses.field(default_factory=list)

    def count(self, kernel: str, rows: int) -> None:
        entry = self.per_kernel.setdefault(kernel, [0, 0])
        entry[0] += 1
        entry[1] += rows

    def report(self) -> str:
        lines = [
            f"models: {self.models} checked ({self.trained} trained, {self.hand_built} hand-built); "
            f"{self.refused} more refused by XGBoost; {len(self.unsupported)} not compiled; "
            f"engine='auto' fell back on {len(self.fallbacks)}",
            f"{'kernel':<8} {'models':>8} {'rows':>12}",
        ]
        for kernel, (models, rows) in self.per_kernel.items():
            lines.append(f"{kernel:<8} {models:>8} {rows:>12}")
        lines += [f"not compiled: {u}" for u in self.unsupported[:10]]
        lines += [f"fell back: {f}" for f in self.fallbacks[:10]]
        lines.append(f"disagreements: {len(self.disagreements)}")
        lines += self.disagreements[:50]
        return "\n".join(lines)


def _bits(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def check_model(ubj: bytes, desc: str, rng, stats: Stats, kernels=KERNELS, tag: str = "") -> None:
    """Compare one model on every kernel; XGBoost's refusal is counted, not a failure. Some
    models are loaded and predicted under np.errstate(all="raise"), which must not matter."""
    try:
        booster = booster_from(ubj)
        n_features = booster.num_features()
        rows = rows_for(bytes(booster.save_raw("ubj")), n_features, rng)
        expected = _bits(booster.inplace_predict(rows))
    except xgb.core.XGBoostError:
        stats.refused += 1
        return
    stats.models += 1
    errors = "raise" if rng.random() < 0.3 else "warn"
    with np.errstate(all=errors):
        _check_compiled(booster, rows, expected, desc, stats, kernels, tag)


def _check_compiled(booster, rows, expected, desc, stats, kernels, tag) -> None:
    try:
        ensemble = trees.compile_model(bytes(booster.save_raw("ubj")))
        p = load_model(booster, nthread=1)
    except trees.Unsupported as exc:
        stats.unsupported.append(f"{tag} {desc}: {exc}")
        return
    except Exception as exc:  # a crash is a disagreement too
        stats.disagreements.append(f"{tag} {desc}: loading raised {type(exc).__name__}: {exc}")
        return
    for kernel in kernels if ensemble.layout == "complete" else kernels[-1:]:
        name = kernel if ensemble.layout == "complete" else "deep"
        previous = _trees.set_vector_kernel(kernel)
        try:
            got = _bits(ensemble.predict(rows))
        finally:
            _trees.set_vector_kernel(previous)
        stats.count(name, len(rows))
        _compare(got, expected, rows, f"{tag} [{name}] {desc}", stats)
    if p.engine != "compiled":
        stats.fallbacks.append(f"{tag} {desc}: {p.fallback_reason}")
    _compare(_bits(p.predict(rows)), expected, rows, f"{tag} [engine=auto] {desc}", stats)


def _compare(got, expected, rows, where: str, stats: Stats) -> None:
    expected = expected.reshape(got.shape)
    differ = got != expected
    if differ.ndim > 1:
        differ = differ.any(axis=1)
    bad = np.flatnonzero(differ)
    if bad.size:
        r = int(bad[0])
        stats.disagreements.append(
            f"{where}: {bad.size} of {len(rows)} rows differ; row {r} "
            f"{[hex(v) for v in rows[r].view(np.uint32)]}: fastjoin "
            f"{[hex(v) for v in np.atleast_1d(got[r])]}, XGBoost {[hex(v) for v in np.atleast_1d(expected[r])]}"
        )


def run(
    *,
    seconds: float | None = None,
    models: int | None = None,
    seed: int = 0,
    first: int = 0,
    kernels=KERNELS,
    log=None,
) -> Stats:
    """Check models ``first``, ``first + 1``, ... of ``seed`` until ``models`` are done or
    ``seconds`` have passed; model i is trained when i is even, built by hand when odd."""
    if xgb is None:
        raise ModuleNotFoundError("the campaign needs xgboost: pip install -e '.[test]'", name="xgboost")
    stats = Stats()
    start = time.monotonic()
    i = first
    while (models is None or i < first + models) and (seconds is None or time.monotonic() - start < seconds):
        rng = np.random.default_rng([seed, i])
        ubj, desc = trained(rng) if i % 2 == 0 else hand_built(rng)
        if i % 2 == 0:
            stats.trained += 1
        else:
            stats.hand_built += 1
        before = len(stats.disagreements)
        check_model(ubj, desc, rng, stats, kernels, tag=f"seed {seed} model {i}")
        if log is not None and len(stats.disagreements) > before:
            log("\n".join(stats.disagreements[before:]))
        i += 1
    return stats


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.tree_campaign", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    parser.add_argument("--models", type=int, default=None, help="stop after this many models")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first", type=int, default=0, help="the first model's number")
    parser.add_argument(
        "--kernels", default=",".join(KERNELS), help="comma-separated, of " + ", ".join(KERNELS)
    )
    args = parser.parse_args(argv)
    if args.seconds is None and args.models is None:
        args.seconds = 60.0
    kernels = tuple(k for k in args.kernels.split(",") if k)
    start = time.monotonic()
    stats = run(
        seconds=args.seconds,
        models=args.models,
        seed=args.seed,
        first=args.first,
        kernels=kernels,
        log=lambda text: print(text, flush=True),
    )
    print(f"seed {args.seed}, {time.monotonic() - start:.0f} s")
    print(stats.report())
    return 1 if stats.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
