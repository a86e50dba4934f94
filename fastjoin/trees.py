"""XGBoost tree ensembles compiled for fastjoin._trees: the model as flat arrays.

:func:`compile_model` reads a booster's UBJSON (float32 thresholds and leaves bit for bit),
checks that every part of the model is one the compiled predictor reproduces exactly, and
lays the trees out for the kernel, one set of arrays per output group (the classes of
multi:softprob / multi:softmax). Anything else (dart, gblinear, categorical splits,
multi-target trees, an objective whose output transform is not covered) is reported as
:class:`Unsupported`, with the reason, and the caller keeps XGBoost's own predictor.

:func:`probe_rows` builds rows that sit on, just below and just above every threshold, with
NaNs, so that a compiled model can be checked against XGBoost before it is trusted;
:func:`disagreement` says what differs when it does not match.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np

from fastjoin import _impl, ubjson
from fastjoin.errors import plural

if _impl.trees is None:  # fastjoin.predictor checks first; a direct import gets the reason
    raise ImportError(_impl.TREES_MISSING)
_trees = _impl.trees

__all__ = ["Ensemble", "Unsupported", "compile_model", "probe_rows", "disagreement", "COMPLETE_MAX_DEPTH"]

#: Deeper trees keep XGBoost's node layout: a complete tree of depth d has 2^d leaves.
COMPLETE_MAX_DEPTH = 10

# objective -> output transform, which also says how the base score becomes a margin
# (binary:logitraw keeps its base score as the margin: checked against XGBoost in the tests)
_OBJECTIVES = {
    "binary:logistic": "sigmoid",
    "reg:logistic": "sigmoid",
    "binary:logitraw": "identity",
    "reg:squarederror": "identity",
    "reg:linear": "identity",
    "reg:squaredlogerror": "identity",
    "reg:pseudohubererror": "identity",
    "reg:absoluteerror": "identity",
    "reg:quantileerror": "identity",
    "count:poisson": "exp",
    "reg:gamma": "exp",
    "reg:tweedie": "exp",
    "multi:softprob": "softmax",
    "multi:softmax": "argmax",
}
_TRANSFORMS = {
    "identity": _trees.IDENTITY,
    "sigmoid": _trees.SIGMOID,
    "exp": _trees.EXP,
    "softmax": _trees.SOFTMAX,
    "argmax": _trees.ARGMAX,
}


class Unsupported(Exception):
    """The model has a part the compiled predictor does not reproduce; the message says which."""


@dataclasses.dataclass(frozen=True)
class Ensemble:
    """A compiled model: per output group (one, or one per class), the arrays the kernel
    walks for that group's trees, in tree order; plus what the caller needs to know."""

    layout: str  # "complete" or "nodes"
    n_features: int
    used: np.ndarray  # int64: the columns the trees split on (complete layout: by place)
    n_trees: int
    base_margins: np.ndarray  # float32, one per group
    transform: int  # a fastjoin._trees transform code
    groups: tuple  # per group: the kernel's arguments, by name
    objective: str
    base_score: str = ""  # as the model writes it, for messages

    @property
    def n_outputs(self) -> int:
        """Values per row: the classes for multi:softprob, else 1."""
        return len(self.groups) if self.transform == _trees.SOFTMAX else 1

    def predict(self, X: np.ndarray) -> np.ndarray:
        """float32 predictions, (n,) or (n, n_outputs), for a C-contiguous float32 matrix of
        n_features columns."""
        if not (
            isinstance(X, np.ndarray)
            and X.dtype == np.float32
            and X.ndim == 2
            and X.flags.c_contiguous
            and X.shape[1] == self.n_features
        ):
            raise ValueError(
                f"predict() needs a C-contiguous float32 matrix of {self.n_features} "
                f"columns, got {getattr(X, 'dtype', type(X).__name__)} "
                f"{getattr(X, 'shape', '')}"
            )
        n, k = X.shape[0], len(self.groups)
        margins = np.empty((k, n), dtype=np.float32)  # a contiguous row per group
        for g, a in enumerate(self.groups):
            out = margins[g]
            out.fill(self.base_margins[g])
            if a["trees"] == 0:
                continue
            if self.layout == "complete":
                _trees.predict_complete(
                    X,
                    self.used,
                    a["feat"],
                    a["thr"],
                    a["nan_mask"],
                    a["leaf"],
                    a["node_off"],
                    a["leaf_off"],
                    a["depth"],
                    out,
                )
            else:
                _trees.predict_nodes(
                    X,
                    self.n_features,
                    a["feat"],
                    a["thr"],
                    a["nan_right"],
                    a["next"],
                    a["internal"],
                    a["root"],
                    a["depth"],
                    out,
                )
        margins = np.ascontiguousarray(margins.T)
        result = np.empty((n, self.n_outputs), dtype=np.float32)
        _trees.apply_transform(margins, self.transform, result)
        return result.reshape(n) if self.n_outputs == 1 else result


