"""The API's records (models and transform jobs), kept in a state directory so they survive a
restart of the server.

``<state>/models/<ModelName>.json`` holds a model; ``<state>/jobs/<TransformJobName>/`` holds a
job: ``job.json`` (its record), ``request.json`` (what the job runs), and what running it leaves
(``result.json``, ``outcome.json``, ``log``, a downloaded model). Records are written whole to
a temporary file and renamed, so a record on disk is never half written. Names are safe as file
names: the API's patterns allow letters, digits and ``-`` only.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Optional

from fastjoin.storage import atomic_output

__all__ = ["Store", "write_json", "read_json"]


def write_json(path: Path, value: Any) -> None:
    with atomic_output(path) as f:
        f.write(json.dumps(value, indent=1).encode() + b"\n")


def read_json(path: Path) -> Optional[Any]:
    """The JSON in ``path``, or None when there is no such file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


class Store:
    """Models and jobs by name, in memory and on disk. ``lock`` guards both: the HTTP handlers
    and the threads that watch running jobs change records."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.lock = threading.RLock()
        self.models: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}
        for path in sorted((self.root / "models").glob("*.json")):
            record = read_json(path)
            if record is not None:
                self.models[record["ModelName"]] = record
        for path in sorted((self.root / "jobs").glob("*/job.json")):
            record = read_json(path)
            if record is not None:
                self.jobs[record["TransformJobName"]] = record

    def job_dir(self, name: str) -> Path:
        return self.root / "jobs" / name

    def save_model(self, record: dict) -> None:
        with self.lock:
            write_json(self.root / "models" / f"{record['ModelName']}.json", record)
            self.models[record["ModelName"]] = record

    def delete_model(self, name: str) -> None:
        with self.lock:
            (self.root / "models" / f"{name}.json").unlink(missing_ok=True)
            del self.models[name]

    def save_job(self, record: dict) -> None:
        with self.lock:
            write_json(self.job_dir(record["TransformJobName"]) / "job.json", record)
            self.jobs[record["TransformJobName"]] = record
