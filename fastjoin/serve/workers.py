"""Running the server: the listening socket, uvicorn, and the worker processes.

One worker serves in this process. Several are spawned processes sharing the listening socket
under uvicorn's supervisor, which replaces one that dies; each loads the model itself (a spawned
process starts clean: XGBoost's OpenMP threads deadlock a forked child once the parent has
predicted, ``reference/scale-out.md``) and predicts with one thread per request, so the worker
count is what runs at once, as in the XGBoost container (gunicorn workers).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import re
import signal
import socket
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from fastjoin.errors import ConfigError, ModelError
from fastjoin.serve.app import ServeApp, create_app

__all__ = ["AppSpec", "listen", "run"]

log = logging.getLogger("fastjoin.serve")


@dataclass(frozen=True)
class AppSpec:
    """What a worker process needs to build the app: :func:`create_app`'s arguments, resolved
    from the environment once in the parent (a worker sees the same values). Picklable: it
    crosses to spawned processes, which call it to build their app."""

    model: Any
    workers: int
    max_payload_bytes: int
    default_accept: str
    batch: bool
    inference_output: Optional[str]
    timeout: float
    options: dict = field(default_factory=dict)
    ready: Any = None  # a spawn-context queue: each worker puts its pid once it serves
    parent: int = 0  # the supervisor's pid: a worker leaves when it is gone

    @classmethod
    def of(cls, app: ServeApp, model: Any, options: dict) -> "AppSpec":
        return cls(
            model,
            app.workers,
            app.max_payload_bytes,
            app.default_accept,
            app.batch,
            app.inference_output,
            app.timeout,
            dict(options),
        )

    def __call__(self) -> ServeApp:
        if self.parent:
            _leave_with(self.parent)
        app = create_app(
            model_source(self.model),
            workers=self.workers,
            max_payload_bytes=self.max_payload_bytes,
            default_accept=self.default_accept,
            batch=self.batch,
            inference_output=self.inference_output,
            timeout=self.timeout,
            **self.options,
        )
        app.retire_on_timeout = True  # a supervised worker: one that overran is replaced
        pid, ready = os.getpid(), self.ready

        def started() -> None:
            print(f"fastjoin: worker {pid} ready (engine {engine_of(app)})", file=sys.stderr, flush=True)
            if ready is not None:
                ready.put(pid)

        app.on_startup = started
        return app


def _leave_with(parent: int) -> None:
    """Have this worker SIGTERMed when its supervisor dies (SIGKILL, the OOM killer): alone,
    it would keep serving the port with nobody to stop it. Linux's PR_SET_PDEATHSIG; a parent
    already gone is checked after asking."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


_REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def model_source(text: Any) -> Any:
    """``--model``'s value as :func:`create_app` takes it: a path, or, where no such path
    exists, ``module:attribute`` naming a container callable ``f(body, content_type, accept)``,
    imported as uvicorn imports an app (the current directory first on ``sys.path``)."""
    if not isinstance(text, str) or os.path.exists(text) or not _REFERENCE.fullmatch(text):
        return text
    module_name, _, attribute = text.partition(":")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"--model {text}: no such file, and module {module_name} cannot be imported: {exc}"
        ) from None
    for name in attribute.split("."):
        try:
            found = getattr(found, name)
        except AttributeError:
            raise ConfigError(f"--model {text}: module {module_name} has no attribute {attribute}") from None
    if not callable(found):
        raise ConfigError(f"--model {text}: {attribute} is a {type(found).__name__}, not a callable")
    return found


def engine_of(app: ServeApp) -> str:
    return getattr(app.model, "engine", "container callable")


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: a free port); a ConfigError if it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"


def run(
    app: ServeApp, spec: AppSpec, sock: socket.socket, on_ready: Callable[[], None] = lambda: None
) -> None:
    """Serve on ``sock`` until SIGTERM or SIGINT: ``app`` itself when there is one worker,
    else ``spec.workers`` spawned processes, each building its own app from ``spec`` (``app``,
    built here first so that a bad model fails before the port serves, is then dropped).
    ``on_ready`` is called once every worker serves (requests sent before wait in the
    socket's backlog)."""
    import multiprocessing
    import threading

    import uvicorn

    # uvicorn catches SIGTERM while it serves (stop accepting, finish the requests in flight);
    # it raises it again once it has stopped, which the CLI would turn into exit 143
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if spec.workers == 1:
        app.on_startup = on_ready
        uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)).run(
            sockets=[sock]
        )
        if app.overran:  # a prediction's thread that ran past the timeout would hold the exit
            print(
                "fastjoin: serve stopped (a prediction that overran is abandoned)",
                file=sys.stderr,
                flush=True,
            )
            os._exit(0)
        return
    import inspect

    from uvicorn import config as uvicorn_config
    from uvicorn.supervisors import Multiprocess

    del app  # the workers load their own
    ready = multiprocessing.get_context("spawn").Queue()
    spec = dataclasses.replace(spec, ready=ready, parent=os.getpid())

    def wait_for_workers() -> None:
        for _ in range(spec.workers):
            ready.get()
        on_ready()

    threading.Thread(target=wait_for_workers, name="fastjoin-ready", daemon=True).start()
    config = uvicorn.Config(
        spec, factory=True, workers=spec.workers, lifespan="on", log_level="warning", access_log=False
    )
    # the supervisor's own lines (a worker died and was replaced, stopping) are worth seeing
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)
    if "target" in inspect.signature(Multiprocess).parameters:  # uvicorn before 0.54 took it
        supervisor = Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock])  # type: ignore[call-arg]
    else:
        supervisor = Multiprocess(config, sockets=[sock])
    supervisor.run()  # restarts a worker that dies; SIGTERM: each drains, then returns
    startup_failure = getattr(uvicorn_config, "STARTUP_FAILURE", 3)
    if any(process.exitcode == startup_failure for process in supervisor.processes):
        raise ModelError("a worker process could not start the server (its error is above)")
