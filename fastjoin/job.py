"""Transform jobs shaped like SageMaker's ``CreateTransformJob`` request (SPEC §5).

:func:`run_job` takes the request boto3 would send (a dict, a JSON file or JSON text), checks
it against SageMaker's shapes, defaults and limits before any data is read (every problem in
one :class:`ConfigError`), runs it through a :class:`~fastjoin.transformer.Transformer`, and
returns a dict shaped like boto3's ``describe_transform_job`` response plus a ``fastjoin`` key
with per-object counts. :func:`validate` answers "would SageMaker accept this request?"
(the ``sagemaker`` dialect) without running anything.

Messages follow the two layers a real request meets: botocore's client-side parameter
validation (``Missing required parameter in TransformInput: "DataSource"``, ``Invalid type
for parameter ...``, ``Unknown parameter in ...``) and the service's constraints (``Value
'x' at 'transformInput.splitType' failed to satisfy constraint: ...``); the rules SageMaker
documents without an exact text (joins, payload limits) read as plain sentences.

``extended`` (the default for :func:`run_job`) is a superset for running locally: ``S3Uri``
and ``S3OutputPath`` may be local paths, ``ModelName`` may be a model path (it is used as one
when ``model=`` is not given), and ``TransformJobName`` and ``TransformResources`` may be left
out. Everything else, limits included, is the same in both dialects.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from fastjoin.errors import ConfigError, FastjoinError, ModelError, PathSyntaxError
from fastjoin.transformer import API_NAMES, Transformer, join_problems, media_type

__all__ = [
    "run_job",
    "validate",
    "load_request",
    "parse_request",
    "TransformJob",
    "Validation",
    "describe_json",
]

DIALECTS = ("extended", "sagemaker")
MAX_FAILURE_REASON = 1024
DEFAULT_MAX_PAYLOAD_MB = 6
DEFAULT_TIMEOUT_S = 600
DEFAULT_RETRIES = 3
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


def _get(request, path: str, default=None):
    value = request
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def _good(v: Validation, request, path: str, default=None):
    """The member's value when it passed the shape checks, else ``default``."""
    if path in v.bad or any(path.startswith(b + ".") for b in v.bad):
        return default
    return _get(request, path, default)


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


# ----------------------------------------------------------------------------- the job


@dataclass
class TransformJob:
    """A checked request with SageMaker's defaults filled in."""

    request: dict
    dialect: str
    name: str
    model_name: Optional[str]
    input_uri: str
    data_type: str
    content_type: Optional[str]
    compression: str
    split_type: str
    output_path: str
    accept: Optional[str]
    assemble_with: str
    kms_key_id: Optional[str]
    input_filter: str
    output_filter: str
    join_source: str
    batch_strategy: str
    max_payload: int
    max_concurrent: Optional[int]
    timeout_s: int
    retries: int
    warnings: list[str] = field(default_factory=list)

    def transformer_options(self) -> dict:
        return dict(
            content_type=self.content_type or "text/csv",
            accept=self.accept,
            split_type=self.split_type,
            assemble_with=self.assemble_with,
            input_filter=self.input_filter,
            join_source=self.join_source,
            output_filter=self.output_filter,
            strategy=self.batch_strategy,
            max_payload=self.max_payload,
            dialect=self.dialect,
        )


