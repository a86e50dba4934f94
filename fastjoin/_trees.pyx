# cython: language_level=3
"""Compiled tree ensembles: float32 rows in, float32 predictions out, exactly as XGBoost.

Pure functions of (feature matrix, flattened trees): fastjoin.trees builds the arrays from
a booster and owns every check; these loops trust them. What makes the result bit-identical
to XGBoost's CPU predictor: a row goes left when ``x < threshold`` (float32 compare), a NaN
takes the node's default direction, leaf values are added in float32 to the base margin in
tree order (per output group: a class of multi:softprob; a NaN leaf's NaN replaces a NaN
sum, as in XGBoost's binary), and the output transform is
XGBoost's own formula on libm's expf (sigmoid, exp, softmax, argmax).

Two layouts. "complete": each tree padded to a complete binary tree of its depth (a shallow
leaf is copied into both children, so the direction taken there does not matter), so a step
is ``i = 2i + 1 + right`` with no branch. Rows go in blocks of 64, transposed to the columns
the trees use; a block is walked by an AVX-512 kernel (16 rows per vector), an AVX2 kernel
(8 rows) or a scalar one (8 rows in lockstep), each with a variant for blocks holding a NaN.
"nodes": XGBoost's own node arrays, for trees deeper than fastjoin.trees.COMPLETE_MAX_DEPTH,
walked 8 rows in lockstep. The direction of a step depends on the data, so no kernel
branches on it.

The kernels are C, in fastjoin/src/trees_kernels.h, declared in _trees.pxd.
"""
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc

# the output transforms and the arrays' padding (declared in _trees.pxd)
IDENTITY = FJ_IDENTITY
SIGMOID = FJ_SIGMOID
EXP = FJ_EXP
SOFTMAX = FJ_SOFTMAX
ARGMAX = FJ_ARGMAX
PAD = FJ_PAD


def predict_complete(const float[:, ::1] X, const int64_t[::1] used, const int32_t[::1] feat,
                     const float[::1] thr, const int32_t[::1] nan_mask, const float[::1] leaf,
                     const int64_t[::1] node_off, const int64_t[::1] leaf_off,
                     const int32_t[::1] depth, float[::1] out):
    """Add every tree's leaf to ``out`` (holding the base margin). Trees name features by
    their place in ``used`` (the columns of X they split on)."""
    cdef Py_ssize_t n = X.shape[0], j
    if out.shape[0] != n:
        raise ValueError("out must have one value per row")
    for j in range(used.shape[0]):
        if not 0 <= used[j] < X.shape[1]:
            raise ValueError(f"the trees use column {used[j]} of a {X.shape[1]}-column matrix")
    if used.shape[0] == 0:
        raise ValueError("used must name at least one column")
    if n == 0:
        return
    cdef float *cols = <float *>malloc(used.shape[0] * FJ_BLOCK * sizeof(float))
    if cols == NULL:
        raise MemoryError()
    try:
        with nogil:
            fj_complete(&X[0, 0], n, X.shape[1], &used[0], used.shape[0], &feat[0], &thr[0],
                        &nan_mask[0], &leaf[0], &node_off[0], &leaf_off[0], &depth[0],
                        depth.shape[0], &out[0], cols)
    finally:
        free(cols)


def predict_nodes(const float[:, ::1] X, Py_ssize_t n_features, const int32_t[::1] feat,
                  const float[::1] thr, const uint8_t[::1] nan_right, const int32_t[::1] next,
                  const uint8_t[::1] internal, const int64_t[::1] root,
                  const int32_t[::1] depth, float[::1] out):
    """As predict_complete, for XGBoost's node layout (features by their column in X)."""
    cdef Py_ssize_t n = X.shape[0]
    if out.shape[0] != n or depth.shape[0] != root.shape[0]:
        raise ValueError("out must have one value per row, depth one per tree")
    if X.shape[1] < n_features:
        raise ValueError(f"the trees use {n_features} columns; X has {X.shape[1]}")
    if n == 0 or root.shape[0] == 0:
        return
    with nogil:
        fj_nodes(&X[0, 0], n, X.shape[1], &feat[0], &thr[0], &nan_right[0], &next[0],
                 &internal[0], &root[0], &depth[0], root.shape[0], &out[0])


def apply_transform(const float[:, ::1] margins, int transform, float[:, ::1] out):
    """The output transform of (n, k) margins into out: (n, k), or (n, 1) for ARGMAX."""
    cdef Py_ssize_t n = margins.shape[0], k = margins.shape[1]
    if out.shape[0] != n or out.shape[1] != (1 if transform == FJ_ARGMAX else k):
        raise ValueError("out has the wrong shape for the transform")
    if transform not in (FJ_IDENTITY, FJ_SIGMOID, FJ_EXP, FJ_SOFTMAX, FJ_ARGMAX):
        raise ValueError(f"unknown transform {transform}")
    if n == 0 or k == 0:
        return
    with nogil:
        fj_transform(&margins[0, 0], n, k, transform, &out[0, 0])


_KERNELS = ("scalar", "avx2", "auto", "avx512")


def set_vector_kernel(kernel):
    """Which kernels run, where the CPU has them: "auto" (the default: AVX-512 on AMD, else
    AVX2), "avx512" (AVX-512 on any CPU that has it), "avx2" or "scalar" (for tests and
    measurements); returns the previous setting."""
    global fj_vector_level
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be one of {_KERNELS}, not {kernel!r}")
    previous = _KERNELS[fj_vector_level]
    fj_vector_level = _KERNELS.index(kernel)
    return previous


def base_margin(float score, int transform):
    """A base score as a margin, as XGBoost computes it for the transform's link (float32)."""
    return fj_base_margin(score, transform)
