"""A job's log as CloudWatch Logs serves it, for the SageMaker SDK's ``wait()``.

``TransformJob.wait(logs=True)`` (what ``Transformer.wait()`` does) reads the log group
``/aws/sagemaker/TransformJobs``, one stream per instance named ``<job>/...``; pointing
``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`` at ``fastjoin api`` gives it the job's ``run-job`` output
as that stream. Only ``DescribeLogStreams`` and ``GetLogEvents``, as the SDK calls them.
"""

from __future__ import annotations

from fastjoin.api.operations import Operations
from fastjoin.api.protocol import ApiError
from fastjoin.api.store import Store

__all__ = ["JobLogs"]

GROUP = "/aws/sagemaker/TransformJobs"
STREAM_SUFFIX = "/fastjoin"


class JobLogs(Operations):
    def __init__(self, store: Store):
        self.store = store

    def _group(self, body: dict) -> None:
        if body.get("logGroupName") != GROUP:
            raise ApiError("ResourceNotFoundException", "The specified log group does not exist.")

    def op_DescribeLogStreams(self, body: dict, region: str) -> dict:
        self._group(body)
        prefix = body.get("logStreamNamePrefix", "")
        with self.store.lock:
            names = sorted(name + STREAM_SUFFIX for name in self.store.jobs)
        return {"logStreams": [{"logStreamName": n} for n in names if n.startswith(prefix)]}

    def op_GetLogEvents(self, body: dict, region: str) -> dict:
        """The log's whole lines after the token's byte offset (``f/<n>``), all of them at once:
        each poll reads only what was written since the last."""
        self._group(body)
        stream = body.get("logStreamName", "")
        job = (
            self.store.jobs.get(stream.removesuffix(STREAM_SUFFIX))
            if stream.endswith(STREAM_SUFFIX)
            else None
        )
        if job is None:
            raise ApiError("ResourceNotFoundException", "The specified log stream does not exist.")
        token = body.get("nextToken") or "f/0"
        try:
            start = int(token.removeprefix("f/"))
            if start < 0:
                raise ValueError(start)
        except ValueError:
            raise ApiError(
                "InvalidParameterException", f"The specified nextToken is invalid: {token!r}"
            ) from None
        try:
            with open(self.store.job_dir(job["TransformJobName"]) / "log", "rb") as f:
                f.seek(start)
                data = f.read()
        except FileNotFoundError:
            data = b""
        data = data[: data.rfind(b"\n") + 1]  # only whole lines: one being written comes next time
        lines = data.decode(errors="replace").split("\n")[:-1]
        ms = int(job.get("TransformStartTime", job["CreationTime"]) * 1000)
        events = [{"timestamp": ms, "message": line, "ingestionTime": ms} for line in lines]
        return {"events": events, "nextForwardToken": f"f/{start + len(data)}", "nextBackwardToken": "b/0"}