def _job_from(request: dict, dialect: str, warnings: list[str], now: _dt.datetime) -> TransformJob:
    g = lambda path, default=None: _get(request, path, default)  # noqa: E731
    return TransformJob(
        request=request,
        dialect=dialect,
        name=g("TransformJobName") or f"fastjoin-{now.strftime('%Y%m%d-%H%M%S')}",
        model_name=g("ModelName"),
        input_uri=g("TransformInput.DataSource.S3DataSource.S3Uri"),
        data_type=g("TransformInput.DataSource.S3DataSource.S3DataType"),
        content_type=g("TransformInput.ContentType"),
        compression=g("TransformInput.CompressionType", "None"),
        split_type=g("TransformInput.SplitType", "None"),
        output_path=g("TransformOutput.S3OutputPath"),
        accept=g("TransformOutput.Accept"),
        assemble_with=g("TransformOutput.AssembleWith", "None"),
        kms_key_id=g("TransformOutput.KmsKeyId"),
        input_filter=g("DataProcessing.InputFilter") or "$",
        output_filter=g("DataProcessing.OutputFilter") or "$",
        join_source=g("DataProcessing.JoinSource", "None"),
        batch_strategy=g("BatchStrategy", "MultiRecord"),
        max_payload=g("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB),
        max_concurrent=g("MaxConcurrentTransforms"),
        timeout_s=g("ModelClientConfig.InvocationsTimeoutInSeconds", DEFAULT_TIMEOUT_S),
        retries=g("ModelClientConfig.InvocationsMaxRetries", DEFAULT_RETRIES),
        warnings=warnings,
    )


def _config_problems(exc: ConfigError) -> list[str]:
    text = str(exc)
    if "\n- " in text:
        return text.split("\n- ")[1:]
    return [text]


def parse_request(
    request,
    *,
    dialect: str = "extended",
    model_given: bool = True,
    transformer_options: Optional[dict] = None,
) -> TransformJob:
    """Check a request (:func:`validate`), then what the Transformer would say about its
    options, and return the :class:`TransformJob`; every problem found goes into one
    :class:`ConfigError`."""
    now = _dt.datetime.now(_dt.timezone.utc)
    request = load_request(request)
    v = validate(request, dialect=dialect, model_given=model_given)
    job = _job_from(request, dialect, v.warnings, now)
    # What fastjoin's Transformer says (supported types, the error policy...), asked of a cheap
    # stand-in model with the members that already have problems left at their defaults.

    options = job.transformer_options()
    options.update(input_filter=None, output_filter=None)  # compiled in validate() already
    for key, path in (
        ("content_type", "TransformInput.ContentType"),
        ("accept", "TransformOutput.Accept"),
        ("split_type", "TransformInput.SplitType"),
        ("assemble_with", "TransformOutput.AssembleWith"),
        ("join_source", "DataProcessing.JoinSource"),
        ("strategy", "BatchStrategy"),
        ("max_payload", "MaxPayloadInMB"),
    ):
        if path in v.bad:
            options[key] = None if key != "content_type" else "text/csv"
    if "DataProcessing.JoinSource" in v.bad or "TransformInput.ContentType" in v.bad:
        options["join_source"] = None
    options.update(transformer_options or {})
    try:
        Transformer(_stand_in_model, **options)
    except ConfigError as exc:
        v.problems += [p for p in _config_problems(exc) if p not in v.problems]
    except FastjoinError:
        pass  # not a configuration problem (the stand-in model is not the real one)
    if v.problems:
        raise ConfigError("invalid transform job request:\n- " + "\n- ".join(v.problems))
    return job


def _stand_in_model(body: bytes, content_type: str, accept: str) -> bytes:
    return body


class _RetryingModel:
    """A container callable retried as SageMaker retries invocations (``InvocationsMaxRetries``);
    a final failure is a :class:`ModelError` that fails the object, not the job."""

    def __init__(self, fn, retries: int):
        self.fn, self.retries = fn, retries
        self.__qualname__ = getattr(fn, "__qualname__", type(fn).__name__)

    def __call__(self, body: bytes, content_type: str, accept: str):
        for attempt in range(self.retries + 1):
            try:
                return self.fn(body, content_type, accept)
            except FastjoinError:
                raise
            except Exception as exc:
                if attempt == self.retries:
                    raise ModelError(
                        f"the model failed {attempt + 1} time{'s' if attempt else ''}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
        raise AssertionError("unreachable")


def _is_plain_callable(model) -> bool:
    if model is None or isinstance(model, (str, bytes, os.PathLike)) or not callable(model):
        return False
    from fastjoin.predictor import ContainerModel, XGBoostPredictor

    return not isinstance(model, (ContainerModel, XGBoostPredictor))


def run_job(
    request,
    model=None,
    *,
    dialect: str = "extended",
    on_error: str = "fail",
    max_errors=None,
    resume: bool = False,
    endpoint_url: Optional[str] = None,
    s3=None,
    progress=None,
    **transformer_options,
) -> dict:
    """Run a ``CreateTransformJob`` request locally; return a ``describe_transform_job``-shaped
    dict (``TransformJobStatus`` ``Completed`` or ``Failed``, ``FailureReason``, times, the
    request's members with defaults) plus ``"fastjoin"``: per-object records in/out, errors,
    skipped objects, the engine that predicted (``compiled``, ``xgboost`` or ``container``) and
    warnings.

    ``request``: a dict as boto3's ``create_transform_job(**request)`` takes it, JSON text, or a
    JSON file. ``model``: anything :class:`~fastjoin.transformer.Transformer` takes; without
    it, ``ModelName`` is the path of the model. ``on_error``/``max_errors``: the error policy
    (``extended``). ``resume``: skip objects whose ``.out`` exists. ``endpoint_url``: the S3
    endpoint (default: boto3's configuration, e.g. ``AWS_ENDPOINT_URL_S3``); ``s3``: an
    :class:`fastjoin.s3.S3` to use instead. ``progress``: None (a bar when stderr is a
    terminal), True, False, or a callable ``(bytes done, records done)``. Other keyword
    arguments go to the Transformer (``threads``, ``chunk_size``, ``header``, ``allow_pickle``...).

    Raises :class:`ConfigError` (listing every problem) or :class:`ModelError` before any data
    is read; failures while running are reported in the result, as SageMaker reports them.
    """
    created = _dt.datetime.now(_dt.timezone.utc)
    options = dict(transformer_options, on_error=on_error, max_errors=max_errors)
    job = parse_request(request, dialect=dialect, model_given=model is not None, transformer_options=options)
    if model is None:
        model = job.model_name
    elif _is_plain_callable(model):
        model = _RetryingModel(model, job.retries)
    transformer = Transformer(model, **job.transformer_options(), **options)

    from fastjoin.progress import ProgressBar

    bar = None
    if progress is None or progress is True:
        bar = ProgressBar(0, enabled=None if progress is None else True)
        progress = bar
    elif progress is False:
        progress = None

    if s3 is None and endpoint_url is not None:
        s3 = {"endpoint_url": endpoint_url}
    started = _dt.datetime.now(_dt.timezone.utc)
    failure = None
    result = None
    from fastjoin.storage import Storage

    with Storage(s3) as store:
        s3_client = store.s3 if _uses_s3(job) else None
        try:
            result = transformer.transform(
                job.input_uri,
                job.output_path,
                progress=progress,
                resume=resume,
                manifest=job.data_type == "ManifestFile",
                compression=job.compression,
                s3=s3_client,
                kms_key_id=job.kms_key_id,
            )
        except FastjoinError as exc:  # the input could not be listed: the job fails, as on SageMaker
            failure = _first_line(exc)
        finally:
            if bar is not None:
                bar.close()
    ended = _dt.datetime.now(_dt.timezone.utc)
    described = _describe(
        job,
        result,
        failure,
        created,
        started,
        ended,
        dict(on_error=on_error, max_errors=max_errors, resume=resume),
    )
    info = described["fastjoin"]
    info["engine"] = getattr(transformer.model, "engine", "container")
    note = getattr(transformer.model, "fallback_note", None)
    if note:
        info["warnings"].append(note)
    if result is not None:
        info["warnings"] += result.warnings
    return described


def _uses_s3(job: TransformJob) -> bool:
    return any(str(u).startswith("s3://") for u in (job.input_uri, job.output_path))


def _first_line(exc: BaseException) -> str:
    return str(exc).split("\n", 1)[0]


def _describe(
    job: TransformJob, result, failure: Optional[str], created, started, ended, policy: dict
) -> dict:
    from fastjoin import __version__

    files = result.files if result is not None else []
    failed = [f for f in files if not f.ok]
    if failure is None and failed:
        first = _first_line(failed[0].error)
        failure = (
            first
            if len(files) == 1
            else (f"{len(failed)} of {len(files)} input objects failed; first: {first}")
        )
    status = "Failed" if failure is not None else "Completed"
    request = job.request
    described: dict[str, Any] = {
        "TransformJobName": job.name,
        "TransformJobArn": f"arn:fastjoin:sagemaker:local:000000000000:transform-job/{job.name.lower()}",
        "TransformJobStatus": status,
    }
    if failure is not None:
        described["FailureReason"] = (
            failure if len(failure) <= MAX_FAILURE_REASON else (failure[: MAX_FAILURE_REASON - 3] + "...")
        )
    described["ModelName"] = job.model_name if job.model_name is not None else "<model>"
    if job.max_concurrent is not None:
        described["MaxConcurrentTransforms"] = job.max_concurrent
    described["ModelClientConfig"] = {
        "InvocationsTimeoutInSeconds": job.timeout_s,
        "InvocationsMaxRetries": job.retries,
    }
    described["MaxPayloadInMB"] = job.max_payload
    described["BatchStrategy"] = job.batch_strategy
    if "Environment" in request:
        described["Environment"] = dict(request["Environment"])
    transform_input = copy.deepcopy(request["TransformInput"])
    transform_input.setdefault("CompressionType", "None")
    transform_input.setdefault("SplitType", "None")
    described["TransformInput"] = transform_input
    transform_output = copy.deepcopy(request["TransformOutput"])
    transform_output.setdefault("AssembleWith", "None")
    described["TransformOutput"] = transform_output
    if "DataCaptureConfig" in request:
        described["DataCaptureConfig"] = copy.deepcopy(request["DataCaptureConfig"])
    described["TransformResources"] = copy.deepcopy(
        request.get("TransformResources", {"InstanceType": "local", "InstanceCount": 1})
    )
    described["CreationTime"] = created
    described["TransformStartTime"] = started
    described["TransformEndTime"] = ended
    described["DataProcessing"] = {
        "InputFilter": job.input_filter,
        "OutputFilter": job.output_filter,
        "JoinSource": job.join_source,
    }
    if "ExperimentConfig" in request:
        described["ExperimentConfig"] = copy.deepcopy(request["ExperimentConfig"])

    objects = []
    for f in files:
        objects.append(
            {
                "source": f.source,
                "output": f.output,
                "status": "Skipped" if f.skipped else ("Completed" if f.ok else "Failed"),
                "records_in": f.records + f.errors,
                "records_out": f.records,
                "errors": f.errors,
                "blank_lines": f.blank_lines,
                "bytes_in": f.bytes_in,
                "seconds": round(f.seconds, 6),
                "dead_letter": f.dead_letter,
                "failure": None if f.ok else _first_line(f.error),
            }
        )
    ran = [o for o in objects if o["status"] != "Skipped"]
    described["fastjoin"] = {
        "version": __version__,
        "dialect": job.dialect,
        **policy,
        "objects_total": len(objects),
        "objects_completed": sum(o["status"] == "Completed" for o in objects),
        "objects_failed": sum(o["status"] == "Failed" for o in objects),
        "objects_skipped": sum(o["status"] == "Skipped" for o in objects),
        "records_in": sum(o["records_in"] for o in ran),
        "records_out": sum(o["records_out"] for o in ran),
        "errors": sum(o["errors"] for o in ran),
        "bytes_in": sum(o["bytes_in"] for o in ran),
        "seconds": round((ended - started).total_seconds(), 6),
        "objects": objects,
        "warnings": list(job.warnings),
    }
    return described


def describe_json(described: dict, **kwargs) -> str:
    """The describe dict as JSON text (times in ISO 8601)."""

    def default(value):
        if isinstance(value, _dt.datetime):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return json.dumps(described, default=default, **kwargs)
