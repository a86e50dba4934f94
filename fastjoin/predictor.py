"""Model adapters: turn what the user passed as ``model`` into something the pipeline can call.

:func:`load_model` accepts an ``xgboost.Booster``, an XGBoost model file (JSON, UBJ, or the
legacy binary format if the installed XGBoost still reads it), a SageMaker ``model.tar.gz``
artefact or a directory holding one model, or a *container callable*
``f(body: bytes, content_type: str, accept: str) -> bytes``.

XGBoost models run in process (:class:`XGBoostPredictor`), on fastjoin's compiled tree
predictor when the model allows it (fastjoin.trees; checked against XGBoost when loaded) and
on libxgboost otherwise; callables are wrapped as :class:`ContainerModel` and fed whole
mini-batches like ``POST /invocations``. Reading a model from a path (files, archives,
directories, pickles) is :mod:`fastjoin.model_files`.

xgboost is imported lazily, inside functions: ``import fastjoin.predictor`` must stay cheap
and must work without xgboost installed (a container callable needs no xgboost).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

import numpy as np

from fastjoin.errors import ConfigError, ModelError, OutputError, plural
from fastjoin.libxgboost import NativeBooster
from fastjoin.model_files import (
    DEFAULT_MAX_MODEL_BYTES,
    _booster_from_bytes,
    _booster_from_path,
    _too_big,
    model_size_problem,
)

if TYPE_CHECKING:  # type hints only; the real imports are lazy
    from concurrent.futures import ThreadPoolExecutor

    import xgboost

    from fastjoin import trees

__all__ = [
    "load_model",
    "Predictor",
    "XGBoostPredictor",
    "ContainerModel",
    "ENGINES",
]

#: How an XGBoost model is run: "auto" (compiled when the model allows, else libxgboost),
#: "compiled" (fastjoin's tree predictor, an error if the model needs XGBoost) or "xgboost".
ENGINES = ("auto", "compiled", "xgboost")


def engine_problem(engine, name: str = "engine") -> str | None:
    """What is wrong with an ``engine`` option, or None (one wording for every caller; ``name``:
    how the caller spells the option, e.g. ``--engine``)."""
    return None if engine in ENGINES else f"{name} must be one of {ENGINES}, not {engine!r}"


_SPLIT_ROWS = 8192  # a compiled batch is split across threads only above this many rows per thread


def available_cores() -> int:
    """The cores this process may use: in a container or under taskset os.cpu_count()
    reports the host's cores, and using them all would oversubscribe."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@runtime_checkable
class Predictor(Protocol):
    """An in-process model: float32 feature rows in, float32 predictions out."""

    @property
    def n_features(self) -> int: ...

    @property
    def n_outputs(self) -> int: ...

    def check_features(self, n: int) -> None: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...


