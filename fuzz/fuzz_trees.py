"""Fuzz target: the compiled tree predictor (fastjoin.trees + fastjoin._trees) against
libxgboost's inplace_predict, bit for bit, on hand-built forests decoded from the input.

The input decides an objective (binary:logistic, reg:squarederror, multi:softprob and the
rest of trees._OBJECTIVES), a base score (edges of the logistic clamp, ±0, subnormals,
±FLT_MAX, or any float32), and trees of up to 12 levels, so both layouts run (complete up to
depth 10, node walk beyond): each split on a feature with a threshold that is special (±0,
subnormals, ±FLT_MAX, ±inf) or any float32, NaNs going either way; each leaf special (±inf,
NaN, huge) or any float32. The model is written as XGBoost's JSON and loaded into libxgboost
(fastjoin.libxgboost, no xgboost package), then compiled from libxgboost's own UBJSON.
Rows sit on, one float32 ulp below and one above every threshold, with NaN rows after a
NaN-free head; every kernel (AVX-512, AVX2, scalar: set_vector_kernel, as tests/test_trees.py
forces them) must give libxgboost's float32 bit patterns. A model the compiler refuses
(trees.Unsupported) is a fallback, not a finding.
"""

from __future__ import annotations

import json
import struct
import sys

import atheris
import harness
import numpy as np

with atheris.instrument_imports(include=["fastjoin.trees", "fastjoin.ubjson"]):
    from fastjoin import _trees, trees
    from fastjoin.errors import ModelError
    from fastjoin.libxgboost import NativeBooster

TARGET = "trees"
F32 = np.float32
MAX = float(np.finfo(F32).max)
TINY = float(np.finfo(F32).smallest_subnormal)
THRESHOLDS = [0.0, -0.0, TINY, -TINY, 1.1754942e-38, MAX, -MAX, float("inf"), float("-inf"), 0.5, 1.0, -1.0]
LEAVES = [
    float("inf"),
    float("-inf"),
    float("nan"),
    MAX,
    -MAX,
    1e30,
    -1e30,
    0.0,
    -0.0,
    TINY,
    0.5,
    -88.7,
    88.7,
    1e-7,
]
BASES = [0.5, 0.0, 1.0, 1e-6, 1 - 1e-6, 1e-7, 1 - 1e-8, -0.0, TINY, MAX, -MAX, 2.0, -1.0, 1e-38, 0.3]
OBJECTIVES = {
    "binary:logistic": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "reg:squarederror": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "multi:softprob": None,
    "reg:logistic": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "binary:logitraw": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "count:poisson": {"poisson_regression_param": {"max_delta_step": "0.699999988"}},
    "reg:gamma": {"reg_loss_param": {"scale_pos_weight": "1"}},
    "multi:softmax": None,
}
KERNELS = ("avx512", "avx2", "scalar")


def text(x: float) -> str:
    """A float32 as XGBoost's JSON reader takes it back exactly."""
    x = float(F32(x))
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    return repr(x)


class Decoder:
    def __init__(self, data: bytes):
        self.fdp = atheris.FuzzedDataProvider(data)

    def byte(self) -> int:
        return self.fdp.ConsumeIntInRange(0, 255)

    def pick(self, special: list) -> float:
        """A special value, or (one time in four) any float32 bit pattern from the input."""
        b = self.byte()
        if b & 3 == 3:
            return struct.unpack("<f", self.fdp.ConsumeBytes(4).ljust(4, b"\0"))[0]
        return special[(b >> 2) % len(special)]


def decode_tree(d: Decoder, n_features: int, max_depth: int) -> dict:
    left, right, parents, feat, cond, default_left = [-1], [-1], [2147483647], [0], [0.0], [0]

    def fill(slot: int, depth: int) -> None:
        b = d.byte()
        if depth < max_depth and b & 1 and len(left) < 400:
            feat[slot] = (b >> 1 & 7) if (b >> 1 & 7) < n_features else (b >> 4) % n_features
            cond[slot] = float(F32(d.pick(THRESHOLDS)))
            default_left[slot] = b >> 7
            # XGBoost's predictor takes the right child to be left + 1: allocate them together
            lo = len(left)
            for lst, blank in (
                (left, -1),
                (right, -1),
                (parents, slot),
                (feat, 0),
                (cond, 0.0),
                (default_left, 0),
            ):
                lst.extend([blank, blank])
            left[slot], right[slot] = lo, lo + 1
            fill(lo, depth + 1)
            fill(lo + 1, depth + 1)
        else:
            cond[slot] = float(F32(d.pick(LEAVES)))

    fill(0, 0)
    n = len(left)
    return {
        "base_weights": [0.0] * n,
        "categories": [],
        "categories_nodes": [],
        "categories_segments": [],
        "categories_sizes": [],
        "default_left": default_left,
        "left_children": left,
        "loss_changes": [0.0] * n,
        "parents": parents,
        "right_children": right,
        "split_conditions": cond,
        "split_indices": feat,
        "split_type": [0] * n,
        "sum_hessian": [1.0] * n,
        "tree_param": {
            "num_deleted": "0",
            "num_feature": str(n_features),
            "num_nodes": str(n),
            "size_leaf_vector": "1",
        },
    }