def compile_model(ubj: bytes) -> Ensemble:
    """Compile a model saved as UBJSON by XGBoost; raises :class:`Unsupported`."""
    try:
        # whatever the caller's numpy error state: a threshold at FLT_MAX, a base score of 0
        # are models, not errors
        with np.errstate(all="ignore"):
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
        raise Unsupported(f"{plural(classes, 'class', 'classes')} with the {objective!r} objective")
    n_groups = max(classes, 1)
    scores = [s for s in str(param["base_score"]).strip("[]").split(",") if s.strip()]
    if len(scores) not in (1, n_groups):
        raise Unsupported(f"a base score of {plural(len(scores), 'value')} for {plural(n_groups, 'output')}")
    n_features = int(param["num_feature"])
    if n_features < 1:
        raise Unsupported("no features")
    model = booster["model"]
    trees = model["trees"]
    tree_group = np.asarray(model.get("tree_info", np.zeros(len(trees))), dtype=np.int64)
    if len(tree_group) != len(trees) or np.any((tree_group < 0) | (tree_group >= n_groups)):
        raise Unsupported("trees for output groups the model does not have")
    if any(int(t["tree_param"].get("size_leaf_vector", "1") or 1) > 1 for t in trees):
        raise Unsupported("vector leaves (multi-target trees)")
    forest = _Forest(trees)
    if np.any(forest.split_type != 0):
        raise Unsupported("categorical splits")
    inner = forest.internal
    if np.any(forest.split[inner] >= n_features):
        raise Unsupported("a split on a feature beyond num_feature")
    # XGBoost's predictor takes a node's right child to be left + 1
    if np.any(forest.right[inner] != forest.left[inner] + 1):
        raise Unsupported("a tree whose right children do not follow their left ones")
    used = np.unique(forest.split[inner]).astype(np.int64)
    if not used.size:
        used = np.zeros(1, np.int64)  # never empty
    # XGBoost turns the base score into a margin through the link only once the model is
    # fitted: with no trees and boost_from_average (an intercept still to estimate) the
    # score is the margin as it stands
    fitted = len(trees) > 0 or not int(param.get("boost_from_average", "1"))
    link = _TRANSFORMS[kind] if fitted else _trees.IDENTITY
    bases = [np.float32(_trees.base_margin(_float32_exact(text.strip()), link)) for text in scores]
    layout = "complete" if forest.depth.max(initial=0) <= COMPLETE_MAX_DEPTH else "nodes"
    groups = []
    node_group = tree_group[forest.tree_of_node]
    for g in range(n_groups):
        mine = np.flatnonzero(tree_group == g)  # in tree order
        group = forest.complete_layout(mine, used) if layout == "complete" else forest.node_layout(mine)
        # the real splits, for probe_rows (the complete layout also holds filler nodes)
        real = inner & (node_group == g)
        group["split_feat"] = forest.split[real].astype(np.int64)
        group["split_thr"] = forest.cond[real]
        groups.append(group)
    return Ensemble(
        layout=layout,
        n_features=n_features,
        used=used,
        n_trees=len(trees),
        base_margins=np.array(bases * (n_groups // len(bases)), dtype=np.float32),
        transform=_TRANSFORMS[kind],
        groups=tuple(groups),
        objective=objective,
        base_score=str(param["base_score"]),
    )


class _Forest:
    """Every tree's node arrays concatenated, children as indices into the whole: the
    layouts are built with a few numpy calls per tree level, not per tree."""

    def __init__(self, trees: list):
        sizes = np.array([len(t["left_children"]) for t in trees], dtype=np.int64)
        self.roots = np.cumsum(sizes) - sizes
        self.tree_of_node = np.repeat(np.arange(len(trees)), sizes)
        offsets = self.roots[self.tree_of_node]

        def field(name, dtype):
            parts = [np.asarray(t[name], dtype=dtype) for t in trees]
            return np.concatenate(parts) if parts else np.zeros(0, dtype)

        left, right = field("left_children", np.int64), field("right_children", np.int64)
        self.internal = left >= 0
        self.left = np.where(self.internal, left + offsets, -1)
        self.right = np.where(self.internal, right + offsets, -1)
        self.split = field("split_indices", np.int64)
        self.cond = field("split_conditions", np.float32)
        self.nan_right = (1 - field("default_left", np.uint8)).astype(np.uint8)
        self.split_type = field("split_type", np.uint8)
        self.depth = self._depths(len(trees))

    def _depths(self, n_trees: int) -> np.ndarray:
        depth = np.zeros(n_trees, dtype=np.int32)
        ids, owner, level = self.roots, np.arange(n_trees), 0
        while ids.size:
            keep = self.internal[ids]
            ids, owner = ids[keep], owner[keep]
            if not ids.size:
                break
            level += 1
            depth[owner] = level
            ids = np.concatenate([self.left[ids], self.right[ids]])
            owner = np.concatenate([owner, owner])
        return depth

    def complete_layout(self, mine: np.ndarray, used: np.ndarray) -> dict:
        """Trees ``mine`` (in order), each as a complete tree of its depth, level by level:
        node i's children are 2i+1 and 2i+2; a leaf above the last level is copied into both
        of its children (a filler node: feature 0, threshold 0, either way the same leaf).
        Features are named by their place in ``used``."""
        depth = self.depth[mine]
        sizes = (np.int64(1) << depth.astype(np.int64)) - 1
        node_off = np.cumsum(sizes) - sizes
        leaf_off = np.cumsum(sizes + 1) - (sizes + 1)
        n_nodes, n_leaves = int(sizes.sum()), int((sizes + 1).sum())
        place = np.zeros(int(used.max()) + 1, dtype=np.int32)
        place[used] = np.arange(used.size, dtype=np.int32)
        feat = np.zeros(n_nodes + _trees.PAD, np.int32)
        thr = np.zeros(n_nodes + _trees.PAD, np.float32)
        nan_mask = np.zeros(n_nodes + _trees.PAD, np.int32)  # -1: a NaN goes right
        leaf = np.zeros(n_leaves + _trees.PAD, np.float32)
        # the slots of one level of every tree: node, which tree (its place in mine), slot
        ids, owner = self.roots[mine], np.arange(len(mine))
        slot = np.zeros(len(mine), dtype=np.int64)
        level = 0
        while ids.size:
            done = depth[owner] == level  # these trees end here: the slots are leaves
            leaf[leaf_off[owner[done]] + slot[done]] = self.cond[ids[done]]
            ids, owner, slot = ids[~done], owner[~done], slot[~done]
            if not ids.size:
                break
            real = self.internal[ids]
            at = node_off[owner] + (1 << level) - 1 + slot
            feat[at] = np.where(real, place[np.where(real, self.split[ids], used[0])], 0)
            thr[at] = np.where(real, self.cond[ids], np.float32(0))
            nan_mask[at] = np.where(real, -self.nan_right[ids].astype(np.int32), 0)
            ids = np.stack(
                [np.where(real, self.left[ids], ids), np.where(real, self.right[ids], ids)], axis=1
            ).ravel()
            owner = np.repeat(owner, 2)
            slot = np.stack([2 * slot, 2 * slot + 1], axis=1).ravel()
            level += 1
        return {
            "feat": feat,
            "thr": thr,
            "nan_mask": nan_mask,
            "leaf": leaf,
            "node_off": node_off,
            "leaf_off": leaf_off,
            "depth": depth.astype(np.int32),
            "trees": len(mine),
        }

    def node_layout(self, mine: np.ndarray) -> dict:
        """XGBoost's arrays for the lockstep walk of fj_nodes (all trees' nodes; ``root`` and
        ``depth`` pick the trees ``mine``): ``next`` is a node's left child (the right one
        follows it), or the node itself for a leaf (``internal`` 0), so that extra steps stay
        on the leaf."""
        # in the arrays' own type: a float64 detour would quieten signalling NaNs, warning
        pad = lambda a, dtype: np.concatenate([np.asarray(a, dtype), np.zeros(_trees.PAD, dtype)])  # noqa: E731
        n = self.internal.size
        return {
            "feat": pad(np.where(self.internal, self.split, 0), np.int32),
            "thr": pad(self.cond, np.float32),
            "nan_right": pad(self.nan_right, np.uint8),
            "next": pad(np.where(self.internal, self.left, np.arange(n)), np.int32),
            "internal": pad(self.internal, np.uint8),
            "root": self.roots[mine].astype(np.int64),
            "depth": self.depth[mine].astype(np.int32),
            "trees": len(mine),
        }


def _float32_exact(text: str) -> np.float32:
    """The float32 nearest to a decimal string. Going through a double can round twice: when
    the double lands exactly halfway between two float32s, the decimal decides."""
    d = float(text)
    with np.errstate(all="ignore"):  # beyond FLT_MAX: inf, as XGBoost reads it
        f = np.float32(d)
        if np.isnan(f) or float(f) == d:
            return f
        other = np.nextafter(f, np.float32(np.inf) if float(f) < d else np.float32(-np.inf))
    mid = (_value(f) + _value(other)) / 2
    if Fraction(d) != mid:
        return f
    exact = Fraction(text)
    if exact == mid:
        return f  # a true tie: the double's rounding already took the even one
    return other if abs(exact - _value(other)) < abs(exact - _value(f)) else f


_BEYOND_MAX = Fraction(2) ** 128  # where the float32 after FLT_MAX would be: rounding's view of inf


def _value(f: np.float32) -> Fraction:
    """A float32's exact value, an infinity as +-2^128."""
    if np.isinf(f):
        return _BEYOND_MAX if f > 0 else -_BEYOND_MAX
    return Fraction(float(f))


@np.errstate(all="ignore")  # one step above FLT_MAX is inf, not an error
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
            return np.where(
                step < 0,
                np.nextafter(values, np.float32(-np.inf)),
                np.where(step > 0, np.nextafter(values, np.float32(np.inf)), values),
            )

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


def disagreement(ensemble: Ensemble, rows: np.ndarray, ours: np.ndarray, theirs: np.ndarray) -> str | None:
    """None when the predictions have the same bits, else what differs, for a fallback reason:
    how many rows, the model's objective and base score, the first differing values."""
    ours = np.ascontiguousarray(ours, np.float32).reshape(len(rows), -1)
    theirs = np.ascontiguousarray(theirs, np.float32).reshape(ours.shape)
    differ = ours.view(np.uint32) != theirs.view(np.uint32)
    bad = np.flatnonzero(differ.any(axis=1))
    if not bad.size:
        return None

    def show(v):  # the bits too: -0.0 and the NaNs print alike
        return f"{v} ({int(np.float32(v).view(np.uint32)):#010x})"

    firsts = []
    for r in bad[:3]:
        j = int(np.flatnonzero(differ[r])[0])
        where = f"row {r}" + (f", output {j}" if ours.shape[1] > 1 else "")
        firsts.append(f"{where}: {show(ours[r, j])} where XGBoost gives {show(theirs[r, j])}")
    features = ", ".join(str(v) for v in rows[bad[0], :8]) + (", ..." if rows.shape[1] > 8 else "")
    margins = ", ".join(str(m) for m in ensemble.base_margins[:4]) + (
        ", ..." if len(ensemble.base_margins) > 4 else ""
    )
    return (
        f"predictions that differ from XGBoost's on {bad.size} of {len(rows)} probe rows "
        f"({ensemble.objective}, base score {ensemble.base_score} as margin {margins}, "
        f"{ensemble.n_trees} trees, {ensemble.layout} layout); "
        + "; ".join(firsts)
        + f" (row {bad[0]}: [{features}])"
    )
