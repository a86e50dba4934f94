"""``fastjoin serve``: a SageMaker-compatible model server (``GET /ping``,
``GET /execution-parameters``, ``POST /invocations``) on the pure pipeline.

:func:`create_app` returns a plain ASGI application (no web framework): ``fastjoin serve``
runs it on uvicorn, and a user with their own ASGI server can run it there. The model is
loaded once, before the app exists; each request body is one object run through
:class:`fastjoin.pipeline.Pipeline` on a thread of a pool sized to the workers, so the event
loop stays free for ``/ping`` while predictions run.

Bodies for ``text/csv`` and ``application/jsonlines`` input: the Batch Transform body
(``reference/serving.md`` §2.3, ``SAGEMAKER_BATCH`` set: one line per record, the prediction as
the XGBoost container formats it; with ``--join-source`` or ``--output-filter``, what Batch
Transform writes for the record, whatever the environment), the real-time bodies (§2.4,
``{"predictions": [{"score": ...}]}``) and selectable output (§2.5,
``SAGEMAKER_INFERENCE_OUTPUT``), the last two encoded by
:mod:`fastjoin.container.xgboost_output` from the request's prediction array. Bodies for
``text/libsvm`` (``text/x-libsvm``, ``libsvm``, and a request without a Content-Type, which the
container reads as libsvm): read by :mod:`fastjoin.container.libsvm` as the container reads
them, predicted, and encoded the same way (the batch, real-time or selectable body); they have
no Batch Transform records, so a server with an input filter, a join or an output filter, or
with a container callable, answers them 415. On a server without filters, a ``text/csv`` body
fastjoin's reader refuses is read as the container reads CSV
(:mod:`fastjoin.container.xgboost_csv`: a sniffed delimiter, fewer fields than features) before
the answer is an error.

Status codes (SPEC §6): empty body 204; body over the limit 413; unsupported Content-Type or
data that cannot be parsed 415; records that cannot be predicted 400; unsupported Accept 406;
unknown route 404. A 5xx means a fault of the server or of its model, never of the request.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import inspect
import json
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from fastjoin import asgi
from fastjoin.container import libsvm, recordio_protobuf, xgboost_csv, xgboost_output
from fastjoin.errors import ConfigError, FastjoinError, InputError, ModelError
from fastjoin.options import TransformOptions, media_type
from fastjoin.pipeline import ModelSpec, Pipeline, run_bytes
from fastjoin.serve.environment import model_server_timeout, payload_limit, workers_from_env

__all__ = ["create_app", "ServeApp"]

log = logging.getLogger("fastjoin.serve")

# Content-Type (lower-cased, parameters dropped) -> the pipeline's content type
_CONTENT_TYPES = {
    "text/csv": "text/csv",
    "csv": "text/csv",
    "application/jsonlines": "application/jsonlines",
    "jsonlines": "application/jsonlines",
}
CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"
INLINE_BYTES = 4096  # bodies up to this size are predicted on the event loop (see _off_loop)
LIBSVM = "text/libsvm"
RECORDIO = "application/x-recordio-protobuf"
_LIBSVM_TYPES = ("text/libsvm", "text/x-libsvm", "libsvm")  # and a missing Content-Type
_RECORDIO_TYPES = (RECORDIO, "recordio-protobuf")
# bodies read as the container reads them into a feature matrix (no Batch Transform records)
_MATRIX_READERS = {LIBSVM: ("libsvm", libsvm.parse), RECORDIO: ("recordio-protobuf", recordio_protobuf.parse)}
_ACCEPTS = ("application/json", "application/jsonlines", RECORDIO, "text/csv")
_FORMAT_WORD = {"text/csv": "csv", "application/jsonlines": "jsonlines"}


class _Reply(Exception):
    """A finished answer (status and text), raised from wherever the request goes wrong."""

    def __init__(self, status: int, text: str):
        self.status = status
        self.text = text
        super().__init__(text)


def create_app(
    model: Any,
    *,
    workers: Optional[int] = None,
    max_payload_bytes: Optional[int] = None,
    default_accept: Optional[str] = None,
    batch: Optional[bool] = None,
    inference_output: Optional[str] = None,
    timeout: Optional[float] = None,
    environ: Optional[Mapping[str, str]] = None,
    **options: Any,
) -> "ServeApp":
    """The ASGI application serving ``model`` (what :func:`fastjoin.load_model` takes: a model
    file, a ``model.tar.gz``, a directory holding ``xgboost-model``, a Booster...).

    ``options``: :class:`~fastjoin.options.TransformOptions` fields applied to every request
    (``input_filter``, ``join_source``, ``output_filter``, ``engine``...; the content type and
    Accept come from each request). Unset arguments come from the environment SageMaker sets:
    ``workers`` from ``SAGEMAKER_MODEL_SERVER_WORKERS`` (default: the cores), the body limit
    from ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` / ``MAX_CONTENT_LENGTH`` (default 6 MiB),
    ``default_accept`` (for a missing or ``*/*`` Accept) from
    ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (default ``text/csv``), ``batch`` from
    ``SAGEMAKER_BATCH`` (any non-empty value, as the container reads it), ``inference_output``
    (the selectable output keys, comma-separated) from ``SAGEMAKER_INFERENCE_OUTPUT`` (set, even
    empty, turns it on, as in the container), ``timeout`` (seconds a prediction may take before
    the answer is 504) from ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` (default 60, the container's).
    """
    environ = os.environ if environ is None else environ
    if workers is None:
        workers = workers_from_env(environ)
    if max_payload_bytes is None:
        max_payload_bytes = payload_limit(environ)
    if default_accept is None:
        default_accept = environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or "text/csv"
    if batch is None:
        batch = bool(environ.get("SAGEMAKER_BATCH"))
    if inference_output is None:
        inference_output = environ.get("SAGEMAKER_INFERENCE_OUTPUT")
    if timeout is None:
        timeout = model_server_timeout(environ)
    return ServeApp(
        model,
        workers=workers,
        max_payload_bytes=max_payload_bytes,
        default_accept=default_accept,
        batch=batch,
        inference_output=inference_output,
        timeout=timeout,
        **options,
    )


class ServeApp:
    """The ASGI callable (see :func:`create_app`, which fills the arguments from the
    environment)."""

    def __init__(
        self,
        model: Any,
        *,
        workers: int,
        max_payload_bytes: int,
        default_accept: str = "text/csv",
        batch: bool = False,
        inference_output: Optional[str] = None,
        timeout: float = 60,
        **options: Any,
    ):
        if not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a positive whole number, not {workers!r}")
        if not isinstance(max_payload_bytes, int) or max_payload_bytes < 1:
            raise ConfigError(f"the body limit must be a positive number of bytes, not {max_payload_bytes!r}")
        fixed = sorted({"content_type", "accept", "split_type", "assemble_with", "threads"} & set(options))
        if fixed:
            raise ConfigError(f"fastjoin serve sets {', '.join(fixed)} itself (from each request)")
        self.workers = workers
        self.max_payload_bytes = max_payload_bytes
        self.default_accept = media_type(default_accept)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigError(f"the prediction timeout must be a positive number of seconds, not {timeout!r}")
        self.batch = batch
        self.inference_output = inference_output
        self.timeout = timeout
        self.overran = False  # a prediction ran past the timeout (its thread may still run)
        self.retire_on_timeout = False  # set in a supervised worker: it exits to be replaced
        self.on_startup: Callable[[], None] = lambda: None  # called once the server serves
        # Every record format is compiled before the model loads (a filter error comes first);
        # one that the options do not allow is answered with 415 and the reason.
        base = TransformOptions(**options)
        compiled: dict[str, Any] = {}
        self.unusable: dict[str, str] = {}
        for content_type in ("text/csv", "application/jsonlines"):
            opts = dataclasses.replace(base, content_type=content_type, split_type="Line", threads=1)
            try:
                compiled[content_type] = (opts.check(), opts.plan())
            except ConfigError as exc:
                if content_type == "text/csv":
                    raise
                self.unusable[content_type] = str(exc)
        # one thread per prediction: the parallelism is the workers (as the container's)
        self.model = ModelSpec.from_options(model, base, 1).load()
        self.pipelines = {ct: Pipeline(opts, self.model, plan) for ct, (opts, plan) in compiled.items()}
        self.filtered = bool(base.input_filter or base.join_source or base.output_filter)
        # joined or output-filtered records are Batch Transform's, whatever the environment
        self.shaped = bool(base.join_source or base.output_filter)
        self.selected = None if inference_output is None else xgboost_output.selected_keys(inference_output)
        self.objective: str = "" if self.model.is_container else self.model.objective
        self.num_class: int = 0 if self.model.is_container else self.model.num_class
        if self.selected is not None:
            if self.shaped:
                raise ConfigError(
                    "SAGEMAKER_INFERENCE_OUTPUT (selectable output) cannot be combined with --join-source "
                    "or --output-filter: the body is then the records Batch Transform writes; unset one"
                )
            if self.model.is_container:
                raise ConfigError(
                    "SAGEMAKER_INFERENCE_OUTPUT (selectable output) is computed from an XGBoost model's "
                    "predictions; a container callable writes its own body"
                )
            xgboost_output.check_selectable(self.objective, self.model.n_outputs)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fastjoin-serve")
        from fastjoin.predictor import ContainerModel

        inner = self.model.model if self.model.is_container else None
        fn = inner.fn if isinstance(inner, ContainerModel) else None  # a callable (not a URL)
        self._attributed_fn = fn if fn is not None and _takes_custom_attributes(fn) else None

    @property
    def execution_parameters(self) -> dict:
        return {
            "MaxConcurrentTransforms": self.workers,
            "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": self.max_payload_bytes // (1024 * 1024),
        }

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await asgi.lifespan(receive, send, lambda: self.on_startup(), self._shutdown)
            return
        if kind != "http":  # websocket: refuse it
            return
        method, path = scope["method"], scope["path"]
        if path == "/ping" and method == "GET":
            await _respond(send, 200, b"")
        elif path == "/execution-parameters" and method == "GET":
            await _respond(send, 200, json.dumps(self.execution_parameters).encode(), "application/json")
        elif path == "/invocations" and method == "POST":
            await self._invocations(scope, receive, send)
        else:
            await _respond(
                send,
                404,
                f"{method} {path}: no such route (GET /ping, GET /execution-parameters, POST /invocations)",
            )

    def _shutdown(self) -> None:
        self._pool.shutdown(wait=not self.overran, cancel_futures=self.overran)
        if self.overran and self.retire_on_timeout:
            # the thread of the prediction that overran cannot be stopped and would hold the
            # exit: leave now, as gunicorn kills a silent worker
            sys.stderr.flush()
            os._exit(0)

    async def _invocations(self, scope, receive, send) -> None:
        headers = asgi.headers(scope)
        try:
            body = await self._read_body(headers, receive)
            if not body:
                await _respond(send, 204, b"")
                return
            content_type = self._content_type(headers.get("content-type"))
            accept = self._accept(headers.get("accept"), content_type)
            attributes = None
            if self._attributed_fn is not None:
                attributes = _Attributes(
                    self._attributed_fn, headers.get(CUSTOM_ATTRIBUTES), self.model.policy
                )
            if content_type in _MATRIX_READERS:
                out = await self._off_loop(body, self._predict_matrix, content_type, body, accept)
            else:
                encode_as = accept if self._encoded(accept, content_type) else None
                out = await self._off_loop(body, self._predict, content_type, body, encode_as, attributes)
            self._check_accept(accept, content_type)
            extra = attributes.header() if attributes is not None else []
        except _Reply as reply:
            log.warning("POST /invocations %d: %s", reply.status, reply.text.replace("\n", " "))
            await _respond(send, reply.status, reply.text)
            return
        await _respond(send, 200, out, accept + ("; charset=utf-8" if accept == "text/csv" else ""), extra)

    async def _off_loop(self, body: bytes, fn, *args):
        """``fn(*args)`` on a pool thread, so the event loop stays free for ``/ping``; a body of
        a few records for an in-process model runs right here instead (it takes tens of
        microseconds, about what handing it to a thread costs)."""
        if len(body) <= INLINE_BYTES and not self.model.is_container:
            return fn(*args)
        running = asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        try:
            return await asyncio.wait_for(running, self.timeout)
        except asyncio.TimeoutError:
            self.overran = True
            # its thread cannot be stopped: later requests get a fresh pool, not a queue behind it
            self._pool.shutdown(wait=False)
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="fastjoin-serve")
            if self.retire_on_timeout:  # SIGTERM: the other requests finish, then the worker exits
                log.error("worker %d retires: a prediction ran past the timeout", os.getpid())
                os.kill(os.getpid(), signal.SIGTERM)
            raise _Reply(
                504,
                f"the prediction took longer than {self.timeout:g} s (SAGEMAKER_MODEL_SERVER_TIMEOUT); "
                f"send smaller batches (MaxPayloadInMB) or raise the timeout",
            ) from None

    async def _read_body(self, headers: dict, receive) -> bytes:
        limit = self.max_payload_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise _Reply(413, _too_large(f"{int(declared)} bytes", limit))
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Reply(400, "the client disconnected before the body was sent")
            body += message.get("body", b"")
            if len(body) > limit:
                raise _Reply(413, _too_large(f"over {limit} bytes", limit))
            if not message.get("more_body", False):
                return bytes(body)

    def _content_type(self, header: Optional[str]) -> str:
        media = None if header is None else media_type(header)
        matrix = (
            LIBSVM
            if media is None or media in _LIBSVM_TYPES
            else RECORDIO
            if media in _RECORDIO_TYPES
            else None
        )
        if matrix is not None:
            if self.filtered or self.model.is_container:
                shown = "a request without a Content-Type (libsvm, as the XGBoost container reads it)"
                word = _MATRIX_READERS[matrix][0]
                raise _Reply(
                    415,
                    f"{shown if media is None else media} cannot be served with these options: "
                    f"{word} bodies have no Batch Transform records to filter or join, and are predicted "
                    f"with an XGBoost model, not a container callable; send text/csv or application/jsonlines",
                )
            return matrix
        assert header is not None and media is not None
        if media in _CONTENT_TYPES:
            content_type = _CONTENT_TYPES[media]
            if content_type in self.unusable:
                raise _Reply(
                    415, f"{media} cannot be served with these options: {self.unusable[content_type]}"
                )
            return content_type
        raise _Reply(
            415,
            f"{header} is not an accepted ContentType: csv, jsonlines, libsvm, recordio-protobuf, text/csv, "
            f"application/jsonlines, text/libsvm, text/x-libsvm, application/x-recordio-protobuf.",
        )

    def _accept(self, header: Optional[str], content_type: str) -> str:
        """The first supported media type of the Accept header; a missing one or ``*/*`` is the
        default Accept, or the content type when joined records are written (their format)."""
        joined = content_type in self.pipelines and self.pipelines[content_type].plan.join
        wanted = [media_type(part) for part in (header or "").split(",")]
        for media in wanted:
            if media in ("", "*/*"):
                media = content_type if joined else self.default_accept
            if media in _ACCEPTS:
                return media
        return "!" + (header or self.default_accept)  # reported after the body is parsed (415 first)

    def _check_accept(self, accept: str, content_type: str) -> None:
        if accept.startswith("!"):
            raise _Reply(
                406,
                f"Accept type {accept[1:]} is not supported. Please use supported accept types: {list(_ACCEPTS)}.",
            )
        if content_type in _MATRIX_READERS:
            return
        if self.filtered and self.pipelines[content_type].plan.join and accept != content_type:
            raise _Reply(
                406, f"with --join-source Input the output is {content_type}: ask for Accept {content_type}"
            )
        if not self.batch and not self.filtered and self.model.is_container:
            # a container callable writes the batch body (one line per record); the real-time
            # CSV body is that for one output per record
            if accept != "text/csv" or self.pipelines[content_type].default_outputs != 1:
                raise _Reply(
                    406,
                    f"Accept {accept} outside Batch Transform asks for the XGBoost container's real-time "
                    f'body (e.g. {{"predictions": [...]}}), which a container callable does not write: '
                    f"set SAGEMAKER_BATCH=true for the batch body (one line per record)",
                )

    def _encoded(self, accept: str, content_type: str) -> bool:
        """Whether the body is encoded from the prediction array (real-time or selectable
        output) rather than written by the pipeline (the batch body, joined records)."""
        if self.model.is_container or self.shaped or accept.startswith("!"):
            return False
        if self.selected is not None:
            return True
        # outside Batch Transform: the real-time CSV body is the batch body for one output
        return not self.batch and (accept != "text/csv" or self.model.n_outputs != 1)

    def _predict(
        self,
        content_type: str,
        body: bytes,
        encode_as: Optional[str] = None,
        attributes: Optional["_Attributes"] = None,
    ) -> bytes:
        """One request body through the pipeline, on a pool thread; with ``encode_as`` (an
        Accept) the predictions are kept and encoded as the container's real-time or
        selectable body for it; with ``attributes``, the container callable gets the request's
        custom attributes."""
        pipeline = self.pipelines[content_type]
        if attributes is not None:
            pipeline = copy.copy(pipeline)
            pipeline.model = attributes.model
        try:
            if encode_as is None:
                return run_bytes(pipeline, body, "<body>")
            recorder = _Recorder(self.model)
            pipeline = copy.copy(pipeline)
            pipeline.model = recorder
            run_bytes(pipeline, body, "<body>")
            return xgboost_output.encode(
                recorder.predictions(), self.objective, self.num_class, encode_as, self.selected, self.batch
            )
        except Exception as exc:
            if (
                content_type == "text/csv"
                and isinstance(exc, (InputError, ModelError))
                and _client_status(exc) in (400, 415)
            ):
                lenient = self._lenient_csv(body, encode_as)
                if lenient is not None:
                    return lenient
            raise _reply_for(exc, _FORMAT_WORD[content_type]) from None

    def _lenient_csv(self, body: bytes, encode_as: Optional[str]) -> Optional[bytes]:
        """The body for a CSV request fastjoin's reader refused that the XGBoost container reads
        (:mod:`fastjoin.container.xgboost_csv`: a sniffed delimiter, fewer fields than the
        model's features), on a server without filters; None when the container refuses it too
        (fastjoin's located error is then the answer)."""
        if self.filtered or self.model.is_container:
            return None
        try:
            X = xgboost_csv.parse(body, self.model.n_features)
            if X is None:
                return None
            preds = np.asarray(self.model.predict(X), dtype=np.float32)
        except Exception:  # the request's own error is the answer
            log.debug("the container's CSV reading failed too", exc_info=True)
            return None
        if encode_as is None:  # the body the pipeline writes: the batch body
            return xgboost_output.batch_body(preds)
        return xgboost_output.encode(
            preds, self.objective, self.num_class, encode_as, self.selected, self.batch
        )

    def _predict_matrix(self, content_type: str, body: bytes, accept: str) -> bytes:
        """A libsvm or RecordIO-protobuf body read as the container reads it, predicted and
        encoded as the container's body for ``accept`` (on a pool thread)."""
        word, parse = _MATRIX_READERS[content_type]
        try:
            X = parse(body, self.model.n_features)
            if accept.startswith("!"):  # 406, answered once the body is parsed
                return b""
            preds = np.asarray(self.model.predict(X), dtype=np.float32)
            return xgboost_output.encode(
                preds, self.objective, self.num_class, accept, self.selected, self.batch
            )
        except Exception as exc:
            raise _reply_for(exc, word) from None


class _Attributes:
    """One request's ``X-Amzn-SageMaker-Custom-Attributes`` (``reference/serving.md`` §1.10),
    for a container callable that takes a ``custom_attributes`` argument: it gets the header's
    value (None without one) and may return ``(body, attributes)`` to set the answer's header,
    which SageMaker otherwise leaves out."""

    def __init__(self, fn, value: Optional[str], policy):
        from fastjoin.predictor import ContainerModel

        self.fn = fn
        self.value = value
        self.answer: Any = None
        self.model = policy.apply(ContainerModel(self))

    def __call__(self, body: bytes, content_type: str, accept: str):
        result = self.fn(body, content_type, accept, custom_attributes=self.value)
        if isinstance(result, tuple) and len(result) == 2:
            result, self.answer = result
        return result

    def header(self) -> list:
        if self.answer is None:
            return []
        text = self.answer
        if not isinstance(text, str) or len(text) > 1024 or not all(" " <= ch <= "~" for ch in text):
            log.error(
                "the model set custom attributes that are not up to 1024 visible ASCII characters: %r", text
            )
            raise _Reply(
                500,
                "the model set custom attributes that are not up to 1024 visible ASCII characters "
                "(X-Amzn-SageMaker-Custom-Attributes)",
            )
        return [(CUSTOM_ATTRIBUTES.encode(), text.encode("ascii"))]


def _takes_custom_attributes(fn) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return "custom_attributes" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


class _Recorder:
    """The model, keeping each prediction array it returns (one request's, in record order)."""

    def __init__(self, model: Any):
        self._model = model
        self._arrays: list[np.ndarray] = []

    def predict(self, X: np.ndarray) -> np.ndarray:
        preds = self._model.predict(X)
        self._arrays.append(preds)
        return preds

    def predictions(self) -> np.ndarray:
        if not self._arrays:
            shape = (0,) if self._model.n_outputs == 1 else (0, self._model.n_outputs)
            return np.empty(shape, dtype=np.float32)
        return np.concatenate(self._arrays).astype(np.float32, copy=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def _reply_for(exc: Exception, word: str) -> _Reply:
    """The answer for an error raised while a body in format ``word`` (``csv``, ``libsvm``...)
    was read, predicted or encoded; called in the ``except`` block (it logs the traceback of a
    fault of the server or of its model)."""
    if isinstance(exc, InputError) and exc.http_status == 415:  # data that cannot be parsed:
        return _Reply(  # the container's key phrase
            415, f"Loading {word} data failed with Exception, please ensure data is in {word} format:\n {exc}"
        )
    if isinstance(exc, FastjoinError):
        status = _client_status(exc)
        if status == 413:
            return _Reply(status, str(exc))
        if status >= 500:
            log.exception("POST /invocations: the model failed")
            return _Reply(status, f"the model failed: {exc}")
        return _Reply(status, f"Unable to evaluate payload provided: {exc}")
    # a fault of fastjoin, not of the request: say so
    log.exception("POST /invocations: internal error")
    return _Reply(500, f"internal error: {type(exc).__name__}: {exc}")


def _client_status(exc: FastjoinError) -> int:
    """The error's HTTP status; a 4xx that is not one of SPEC §6's is a 400."""
    status = exc.http_status
    if status in (400, 413, 415):
        return status
    return 500 if status >= 500 else 400


def _too_large(size: str, limit: int) -> str:
    return (
        f"Request Entity Too Large: the body is {size}, over the limit of {limit} bytes "
        f"(SAGEMAKER_MAX_PAYLOAD_IN_MB, else MAX_CONTENT_LENGTH, else 6 MiB)"
    )


async def _respond(
    send, status: int, body, content_type: str = "text/plain; charset=utf-8", extra: Sequence = ()
) -> None:
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = [] if status == 204 else [(b"content-length", str(len(body)).encode())]
    if body or status == 200:
        headers.append((b"content-type", content_type.encode()))
    headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
