"""``fastjoin api``: a local endpoint of the SageMaker API that runs transform jobs for real.

boto3 and the SageMaker Python SDK reach it through boto3's own per-service endpoint setting
(``AWS_ENDPOINT_URL_SAGEMAKER``), so code written for SageMaker runs unchanged: models and
transform jobs are created, described, listed and stopped as on SageMaker, and each job runs
fastjoin's pipeline in a process of its own.

* :mod:`~fastjoin.api.protocol`: JSON 1.1 framing, errors, responses shaped by botocore's model
* :mod:`~fastjoin.api.operations`: the operations
* :mod:`~fastjoin.api.store`: the records, in a state directory
* :mod:`~fastjoin.api.jobs` and :mod:`~fastjoin.api.worker`: running a job
* :mod:`~fastjoin.api.server`: the ASGI app and the command
"""

# The command's flags live here, not in server.py: `fastjoin`'s parser declares them for every
# command it runs, and server.py's imports (jobs, storage, orjson) are for `fastjoin api` alone.

from __future__ import annotations

import argparse

DEFAULT_PORT = 8775


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        metavar="N",
        help=f"port on 127.0.0.1, 0 for a free one (default: {DEFAULT_PORT})",
    )
    p.add_argument(
        "--state",
        default=None,
        metavar="DIR",
        help="directory that keeps models and jobs across restarts (default: a temporary directory, removed at exit)",
    )
    p.add_argument(
        "--container",
        action="append",
        default=[],
        metavar="IMAGE=URL",
        help="run models of IMAGE on the SageMaker-compatible container at URL; repeatable "
        "(default: XGBoost images run on fastjoin's predictor, others fail)",
    )
