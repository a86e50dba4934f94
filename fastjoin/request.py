"""``CreateTransformJob`` requests: loading and checking them (SPEC §5).

:func:`validate` answers "would SageMaker accept this request?" (the ``sagemaker`` dialect)
without running anything; :func:`~fastjoin.job.run_job` runs the same checks before any data
is read.

Messages follow the two layers a real request meets: botocore's client-side parameter
validation (``Missing required parameter in TransformInput: "DataSource"``, ``Invalid type
for parameter ...``, ``Unknown parameter in ...``) and the service's constraints (``Value
'x' at 'transformInput.splitType' failed to satisfy constraint: ...``); the rules SageMaker
documents without an exact text (joins, payload limits) read as plain sentences.

``extended`` (the default for :func:`~fastjoin.job.run_job`) is a superset for running
locally: ``S3Uri`` and ``S3OutputPath`` may be local paths, ``ModelName`` may be a model path
(it is used as one when ``model=`` is not given), and ``TransformJobName`` and
``TransformResources`` may be left out. Everything else, limits included, is the same in both
dialects.
"""

from __future__ import annotations

import copy
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from fastjoin.errors import ConfigError, PathSyntaxError
from fastjoin.jsonpath import DIALECTS
from fastjoin.options import API_NAMES, join_problems, media_type, member

__all__ = ["validate", "load_request", "Validation"]

_DATA_PROCESSING_TYPES = ("text/csv", "application/json", "application/jsonlines")


# ----------------------------------------------------------------------------- the request shape
# A transcription of botocore's CreateTransformJobRequest shape (sagemaker 2017-07-24):
# required members, types, min (checked by botocore on the client) and max/pattern/enum
# (checked by the service). MaxPayloadInMB's max of 100 is documented, not in the shape.


@dataclass(frozen=True)
class _Str:
    min: int = 0
    max: Optional[int] = None
    pattern: Optional[str] = None
    enum: Optional[tuple] = None
    check: Optional[Callable[[str], bool]] = None  # for patterns Python's re cannot spell
    check_text: str = ""


@dataclass(frozen=True)
class _Int:
    min: Optional[int] = None
    max: Optional[int] = None


@dataclass(frozen=True)
class _Bool:
    pass


@dataclass(frozen=True)
class _Struct:
    members: dict
    required: tuple = ()


@dataclass(frozen=True)
class _List:
    member: Any
    min: int = 0
    max: Optional[int] = None


@dataclass(frozen=True)
class _Map:
    key: Any
    value: Any
    min: int = 0
    max: Optional[int] = None


def _tag_text(text: str) -> bool:
    # ([\p{L}\p{Z}\p{N}_.:/=+\-@]*): letters, separators, numbers and a few marks
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in text)


_S3_URI = _Str(max=1024, pattern=r"(https|s3)://([^/]+)/?(.*)")
_KMS = _Str(max=2048, pattern=r"[a-zA-Z0-9:/_-]*")
_EXPERIMENT_NAME = _Str(min=1, max=120, pattern=r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}")
_TAG = _Str(check=_tag_text, check_text=r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)")


def _instance_type() -> _Str:
    """The instance-type enum from the installed botocore's service model when there is one
    (no network, no AWS configuration read), else SageMaker's ``ml.<family>.<size>`` form."""
    try:
        from botocore.loaders import create_loader

        model = create_loader().load_service_model("sagemaker", "service-2")
        values = tuple(model["shapes"]["TransformInstanceType"]["enum"])
        return _Str(enum=values)
    except Exception:  # botocore missing or its data moved: fall back to the form
        return _Str(pattern=r"ml\.[a-z0-9]+\.[a-z0-9]+")