def decode_model(d: Decoder):
    objective = list(OBJECTIVES)[d.byte() % len(OBJECTIVES)]
    multi = objective.startswith("multi:")
    groups = 2 + d.byte() % 3 if multi else 1
    n_features = 1 + d.byte() % 6
    rounds = d.byte() % 5
    max_depth = (1, 2, 3, 4, 6, 10, 11, 12)[d.byte() % 8]
    bases = [d.pick(BASES) for _ in range(groups if multi and d.byte() & 1 else 1)]
    trees_json = []
    for _ in range(rounds):
        for _ in range(groups):
            tree = decode_tree(d, n_features, max_depth)
            tree["id"] = len(trees_json)
            trees_json.append(tree)
    params = OBJECTIVES[objective] or {"softmax_multiclass_param": {"num_class": str(groups)}}
    model = {
        "learner": {
            "attributes": {},
            "feature_names": [],
            "feature_types": [],
            "gradient_booster": {
                "model": {
                    "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": str(len(trees_json))},
                    "iteration_indptr": [groups * r for r in range(rounds + 1)],
                    "tree_info": [g for _ in range(rounds) for g in range(groups)],
                    "trees": trees_json,
                },
                "name": "gbtree",
            },
            "learner_model_param": {
                "base_score": "[" + ",".join(text(b) for b in bases) + "]",
                "boost_from_average": str(d.byte() & 1),
                "num_class": str(groups if multi else 0),
                "num_feature": str(n_features),
                "num_target": "1",
            },
            "objective": {"name": objective, **params},
        },
        "version": [3, 2, 0],
    }
    # json writes NaN, Infinity and -Infinity, which is how XGBoost's JSON spells them
    return json.dumps(model), trees_json, n_features


def decode_rows(d: Decoder, trees_json: list, n_features: int) -> np.ndarray:
    """On, one ulp below and one above every threshold of each feature; NaN-free head of
    64 rows per block wanted, then rows with NaNs and a partial block."""
    near: list = [[0.0, -0.0, float("inf"), float("-inf")] for _ in range(n_features)]
    for t in trees_json:
        for f, c, lc in zip(t["split_indices"], t["split_conditions"], t["left_children"]):
            if lc >= 0:
                c = F32(c)
                near[f] += [c, np.nextafter(c, F32(-np.inf)), np.nextafter(c, F32(np.inf))]
    head = 64 * (d.byte() % 3)
    n = head + 1 + d.byte() % 80
    X = np.empty((n, n_features), dtype=F32)
    for j in range(n_features):
        values = np.array(near[j], dtype=F32)
        X[:, j] = values[(np.arange(n) * (j + 1) + d.byte()) % len(values)]
    tail = X[head:]
    tail[(np.arange(tail.size).reshape(tail.shape) * 7 + d.byte()) % 5 == 0] = np.nan
    return np.ascontiguousarray(X)


def test_one_input(data: bytes) -> None:
    d = Decoder(data[: harness.MAX_LEN])
    raw, trees_json, n_features = decode_model(d)
    try:
        booster = NativeBooster.from_bytes(raw.encode())
        booster.set_param({"nthread": 1})
        ubj = booster.save_raw("ubj")
    except ModelError:
        return  # libxgboost refuses the model itself (a gamma base score <= 0, ...)
    try:
        ensemble = trees.compile_model(ubj)
    except trees.Unsupported:
        return
    X = decode_rows(d, trees_json, n_features)
    try:
        want = booster.predict_dense(X).reshape(-1).view(np.uint32)
    except ModelError:
        return  # libxgboost refuses to predict (a gamma model's base score <= 0, ...)
    for kernel in KERNELS:
        previous = _trees.set_vector_kernel(kernel)
        try:
            got = ensemble.predict(X).reshape(-1).view(np.uint32)
        finally:
            _trees.set_vector_kernel(previous)
        if got.shape != want.shape or not np.array_equal(got, want):
            bad = np.flatnonzero(got != want)[:4] if got.shape == want.shape else []
            rows = sorted({int(i) // ensemble.n_outputs for i in bad})
            harness.disagree(
                TARGET,
                data,
                f"kernel {kernel}: compiled {got[bad].tolist()} libxgboost {want[bad].tolist()} "
                f"at outputs {list(bad)}\nrows (float32 bits): {X[rows].view(np.uint32).tolist()}\n"
                f"model: {raw}",
            )


def main() -> None:
    harness.check_build(_trees)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
