"""Transform jobs shaped like SageMaker's ``CreateTransformJob`` request (SPEC §5).

:func:`run_job` takes the request boto3 would send (a dict, a JSON file or JSON text), checks
it against SageMaker's shapes, defaults and limits before any data is read (every problem in
one :class:`ConfigError`), runs it through a :class:`~fastjoin.transformer.Transformer`, and
returns a dict shaped like boto3's ``describe_transform_job`` response plus a ``fastjoin`` key
with per-object counts.

The checks live in :mod:`fastjoin.request` (:func:`~fastjoin.request.validate` answers "would
SageMaker accept this request?" without running anything), the rendering of the result in
:mod:`fastjoin.describe`.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from typing import Optional

from fastjoin.describe import _describe, _first_line
from fastjoin.errors import ConfigError, FastjoinError, ModelError
from fastjoin.request import _get, load_request, validate
from fastjoin.transformer import Transformer

__all__ = [
    "run_job",
    "parse_request",
    "TransformJob",
]

DEFAULT_MAX_PAYLOAD_MB = 6
DEFAULT_TIMEOUT_S = 600
DEFAULT_RETRIES = 3


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
