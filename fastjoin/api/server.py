"""``fastjoin api``: the ASGI app that answers the SageMaker API on 127.0.0.1, and running it
under uvicorn (as ``fastjoin serve`` runs, without a web framework)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import traceback
import uuid
from pathlib import Path
from typing import Callable

from fastjoin import asgi
from fastjoin.api.jobs import Runner
from fastjoin.api.logs import JobLogs
from fastjoin.api.operations import DEFAULT_REGION, Api
from fastjoin.api.protocol import (
    CONTENT_TYPE,
    ApiError,
    error_body,
    output_body,
    parse_body,
    signing_region,
    target_of,
)
from fastjoin.api.store import Store
from fastjoin.errors import ConfigError
from fastjoin.pipeline import is_url

__all__ = ["ApiApp", "main"]

HOST = "127.0.0.1"  # signatures are not checked: never reachable from another machine
MAX_BODY = 16 * 1024 * 1024


class ApiApp:
    """The ASGI app: ``POST /`` with ``X-Amz-Target: SageMaker.<Operation>``."""

    def __init__(self, api: Api, on_startup: Callable[[], None] = lambda: None):
        self.api, self.on_startup = api, on_startup
        self.services = {"SageMaker": api, "Logs_20140328": JobLogs(api.store)}
        self.known = {prefix: service.operations() for prefix, service in self.services.items()}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            # running jobs stop cleanly at shutdown and are recorded Stopped
            await asgi.lifespan(receive, send, self.on_startup, self.api.runner.shutdown)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _http(self, scope, receive, send) -> None:
        headers = asgi.headers(scope)
        status = 200
        try:
            if scope["method"] != "POST" or scope["path"] != "/":
                raise ApiError(
                    "UnknownOperationException", "the SageMaker API is POST / with X-Amz-Target", 404
                )
            prefix, operation = target_of(headers.get("x-amz-target"), self.known)
            body = parse_body(await _read(receive))
            region = signing_region(headers.get("authorization")) or DEFAULT_REGION
            out = output_body(prefix, operation, self.services[prefix].handler(operation)(body, region))
        except ApiError as exc:
            status, out = exc.status, error_body(exc)
        except Exception as exc:  # a bug: answered as the API answers its own failures, and logged
            traceback.print_exc()
            status, out = 500, error_body(ApiError("InternalFailure", f"fastjoin api failed: {exc!r}", 500))
        request_id = str(uuid.uuid4())
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", CONTENT_TYPE.encode()),
                    (b"content-length", str(len(out)).encode()),
                    (b"x-amzn-requestid", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": out})


async def _read(receive) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            raise ApiError("ValidationException", f"the request body is larger than {MAX_BODY} bytes", 413)
        if not message.get("more_body", False):
            return bytes(body)


def _containers(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        image, sep, url = pair.partition("=")
        if not sep or not image or not is_url(url):
            raise ConfigError(f"--container {pair!r}: expected IMAGE=URL with an http:// URL")
        out[image] = url
    return out


def main(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or Ctrl-C; running jobs are then stopped (no partial output)."""
    try:
        import uvicorn
    except ImportError:
        raise ConfigError("fastjoin api needs uvicorn: pip install 'fastjoin[api]'") from None
    from fastjoin.serve.workers import address, listen

    containers = _containers(args.container)
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a port number (0..65535)")
    with contextlib.ExitStack() as stack:
        state = Path(args.state or stack.enter_context(tempfile.TemporaryDirectory(prefix="fastjoin-api-")))
        store = Store(state)
        runner = Runner(store)
        runner.recover()
        sock = listen(HOST, args.port)
        stack.callback(sock.close)
        url = address(sock)
        line = f"fastjoin: SageMaker API on {url} (state: {state}); export AWS_ENDPOINT_URL_SAGEMAKER={url}"
        app = ApiApp(Api(store, runner, containers), lambda: print(line, flush=True))
        # uvicorn catches SIGTERM while it serves and shuts down cleanly (lifespan: jobs stop)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)).run(
            sockets=[sock]
        )
    print("fastjoin: api stopped", file=sys.stderr, flush=True)
    return 0
