"""How a job talks to a container model: ``ModelClientConfig``'s timeout and retries, and
``MaxConcurrentTransforms``. Applied around any container model (a callable today, an HTTP
endpoint tomorrow) by :meth:`InvocationPolicy.apply`, so every front end gets the same rules.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Optional

from fastjoin.errors import FastjoinError, ModelError, plural

__all__ = ["InvocationPolicy"]


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
    """A container model under a policy. A failure (anything but a fastjoin error) is retried,
    and the last one fails the object as a :class:`ModelError` instead of escaping the job. A
    request that does not answer in time is abandoned (its thread finishes on its own) and
    counts as a failure."""

    is_container = True

    def __init__(self, model, policy: InvocationPolicy):
        self.model = model
        self.policy = policy

    def invoke(self, body: bytes, content_type: str, accept: str) -> bytes:
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._once(body, content_type, accept)
            except FastjoinError:
                raise
            except Exception as exc:
                if attempt == attempts:
                    raise ModelError(
                        f"the model failed {plural(attempt, 'time')}: {type(exc).__name__}: {exc}"
                    ) from exc
        raise AssertionError("unreachable")

    def __getattr__(self, name: str):  # engine, fallback_note, fn: the wrapped model's
        if name == "model":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.model, name)

    def __repr__(self) -> str:
        return repr(self.model)

    def _once(self, body: bytes, content_type: str, accept: str) -> bytes:
        timeout = self.policy.timeout
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
