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
