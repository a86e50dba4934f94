"""The SageMaker operations a transform workflow uses, on the records of a :class:`Store`.

Each operation takes the request's JSON members and returns the response's members (shaped to
the service model by :mod:`fastjoin.api.protocol`) or raises :class:`ApiError` with the error
code and text SageMaker gives. ``CreateTransformJob`` is checked by fastjoin's own request
validator (:mod:`fastjoin.request`) as SageMaker checks it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Callable, Optional

from fastjoin.api.jobs import ModelUnavailable, Runner, model_source, now
from fastjoin.api.protocol import ApiError, service_model, validation_error
from fastjoin.api.store import Store

__all__ = ["Api"]

ACCOUNT = "000000000000"  # no account behind a local endpoint; ARNs need twelve digits
DEFAULT_REGION = "us-east-1"


def validation_message(problems: list[str]) -> str:
    """The ValidationException text: constraint failures as AWS lists them (``N validation
    errors detected: ...; ...``), else SageMaker's own sentences (an invalid filter is told
    bare, as SageMaker tells it)."""
    constraints = [p for p in problems if p.startswith("Value ")]
    if constraints:
        n = len(constraints)
        return f"{n} validation error{'s' if n != 1 else ''} detected: " + "; ".join(constraints)
    return "; ".join(problems)


def _check_enums(operation: str, body: dict) -> None:
    """The enum members of a request (sort keys, status filters), as the service checks them."""
    shape = service_model().operation_model(operation).input_shape
    problems = []
    for name, member in shape.members.items():
        value = body.get(name)
        enum = getattr(member, "enum", None)  # string shapes only
        if value is not None and enum and value not in enum:
            problems.append(
                f"Value '{value}' at '{name[:1].lower() + name[1:]}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
    if problems:
        raise validation_error(validation_message(problems))


def _time(value) -> float:
    return float(value.timestamp() if isinstance(value, _dt.datetime) else value)


def _page(items: list[dict], body: dict, name_key: str, list_name: str) -> dict:
    """Sorted and paged (an opaque token) as the List operations answer: newest first, ten a page."""
    sort_key = {"Name": name_key, "Status": "TransformJobStatus"}.get(body.get("SortBy", ""), "CreationTime")
    items = sorted(
        items, key=lambda r: r[sort_key], reverse=body.get("SortOrder", "Descending") == "Descending"
    )
    token = body.get("NextToken")
    try:
        start = int(token) if token is not None else 0
    except ValueError:
        raise validation_error(f"Invalid pagination token {token!r}") from None
    size = body.get("MaxResults", 10)
    if not isinstance(size, int) or not 1 <= size <= 100:
        raise validation_error(
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value between 1 and 100"
        )
    out: dict = {list_name: items[start : start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


def _filtered(items, body: dict, name_key: str) -> list[dict]:
    contains = (body.get("NameContains") or "").lower()
    bounds = [
        ("CreationTimeAfter", "CreationTime", 1),
        ("CreationTimeBefore", "CreationTime", -1),
        ("LastModifiedTimeAfter", "LastModifiedTime", 1),
        ("LastModifiedTimeBefore", "LastModifiedTime", -1),
    ]
    out = []
    for r in items:
        if contains not in r[name_key].lower():
            continue
        if body.get("StatusEquals") not in (None, r.get("TransformJobStatus")):
            continue
        if any(body.get(f) is not None and (r[k] - _time(body[f])) * sign <= 0 for f, k, sign in bounds):
            continue
        out.append(r)
    return out


class Operations:
    """A service's operations: its methods ``op_<Operation>(body, region)``."""

    def handler(self, operation: str) -> Callable[[dict, str], Optional[dict]]:
        return getattr(self, "op_" + operation)

    @classmethod
    def operations(cls) -> tuple[str, ...]:
        return tuple(n[3:] for n in dir(cls) if n.startswith("op_"))


