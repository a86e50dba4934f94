# Typed stub of exactly what the compiled tree predictor fastjoin._trees (_trees.pyx) exports.
# Its typed memoryview arguments take C-contiguous numpy arrays of the dtype named here (the
# _-prefixed aliases exist only in this stub).
from typing import SupportsFloat

import numpy as np
import numpy.typing as npt

_Float32Array = npt.NDArray[np.float32]
_Int32Array = npt.NDArray[np.int32]
_Int64Array = npt.NDArray[np.int64]
_UInt8Array = npt.NDArray[np.uint8]

# output transforms (apply_transform, base_margin)
IDENTITY: int
SIGMOID: int
EXP: int
SOFTMAX: int
ARGMAX: int

# spare zero entries at the end of the node and leaf arrays (fastjoin.trees pads both layouts;
# the vector kernels load whole vectors past a shallow tree's last node)
PAD: int

def predict_complete(
    X: _Float32Array,
    used: _Int64Array,
    feat: _Int32Array,
    thr: _Float32Array,
    nan_mask: _Int32Array,
    leaf: _Float32Array,
    node_off: _Int64Array,
    leaf_off: _Int64Array,
    depth: _Int32Array,
    out: _Float32Array,
) -> None:
    """Add every tree's leaf to ``out`` (holding the base margin). Trees name features by
    their place in ``used`` (the columns of X they split on)."""

def predict_nodes(
    X: _Float32Array,
    n_features: int,
    feat: _Int32Array,
    thr: _Float32Array,
    nan_right: _UInt8Array,
    next: _Int32Array,
    internal: _UInt8Array,
    root: _Int64Array,
    depth: _Int32Array,
    out: _Float32Array,
) -> None:
    """As predict_complete, for XGBoost's node layout (features by their column in X)."""

def apply_transform(margins: _Float32Array, transform: int, out: _Float32Array) -> None:
    """The output transform of (n, k) margins into out: (n, k), or (n, 1) for ARGMAX."""

def set_vector_kernel(kernel: str) -> str:
    """Which kernels run, where the CPU has them: "auto" (the default: AVX-512 on AMD, else
    AVX2), "avx512" (AVX-512 on any CPU that has it), "avx2" or "scalar" (for tests and
    measurements); returns the previous setting."""

def base_margin(score: SupportsFloat, transform: int) -> float:  # score: a C float, np.float32 too
    """A base score as a margin, as XGBoost computes it for the transform's link (float32)."""
