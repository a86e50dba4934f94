"""One transform job, in a process of its own: ``python -m fastjoin.api.worker JOB_DIR``.

It fetches the model when ``ModelDataUrl`` is on S3 (with the S3 configuration the rest of
fastjoin uses), then runs ``fastjoin run-job`` on ``JOB_DIR/request.json``, so SIGTERM (what
``StopTransformJob`` sends) unwinds as the CLI's does: temporaries removed, uploads aborted, no
partial output. It ends by writing ``outcome.json`` (the exit code and the error line, if any);
the describe-shaped result is ``result.json``.
"""

from __future__ import annotations

import contextlib
import posixpath
import sys
from pathlib import Path
from typing import Optional

from fastjoin.api.store import read_json, write_json
from fastjoin.errors import FastjoinError

ERROR_PREFIX = "fastjoin: error: "


class _ErrorLines:
    """stderr that remembers the CLI's last ``fastjoin: error:`` line (the reason a job that
    never started failed) and passes everything on."""

    def __init__(self, stream):
        self.stream = stream
        self.last: Optional[str] = None
        self._line = ""

    def write(self, text: str) -> int:
        self._line += text
        *lines, self._line = self._line.split("\n")
        for line in lines:
            if line.startswith(ERROR_PREFIX):
                self.last = line[len(ERROR_PREFIX) :]
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:  # a log file: no progress bar
        return False


def fetch_model(uri: str, job_dir: Path) -> str:
    """``s3://bucket/key`` copied into ``job_dir/model/`` (renamed into place when whole)."""
    from fastjoin.s3 import S3, parse_uri
    from fastjoin.storage import atomic_output

    bucket, key = parse_uri(uri)
    target = job_dir / "model" / (posixpath.basename(key) or "model.tar.gz")
    with S3() as s3, s3.open(bucket, key) as src, atomic_output(target) as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    return str(target)


def run(job_dir: Path) -> int:
    from fastjoin import cli

    model: str = (read_json(job_dir / "run.json") or {})["model"]
    if model.startswith("s3://"):
        try:
            model = fetch_model(model, job_dir)
        except FastjoinError as exc:
            write_json(job_dir / "outcome.json", {"exit": exc.exit_code, "error": f"ModelDataUrl {exc}"})
            return exc.exit_code
    errors = _ErrorLines(sys.stderr)
    argv = ["run-job", str(job_dir / "request.json"), "--model", model]  # its summary is the log
    with contextlib.redirect_stderr(errors):
        code = cli.main(argv + ["--describe", str(job_dir / "result.json")])
    write_json(job_dir / "outcome.json", {"exit": code, "error": errors.last})
    return code


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