@dataclass
class Api(Operations):
    """The operations, on ``store``'s records; jobs run by ``runner``. ``containers`` maps an
    image to the URL of a running container serving it (``--container IMAGE=URL``)."""

    store: Store
    runner: Runner
    containers: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def _arn(kind: str, name: str, region: str) -> str:
        return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name.lower()}"

    def _model(self, name, region: str) -> dict:
        model = self.store.models.get(name) if isinstance(name, str) else None
        if model is None:
            raise validation_error(f'Could not find model "{self._arn("model", str(name), region)}".')
        return model

    def _job(self, name, region: str) -> dict:
        job = self.store.jobs.get(name) if isinstance(name, str) else None
        if job is None:
            raise ApiError(
                "ResourceNotFound",
                f'Could not find transform job "{self._arn("transform-job", str(name), region)}".',
            )
        return job

    # ------------------------------------------------------------------ models

    def op_CreateModel(self, body: dict, region: str) -> dict:
        from fastjoin.request import model_name_problems

        problems = model_name_problems(body.get("ModelName", ""))
        if "PrimaryContainer" not in body and not body.get("Containers") and not problems:
            problems.append("Either PrimaryContainer or Containers must be specified.")
        if problems:
            raise validation_error(validation_message(problems))
        name = body["ModelName"]
        arn = self._arn("model", name, region)
        with self.store.lock:
            if name in self.store.models:
                raise validation_error(f'Cannot create already existing model "{arn}".')
            self.store.save_model(
                {"ModelName": name, "ModelArn": arn, "CreationTime": now(), "request": body}
            )
        return {"ModelArn": arn}

    def op_DescribeModel(self, body: dict, region: str) -> dict:
        model = self._model(body.get("ModelName"), region)
        return {
            "EnableNetworkIsolation": False,
            **model["request"],
            "ModelName": model["ModelName"],
            "ModelArn": model["ModelArn"],
            "CreationTime": model["CreationTime"],
        }

    def op_DeleteModel(self, body: dict, region: str) -> None:
        with self.store.lock:
            model = self._model(body.get("ModelName"), region)
            self.store.delete_model(model["ModelName"])

    def op_ListModels(self, body: dict, region: str) -> dict:
        _check_enums("ListModels", body)
        with self.store.lock:
            models = _filtered(self.store.models.values(), body, "ModelName")
        summaries = [{k: m[k] for k in ("ModelName", "ModelArn", "CreationTime")} for m in models]
        return _page(summaries, body, "ModelName", "Models")

    # ------------------------------------------------------------------ transform jobs

    def op_CreateTransformJob(self, body: dict, region: str) -> dict:
        from fastjoin.describe import describe_job
        from fastjoin.job import parse_request
        from fastjoin.request import validate

        checked = validate(body, dialect="sagemaker")
        if checked.problems:
            raise validation_error(validation_message(checked.problems))
        local = validate(body, dialect="extended", model_given=True)  # what fastjoin cannot run
        if local.problems:
            raise validation_error(f"fastjoin cannot run this job: {'; '.join(local.problems)}")
        name = body["TransformJobName"]
        arn = self._arn("transform-job", name, region)
        with self.store.lock:
            if name in self.store.jobs:
                raise ApiError(
                    "ResourceInUse",
                    f"Job name must be unique within an AWS account and region, and a job with this "
                    f"name already exists ({arn})",
                )
            model = self.store.models.get(body["ModelName"])
            if model is None:
                raise ApiError(
                    "ResourceNotFound",
                    f'Could not find model "{self._arn("model", body["ModelName"], region)}".',
                )
            # the describe members with SageMaker's defaults filled in, as run_job reports them
            t = _dt.datetime.now(_dt.timezone.utc)
            described = describe_job(parse_request(body, dialect="sagemaker"), None, None, t, t, t, {})
            for key in (
                "fastjoin",
                "TransformJobStatus",
                "CreationTime",
                "TransformStartTime",
                "TransformEndTime",
            ):
                described.pop(key)
            record = {
                **described,
                "TransformJobArn": arn,
                "TransformJobStatus": "InProgress",
                "CreationTime": t.timestamp(),
                "LastModifiedTime": t.timestamp(),
                "request": body,
            }
            self.store.save_job(record)
            try:
                source = model_source(model, self.containers)
            except ModelUnavailable as exc:
                self.runner.fail(record, str(exc))
            else:
                self.runner.start(record, source)
        return {"TransformJobArn": arn}

    def op_DescribeTransformJob(self, body: dict, region: str) -> dict:
        with self.store.lock:
            return dict(self._job(body.get("TransformJobName"), region))

    def op_ListTransformJobs(self, body: dict, region: str) -> dict:
        _check_enums("ListTransformJobs", body)
        keys = (
            "TransformJobName",
            "TransformJobArn",
            "CreationTime",
            "TransformEndTime",
            "LastModifiedTime",
            "TransformJobStatus",
            "FailureReason",
        )
        with self.store.lock:
            jobs = _filtered(self.store.jobs.values(), body, "TransformJobName")
            summaries = [{k: j[k] for k in keys if k in j} for j in jobs]
        return _page(summaries, body, "TransformJobName", "TransformJobSummaries")

    def op_StopTransformJob(self, body: dict, region: str) -> None:
        with self.store.lock:
            job = self._job(body.get("TransformJobName"), region)
            status = job["TransformJobStatus"]
            if status == "InProgress":
                self.runner.stop(job["TransformJobName"])
            elif status not in ("Stopping", "Stopped"):
                raise validation_error(
                    f"Transform job {job['TransformJobName']} is {status}; only a job InProgress can be stopped."
                )
