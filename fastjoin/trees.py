"""XGBoost tree ensembles compiled for fastjoin._trees: the model as flat arrays.

:func:`compile_model` reads a booster's UBJSON (float32 thresholds and leaves bit for bit),
checks that every part of the model is one the compiled predictor reproduces exactly, and
lays the trees out for the kernel, one set of arrays per output group (the classes of
multi:softprob / multi:softmax). Anything else (dart, gblinear, categorical splits,
multi-target trees, an objective whose output transform is not covered) is reported as
:class:`Unsupported`, with the reason, and the caller keeps XGBoost's own predictor.

:func:`probe_rows` builds rows that sit on, just below and just above every threshold, with
NaNs, so that a compiled model can be checked against XGBoost before it is trusted.
"""
from __future__ import annotations

import dataclasses
from fractions import Fraction
import numpy as np

from fastjoin import _trees, ubjson

__all__ = ["Ensemble", "Unsupported", "compile_model", "probe_rows", "COMPLETE_MAX_DEPTH"]

#: Deeper trees keep XGBoost's node layout: a complete tree of depth d has 2^d leaves.
COMPLETE_MAX_DEPTH = 10
_PAD = 32  # FJ_PAD in _trees.pyx

# objective -> output transform, which also says how the base score becomes a margin
# (binary:logitraw keeps its base score as the margin: checked against XGBoost in the tests)
_OBJECTIVES = {
    "binary:logistic": "sigmoid", "reg:logistic": "sigmoid", "binary:logitraw": "identity",
    "reg:squarederror": "identity", "reg:linear": "identity", "reg:squaredlogerror": "identity",
    "reg:pseudohubererror": "identity", "reg:absoluteerror": "identity",
    "reg:quantileerror": "identity",
    "count:poisson": "exp", "reg:gamma": "exp", "reg:tweedie": "exp",
    "multi:softprob": "softmax", "multi:softmax": "argmax",
}
_TRANSFORMS = {"identity": _trees.IDENTITY, "sigmoid": _trees.SIGMOID, "exp": _trees.EXP,
               "softmax": _trees.SOFTMAX, "argmax": _trees.ARGMAX}


class Unsupported(Exception):
    """The model has a part the compiled predictor does not reproduce; the message says which."""


@dataclasses.dataclass(frozen=True)
class Ensemble:
    """A compiled model: per output group (one, or one per class), the arrays the kernel
    walks for that group's trees, in tree order; plus what the caller needs to know."""

    layout: str             # "complete" or "nodes"
    n_features: int
    used: np.ndarray        # int64: the columns the trees split on (complete layout: by place)
    n_trees: int
    base_margins: np.ndarray  # float32, one per group
    transform: int          # a fastjoin._trees transform code
    groups: tuple           # per group: the kernel's arguments, by name
    objective: str

    @property
    def n_outputs(self) -> int:
        """Values per row: the classes for multi:softprob, else 1."""
        return len(self.groups) if self.transform == _trees.SOFTMAX else 1

    def predict(self, X: np.ndarray) -> np.ndarray:
        """float32 predictions, (n,) or (n, n_outputs), for a C-contiguous float32 matrix of
        n_features columns."""
        if not (isinstance(X, np.ndarray) and X.dtype == np.float32 and X.ndim == 2
                and X.flags.c_contiguous and X.shape[1] == self.n_features):
            raise ValueError(f"predict() needs a C-contiguous float32 matrix of {self.n_features} "
                             f"columns, got {getattr(X, 'dtype', type(X).__name__)} "
                             f"{getattr(X, 'shape', '')}")
        n, k = X.shape[0], len(self.groups)
        margins = np.empty((k, n), dtype=np.float32)  # a contiguous row per group
        for g, a in enumerate(self.groups):
            out = margins[g]
            out.fill(self.base_margins[g])
            if a["trees"] == 0:
                continue
            if self.layout == "complete":
                _trees.predict_complete(X, self.used, a["feat"], a["thr"], a["nan_right"],
                                        a["nan_mask"], a["leaf"], a["node_off"], a["leaf_off"], a["depth"], out)
            else:
                _trees.predict_nodes(X, self.n_features, a["feat"], a["thr"], a["nan_right"],
                                     a["next"], a["internal"], a["root"], a["depth"], out)
        margins = np.ascontiguousarray(margins.T)
        result = np.empty((n, self.n_outputs), dtype=np.float32)
        _trees.apply_transform(margins, self.transform, result)
        return result.reshape(n) if self.n_outputs == 1 else result