class XGBoostPredictor:
    """An XGBoost model, run by fastjoin's compiled tree predictor or by libxgboost.

    Predictions equal ``booster.inplace_predict(X)`` bit for bit on either engine: same trees
    (all of them, ``iteration_range=(0, 0)``), missing = NaN, zeros are values. (That is also
    ``booster.predict(xgboost.DMatrix(X))``, except that a DMatrix refuses infinities and,
    for dart models, XGBoost's two paths can differ by an ulp.)
    The compiled engine (fastjoin.trees) covers gbtree models with numerical splits and one
    output per row or per class; when it is chosen it is first checked against libxgboost on
    rows that sit on, just below and just above every threshold, with NaNs. ``engine="auto"``
    falls back to libxgboost for anything else, or when fastjoin._trees is not built
    (``fallback_reason`` says why). Feature names are not checked (``validate_features=False``,
    as SageMaker's container does); the feature count is, through :meth:`check_features`.
    """

    is_container = False  # predicts in-process (records call predict, not invoke)

    def __init__(
        self, booster: NativeBooster | xgboost.Booster, *, nthread: int | None = None, engine: str = "auto"
    ):
        if not isinstance(booster, NativeBooster):  # an xgboost.Booster: share its handle
            booster = NativeBooster.from_booster(booster)
        if nthread is None:
            nthread = available_cores()
        elif isinstance(nthread, bool) or not isinstance(nthread, int) or nthread < 1:
            raise ConfigError(f"nthread must be a positive integer or None, not {nthread!r}")
        problem = engine_problem(engine)
        if problem:
            raise ConfigError(problem)
        booster.set_param({"nthread": nthread})
        self._booster = booster
        self._nthread = nthread
        self._n_features = int(booster.num_features())
        # objective and class count: what the container's output rules depend on
        self.objective, self.num_class, self._n_outputs = _model_params(booster)
        self._verified = False  # the output shape is checked against n_outputs once
        # threads that split a compiled batch, made on first need
        self._pool: ThreadPoolExecutor | None = None
        self.fallback_reason: str | None = None
        self._trees_missing = False  # the reason is fastjoin._trees, not the model
        self._ensemble = None  # until compiled (repr works if compiling raises)
        self._ensemble = None if engine == "xgboost" else self._compile(engine == "compiled")

    def _compile(self, required: bool) -> trees.Ensemble | None:
        """The compiled ensemble, checked against libxgboost; None to use libxgboost."""
        from fastjoin import _impl

        if _impl.trees is None:
            if required:
                raise ConfigError(
                    f"engine='compiled' needs the compiled tree predictor: {_impl.TREES_MISSING}"
                )
            self.fallback_reason, self._trees_missing = _impl.TREES_MISSING, True
            return None
        from fastjoin import trees

        try:
            ensemble = trees.compile_model(self._booster.save_raw("ubj"))
            if ensemble.n_outputs != self._n_outputs:
                raise trees.Unsupported(
                    f"{plural(self._n_outputs, 'output')} per row where the compiled model has {ensemble.n_outputs}"
                )
            probe = trees.probe_rows(ensemble)
            # bit patterns: NaN predictions compare equal too
            differs = trees.disagreement(
                ensemble, probe, ensemble.predict(probe), self._booster.predict_dense(probe)
            )
            if differs:
                raise trees.Unsupported(differs)
        except trees.Unsupported as exc:
            reason, cause = str(exc), None
        except Exception as exc:  # a fastjoin bug or a model it misreads: libxgboost still predicts
            reason, cause = f"a part the compiled predictor failed on ({type(exc).__name__}: {exc})", exc
        else:
            return ensemble
        if required:
            raise ModelError(f"engine='compiled' cannot run this model, which has {reason}") from cause
        self.fallback_reason = reason
        return None

    @property
    def engine(self) -> str:
        """The engine in use: "compiled" or "xgboost"."""
        return "xgboost" if self._ensemble is None else "compiled"

    @property
    def fallback_note(self) -> str | None:
        """A sentence for the user when engine="auto" fell back to libxgboost, else None."""
        if self.fallback_reason is None:
            return None
        because = self.fallback_reason if self._trees_missing else f"it has {self.fallback_reason}"
        return f"the model runs on libxgboost, not the compiled tree predictor: {because}"

    @property
    def booster(self) -> NativeBooster:
        return self._booster

    @property
    def nthread(self) -> int:
        return self._nthread

    def with_threads(self, nthread: int) -> XGBoostPredictor:
        """This model predicting with ``nthread`` threads per call (1 when several workers
        predict at once), leaving this object as it is: itself when the count is already
        ``nthread``, else a twin that shares the compiled trees (read-only) and, on
        libxgboost, has a booster of its own."""
        if nthread == self._nthread:
            return self
        twin = object.__new__(XGBoostPredictor)  # not copy.copy: that would go through __reduce__
        twin.__dict__.update(self.__dict__)
        twin._nthread, twin._pool = nthread, None
        if self._ensemble is None:
            twin._booster = NativeBooster.from_bytes(self._booster.save_raw("ubj"))
            twin._booster.set_param({"nthread": nthread})
        return twin

    def __reduce__(self):
        # a ctypes handle does not pickle: ship the model's bytes, rebuilt where it runs
        engine = "xgboost" if self._ensemble is None else "auto"
        return (_rebuild, (self._booster.save_raw("ubj"), self._nthread, engine))

    @property
    def n_features(self) -> int:
        return self._n_features

    @property
    def n_outputs(self) -> int:
        """1 for one value per row; k for ``multi:softprob`` (k classes) or k targets/quantiles."""
        return self._n_outputs

    def check_features(self, n: int) -> None:
        """Raise ModelError unless ``n`` features (what the input filter selects) fit the model."""
        m = self._n_features
        if n == m:
            return
        message = f"the input filter selects {plural(n, 'feature')} but the model expects {m}"
        if n == m + 1:
            message += " (is the first column an id or a label? drop it with InputFilter '$[1:]')"
        elif n > m:
            message += " (select the model's columns with an InputFilter, e.g. '$[1:]')"
        raise ModelError(message)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict a batch: float32 ``(n,)`` when ``n_outputs == 1``, else ``(n, n_outputs)``.

        ``X`` must already be a C-contiguous float32 2-D array: a silent conversion here
        would hide a copy of every batch from the caller.
        """
        if not (isinstance(X, np.ndarray) and X.dtype == np.float32 and X.ndim == 2 and X.flags.c_contiguous):
            desc = (
                f"{X.dtype} array of shape {X.shape}, c_contiguous={X.flags.c_contiguous}"
                if isinstance(X, np.ndarray)
                else type(X).__name__
            )
            raise TypeError(f"predict() needs a C-contiguous float32 2-D numpy array, got {desc}")
        n, width = X.shape
        if width != self._n_features:
            self.check_features(width)
        k = self._n_outputs
        if n == 0:  # XGBoost is not called for nothing
            return np.empty((0,) if k == 1 else (0, k), dtype=np.float32)
        if self._ensemble is not None:
            return self._predict_compiled(X)
        try:
            out = self._booster.predict_dense(X)  # always (n, groups): 1 row is not squeezed
        except ModelError as exc:
            raise ModelError(f"XGBoost prediction failed: {exc}") from exc
        if not self._verified:
            if out.shape != (n, k) or out.dtype != np.float32:
                raise ModelError(
                    f"the model returned {out.dtype} predictions of shape {out.shape} for "
                    f"{plural(n, 'row')}; expected {plural(k, 'float32 value')} per row from its configuration"
                )
            self._verified = True
        return out.reshape(n) if k == 1 else out

    def _predict_compiled(self, X: np.ndarray) -> np.ndarray:
        """The compiled engine; a big batch is split into one run of rows per thread (the
        kernel releases the GIL), the caller's thread taking the first."""
        ensemble = self._ensemble
        assert ensemble is not None  # predict() calls this only when the model is compiled
        parts = min(self._nthread, len(X) // _SPLIT_ROWS)
        if parts <= 1:
            return ensemble.predict(X)
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self._nthread - 1, thread_name_prefix="fastjoin-trees")
        bounds = np.linspace(0, len(X), parts + 1).astype(int)
        futures = [self._pool.submit(ensemble.predict, X[a:b]) for a, b in zip(bounds[1:-1], bounds[2:])]
        first = ensemble.predict(X[: bounds[1]])
        return np.concatenate([first] + [f.result() for f in futures])

    def __repr__(self) -> str:
        return (
            f"XGBoostPredictor(n_features={self._n_features}, "
            f"n_outputs={self._n_outputs}, nthread={self._nthread}, engine={self.engine!r})"
        )


