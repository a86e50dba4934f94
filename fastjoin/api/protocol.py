"""The SageMaker API's wire protocol: JSON 1.1 as boto3 speaks it.

A request is ``POST /`` with ``X-Amz-Target: SageMaker.<Operation>`` (or
``Logs_20140328.<Operation>``, CloudWatch Logs, where the SDK's ``wait()`` reads a job's log)
and a JSON body; the
signature is accepted unchecked (the server binds to loopback only). A response is the
operation's output shape as JSON: members are kept only where botocore's service model has
them, unset ones are left out (not sent as ``null`` or ``{}``: the SageMaker Python SDK
validates what it reads), timestamps are epoch seconds. An error is status 400 with
``{"__type": CODE, "message": TEXT}``, which botocore raises as ``client.exceptions.CODE``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import re
from typing import Any, Optional

__all__ = ["ApiError", "CONTENT_TYPE", "target_of", "parse_body", "shaped", "error_body", "signing_region"]

CONTENT_TYPE = "application/x-amz-json-1.1"
# X-Amz-Target's prefix → botocore's name of the service
SERVICES = {"SageMaker": "sagemaker", "Logs_20140328": "logs"}


class ApiError(Exception):
    """An error the API answers with: ``code`` is the error shape botocore knows
    (``ValidationException``, ``ResourceNotFound``, ``ResourceInUse``...)."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def validation_error(message: str) -> ApiError:
    return ApiError("ValidationException", message)


@functools.lru_cache(maxsize=None)
def service_model(service: str = "sagemaker"):
    """botocore's own model of a service (installed with boto3; read from disk)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def target_of(target: Optional[str], known: dict) -> tuple[str, str]:
    """``(prefix, operation)`` named by ``X-Amz-Target``; ``known`` maps each prefix served to
    its operations. An ApiError for a missing or unknown one."""
    prefix, _, name = (target or "").partition(".")
    if prefix not in known:
        raise ApiError(
            "UnknownOperationException",
            f"X-Amz-Target must be SageMaker.<Operation>, not {target!r}",
        )
    if name not in known[prefix]:
        raise ApiError(
            "UnknownOperationException",
            f"fastjoin api does not implement {name}; it implements {', '.join(sorted(known[prefix]))}",
        )
    return prefix, name


def parse_body(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ApiError("SerializationException", f"the request body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError("SerializationException", "the request body is not a JSON object")
    return value


def shaped(shape, value: Any) -> Any:
    """``value`` as the service model's ``shape`` has it: structures keep their modelled
    members that are set (an empty optional structure is unset), timestamps become epoch
    seconds."""
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is None:
                continue
            item = shaped(member, item)
            if item == {} and member.type_name == "structure" and name not in shape.required_members:
                continue
            out[name] = item
        return out
    if kind == "list":
        return [shaped(shape.member, item) for item in value]
    if kind == "map":
        return {key: shaped(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return value.timestamp() if isinstance(value, _dt.datetime) else float(value)
    return value


def output_body(prefix: str, operation: str, value: Optional[dict]) -> bytes:
    """The JSON body of ``operation``'s response (``{}`` for one without an output)."""
    shape = service_model(SERVICES[prefix]).operation_model(operation).output_shape
    return json.dumps({} if shape is None else shaped(shape, value or {})).encode()


def error_body(error: ApiError) -> bytes:
    return json.dumps({"__type": error.code, "message": error.message}).encode()


_CREDENTIAL = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/")


def signing_region(authorization: Optional[str]) -> Optional[str]:
    """The region of a SigV4 ``Authorization`` header's credential scope (for ARNs)."""
    match = _CREDENTIAL.search(authorization or "")
    return match.group(1) if match else None
