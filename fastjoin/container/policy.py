"""How a job talks to a container model: ``ModelClientConfig``'s timeout and retries,
``MaxConcurrentTransforms``, and where a container's own ``/execution-parameters`` stand
(request > container > defaults). Applied around any container model (a callable, an HTTP
endpoint) by :meth:`InvocationPolicy.apply`, so every front end gets the same rules.

A failed mini-batch is reported as SageMaker reports it (:class:`ContainerError`,
:class:`ContainerRefused`), plus what SageMaker never says: its first and last line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Optional

from fastjoin.errors import FastjoinError, FeatureError, Location, ModelError, plural

__all__ = [
    "InvocationPolicy",
    "ContainerError",
    "ContainerRefused",
    "Unanswered",
    "backoff",
    "with_execution_parameters",
]

BACKOFF_BASE = 0.1  # seconds before the first retry, doubled for each further one
BACKOFF_CAP = 2.0  # a retry waits at most this long: a job is not a client that must shed load


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based) before the next."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))


class Unanswered(Exception):
    """A request that may succeed if sent again: no connection, no answer in time, a dropped
    connection or a 5xx. Its text is SageMaker's (``Unable to get response from algorithm``,
    ``Bad HTTP status received from algorithm: 500``)."""


class _MiniBatch:
    """An error about one mini-batch: once :func:`fastjoin.records.invoke.send` located it,
    it prints the batch's first and last line. Line numbers are kept as a first line (the
    location, made absolute by the runner) and a span (the same in any chunk)."""

    batch: Optional[tuple[int, int]] = None  # (records in the batch, lines after the first)
    location: Optional[Location]  # FastjoinError's

    def in_batch(self, first: Location, last: Location, records: int) -> None:
        if self.location is None:
            self.location = first
        self.batch = (records, last.line - first.line)

    def __str__(self) -> str:
        text = super().__str__()
        location = self.location
        if self.batch is None or location is None:
            return text
        records, span = self.batch
        lines = f"line {location.line}" if span == 0 else f"lines {location.line}-{location.line + span}"
        head, sep, rest = text.partition("\n")
        return f"{head} (mini-batch of {plural(records, 'record')}, {lines}){sep}{rest}"


class ContainerError(_MiniBatch, ModelError):
    """A container model that failed a mini-batch: it gave no answer, or a 5xx, after every
    retry, or raised."""


class ContainerRefused(_MiniBatch, FeatureError):
    """A container's 4xx: it refused the records (``ClientError: 400`` and its body). Sent
    again it fails again, so it is not retried; it is about the records, so with
    ``on_error="skip"`` the batch is bisected down to the records it refuses."""


@dataclass(frozen=True)
class InvocationPolicy:
    """``timeout``: seconds one request may take (None: no limit); ``retries``: how often a
    failed request is sent again (SageMaker's ``InvocationsMaxRetries``); ``concurrency``: how
    many requests are in flight at once (``MaxConcurrentTransforms``)."""

    timeout: Optional[float] = None
    retries: int = 0
    concurrency: int = 1

    def apply(self, model):
        """``model`` (a container model) with this policy around its ``invoke``."""
        return _Invoker(model, self)


class _Invoker:
    """A container model under a policy. A failure (anything but a fastjoin error, which is
    about the records and fails at once) is retried after a short, capped backoff, and the
    last one fails the object as a :class:`ContainerError`. A model that enforces the
    timeout itself (``takes_timeout``: an HTTP client's socket timeout) gets it; any other
    request that does not answer in time is abandoned (its thread finishes on its own)."""

    is_container = True

    def __init__(self, model, policy: InvocationPolicy, limit: bool = False):
        self.model = model
        self.policy = policy
        self.limit = limit
        # a job's requests in flight (its workers beyond them prepare the next mini-batches);
        # a server calling a model from its own pool sizes that pool itself
        self._slots = threading.BoundedSemaphore(policy.concurrency) if limit else contextlib.nullcontext()

    def limited(self, concurrency: int) -> "_Invoker":
        """This model with at most ``concurrency`` requests in flight."""
        return _Invoker(self.model, dataclasses.replace(self.policy, concurrency=concurrency), limit=True)

    def __getstate__(self) -> dict:  # a semaphore does not travel: each process gets its own
        return {"model": self.model, "policy": self.policy, "limit": self.limit}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["model"], state["policy"], state["limit"])  # type: ignore[misc]

    def invoke(self, body: bytes, content_type: str, accept: str) -> bytes:
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                with self._slots:
                    return self._once(body, content_type, accept)
            except FastjoinError:
                raise
            except Exception as exc:
                if attempt == attempts:
                    raise ContainerError(_failed(exc, attempt)) from exc
                time.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    def __getattr__(self, name: str):  # engine, fallback_note, fn: the wrapped model's
        if name == "model":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.model, name)

    def __repr__(self) -> str:
        return repr(self.model)

    def _once(self, body: bytes, content_type: str, accept: str) -> bytes:
        timeout = self.policy.timeout
        if getattr(self.model, "takes_timeout", False):
            return self.model.invoke(body, content_type, accept, timeout=timeout)
        if timeout is None:
            return self.model.invoke(body, content_type, accept)
        box: list = []

        def call() -> None:
            try:
                box.append((True, self.model.invoke(body, content_type, accept)))
            except BaseException as exc:  # handed to the waiting thread
                box.append((False, exc))

        worker = threading.Thread(target=call, name="fastjoin-invoke", daemon=True)
        worker.start()
        worker.join(timeout)
        if not box:
            raise TimeoutError(f"no answer within InvocationsTimeoutInSeconds ({timeout:g} s)")
        ok, value = box[0]
        if not ok:
            raise value
        return value


def _failed(exc: Exception, attempts: int) -> str:
    if isinstance(exc, Unanswered):  # SageMaker's words first
        return f"{exc} ({plural(attempts, 'attempt')})"
    return f"the model failed {plural(attempts, 'time')}: {type(exc).__name__}: {exc}"


# the execution parameters, as TransformOptions names them
EXECUTION_PARAMETERS = ("max_concurrent", "strategy", "max_payload")


def with_execution_parameters(options, model):
    """``options`` with what a container model's ``/execution-parameters`` said
    (``model.execution_parameters``: option name → value) where the request (``options``)
    is silent; SageMaker's defaults come after both (:meth:`TransformOptions.resolved`), and
    a container that says nothing gets ``MaxConcurrentTransforms`` 1."""
    said = getattr(model, "execution_parameters", None) or {}
    changes = {
        name: said[name] for name in EXECUTION_PARAMETERS if getattr(options, name) is None and name in said
    }
    return options.replace(**changes) if changes else options
