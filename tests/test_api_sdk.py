"""The SageMaker Python SDK v3 (``sagemaker-core``, the test extra) against ``fastjoin api``:
README's walkthrough block, run as a user runs it (``python walkthrough.py``) with only the
SDK's endpoint settings pointing at loopback (``AWS_ENDPOINT_URL_SAGEMAKER``, the S3 endpoint,
and CloudWatch Logs for ``wait()``), writes the bytes fastjoin's Transformer writes. A guard in
that process refuses, and records, any connection beyond loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from s3fixtures import get, put
from test_api import api_server, expected_output, seed  # noqa: F401  (seed is a fixture)

pytest.importorskip(
    "sagemaker.core.transformer", reason="needs the SageMaker SDK v3 (pip install -e '.[test]')"
)

README = Path(__file__).resolve().parents[1] / "README.md"

# run before the walkthrough: a name lookup beyond loopback is refused and recorded
GUARD = """\
import atexit, socket, sys
_attempts, _lookup = [], socket.getaddrinfo
def _loopback_only(host, *args, **kwargs):
    if host not in ("127.0.0.1", "localhost", "::1"):
        _attempts.append(host)
        raise OSError(f"not loopback: {host}")
    return _lookup(host, *args, **kwargs)
socket.getaddrinfo = _loopback_only
atexit.register(lambda: _attempts and print("BEYOND LOOPBACK:", sorted(set(_attempts)), file=sys.stderr))
"""


def walkthrough() -> str:
    """README's walkthrough block (the python block that opens with its file name)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (code,) = [b for b in blocks if b.startswith("# walkthrough.py")]
    return code


@pytest.mark.requires_xgboost
def test_the_readme_walkthrough_runs_unchanged_on_the_sdk(s3_endpoint, s3, bucket, seed, tmp_path):  # noqa: F811
    model, data, tarball = seed
    put(s3, bucket, "model/model.tar.gz", tarball)
    put(s3, bucket, "batch/batch.csv", data)
    code = walkthrough().replace("my-bucket", bucket)
    (tmp_path / "walkthrough.py").write_text(GUARD + code)
    config = tmp_path / "sagemaker-config.yaml"  # the SDK's telemetry is off: no request beyond loopback
    config.write_text(
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
    )
    with api_server("--state", tmp_path / "state", s3_endpoint=s3_endpoint) as (_, url):
        env = {
            "AWS_ENDPOINT_URL_SAGEMAKER": url,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": url,
            "AWS_ENDPOINT_URL_S3": s3_endpoint,
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
            "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(config),
        }
        proc = subprocess.run(
            [sys.executable, "walkthrough.py"],
            cwd=tmp_path,
            env=dict(os.environ, **env),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert "BEYOND LOOPBACK" not in proc.stderr
        assert get(s3, bucket, "predictions/batch.csv.out") == expected_output(seed, data)
        log = next((tmp_path / "state" / "jobs").glob("*/log")).read_text()
        assert "Completed: 1 object written, 569 records written" in log
