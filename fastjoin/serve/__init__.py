"""``fastjoin serve``: a SageMaker-compatible model server on the pure pipeline.

:mod:`fastjoin.serve.app` is the ASGI application (one request body in, the container's answer
out), :mod:`fastjoin.serve.environment` reads what SageMaker's environment sets;
:mod:`fastjoin.serve.workers` runs it: the listening socket, uvicorn, and the worker
processes that load the model themselves.
"""

from fastjoin.serve.app import ServeApp, create_app
from fastjoin.serve.environment import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    default_model_path,
    payload_limit,
    workers_from_env,
)

__all__ = [
    "create_app",
    "ServeApp",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "default_model_path",
    "payload_limit",
    "workers_from_env",
]
