"""fastjoin: SageMaker Batch Transform's filter/join/predict pipeline, locally and fast.

Public API: :class:`Transformer`, :func:`run_job`, :func:`validate`, :func:`preview`,
:func:`compile_path`, :func:`load_model` and the errors in
:mod:`fastjoin.errors`. Heavy modules (numpy, the compiled core, xgboost) load on first use,
so ``import fastjoin`` stays cheap.
"""

from __future__ import annotations

from fastjoin.errors import (
    ConfigError,
    CsvError,
    FastjoinError,
    FeatureError,
    InputError,
    JsonLinesError,
    Location,
    ModelError,
    OutputError,
    PathSyntaxError,
    StorageError,
)

__version__ = "0.1.0"

__all__ = [
    "Transformer",
    "TransformResult",
    "FileResult",
    "compile_path",
    "load_model",
    "run_job",
    "validate",
    "preview",
    "FastjoinError",
    "ConfigError",
    "PathSyntaxError",
    "InputError",
    "CsvError",
    "JsonLinesError",
    "FeatureError",
    "ModelError",
    "OutputError",
    "StorageError",
    "Location",
    "__version__",
]

_LAZY = {
    "Transformer": "fastjoin.transformer",
    "TransformResult": "fastjoin.transformer",
    "FileResult": "fastjoin.transformer",
    "compile_path": "fastjoin.jsonpath",
    "load_model": "fastjoin.predictor",
    "run_job": "fastjoin.job",
    "validate": "fastjoin.request",
    "preview": "fastjoin.preview",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastjoin' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
