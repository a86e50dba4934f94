"""Container models: anything answering like SageMaker's ``POST /invocations``, and the
invocation policy (timeout, retries, concurrency) a job applies to it."""
