"""The ``describe_transform_job``-shaped result of a job run by :func:`~fastjoin.job.run_job`."""

from __future__ import annotations

import copy
import datetime as _dt
import json
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from fastjoin.job import TransformJob

__all__ = ["describe_json"]

MAX_FAILURE_REASON = 1024


def first_line(exc: BaseException) -> str:
    return str(exc).split("\n", 1)[0]


def failure_reason(text: str) -> str:
    """``text`` as a FailureReason: at most MAX_FAILURE_REASON characters, cut with "..."."""
    return text if len(text) <= MAX_FAILURE_REASON else text[: MAX_FAILURE_REASON - 3] + "..."


def describe_job(
    job: TransformJob, result, failure: Optional[str], created, started, ended, policy: dict
) -> dict:
    from fastjoin import __version__

    files = result.files if result is not None else []
    failed = [f for f in files if not f.ok]
    if failure is None and failed:
        first = first_line(failed[0].error)
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
        described["FailureReason"] = failure_reason(failure)
    described["ModelName"] = job.model_name if job.model_name is not None else "<model>"
    if job.options.max_concurrent is not None:
        described["MaxConcurrentTransforms"] = job.options.max_concurrent
    described["ModelClientConfig"] = {
        "InvocationsTimeoutInSeconds": job.options.invocations_timeout,
        "InvocationsMaxRetries": job.options.invocations_retries,
    }
    described["MaxPayloadInMB"] = job.options.max_payload
    described["BatchStrategy"] = job.options.strategy
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
        "InputFilter": job.options.input_filter or "$",
        "OutputFilter": job.options.output_filter or "$",
        "JoinSource": job.options.join_source,
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
                "failure": None if f.ok else first_line(f.error),
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
    if result is not None and result.workers:  # on a Dask cluster: what each worker did
        described["fastjoin"]["workers"] = [
            {
                "address": address,
                "blocks": w.blocks,
                "records": w.records,
                "bytes_in": w.bytes_in,
                "seconds": round(w.seconds, 6),
            }
            for address, w in sorted(result.workers.items())
        ]
    return described


def describe_json(described: dict, **kwargs) -> str:
    """The describe dict as JSON text (times in ISO 8601)."""

    def default(value):
        if isinstance(value, _dt.datetime):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return json.dumps(described, default=default, **kwargs)
