"""libxgboost through its C API (ctypes), without importing the xgboost Python package.

``import xgboost`` also imports scikit-learn and scipy when they are installed (about 1.4 s
and 130 MB before any work); the shared library itself loads in about 10 ms, and inplace
prediction is one C call, ``XGBoosterPredictFromDense``. ctypes releases the GIL for the
call, so worker threads predict concurrently (XGBoost's prediction is thread-safe, and its
result buffer is per thread, copied out before the next call). Users who import xgboost
themselves are not affected: the package and this module share nothing but the library.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import re
import sys
import threading
from typing import Optional

import numpy as np

from fastjoin.errors import ModelError

__all__ = ["NativeBooster", "library_path"]

_INSTALL_HINT = (
    'running an XGBoost model needs the xgboost package: pip install "fastjoin[xgboost]" '
    "(or the lean CPU-only wheel: pip install xgboost-cpu)"
)
_LIB_NAMES = {"linux": "libxgboost.so", "darwin": "libxgboost.dylib", "win32": "xgboost.dll"}
_lib: Optional[ctypes.CDLL] = None
_lib_lock = threading.Lock()
_bst_ulong = ctypes.c_uint64

# Plain prediction (type 0) over all trees, shape (rows, groups) always, NaN = missing.
_PREDICT_CONFIG = json.dumps(
    {
        "type": 0,
        "training": False,
        "iteration_begin": 0,
        "iteration_end": 0,
        "strict_shape": True,
        "missing": float("nan"),
        "cache_id": 0,
    }
).encode()


def library_path() -> str:
    """Where the installed xgboost (or xgboost-cpu) wheel keeps libxgboost; the package is
    located, not imported."""
    spec = importlib.util.find_spec("xgboost")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(_INSTALL_HINT)
    name = _LIB_NAMES.get(sys.platform, "libxgboost.so")
    for folder in spec.submodule_search_locations:
        for candidate in (os.path.join(folder, "lib", name), os.path.join(sys.prefix, "lib", name)):
            if os.path.exists(candidate):
                return candidate
    raise ModelError(f"the xgboost package has no {name}; reinstall it. {_INSTALL_HINT}")


def _library() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is None:
            lib = ctypes.CDLL(library_path())
            lib.XGBGetLastError.restype = ctypes.c_char_p
            _lib = lib
    return _lib


def clean_message(text: str) -> str:
    """First line of an XGBoost error without the ``[10:52:14] /src/x.cc:409: `` prefix."""
    first = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return re.sub(r"^\[[\d:]+\] \S+:\d+: ", "", first)


def _check(ret: int) -> None:
    if ret != 0:
        raise ModelError(clean_message(_library().XGBGetLastError().decode("utf-8", "replace")))


class NativeBooster:
    """A booster handle: the few calls fastjoin needs, with the xgboost package's names."""

    def __init__(self, handle: ctypes.c_void_p, owner: object = None):
        self._lib = _library()
        self.handle: ctypes.c_void_p | None = handle  # None once freed
        self._owner = owner  # a Python xgboost.Booster that owns the handle, or None: we free it

    @classmethod
    def from_bytes(cls, raw: bytes) -> "NativeBooster":
        """Load a model from its bytes (JSON or UBJ; the format comes from the content)."""
        lib = _library()
        handle = ctypes.c_void_p()
        _check(lib.XGBoosterCreate(None, _bst_ulong(0), ctypes.byref(handle)))
        booster = cls(handle)
        _check(lib.XGBoosterLoadModelFromBuffer(handle, ctypes.c_char_p(raw), _bst_ulong(len(raw))))
        return booster

    @classmethod
    def from_booster(cls, booster) -> "NativeBooster":
        """Share the handle of an ``xgboost.Booster``, keeping the Booster alive."""
        return cls(booster.handle, owner=booster)

    def __del__(self):
        if getattr(self, "_owner", True) is None and self.handle:
            self._lib.XGBoosterFree(self.handle)
            self.handle = None

    def set_param(self, params: dict) -> None:
        for key, value in params.items():
            _check(self._lib.XGBoosterSetParam(self.handle, str(key).encode(), str(value).encode()))

    def num_features(self) -> int:
        out = _bst_ulong()
        _check(self._lib.XGBoosterGetNumFeature(self.handle, ctypes.byref(out)))
        return int(out.value)

    def save_config(self) -> str:
        length = _bst_ulong()
        text = ctypes.c_char_p()
        _check(self._lib.XGBoosterSaveJsonConfig(self.handle, ctypes.byref(length), ctypes.byref(text)))
        return ctypes.string_at(text, length.value).decode()

    def save_raw(self, raw_format: str = "ubj") -> bytes:
        """The model's bytes in ``raw_format`` ("ubj" or "json"), as xgboost's Booster.save_raw."""
        length = _bst_ulong()
        data = ctypes.POINTER(ctypes.c_char)()
        config = json.dumps({"format": raw_format}).encode()
        _check(
            self._lib.XGBoosterSaveModelToBuffer(
                self.handle, config, ctypes.byref(length), ctypes.byref(data)
            )
        )
        return ctypes.string_at(data, length.value)

    def predict_dense(self, X: np.ndarray) -> np.ndarray:
        """Predictions for a C-contiguous float32 matrix, shape (rows, groups), float32."""
        interface = json.dumps(
            {
                "data": [X.ctypes.data, True],
                "shape": list(X.shape),
                "strides": None,
                "typestr": "<f4",
                "version": 3,
            }
        ).encode()
        shape = ctypes.POINTER(_bst_ulong)()
        dims = _bst_ulong()
        result = ctypes.POINTER(ctypes.c_float)()
        _check(
            self._lib.XGBoosterPredictFromDense(
                self.handle,
                interface,
                _PREDICT_CONFIG,
                None,
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(result),
            )
        )
        out_shape = tuple(shape[i] for i in range(dims.value))
        size = int(np.prod(out_shape))
        # the result buffer belongs to XGBoost and this thread: copy before the next call
        return np.ctypeslib.as_array(result, shape=(size,)).copy().reshape(out_shape)
