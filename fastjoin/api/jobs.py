"""Running transform jobs: which model a job runs, its process, and its state.

Each job runs in a child process (:mod:`fastjoin.api.worker`), so a job that crashes takes
nothing else down and ``StopTransformJob`` is a SIGTERM that the CLI already turns into a clean
stop. A thread per job waits for its process and settles the record: ``InProgress`` →
``Completed`` / ``Failed`` (with ``FailureReason``), or ``Stopping`` → ``Stopped``.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import signal
import subprocess
import sys
import threading
from typing import Optional

from fastjoin.api.store import Store, read_json, write_json
from fastjoin.describe import failure_reason
from fastjoin.pipeline import is_url

__all__ = ["Runner", "ModelUnavailable", "model_source", "now"]

# what sagemaker.image_uris.retrieve("xgboost", ...) gives: <account>.dkr.ecr.<region>.amazonaws.com
# (.cn in China)/sagemaker-xgboost:<version>, and xgboost:<version> for the oldest versions
XGBOOST_IMAGE = re.compile(
    r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/(sagemaker-)?xgboost(:.*)?"
)


def now() -> float:
    return _dt.datetime.now(_dt.timezone.utc).timestamp()


class ModelUnavailable(Exception):
    """The model exists but fastjoin cannot run it: the job fails with this reason."""


def model_source(model: dict, containers: dict[str, str]) -> str:
    """What ``run_job(model=...)`` gets for a CreateModel request: the URL mapped to its image
    (``--container IMAGE=URL``), else the ``ModelDataUrl`` of an XGBoost image."""
    request, name = model["request"], model["ModelName"]
    listed = request.get("Containers") or []
    if "PrimaryContainer" not in request and len(listed) > 1:
        raise ModelUnavailable(
            f"model {name} is an inference pipeline of {len(listed)} containers; fastjoin api runs "
            f"models of one container"
        )
    container = request.get("PrimaryContainer") or (listed[0] if listed else {})
    image = container.get("Image")
    if image in containers:
        return containers[image]
    if image is not None and XGBOOST_IMAGE.fullmatch(image):
        url = container.get("ModelDataUrl")
        if not url:
            raise ModelUnavailable(
                f"model {name}: the XGBoost container has no ModelDataUrl (a model.tar.gz on S3 or a "
                f"local path); fastjoin runs the model it names"
            )
        if is_url(url):  # run_job would take it for a container's URL
            raise ModelUnavailable(
                f"model {name}: ModelDataUrl {url}: fastjoin reads a model from an s3:// URI or a local path"
            )
        return url if url.startswith("s3://") else os.path.abspath(url)
    raise ModelUnavailable(
        f"model {name}: image {image!r} is not an XGBoost image, which fastjoin runs itself, and no "
        f"container is mapped to it: run the image as a SageMaker-compatible container and start "
        f"the api with --container {image or 'IMAGE'}=http://HOST:PORT"
    )


def _last_line(path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except FileNotFoundError:
        lines = []
    return lines[-1] if lines else "it wrote nothing"


class Runner:
    """Starts, stops and settles the jobs of a :class:`Store`."""

    def __init__(self, store: Store):
        self.store = store
        self.processes: dict[str, subprocess.Popen] = {}
        self._threads: list[threading.Thread] = []

    def recover(self) -> None:
        """Settle the jobs a previous server left running: their process is gone with it
        (:meth:`shutdown`), or it was killed, so they end as their outcome says, or Failed."""
        for name, record in list(self.store.jobs.items()):
            if record["TransformJobStatus"] in ("InProgress", "Stopping"):
                self._settle(name, None, lost=True)

    def start(self, record: dict, source: str) -> None:
        """Run the job (its record is saved ``InProgress``) on the model ``source``."""
        name = record["TransformJobName"]
        job_dir = self.store.job_dir(name)
        write_json(job_dir / "request.json", record["request"])
        write_json(job_dir / "run.json", {"model": source})
        with open(job_dir / "log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "fastjoin.api.worker", str(job_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        with self.store.lock:
            self.processes[name] = process
            record.update(TransformStartTime=now(), LastModifiedTime=now())
            self.store.save_job(record)
        thread = threading.Thread(target=self._wait, args=(name, process), name=f"job-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def fail(self, record: dict, reason: str) -> None:
        """A job that cannot start: Failed with ``reason``, no process."""
        t = now()
        record.update(
            TransformJobStatus="Failed",
            FailureReason=failure_reason(reason),
            TransformStartTime=t,
            TransformEndTime=t,
            LastModifiedTime=t,
        )
        self.store.save_job(record)

    def stop(self, name: str) -> None:
        with self.store.lock:
            record = self.store.jobs[name]
            record.update(TransformJobStatus="Stopping", LastModifiedTime=now())
            self.store.save_job(record)
            process = self.processes.get(name)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)

    def shutdown(self) -> None:
        """Stop every running job (the server is stopping) and wait for them to settle."""
        for name in list(self.processes):
            record = self.store.jobs[name]
            if record["TransformJobStatus"] == "InProgress":
                self.stop(name)
        for thread in self._threads:
            thread.join()

    def _wait(self, name: str, process: subprocess.Popen) -> None:
        code = process.wait()
        self._settle(name, code)

    def _settle(self, name: str, returncode: Optional[int], lost: bool = False) -> None:
        job_dir = self.store.job_dir(name)
        outcome = read_json(job_dir / "outcome.json") or {}
        code = outcome.get("exit", returncode)
        with self.store.lock:
            record = self.store.jobs[name]
            self.processes.pop(name, None)
            failure = None
            if code == 0:
                status = "Completed"
            elif record["TransformJobStatus"] == "Stopping":
                status = "Stopped"
            else:
                status = "Failed"
                result = read_json(job_dir / "result.json") or {}
                failure = result.get("FailureReason") or outcome.get("error")
                if failure is None and lost:
                    failure = "the fastjoin api server exited while the job ran"
                elif failure is None:
                    failure = f"the job's process ended with exit code {code}: {_last_line(job_dir / 'log')}"
            record.update(TransformJobStatus=status, TransformEndTime=now(), LastModifiedTime=now())
            if failure is not None:
                record["FailureReason"] = failure_reason(failure)
            self.store.save_job(record)