def _rebuild(raw: bytes, nthread: int, engine: str) -> XGBoostPredictor:
    return XGBoostPredictor(NativeBooster.from_bytes(raw), nthread=nthread, engine=engine)


def _model_params(booster: NativeBooster) -> tuple[str, int, int]:
    """The objective's name, the class count (0: none) and the values per row, read from the
    booster's configuration (no prediction needed)."""
    learner = json.loads(booster.save_config())["learner"]
    param = learner.get("learner_model_param", {})
    objective = str(learner.get("objective", {}).get("name", ""))
    num_class = int(param.get("num_class", 0) or 0)
    num_target = int(param.get("num_target", 1) or 1)
    if num_class > 1:
        # multi:softmax returns the class index, multi:softprob one probability per class.
        return objective, num_class, 1 if objective == "multi:softmax" else num_class
    return objective, num_class, max(num_target, 1)  # multi-target regression, several quantiles


class ContainerModel:
    """A callable that behaves like a container's ``POST /invocations``.

    ``fn(body, content_type, accept)`` gets one mini-batch body and must return the response
    body as bytes, one output line per input line.
    """

    is_container = True  # records go to invoke() in mini-batches
    engine = "container"  # what predicts, as a job reports it
    fallback_note = None  # (an XGBoost model's note when it runs on libxgboost)

    def __init__(self, fn: Callable[[bytes, str, str], bytes]):
        if not callable(fn):
            raise ModelError(f"a container model must be callable, not {type(fn).__name__}")
        self.fn = fn

    def invoke(self, body: bytes, content_type: str, accept: str) -> bytes:
        result = self.fn(body, content_type, accept)
        if isinstance(result, bytes):
            return result
        if isinstance(result, (bytearray, memoryview)):  # bytes-like: same content
            return bytes(result)
        hint = " (encode text with .encode())" if isinstance(result, str) else ""
        raise OutputError(
            f"the container callable {_callable_name(self.fn)} returned "
            f"{type(result).__name__}, expected bytes{hint}"
        )

    def __repr__(self) -> str:
        return f"ContainerModel({_callable_name(self.fn)})"