def _request_shape() -> _Struct:
    return _Struct(
        {
            "TransformJobName": _Str(min=1, max=63, pattern=r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"),
            "ModelName": _Str(max=63, pattern=r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?"),
            "MaxConcurrentTransforms": _Int(min=0),
            "ModelClientConfig": _Struct(
                {
                    "InvocationsTimeoutInSeconds": _Int(min=1, max=3600),
                    "InvocationsMaxRetries": _Int(min=0, max=3),
                }
            ),
            "MaxPayloadInMB": _Int(min=0, max=100),
            "BatchStrategy": _Str(enum=("MultiRecord", "SingleRecord")),
            "Environment": _Map(
                _Str(max=1024, pattern=r"[a-zA-Z_][a-zA-Z0-9_]{0,1023}"), _Str(max=10240), max=16
            ),
            "TransformInput": _Struct(
                {
                    "DataSource": _Struct(
                        {
                            "S3DataSource": _Struct(
                                {
                                    "S3DataType": _Str(
                                        enum=("ManifestFile", "S3Prefix", "AugmentedManifestFile", "Converse")
                                    ),
                                    "S3Uri": _S3_URI,
                                },
                                ("S3DataType", "S3Uri"),
                            ),
                        },
                        ("S3DataSource",),
                    ),
                    "ContentType": _Str(max=256),
                    "CompressionType": _Str(enum=("None", "Gzip")),
                    "SplitType": _Str(enum=("None", "Line", "RecordIO", "TFRecord")),
                },
                ("DataSource",),
            ),
            "TransformOutput": _Struct(
                {
                    "S3OutputPath": _S3_URI,
                    "Accept": _Str(max=256),
                    "AssembleWith": _Str(enum=("None", "Line")),
                    "KmsKeyId": _KMS,
                },
                ("S3OutputPath",),
            ),
            "DataCaptureConfig": _Struct(
                {
                    "DestinationS3Uri": _S3_URI,
                    "KmsKeyId": _KMS,
                    "GenerateInferenceId": _Bool(),
                },
                ("DestinationS3Uri",),
            ),
            "TransformResources": _Struct(
                {
                    "InstanceType": _instance_type(),
                    "InstanceCount": _Int(min=1),
                    "VolumeKmsKeyId": _KMS,
                    "TransformAmiVersion": _Str(min=1, max=63, pattern=r"[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*"),
                },
                ("InstanceType", "InstanceCount"),
            ),
            "DataProcessing": _Struct(
                {
                    # length (63) and characters are checked with the filter itself (jsonpath, sagemaker)
                    "InputFilter": _Str(),
                    "OutputFilter": _Str(),
                    "JoinSource": _Str(enum=("Input", "None")),
                }
            ),
            "Tags": _List(
                _Struct(
                    {
                        "Key": _Str(min=1, max=128, check=_TAG.check, check_text=_TAG.check_text),
                        "Value": _Str(max=256, check=_TAG.check, check_text=_TAG.check_text),
                    },
                    ("Key", "Value"),
                ),
                max=50,
            ),
            "ExperimentConfig": _Struct(
                {
                    "ExperimentName": _EXPERIMENT_NAME,
                    "TrialName": _EXPERIMENT_NAME,
                    "TrialComponentDisplayName": _EXPERIMENT_NAME,
                    "RunName": _EXPERIMENT_NAME,
                }
            ),
        },
        ("TransformJobName", "ModelName", "TransformInput", "TransformOutput", "TransformResources"),
    )


_SHAPE: Optional[_Struct] = None


def _shape() -> _Struct:
    global _SHAPE
    if _SHAPE is None:
        _SHAPE = _request_shape()
    return _SHAPE


# ----------------------------------------------------------------------------- checking


def model_name_problems(name: Any, dialect: str = "sagemaker") -> list[str]:
    """SageMaker's problems with ``name`` as a ``ModelName`` (its length and pattern, as
    CreateTransformJob checks them; CreateModel's are the same)."""
    v = Validation(dialect)
    _check(v, _shape().members["ModelName"], name, "ModelName", dialect)
    return v.problems


@dataclass
class Validation:
    """What :func:`validate` found: ``problems`` (the request would be rejected) and
    ``warnings`` (it would run, but probably not as meant, or not the same in fastjoin)."""

    dialect: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bad: set = field(default_factory=set, repr=False)  # dotted paths of members with problems

    @property
    def ok(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.ok

    def add(self, path: str, message: str) -> None:
        self.problems.append(message)
        self.bad.add(path)


def _camel(path: str) -> str:
    """``TransformInput.SplitType`` → ``transformInput.splitType`` (the service's spelling)."""
    return ".".join(part[:1].lower() + part[1:] for part in re.split(r"\.", path))


def _server(v: Validation, path: str, value, constraint: str) -> None:
    v.add(path, f"Value '{value}' at '{_camel(path)}' failed to satisfy constraint: {constraint}")


def _local_ok(path: str, value, dialect: str) -> bool:
    """``extended`` lets the S3 URIs be local paths."""
    return (
        dialect == "extended"
        and path.endswith(("S3Uri", "S3OutputPath"))
        and not str(value).startswith(("s3://", "https://"))
    )


def _type_error(v: Validation, path: str, name: str, value, types: str) -> None:
    v.add(
        path, f"Invalid type for parameter {name}, value: {value}, type: {type(value)}, valid types: {types}"
    )


def _check_length(v: Validation, path: str, name: str, value, shape) -> None:
    """botocore's client-side minimum, then the service's maximum, as each words them."""
    if len(value) < shape.min:
        v.add(
            path, f"Invalid length for parameter {name}, value: {len(value)}, valid min length: {shape.min}"
        )
    if shape.max is not None and len(value) > shape.max:
        _server(v, path, value, f"Member must have length less than or equal to {shape.max}")


def _check(v: Validation, shape, value, path: str, dialect: str) -> None:
    name = path or "input"
    if isinstance(shape, _Struct):
        if not isinstance(value, dict):
            _type_error(v, path, name, value, "<class 'dict'>")
            return
        for member in shape.required:
            if member not in value:
                v.add(f"{path}.{member}".lstrip("."), f'Missing required parameter in {name}: "{member}"')
        for member, item in value.items():
            sub = f"{path}.{member}".lstrip(".")
            if member not in shape.members:
                v.add(
                    sub,
                    f'Unknown parameter in {name}: "{member}", must be one of: {", ".join(shape.members)}',
                )
                continue
            _check(v, shape.members[member], item, sub, dialect)
    elif isinstance(shape, _List):
        if not isinstance(value, (list, tuple)):
            _type_error(v, path, name, value, "<class 'list'>, <class 'tuple'>")
            return
        _check_length(v, path, name, value, shape)
        for i, item in enumerate(value):
            _check(v, shape.member, item, f"{path}[{i}]", dialect)
    elif isinstance(shape, _Map):
        if not isinstance(value, dict):
            _type_error(v, path, name, value, "<class 'dict'>")
            return
        _check_length(v, path, name, value, shape)
        for key, item in value.items():
            _check(v, shape.key, key, f"{path}", dialect)
            _check(v, shape.value, item, f"{path}.{key}", dialect)
    elif isinstance(shape, _Str):
        if not isinstance(value, str):
            _type_error(v, path, name, value, "<class 'str'>")
            return
        if len(value) < shape.min:
            v.add(
                path,
                f"Invalid length for parameter {name}, value: {len(value)}, valid min length: {shape.min}",
            )
            return
        if _local_ok(path, value, dialect):
            return
        if path == "ModelName" and dialect == "extended":
            return  # may be a model path
        if shape.max is not None and len(value) > shape.max:
            _server(v, path, value, f"Member must have length less than or equal to {shape.max}")
        elif shape.enum is not None and value not in shape.enum:
            _server(v, path, value, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        elif shape.pattern is not None and re.fullmatch(shape.pattern, value) is None:
            _server(v, path, value, f"Member must satisfy regular expression pattern: {shape.pattern}")
        elif shape.check is not None and not shape.check(value):
            _server(v, path, value, f"Member must satisfy regular expression pattern: {shape.check_text}")
    elif isinstance(shape, _Int):
        if not isinstance(value, int) or isinstance(value, bool):
            _type_error(v, path, name, value, "<class 'int'>")
            return
        if shape.min is not None and value < shape.min:
            v.add(path, f"Invalid value for parameter {name}, value: {value}, valid min value: {shape.min}")
        elif shape.max is not None and value > shape.max:
            _server(v, path, value, f"Member must have value less than or equal to {shape.max}")
    elif isinstance(shape, _Bool):
        if not isinstance(value, bool):
            _type_error(v, path, name, value, "<class 'bool'>")


def _good(v: Validation, request, path: str, default=None):
    """The member's value when it passed the shape checks, else ``default``."""
    if path in v.bad or any(path.startswith(b + ".") for b in v.bad):
        return default
    return member(request, path, default)


def _semantics(v: Validation, request: dict, dialect: str, model_given: bool) -> None:
    """SageMaker's documented rules that span members, and the fastjoin-specific ones."""
    extended = dialect == "extended"
    # extended: members needed on SageMaker but not to run here
    if extended:
        for member in ("TransformJobName", "TransformResources") + (("ModelName",) if model_given else ()):
            message = f'Missing required parameter in input: "{member}"'
            if message in v.problems:
                v.problems.remove(message)
                v.bad.discard(member)
        if not model_given and "ModelName" in v.bad and "ModelName" not in request:
            v.problems[v.problems.index('Missing required parameter in input: "ModelName"')] = (
                'Missing required parameter in input: "ModelName" (without model=, ModelName is '
                "the path of the model to load)"
            )

    content_type = _good(v, request, "TransformInput.ContentType")
    accept = _good(v, request, "TransformOutput.Accept")
    split = _good(v, request, "TransformInput.SplitType", "None")
    assemble = _good(v, request, "TransformOutput.AssembleWith", "None")
    join = _good(v, request, "DataProcessing.JoinSource", "None")
    filters = {role: _good(v, request, f"DataProcessing.{role}") for role in ("InputFilter", "OutputFilter")}

    # DataProcessing: CSV and JSON only; a join needs matching types and assembly
    processing = join == "Input" or any(f not in (None, "", "$") for f in filters.values())
    ctype = media_type(content_type)
    if processing and ctype not in _DATA_PROCESSING_TYPES:
        v.add(
            "TransformInput.ContentType",
            f"DataProcessing (filters and joins) works on CSV and JSON only: ContentType must be one "
            f"of {', '.join(_DATA_PROCESSING_TYPES)}, not {content_type!r}",
        )
    if join == "Input":
        effective_accept = accept if accept is not None or not extended else content_type
        for problem in join_problems(content_type, effective_accept, split, assemble, API_NAMES):
            v.add("DataProcessing.JoinSource", problem)

    # filters compile (the sagemaker dialect adds SageMaker's length, characters and one range)
    from fastjoin.jsonpath import compile_path

    for role, expression in filters.items():
        if not isinstance(expression, str):
            continue
        try:
            compile_path(expression, dialect=dialect, role=role, content_type=ctype or "text/csv")
        except (PathSyntaxError, ConfigError) as exc:
            text = exc.message if isinstance(exc, PathSyntaxError) else str(exc)
            if isinstance(exc, PathSyntaxError) and not text.startswith(("Invalid", "1 validation")):
                text = f"{role} {expression!r}: {text} (at character {exc.position + 1})"
            v.add(f"DataProcessing.{role}", text)

    # payload limits
    payload = _good(v, request, "MaxPayloadInMB")
    concurrent = _good(v, request, "MaxConcurrentTransforms")
    if isinstance(payload, int) and isinstance(concurrent, int) and concurrent * payload > 100:
        v.add(
            "MaxConcurrentTransforms",
            f"MaxConcurrentTransforms × MaxPayloadInMB must not exceed 100 MB "
            f"({concurrent} × {payload} = {concurrent * payload})",
        )
    if _good(v, request, "BatchStrategy") is not None and split == "None":
        v.warnings.append("BatchStrategy has no effect with SplitType 'None': each object is one record")

    data_type = _good(v, request, "TransformInput.DataSource.S3DataSource.S3DataType")
    if data_type == "AugmentedManifestFile":
        v.add(
            "TransformInput.DataSource.S3DataSource.S3DataType",
            "S3DataType 'AugmentedManifestFile' is not supported for transform jobs (use S3Prefix or ManifestFile)",
        )
    elif data_type == "Converse" and extended:
        v.add(
            "TransformInput.DataSource.S3DataSource.S3DataType",
            "S3DataType 'Converse' is not supported by fastjoin (it runs S3Prefix and ManifestFile)",
        )

    # outputs under the input prefix are read again by the next run, as on SageMaker
    source = _good(v, request, "TransformInput.DataSource.S3DataSource.S3Uri")
    output = _good(v, request, "TransformOutput.S3OutputPath")
    if (
        data_type == "S3Prefix"
        and isinstance(source, str)
        and isinstance(output, str)
        and source.startswith("s3://")
        and output.startswith(source)
    ):
        v.warnings.append(
            f"S3OutputPath {output} starts with the input prefix {source}: S3Prefix is a raw "
            f"key prefix, so a later run also reads the outputs as inputs"
        )

    if extended:
        _fastjoin_limits(v, request, source, output)


def _fastjoin_limits(v: Validation, request: dict, source, output) -> None:
    """What the request asks that fastjoin cannot do (errors) or does differently (warnings)."""
    if _good(v, request, "DataCaptureConfig.GenerateInferenceId") is True:
        v.add(
            "DataCaptureConfig.GenerateInferenceId",
            "DataCaptureConfig.GenerateInferenceId is not supported by fastjoin yet",
        )
    if _good(v, request, "DataCaptureConfig") is not None:
        v.warnings.append("DataCaptureConfig: fastjoin does not write captured data")
    for path, uri in (
        ("TransformInput.DataSource.S3DataSource.S3Uri", source),
        ("TransformOutput.S3OutputPath", output),
    ):
        if isinstance(uri, str) and uri.startswith("https://"):
            v.add(path, f"{path}: fastjoin reads s3:// URIs and local paths, not {uri!r}")
    uses_s3 = any(isinstance(u, str) and u.startswith("s3://") for u in (source, output))
    if uses_s3:
        try:
            import boto3  # noqa: F401
        except ImportError:
            v.add("TransformOutput.S3OutputPath", "s3:// URIs need boto3: pip install 'fastjoin[s3]'")
    if (
        _good(v, request, "TransformOutput.KmsKeyId") is not None
        and isinstance(output, str)
        and not output.startswith("s3://")
    ):
        v.warnings.append(
            "TransformOutput.KmsKeyId applies to S3 outputs only; the local output is not encrypted"
        )


def load_request(request) -> dict:
    """A request as a dict: a dict (copied), JSON text, or the path of a JSON file."""
    if isinstance(request, dict):
        return copy.deepcopy(request)
    if isinstance(request, (bytes, bytearray)):
        request = request.decode("utf-8")
    source = "the request"
    if isinstance(request, str) and request.lstrip().startswith("{"):
        text = request
    elif isinstance(request, (str, os.PathLike)):
        source = os.fspath(request)
        try:
            with open(source, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read the request: {exc.strerror}") from exc
    else:
        raise ConfigError(
            f"a request is a dict, JSON text or the path of a JSON file, not {type(request).__name__}"
        )
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{source}: not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: a request is a JSON object, not {type(value).__name__}")
    return value


def validate(request, *, dialect: str = "sagemaker", model_given: bool = False) -> Validation:
    """Check a ``CreateTransformJob`` request without running it.

    ``dialect="sagemaker"`` (default) answers "would SageMaker accept this?": its shapes,
    limits and documented rules, its filter rules. ``"extended"`` checks what
    :func:`run_job` accepts (``model_given``: a model will be passed, so ``ModelName`` is
    only a name). Returns a :class:`Validation`; it is truthy when there are no problems.
    """
    if dialect not in DIALECTS:
        raise ConfigError(f"dialect must be one of {DIALECTS}, not {dialect!r}")
    request = load_request(request)
    v = Validation(dialect)
    _check(v, _shape(), request, "", dialect)
    _semantics(v, request, dialect, model_given)
    return v
