"""What the environment SageMaker sets for a model container says to ``fastjoin serve``
(``reference/serving.md`` §1.5): where the model is, the port, the workers, the body limit,
the prediction timeout. Each reader takes an ``environ`` mapping (default ``os.environ``) and
raises a :class:`~fastjoin.errors.ConfigError` naming the variable when its value is wrong."""

from __future__ import annotations

import os
from typing import Mapping, Optional

from fastjoin.errors import ConfigError

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "DEFAULT_TIMEOUT",
    "default_model_path",
    "model_server_timeout",
    "payload_limit",
    "port_from_env",
    "workers_from_env",
]

DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # the XGBoost container's MAX_CONTENT_LENGTH default
DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_PORT = 8080
DEFAULT_TIMEOUT = 60  # seconds: SAGEMAKER_MODEL_SERVER_TIMEOUT's default in the container


def _environ(environ: Optional[Mapping[str, str]]) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def int_env(environ: Mapping[str, str], name: str) -> Optional[int]:
    """``name``'s whole number; None when unset or blank."""
    text = environ.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a whole number") from None


def default_model_path(environ: Optional[Mapping[str, str]] = None) -> str:
    """Where SageMaker puts the model: ``SM_MODEL_DIR``, else ``/opt/ml/model``."""
    return _environ(environ).get("SM_MODEL_DIR") or DEFAULT_MODEL_DIR


def port_from_env(environ: Optional[Mapping[str, str]] = None) -> int:
    """``SAGEMAKER_BIND_TO_PORT``, else 8080."""
    port = int_env(_environ(environ), "SAGEMAKER_BIND_TO_PORT")
    if port is None:
        return DEFAULT_PORT
    if not 0 <= port <= 65535:
        raise ConfigError(f"SAGEMAKER_BIND_TO_PORT={port} is not a port number (0..65535)")
    return port


def payload_limit(environ: Optional[Mapping[str, str]] = None) -> int:
    """The request body limit in bytes: ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` (MiB, as SageMaker
    sets it from ``MaxPayloadInMB``), else ``MAX_CONTENT_LENGTH`` (bytes, the XGBoost
    container's), else 6 MiB. ``SAGEMAKER_MAX_PAYLOAD_IN_MB=0`` (streaming, which the
    built-in algorithms do not support either) falls through to the next."""
    environ = _environ(environ)
    mb = int_env(environ, "SAGEMAKER_MAX_PAYLOAD_IN_MB")
    if mb is not None and mb < 0:
        raise ConfigError(f"SAGEMAKER_MAX_PAYLOAD_IN_MB={mb} is negative")
    if mb:
        return mb * 1024 * 1024
    length = int_env(environ, "MAX_CONTENT_LENGTH")
    if length is not None:
        if length < 1:
            raise ConfigError(f"MAX_CONTENT_LENGTH={length} must be at least 1 byte")
        return length
    return DEFAULT_MAX_PAYLOAD_BYTES


def workers_from_env(environ: Optional[Mapping[str, str]] = None) -> int:
    """``SAGEMAKER_MODEL_SERVER_WORKERS``, else the cores this process may use."""
    from fastjoin.predictor import available_cores

    workers = int_env(_environ(environ), "SAGEMAKER_MODEL_SERVER_WORKERS")
    if workers is None:
        return available_cores()
    if workers < 1:
        raise ConfigError(f"SAGEMAKER_MODEL_SERVER_WORKERS={workers} must be at least 1")
    return workers


def model_server_timeout(environ: Optional[Mapping[str, str]] = None) -> int:
    """``SAGEMAKER_MODEL_SERVER_TIMEOUT`` (seconds a prediction may take), else 60."""
    timeout = int_env(_environ(environ), "SAGEMAKER_MODEL_SERVER_TIMEOUT")
    if timeout is None:
        return DEFAULT_TIMEOUT
    if timeout < 1:
        raise ConfigError(f"SAGEMAKER_MODEL_SERVER_TIMEOUT={timeout} must be at least 1 second")
    return timeout