def _callable_name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def load_model(
    model: Any,
    *,
    nthread: int | None = None,
    allow_pickle: bool = False,
    engine: str = "auto",
    max_model_bytes: int = DEFAULT_MAX_MODEL_BYTES,
) -> XGBoostPredictor | ContainerModel:
    """Turn ``model`` into an :class:`XGBoostPredictor` or a :class:`ContainerModel`.

    ``model``: a model file's bytes (JSON or UBJ, as ``booster.save_raw`` gives them); an
    ``xgboost.Booster`` (copied, so setting ``nthread`` does not touch the
    caller's object); an XGBoost sklearn model (its booster); a path to a model file (format
    detected from the bytes, never the extension), to a ``model.tar.gz`` artefact (gzip or
    plain tar; the member ``xgboost-model``, else the one model file), or to a directory
    holding one; any other callable, treated as a container callable. An already-loaded
    predictor or ContainerModel is returned unchanged.

    ``nthread``: threads per prediction call; default all cores this process may use.
    ``allow_pickle``: unpickle pickled models (pickles can run arbitrary code; off by default).
    ``engine``: one of :data:`ENGINES` (see :class:`XGBoostPredictor`).
    ``max_model_bytes``: the most a model read from a path may hold, in bytes (default
    :data:`DEFAULT_MAX_MODEL_BYTES`). A model file is checked by its size
    before it is read, an archive's member by its header, and an archive is decompressed as it
    is read, so a bomb stops at the limit without being held in memory.
    """
    problem = model_size_problem(max_model_bytes)
    if problem:
        raise ConfigError(problem)
    if isinstance(model, (XGBoostPredictor, ContainerModel)):
        return model
    if isinstance(model, (bytes, bytearray, memoryview)):  # a model file's bytes (JSON or UBJ)
        raw = bytes(model)
        if len(raw) > max_model_bytes:
            raise _too_big("the model", len(raw), max_model_bytes)
        booster = _booster_from_bytes(raw, "<model bytes>", allow_pickle=allow_pickle)
        return XGBoostPredictor(booster, nthread=nthread, engine=engine)
    if isinstance(model, (str, os.PathLike)):
        booster = _booster_from_path(Path(model), allow_pickle=allow_pickle, limit=max_model_bytes)
        return XGBoostPredictor(booster, nthread=nthread, engine=engine)
    # Without xgboost imported, the object cannot be a Booster: no need to import it here.
    xgb = sys.modules.get("xgboost")
    if xgb is not None and isinstance(model, xgb.Booster):
        return XGBoostPredictor(model.copy(), nthread=nthread, engine=engine)
    if xgb is not None and isinstance(model, xgb.XGBModel):
        return XGBoostPredictor(model.get_booster().copy(), nthread=nthread, engine=engine)
    if callable(model):
        return ContainerModel(model)
    raise ModelError(
        f"cannot use a {type(model).__name__} as a model: pass an xgboost.Booster, a model "
        "file, a model.tar.gz or directory, or a callable f(body, content_type, accept) -> bytes"
    )
