"""A model container reached over HTTP: fastjoin as the Batch Transform agent.

``model="http://host:port"`` (or ``https://``) is a container model like a callable: records
reach :meth:`HttpContainer.invoke` in mini-batches and :class:`~fastjoin.container.policy.
InvocationPolicy` adds the timeout, the retries and the concurrency around it. What is
particular to HTTP lives here: waiting for ``GET /ping``, reading ``GET
/execution-parameters`` once, ``POST /invocations`` over a pool of kept-alive connections
(urllib3's), and turning statuses into SageMaker's failures: a 4xx is
:class:`~fastjoin.container.policy.ContainerRefused` (not retried), a 5xx, a timeout or a
lost connection is :class:`~fastjoin.container.policy.Unanswered` (retried).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any, Optional

from fastjoin.container.policy import ContainerError, ContainerRefused, Unanswered
from fastjoin.errors import ConfigError, ModelError
from fastjoin.options import STRATEGIES as REQUEST_STRATEGIES
from fastjoin.options import whole_number

__all__ = ["HttpContainer", "PING_TIMEOUT"]

PING_TIMEOUT = 120.0  # seconds a container may take to turn healthy (SDK local mode's limit)
PING_ANSWER = 2.0  # seconds one GET /ping may take (SageMaker's limit for the answer)
CONNECT_TIMEOUT = 10.0  # seconds to open a connection, whatever InvocationsTimeoutInSeconds says
# Connections kept alive. MaxConcurrentTransforms × MaxPayloadInMB <= 100 keeps requests in
# flight under this; more would still run, on connections closed after use.
POOL_SIZE = 128
SHOWN = 512  # characters of a container's error body put in a message
# a container's spelling (MULTI_RECORD, MultiRecord) without "_", upper-cased -> the request's
STRATEGIES = {s.upper(): s for s in REQUEST_STRATEGIES}


def _urllib3():
    try:
        import urllib3
    except ImportError:
        raise ConfigError(
            'a model given as a URL is reached with urllib3, which is not installed: pip install "fastjoin[http]"'
        ) from None
    return urllib3


class HttpContainer:
    """A SageMaker-compatible model container at ``url``. :meth:`start` waits (at most
    ``ping_timeout`` seconds) for ``GET /ping`` to answer 200, then reads
    ``/execution-parameters`` into :attr:`execution_parameters` (option name → value);
    what it could not use is said in :attr:`fallback_note`."""

    is_container = True
    is_http = True
    takes_timeout = True  # the socket enforces InvocationsTimeoutInSeconds: no thread is left behind
    engine = "container"

    def __init__(self, url: str, *, ping_timeout: float = PING_TIMEOUT):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"{url!r} is not a model container's URL: http://host:port or https://host:port"
            )
        self.url = url.rstrip("/")
        self.ping_timeout = ping_timeout
        self.execution_parameters: dict[str, Any] = {}
        self.fallback_note: Optional[str] = None
        self._path = parts.path.rstrip("/")
        self._pool: Any = None
        self._started = False

    @classmethod
    def of(cls, source) -> "HttpContainer":
        """``source`` (a URL or an HttpContainer), started."""
        container = source if isinstance(source, HttpContainer) else cls(source)
        return container.start()

    def __getstate__(self) -> dict:  # a pool holds sockets: each process opens its own
        return {**self.__dict__, "_pool": None}

    def __repr__(self) -> str:
        return f"HttpContainer({self.url!r})"

    # -- the agent's protocol -------------------------------------------------------------------

    def start(self) -> "HttpContainer":
        if not self._started:
            self._wait_until_healthy()
            self.execution_parameters = self._read_execution_parameters()
            self._started = True
        return self

    def invoke(self, body: bytes, content_type: str, accept: str, timeout: Optional[float] = None) -> bytes:
        """``POST /invocations`` with one mini-batch; the response body on a 2xx."""
        urllib3 = _urllib3()
        limit = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, timeout or CONNECT_TIMEOUT), read=timeout)
        headers = {"Content-Type": content_type, "Accept": accept}
        try:
            response = self._connections().urlopen(
                "POST", self._path + "/invocations", body=body, headers=headers, timeout=limit, retries=False
            )
        except urllib3.exceptions.TimeoutError:
            raise Unanswered(
                f"Unable to get response from algorithm: no answer within InvocationsTimeoutInSeconds ({timeout:g} s)"
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            raise Unanswered(f"Unable to get response from algorithm: {_reason(exc)}") from None
        status = response.status
        if 200 <= status < 300:
            return response.data
        if 400 <= status < 500:  # about the records: sent again, refused again
            raise ContainerRefused(f"ClientError: {status}. Message: {_shown(response.data)}")
        if status >= 500:
            raise Unanswered(
                f"Bad HTTP status received from algorithm: {status}. Message: {_shown(response.data)}"
            )
        raise ContainerError(f"Bad HTTP status received from algorithm: {status}")  # 1xx, 3xx

    def _wait_until_healthy(self) -> None:
        urllib3 = _urllib3()
        deadline = time.monotonic() + self.ping_timeout
        pause = 0.05
        while True:
            try:
                response = self._connections().request(
                    "GET", self._path + "/ping", timeout=urllib3.Timeout(PING_ANSWER), retries=False
                )
                if response.status == 200:
                    return
                last = f"status {response.status}"
            except urllib3.exceptions.HTTPError as exc:
                last = _reason(exc)
            left = deadline - time.monotonic()
            if left <= 0:
                raise ModelError(
                    f"{self.url}: the container did not answer GET /ping with 200 within "
                    f"{self.ping_timeout:g} s (last: {last})"
                )
            time.sleep(min(pause, left))
            pause = min(pause * 2, 1.0)

    def _read_execution_parameters(self) -> dict[str, Any]:
        """What ``GET /execution-parameters`` says, as option names (``max_concurrent``,
        ``strategy``, ``max_payload``); nothing when the container has no such route. A value
        that cannot be used is left out and said in :attr:`fallback_note`."""
        urllib3 = _urllib3()
        where = f"{self.url}/execution-parameters"
        try:
            response = self._connections().request(
                "GET",
                self._path + "/execution-parameters",
                timeout=urllib3.Timeout(CONNECT_TIMEOUT),
                retries=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            self.fallback_note = f"{where}: no answer ({_reason(exc)}): SageMaker's defaults are used"
            return {}
        if response.status != 200:  # no such route: MaxConcurrentTransforms 1, as on SageMaker
            return {}
        try:
            said = json.loads(response.data)
            if not isinstance(said, dict):
                raise ValueError(f"a JSON {type(said).__name__}, not an object")
        except ValueError as exc:
            self.fallback_note = f"{where} is not a JSON object ({exc}): SageMaker's defaults are used"
            return {}
        values, bad = _execution_parameters(said)
        if bad:
            self.fallback_note = f"{where}: {'; '.join(bad)}: SageMaker's defaults are used instead"
        return values

    def _connections(self):
        if self._pool is None:
            self._pool = _urllib3().connection_from_url(self.url, maxsize=POOL_SIZE, block=False)
        return self._pool


def _execution_parameters(said: dict) -> tuple[dict[str, Any], list[str]]:
    """The usable members of an ``/execution-parameters`` answer as option values, and a
    sentence for each member that is there but cannot be used."""
    values: dict[str, Any] = {}
    bad = []
    concurrent = said.get("MaxConcurrentTransforms")
    if concurrent is not None:
        if whole_number(concurrent) and concurrent >= 1:
            values["max_concurrent"] = concurrent
        elif concurrent != 0:  # 0: unset, as in a request
            bad.append(f"MaxConcurrentTransforms {concurrent!r} is not a positive whole number")
    strategy = said.get("BatchStrategy")
    if strategy is not None:
        key = strategy.replace("_", "").upper() if isinstance(strategy, str) else None
        if key in STRATEGIES:
            values["strategy"] = STRATEGIES[key]
        else:
            bad.append(f"BatchStrategy {strategy!r} is not MULTI_RECORD or SINGLE_RECORD")
    payload = said.get("MaxPayloadInMB")
    if payload is not None:
        if whole_number(payload) and 0 <= payload <= 100:
            values["max_payload"] = payload
        else:
            bad.append(f"MaxPayloadInMB {payload!r} is not a whole number from 0 to 100")
    return values, bad


def _reason(exc: BaseException) -> str:
    """What went wrong with a connection, in words: the innermost cause of what urllib3
    raised (``ConnectionRefusedError: [Errno 111] Connection refused``)."""
    inner: BaseException = exc
    while True:
        wrapped = [a for a in inner.args if isinstance(a, BaseException)]  # ProtocolError('...', cause)
        nxt = (
            inner.__cause__
            or inner.__context__
            or getattr(inner, "reason", None)
            or (wrapped[-1] if wrapped else None)
        )
        if not isinstance(nxt, BaseException):
            break
        inner = nxt
    return f"{type(inner).__name__}: {inner}" if str(inner) else type(inner).__name__


def _shown(body: bytes) -> str:
    """A container's error body for a message: one line, cut at :data:`SHOWN` characters."""
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= SHOWN else text[:SHOWN] + " ..."