def compile_model(ubj: bytes) -> Ensemble:
    """Compile a model saved as UBJSON by XGBoost; raises :class:`Unsupported`."""
    try:
        return _compile(ubjson.loads(ubj)["learner"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # a layout this code predates
        raise Unsupported(f"a model layout fastjoin does not know ({type(exc).__name__}: {exc})") from exc


def _compile(learner: dict) -> Ensemble:
    booster = learner["gradient_booster"]
    if booster.get("name") != "gbtree":
        raise Unsupported(f"the {booster.get('name')!r} booster (only gbtree is compiled)")
    objective = learner["objective"]["name"]
    kind = _OBJECTIVES.get(objective)
    if kind is None:
        raise Unsupported(f"the {objective!r} objective")
    param = learner["learner_model_param"]
    classes = int(param.get("num_class", 0) or 0)
    if int(param.get("num_target", 1) or 1) > 1:
        raise Unsupported("several targets per row")
    if (classes > 1) != (kind in ("softmax", "argmax")):
        raise Unsupported(f"{classes} classes with the {objective!r} objective")
    n_groups = max(classes, 1)
    scores = [s for s in str(param["base_score"]).strip("[]").split(",") if s.strip()]
    if len(scores) not in (1, n_groups):
        raise Unsupported(f"a base score of {len(scores)} values for {n_groups} outputs")
    n_features = int(param["num_feature"])
    if n_features < 1:
        raise Unsupported("no features")
    model = booster["model"]
    trees = model["trees"]
    tree_group = np.asarray(model.get("tree_info", np.zeros(len(trees))), dtype=np.int64)
    if len(tree_group) != len(trees) or np.any((tree_group < 0) | (tree_group >= n_groups)):
        raise Unsupported("trees for output groups the model does not have")
    for tree in trees:
        if int(tree["tree_param"].get("size_leaf_vector", "1") or 1) > 1:
            raise Unsupported("vector leaves (multi-target trees)")
        if np.any(np.asarray(tree["split_type"]) != 0):
            raise Unsupported("categorical splits")
        left = np.asarray(tree["left_children"])
        internal = left >= 0
        if np.any(np.asarray(tree["split_indices"])[internal] >= n_features):
            raise Unsupported("a split on a feature beyond num_feature")
        # XGBoost's predictor takes a node's right child to be left + 1
        if np.any(np.asarray(tree["right_children"])[internal] != left[internal] + 1):
            raise Unsupported("a tree whose right children do not follow their left ones")
    depths = [_depth(t) for t in trees]
    splits = [np.asarray(t["split_indices"])[np.asarray(t["left_children"]) >= 0] for t in trees]
    used = np.unique(np.concatenate(splits)) if splits else np.zeros(0, np.int64)
    used = used.astype(np.int64) if used.size else np.zeros(1, np.int64)  # never empty
    bases = [_margin(_float32_exact(text.strip()), kind) for text in scores]
    layout = "complete" if max(depths, default=0) <= COMPLETE_MAX_DEPTH else "nodes"
    groups = []
    for g in range(n_groups):
        mine = [i for i in range(len(trees)) if tree_group[i] == g]  # in tree order
        mine_trees = [trees[i] for i in mine]
        group = (_complete_layout(mine_trees, [depths[i] for i in mine], used)
                 if layout == "complete" else _node_layout(mine_trees, [depths[i] for i in mine]))
        # the real splits, for probe_rows (the complete layout also holds filler nodes)
        internal = [np.asarray(t["left_children"]) >= 0 for t in mine_trees]
        group["split_feat"] = _concat([np.asarray(t["split_indices"])[m]
                                       for t, m in zip(mine_trees, internal)], np.int64)[:-_PAD]
        group["split_thr"] = _concat([np.asarray(t["split_conditions"], dtype=np.float32)[m]
                                      for t, m in zip(mine_trees, internal)], np.float32)[:-_PAD]
        groups.append(group)
    return Ensemble(layout=layout, n_features=n_features, used=used, n_trees=len(trees),
                    base_margins=np.array(bases * (n_groups // len(bases)), dtype=np.float32),
                    transform=_TRANSFORMS[kind], groups=tuple(groups), objective=objective)


def _depth(tree: dict) -> int:
    left, right = np.asarray(tree["left_children"]), np.asarray(tree["right_children"])
    level, depth = np.array([0]), 0
    while True:
        level = level[left[level] >= 0]
        if level.size == 0:
            return depth
        level = np.concatenate([left[level], right[level]])
        depth += 1


def _complete_layout(trees: list, depths: list, used: np.ndarray) -> dict:
    """Each tree as a complete tree of its depth, level by level: node i's children are
    2i+1 and 2i+2; a leaf above the last level is copied into both of its children (a filler
    node: feature 0, threshold 0, either way the same leaf). Features are named by their
    place in ``used``."""
    place = np.zeros(int(used.max()) + 1, dtype=np.int32)
    place[used] = np.arange(used.size, dtype=np.int32)
    feats, thrs, nan_rights, leaves = [], [], [], []
    for tree, depth in zip(trees, depths):
        left = np.asarray(tree["left_children"], dtype=np.int64)
        right = np.asarray(tree["right_children"], dtype=np.int64)
        split = np.asarray(tree["split_indices"], dtype=np.int32)
        cond = np.asarray(tree["split_conditions"], dtype=np.float32)
        default_left = np.asarray(tree["default_left"], dtype=np.uint8)
        ids = np.array([0], dtype=np.int64)
        for _ in range(depth):
            leaf = left[ids] < 0
            feats.append(np.where(leaf, 0, place[np.where(leaf, 0, split[ids])]).astype(np.int32))
            thrs.append(np.where(leaf, np.float32(0), cond[ids]).astype(np.float32))
            nan_rights.append(np.where(leaf, 0, 1 - default_left[ids]).astype(np.uint8))
            nxt = np.empty(2 * ids.size, dtype=np.int64)
            nxt[0::2] = np.where(leaf, ids, left[ids])
            nxt[1::2] = np.where(leaf, ids, right[ids])
            ids = nxt
        leaves.append(cond[ids])
    sizes = np.array([(1 << d) - 1 for d in depths], dtype=np.int64)
    return {
        "feat": _concat(feats, np.int32), "thr": _concat(thrs, np.float32),
        "nan_right": _concat(nan_rights, np.uint8), "leaf": _concat(leaves, np.float32),
        "nan_mask": -_concat(nan_rights, np.int32),  # the vector kernel's lane masks
        "node_off": np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        "leaf_off": np.concatenate([[0], np.cumsum(sizes + 1)[:-1]]).astype(np.int64),
        "depth": np.array(depths, dtype=np.int32), "trees": len(trees),
    }


def _node_layout(trees: list, depths: list) -> dict:
    """XGBoost's arrays, concatenated, for the lockstep walk of fj_nodes: ``next`` is a
    node's left child as an absolute index (the right one follows it), or the node itself
    for a leaf (``internal`` 0), so that extra steps stay on the leaf."""
    roots, offset = [], 0
    feats, thrs, nan_rights, nexts, internals = [], [], [], [], []
    for tree in trees:
        left = np.asarray(tree["left_children"], dtype=np.int64)
        inner = left >= 0
        roots.append(offset)
        nexts.append(np.where(inner, left, np.arange(left.size)) + offset)
        internals.append(inner)
        feats.append(np.where(inner, np.asarray(tree["split_indices"]), 0))
        thrs.append(np.asarray(tree["split_conditions"], dtype=np.float32))
        nan_rights.append(1 - np.asarray(tree["default_left"], dtype=np.uint8))
        offset += left.size
    return {
        "feat": _concat(feats, np.int32), "thr": _concat(thrs, np.float32),
        "nan_right": _concat(nan_rights, np.uint8), "next": _concat(nexts, np.int32),
        "internal": _concat(internals, np.uint8), "root": np.array(roots, dtype=np.int64),
        "depth": np.array(depths, dtype=np.int32), "trees": len(trees),
    }


def _concat(parts: list, dtype) -> np.ndarray:
    """One array, with spare entries after the end: the vector kernels load up to 32 nodes
    or leaves of a tree at a time, past the end of a small last tree (the extra values are
    never selected). Never empty: the kernel takes the address of element 0."""
    return np.concatenate(parts + [np.zeros(_PAD)]).astype(dtype)


def _float32_exact(text: str) -> np.float32:
    """The float32 nearest to a decimal string. Going through a double can round twice: when
    the double lands exactly halfway between two float32s, the decimal decides."""
    d = float(text)
    f = np.float32(d)
    if not np.isfinite(f) or float(f) == d:
        return f
    other = np.nextafter(f, np.float32(np.inf) if float(f) < d else np.float32(-np.inf))
    mid = (Fraction(float(f)) + Fraction(float(other))) / 2
    if Fraction(d) != mid:
        return f
    exact = Fraction(text)
    if exact == mid:
        return f  # a true tie: the double's rounding already took the even one
    return other if abs(exact - Fraction(float(other))) < abs(exact - Fraction(float(f))) else f


def _margin(score: np.float32, kind: str) -> np.float32:
    """The base score in margin space, in float32 as XGBoost computes it."""
    if kind == "sigmoid":
        return np.float32(-_trees.logf32(np.float32(np.float32(1.0) / score) - np.float32(1.0)))
    if kind == "exp":
        return np.float32(_trees.logf32(score))
    return score


def probe_rows(ensemble: Ensemble, n: int = 296, seed: int = 0) -> np.ndarray:
    """Rows whose values sit on, one float32 step below and one above the thresholds of each
    feature, with some NaNs and some zeros: every comparison a row can meet, exercised.
    With the default ``n``, the vector kernel gets two whole blocks of 64 rows without NaN
    and two with, and the scalar kernel the last 40 rows."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, ensemble.n_features)).astype(np.float32)
    feat = np.concatenate([g["split_feat"] for g in ensemble.groups])
    thr = np.concatenate([g["split_thr"] for g in ensemble.groups])
    if feat.size:
        def near(values):  # on, one float32 step below or one above, at random
            step = rng.integers(-1, 2, size=values.shape)
            return np.where(step < 0, np.nextafter(values, np.float32(-np.inf)),
                            np.where(step > 0, np.nextafter(values, np.float32(np.inf)), values))

        pick = rng.integers(0, feat.size, size=X.shape)
        own = feat[pick] == np.arange(ensemble.n_features)[None, :]
        X = np.where(own, near(thr[pick]), X).astype(np.float32)
        # for the features a random pick missed, use their own thresholds
        for j in range(ensemble.n_features):
            mine = thr[feat == j]
            if mine.size:
                rows = ~own[:, j]
                X[rows, j] = near(mine[rng.integers(0, mine.size, size=int(rows.sum()))])
    # no NaN in the first 128 rows: the vector kernel's NaN-free variant runs too
    nan = rng.random(X.shape) < 0.05
    nan[:128] = False
    X[nan] = np.nan
    X[rng.random(X.shape) < 0.02] = 0.0
    return np.ascontiguousarray(X, dtype=np.float32)
