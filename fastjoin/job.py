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
from typing import Optional, cast

from fastjoin.container.policy import EXECUTION_PARAMETERS
from fastjoin.describe import describe_job, first_line
from fastjoin.errors import ConfigError, FastjoinError, ModelError
from fastjoin.options import TransformOptions, member
from fastjoin.request import load_request, validate
from fastjoin.transformer import Transformer

__all__ = [
    "run_job",
    "parse_request",
    "TransformJob",
]

# ----------------------------------------------------------------------------- the job


@dataclass
class TransformJob:
    """A checked request: where to read and write, and its :class:`TransformOptions`
    (SageMaker's defaults for what it leaves out, plus fastjoin's extensions)."""

    request: dict
    dialect: str
    name: str
    model_name: Optional[str]
    input_uri: str
    data_type: str
    compression: str
    output_path: str
    kms_key_id: Optional[str]
    options: TransformOptions
    warnings: list[str] = field(default_factory=list)

    def transformer(self, model=None) -> Transformer:
        """The job's Transformer: ``model``, or without it ``ModelName`` read as a local path
        (a ModelError that says so when there is no such file)."""
        return _transformer(self, model)


def _job_from(
    request: dict, dialect: str, warnings: list[str], now: _dt.datetime, extensions: dict
) -> TransformJob:
    g = lambda path, default=None: member(request, path, default)  # noqa: E731
    return TransformJob(
        request=request,
        dialect=dialect,
        name=g("TransformJobName") or f"fastjoin-{now.strftime('%Y%m%d-%H%M%S')}",
        model_name=g("ModelName"),
        input_uri=g("TransformInput.DataSource.S3DataSource.S3Uri"),
        data_type=g("TransformInput.DataSource.S3DataSource.S3DataType"),
        compression=g("TransformInput.CompressionType", "None"),
        output_path=g("TransformOutput.S3OutputPath"),
        kms_key_id=g("TransformOutput.KmsKeyId"),
        options=TransformOptions.from_request(request, **extensions, dialect=dialect),
        warnings=warnings,
    )


def parse_request(
    request,
    *,
    dialect: str = "extended",
    model_given: bool = True,
    extensions: Optional[dict] = None,
    style: str = "sdk",
) -> TransformJob:
    """Check a request (:func:`~fastjoin.request.validate`), then fastjoin's own rules for its
    options (:meth:`TransformOptions.problems`), and return the :class:`TransformJob`; every
    problem found goes into one :class:`ConfigError`. ``extensions``: options a request cannot
    say (``on_error``, ``threads``...)."""
    now = _dt.datetime.now(_dt.timezone.utc)
    request = load_request(request)
    v = validate(request, dialect=dialect, model_given=model_given)
    job = _job_from(request, dialect, v.warnings, now, dict(extensions or {}))
    # The filters were compiled by validate(); members it found bad are left at the SDK's
    # defaults here, so that each problem is told once.
    reset: dict = dict(input_filter=None, output_filter=None)
    for f in TransformOptions.fields():
        if f.metadata["api"] in v.bad:
            reset[f.name] = "text/csv" if f.name == "content_type" else None
    if {"DataProcessing.JoinSource", "TransformInput.ContentType"} & set(v.bad):
        reset["join_source"] = None
    v.problems += [p for p in job.options.replace(**reset).problems(style) if p not in v.problems]
    if v.problems:
        raise ConfigError.of("invalid transform job request", v.problems)
    return job


def run_job(
    request,
    model=None,
    *,
    dialect: str = "extended",
    resume: bool = False,
    endpoint_url: Optional[str] = None,
    s3=None,
    progress=None,
    failures: Optional[list] = None,
    style: str = "sdk",
    client=None,
    **options,
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
    terminal), True, False, or a callable ``(bytes done, records done)``. ``failures``: a list
    that gets the exception of each failed object (and of a listing that failed), for a
    caller that shows their tracebacks. ``style``: ``"cli"`` words option problems with the
    command line's flags. ``client``: a ``distributed.Client``: the objects run as
    ``block_size`` byte ranges on its cluster (the result then has per-worker figures under
    ``fastjoin.workers``). Other keyword
    arguments go to the Transformer (``threads``, ``chunk_size``, ``header``, ``allow_pickle``...).

    Raises :class:`ConfigError` (listing every problem) or :class:`ModelError` before any data
    is read; failures while running are reported in the result, as SageMaker reports them.
    """
    created = _dt.datetime.now(_dt.timezone.utc)
    job = parse_request(
        request, dialect=dialect, model_given=model is not None, extensions=options, style=style
    )
    transformer = job.transformer(model)

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
                client=client,
            )
        except FastjoinError as exc:  # the input could not be listed: the job fails, as on SageMaker
            failure = first_line(exc)
            if failures is not None:
                failures.append(exc)
        finally:
            if bar is not None:
                bar.close()
    ended = _dt.datetime.now(_dt.timezone.utc)
    described = describe_job(
        job,
        result,
        failure,
        created,
        started,
        ended,
        dict(on_error=job.options.on_error, max_errors=job.options.max_errors, resume=resume),
    )
    info = described["fastjoin"]
    info["engine"] = transformer.model.engine
    if (
        transformer.model.is_container
    ):  # the values in effect (request > container > defaults), as SageMaker logs them
        o = transformer.options
        info["execution_parameters"] = {
            "MaxConcurrentTransforms": transformer.model.policy.concurrency,
            "BatchStrategy": o.strategy,
            "MaxPayloadInMB": o.max_payload,
        }
    note = transformer.model.fallback_note
    if note:
        info["warnings"].append(note)
    if result is not None:
        info["warnings"] += result.warnings
        if failures is not None:
            failures += [f.error for f in result.failed]
    return described


def _transformer(job: TransformJob, model) -> Transformer:
    # a container model gets the request's ModelClientConfig and MaxConcurrentTransforms;
    # what the request leaves out of those a container's /execution-parameters may say
    silent = {
        name: None
        for name in EXECUTION_PARAMETERS
        if member(job.request, cast(str, TransformOptions.api_path(name))) is None
    }
    try:
        return Transformer(job.model_name if model is None else model, job.options.replace(**silent))
    except ModelError as exc:
        if model is None and job.model_name is not None and not os.path.lexists(job.model_name):
            raise _model_name_not_found(job.model_name) from exc
        raise


def _model_name_not_found(name: str) -> ModelError:
    """Without a model, ``ModelName`` is read as a local path; a name that is no path is most
    likely SageMaker's model name, as the request was written for SageMaker."""
    where = "" if os.path.isabs(name) else f" (in {os.getcwd()})"
    return ModelError(
        f"ModelName {name!r} was read as a local path, as no model was given (model=, --model), "
        f"and there is no such file or directory{where}: pass the model with model=PATH "
        f"(--model PATH)"
    )


def _uses_s3(job: TransformJob) -> bool:
    return any(str(u).startswith("s3://") for u in (job.input_uri, job.output_path))
