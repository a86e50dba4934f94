"""``fastjoin api`` as boto3 meets it: a real server process (``python -m fastjoin api --port 0``)
on 127.0.0.1, boto3's own ``sagemaker`` client pointed at it, the jobs reading and writing a
real S3 endpoint (moto's server) on loopback. The outputs are compared byte for byte with
fastjoin's in-process Transformer; the raw responses are checked against botocore's service
model (only modelled members, none unset, timestamps as numbers)."""

from __future__ import annotations

import http.client
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from helpers import stop_process
from s3fixtures import get, keys, put

import fastjoin

boto3 = pytest.importorskip("boto3", reason="needs boto3 (pip install -e '.[test]')")
pytest.importorskip("uvicorn", reason="needs uvicorn (pip install -e '.[test]')")
botocore = pytest.importorskip("botocore")

pytestmark = pytest.mark.requires_xgboost

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/fastjoin-test"
FILTERS = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
TERMINAL = ("Completed", "Failed", "Stopped")
HANG_GUARD_S = 300  # only a hung job reaches it; nothing is asserted about time


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    pytest.importorskip("xgboost", reason="the seed model is trained with xgboost")
    from fastjoin.demo import make_seed_files

    model, batch = make_seed_files(tmp_path_factory.mktemp("seed"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(model, arcname="xgboost-model")  # as SageMaker's XGBoost training writes it
    return model, batch.read_bytes(), buffer.getvalue()


@contextmanager
def api_server(*args, s3_endpoint: str):
    """``fastjoin api --port 0 ARGS`` in a child process whose S3 is ``s3_endpoint``; yields
    (process, URL). Its stderr goes to a file: ``proc.log``."""
    env = dict(os.environ, AWS_ENDPOINT_URL_S3=s3_endpoint, PYTHONWARNINGS="error")
    command = [sys.executable, "-m", "fastjoin", "api", "--port", "0", *map(str, args)]
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True, env=env
        )
        proc.log = err  # type: ignore[attr-defined]
        try:
            line = proc.stdout.readline()  # printed (and flushed) once the port serves
            if " on http://" not in line:
                stop_process(proc)
                err.seek(0)
                raise AssertionError(f"no address printed: {line!r}\n{err.read()}")
            yield proc, line.split(" on ", 1)[1].split()[0]
        finally:
            stop_process(proc, wait=60)
            proc.stdout.close()


def sagemaker(url: str):
    return boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1")


@pytest.fixture
def served(s3_endpoint, tmp_path):
    with api_server("--state", tmp_path / "state", s3_endpoint=s3_endpoint) as (proc, url):
        yield proc, url


@pytest.fixture
def sm(served):
    client = sagemaker(served[1])
    yield client
    client.close()


def create_model(sm, s3, bucket, seed, name="breast-cancer-xgboost", image=XGBOOST_IMAGE) -> str:
    model_url = put(s3, bucket, "model/model.tar.gz", seed[2])
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": image, "ModelDataUrl": model_url},
        ExecutionRoleArn=ROLE,
    )
    return model_url


def job_request(bucket: str, name: str = "breast-cancer-seed", model: str = "breast-cancer-xgboost", **extra):
    request = {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/batch/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{bucket}/predictions/",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1},
        "DataProcessing": dict(FILTERS),
    }
    request.update(extra)
    return request


def wait(sm, name: str) -> dict:
    """Describe the job until it ends (a loop bounded only against a hang)."""
    deadline = time.monotonic() + HANG_GUARD_S
    while True:
        described = sm.describe_transform_job(TransformJobName=name)
        if described["TransformJobStatus"] in TERMINAL or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def expected_output(seed, data: bytes) -> bytes:
    model, _, _ = seed
    return fastjoin.Transformer(
        str(model),
        content_type="text/csv",
        split_type="Line",
        assemble_with="Line",
        accept="text/csv",
        input_filter=FILTERS["InputFilter"],
        join_source="Input",
        output_filter=FILTERS["OutputFilter"],
    ).transform_bytes(data)


def raw(url: str, operation: str, body: dict) -> tuple[int, dict]:
    """An operation sent as JSON 1.1 by hand (no botocore parsing): (status, JSON body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(
            "POST",
            "/",
            json.dumps(body),
            {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1"},
        )
        response = conn.getresponse()
        assert response.getheader("Content-Type") == "application/x-amz-json-1.1"
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def assert_shaped(shape, value, where="response") -> None:
    """``value`` has only members ``shape`` models, all set (no null, no empty optional
    structure), its required ones present, timestamps as numbers."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), where
        assert set(value) <= set(shape.members), (
            f"{where}: not in the model: {set(value) - set(shape.members)}"
        )
        assert set(shape.required_members) <= set(value), (
            f"{where}: missing {set(shape.required_members) - set(value)}"
        )
        for name, item in value.items():
            assert item is not None, f"{where}.{name} is null"
            member = shape.members[name]
            if member.type_name == "structure":
                assert item != {} or name in shape.required_members, f"{where}.{name} is empty"
            assert_shaped(member, item, f"{where}.{name}")
    elif kind == "list":
        for i, item in enumerate(value):
            assert_shaped(shape.member, item, f"{where}[{i}]")
    elif kind == "map":
        for key, item in value.items():
            assert_shaped(shape.value, item, f"{where}.{key}")
    elif kind == "timestamp":
        assert isinstance(value, (int, float)), f"{where}: {value!r}"
    elif kind == "string":
        assert isinstance(value, str), f"{where}: {value!r}"
        if shape.enum:
            assert value in shape.enum, f"{where}: {value!r}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: {value!r}"


def output_shape(operation: str):
    return (
        botocore.session.get_session().get_service_model("sagemaker").operation_model(operation).output_shape
    )


# ----------------------------------------------------------------------------- a job, end to end


def test_job_runs_the_walkthrough_and_writes_fastjoins_bytes(served, sm, s3, bucket, seed):
    _, url = served
    create_model(sm, s3, bucket, seed)
    data = seed[1]
    put(s3, bucket, "batch/batch.csv", data)
    arn = sm.create_transform_job(**job_request(bucket))["TransformJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:transform-job/breast-cancer-seed"

    described = wait(sm, "breast-cancer-seed")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert "FailureReason" not in described
    assert described["CreationTime"] <= described["TransformStartTime"] <= described["TransformEndTime"]
    assert described["DataProcessing"] == FILTERS
    assert described["TransformInput"]["CompressionType"] == "None"  # SageMaker's default, filled in
    assert described["ModelName"] == "breast-cancer-xgboost"
    assert get(s3, bucket, "predictions/batch.csv.out") == expected_output(seed, data)

    status, body = raw(url, "DescribeTransformJob", {"TransformJobName": "breast-cancer-seed"})
    assert status == 200
    assert_shaped(output_shape("DescribeTransformJob"), body)
    status, body = raw(url, "DescribeModel", {"ModelName": "breast-cancer-xgboost"})
    assert status == 200
    assert_shaped(output_shape("DescribeModel"), body)
    assert body["PrimaryContainer"]["Image"] == XGBOOST_IMAGE
    assert "VpcConfig" not in body  # unset, so left out (an empty one breaks the SDK's Transformer)
    for operation in ("ListTransformJobs", "ListModels"):
        status, body = raw(url, operation, {})
        assert status == 200
        assert_shaped(output_shape(operation), body)

    listed = sm.list_transform_jobs(StatusEquals="Completed")["TransformJobSummaries"]
    assert [(j["TransformJobName"], j["TransformJobStatus"]) for j in listed] == [
        ("breast-cancer-seed", "Completed")
    ]
    assert sm.list_transform_jobs(StatusEquals="Failed")["TransformJobSummaries"] == []
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == ["breast-cancer-xgboost"]

    # the job's log, as CloudWatch Logs gives it to the SDK's wait()
    logs = boto3.client("logs", endpoint_url=url, region_name="us-east-1")
    group = "/aws/sagemaker/TransformJobs"
    (stream,) = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="breast-cancer-seed/")[
        "logStreams"
    ]
    events = logs.get_log_events(
        logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
    )
    assert any("Completed: 1 object written, 569 records written" in e["message"] for e in events["events"])
    again = logs.get_log_events(
        logGroupName=group, logStreamName=stream["logStreamName"], nextToken=events["nextForwardToken"]
    )
    assert again["events"] == []  # nothing new since
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs")
    logs.close()


def test_a_local_model_path_and_every_object_under_the_prefix(served, sm, s3, bucket, seed):
    model, data, _ = seed
    sm.create_model(
        ModelName="local",
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": str(model)},
        ExecutionRoleArn=ROLE,
    )
    lines = data.splitlines(keepends=True)
    put(s3, bucket, "batch/a.csv", b"".join(lines[:100]))
    put(s3, bucket, "batch/x/b.csv", b"".join(lines[100:]))
    sm.create_transform_job(**job_request(bucket, "two-objects", "local"))
    assert wait(sm, "two-objects")["TransformJobStatus"] == "Completed"
    assert keys(s3, bucket, "predictions/") == ["predictions/a.csv.out", "predictions/x/b.csv.out"]
    assert get(s3, bucket, "predictions/x/b.csv.out") == expected_output(seed, b"".join(lines[100:]))


# ----------------------------------------------------------------------------- errors


def test_an_invalid_request_gets_sagemakers_validation_exception(sm, s3, bucket, seed):
    create_model(sm, s3, bucket, seed)
    ClientError = botocore.exceptions.ClientError
    request = job_request(bucket, DataProcessing={"OutputFilter": "$['account_id','SageMakerOutput']"})
    request["TransformInput"]["ContentType"] = request["TransformOutput"]["Accept"] = "application/jsonlines"
    with pytest.raises(ClientError) as info:
        sm.create_transform_job(**request)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["Error"]["Message"] == (
        """Invalid OutputFilter: "$['account_id','SageMakerOutput']". Unexpected "_" in JsonPath. """
        """Supported operators for "application/jsonlines" are ['$', '[', ']', '*', '.', ' ', ',', ':', '-', ''']"""
    )

    request = job_request(bucket)
    request["TransformInput"]["SplitType"] = "Lines"
    with pytest.raises(ClientError) as info:
        sm.create_transform_job(**request)
    assert str(info.value) == (
        "An error occurred (ValidationException) when calling the CreateTransformJob operation: "
        "1 validation error detected: Value 'Lines' at 'transformInput.splitType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [None, Line, RecordIO, TFRecord]"
    )
    assert sm.list_transform_jobs()["TransformJobSummaries"] == []  # nothing was created

    with pytest.raises(ClientError) as info:
        sm.create_model(ModelName="bad_name", PrimaryContainer={"Image": XGBOOST_IMAGE})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "Value 'bad_name' at 'modelName' failed to satisfy constraint" in str(info.value)


def test_missing_and_duplicate_resources(sm, s3, bucket, seed):
    with pytest.raises(sm.exceptions.ResourceNotFound) as info:
        sm.create_transform_job(**job_request(bucket, model="no-such-model"))
    assert 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/no-such-model"' in str(
        info.value
    )
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_transform_job(TransformJobName="no-such-job")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.stop_transform_job(TransformJobName="no-such-job")
    with pytest.raises(sm.exceptions.ClientError, match="Could not find model"):
        sm.describe_model(ModelName="no-such-model")

    create_model(sm, s3, bucket, seed)
    with pytest.raises(sm.exceptions.ClientError, match="Cannot create already existing model"):
        create_model(sm, s3, bucket, seed)
    put(s3, bucket, "batch/batch.csv", seed[1])
    sm.create_transform_job(**job_request(bucket, "once"))
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_transform_job(**job_request(bucket, "once"))
    assert wait(sm, "once")["TransformJobStatus"] == "Completed"
    with pytest.raises(sm.exceptions.ClientError, match="only a job InProgress can be stopped"):
        sm.stop_transform_job(TransformJobName="once")

    sm.delete_model(ModelName="breast-cancer-xgboost")
    assert sm.list_models()["Models"] == []
    with pytest.raises(sm.exceptions.ClientError, match="Could not find model"):
        sm.delete_model(ModelName="breast-cancer-xgboost")


def test_a_failing_job_ends_failed_with_the_located_reason(sm, s3, bucket, seed):
    create_model(sm, s3, bucket, seed)
    lines = seed[1].splitlines(keepends=True)
    lines[2] = lines[2].replace(b",", b",oops", 1)  # line 3, field 2
    put(s3, bucket, "batch/bad.csv", b"".join(lines))
    sm.create_transform_job(**job_request(bucket, "bad-input"))
    described = wait(sm, "bad-input")
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(
        f"s3://{bucket}/batch/bad.csv:3:8: field 2: expected a number"
    )
    assert keys(s3, bucket, "predictions/") == []
    (summary,) = sm.list_transform_jobs()["TransformJobSummaries"]
    assert summary["FailureReason"] == described["FailureReason"]


def test_a_model_fastjoin_cannot_run_fails_its_job_saying_how_to_map_it(sm, s3, bucket, seed):
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:latest"
    create_model(sm, s3, bucket, seed, name="custom", image=image)
    put(s3, bucket, "batch/batch.csv", seed[1])
    sm.create_transform_job(**job_request(bucket, "custom-job", "custom"))
    described = wait(sm, "custom-job")
    assert described["TransformJobStatus"] == "Failed"
    assert f"--container {image}=http://HOST:PORT" in described["FailureReason"]


def test_a_model_that_is_not_on_s3_fails_its_job_naming_it(sm, s3, bucket, seed):
    sm.create_model(
        ModelName="gone",
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{bucket}/nothing/model.tar.gz"},
        ExecutionRoleArn=ROLE,
    )
    put(s3, bucket, "batch/batch.csv", seed[1])
    sm.create_transform_job(**job_request(bucket, "gone-job", "gone"))
    described = wait(sm, "gone-job")
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == f"ModelDataUrl s3://{bucket}/nothing/model.tar.gz: no such object"

    url = f"https://{bucket}.s3.amazonaws.com/model/model.tar.gz"
    sm.create_model(ModelName="https", PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": url})
    sm.create_transform_job(**job_request(bucket, "https-job", "https"))
    described = wait(sm, "https-job")
    assert described["FailureReason"] == (
        f"model https: ModelDataUrl {url}: fastjoin reads a model from an s3:// URI or a local path"
    )


def test_unknown_operations_and_bad_bodies(served):
    _, url = served
    status, body = raw(url, "CreateEndpoint", {})
    assert status == 400 and body["__type"] == "UnknownOperationException"
    assert "CreateTransformJob" in body["message"]
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("POST", "/", b"{not json", {"X-Amz-Target": "SageMaker.ListModels"})
    response = conn.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["__type"] == "SerializationException"
    conn.close()


# ----------------------------------------------------------------------------- stop and restart


class _Gate(http.server.ThreadingHTTPServer):
    """An S3 endpoint on loopback in front of moto's that holds the GETs of one key until
    released: a job reading that object is mid-run for as long as the test needs."""

    daemon_threads = True

    def __init__(self, upstream: str, held_key: str):
        self.upstream, self.held_key = urlsplit(upstream), held_key
        self.reached, self.released = threading.Event(), threading.Event()
        super().__init__(("127.0.0.1", 0), _GateHandler)


class _GateHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _forward(self) -> None:
        gate: _Gate = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command == "GET" and urlsplit(self.path).path.endswith(gate.held_key):
            gate.reached.set()
            gate.released.wait(HANG_GUARD_S)
        conn = http.client.HTTPConnection(gate.upstream.hostname, gate.upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        headers["Host"] = gate.upstream.netloc
        conn.request(self.command, self.path, body, headers)
        response = conn.getresponse()
        data = response.read()
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        # a HEAD answer's length is the object's
        self.send_header(
            "Content-Length",
            response.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data)),
        )
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward


def test_stop_mid_job_leaves_no_output(s3_endpoint, s3, bucket, seed, tmp_path):
    gate = _Gate(s3_endpoint, "batch/batch.csv")
    threading.Thread(target=gate.serve_forever, daemon=True).start()
    try:
        proxy = f"http://127.0.0.1:{gate.server_address[1]}"
        with api_server("--state", tmp_path / "state", s3_endpoint=proxy) as (proc, url):
            sm = sagemaker(url)
            create_model(sm, s3, bucket, seed)
            put(s3, bucket, "batch/batch.csv", seed[1])
            sm.create_transform_job(**job_request(bucket, "to-stop"))
            while not gate.reached.wait(0.05):  # the job is reading its input, or it ended early
                described = sm.describe_transform_job(TransformJobName="to-stop")
                assert described["TransformJobStatus"] == "InProgress", described.get("FailureReason")
            assert sm.describe_transform_job(TransformJobName="to-stop")["TransformJobStatus"] == "InProgress"
            sm.stop_transform_job(TransformJobName="to-stop")
            assert sm.describe_transform_job(TransformJobName="to-stop")["TransformJobStatus"] in (
                "Stopping",
                "Stopped",
            )
            gate.released.set()  # a job that ignored the stop would now finish and write its .out
            described = wait(sm, "to-stop")
            assert described["TransformJobStatus"] == "Stopped"
            assert "FailureReason" not in described
            assert keys(s3, bucket, "predictions/") == []
            log = (tmp_path / "state" / "jobs" / "to-stop" / "log").read_text()
            assert "terminated (SIGTERM)" in log
            sm.close()
    finally:
        gate.released.set()
        gate.shutdown()
        gate.server_close()


def test_records_survive_a_restart(s3_endpoint, s3, bucket, seed, tmp_path):
    state = tmp_path / "state"
    with api_server("--state", state, s3_endpoint=s3_endpoint) as (proc, url):
        sm = sagemaker(url)
        create_model(sm, s3, bucket, seed)
        put(s3, bucket, "batch/batch.csv", seed[1])
        sm.create_transform_job(**job_request(bucket, "kept"))
        before = wait(sm, "kept")
        model_before = sm.describe_model(ModelName="breast-cancer-xgboost")
        sm.close()
    assert proc.returncode == 0
    with api_server("--state", state, s3_endpoint=s3_endpoint) as (_, url):
        sm = sagemaker(url)
        after = sm.describe_transform_job(TransformJobName="kept")
        assert after["TransformJobStatus"] == "Completed"
        for response in (before, after):
            response.pop("ResponseMetadata")
        assert after == before
        model_after = sm.describe_model(ModelName="breast-cancer-xgboost")
        assert {k: v for k, v in model_after.items() if k != "ResponseMetadata"} == {
            k: v for k, v in model_before.items() if k != "ResponseMetadata"
        }
        with pytest.raises(sm.exceptions.ResourceInUse):
            sm.create_transform_job(**job_request(bucket, "kept"))
        sm.close()


# ----------------------------------------------------------------------------- container images


def test_a_mapped_image_runs_on_its_container(s3_endpoint, s3, bucket, seed, tmp_path):
    """``--container IMAGE=URL``: the job drives the container at URL (here ``fastjoin serve``,
    a SageMaker-compatible container) and writes what the in-process model writes."""
    from test_serve import server

    model, data, _ = seed
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:latest"
    with server("--model", model, workers=1, env={"SAGEMAKER_BATCH": "true"}) as (_, container):
        mapping = f"{image}={container}"
        with api_server("--container", mapping, "--state", tmp_path / "state", s3_endpoint=s3_endpoint) as (
            _,
            url,
        ):
            sm = sagemaker(url)
            create_model(sm, s3, bucket, seed, name="custom", image=image)
            put(s3, bucket, "batch/batch.csv", data)
            sm.create_transform_job(**job_request(bucket, "on-container", "custom"))
            described = wait(sm, "on-container")
            assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
            assert get(s3, bucket, "predictions/batch.csv.out") == expected_output(seed, data)
            sm.close()


def test_container_mappings_are_checked(tmp_path):
    from helpers import cli

    proc = cli("api", "--port", "0", "--container", "no-url-here")
    assert proc.returncode == 2
    assert "--container 'no-url-here': expected IMAGE=URL with an http:// URL" in proc.stderr


def test_stopping_the_server_stops_its_jobs_and_a_restart_tells_it(s3_endpoint, s3, bucket, seed, tmp_path):
    gate = _Gate(s3_endpoint, "batch/batch.csv")
    threading.Thread(target=gate.serve_forever, daemon=True).start()
    state = tmp_path / "state"
    try:
        proxy = f"http://127.0.0.1:{gate.server_address[1]}"
        with api_server("--state", state, s3_endpoint=proxy) as (proc, url):
            sm = sagemaker(url)
            create_model(sm, s3, bucket, seed)
            put(s3, bucket, "batch/batch.csv", seed[1])
            sm.create_transform_job(**job_request(bucket, "interrupted"))
            while not gate.reached.wait(0.05):
                described = sm.describe_transform_job(TransformJobName="interrupted")
                assert described["TransformJobStatus"] == "InProgress", described.get("FailureReason")
            sm.close()
            proc.terminate()  # SIGTERM, as a service manager stops it: it stops its jobs first
            assert proc.wait(HANG_GUARD_S) == 0
            gate.released.set()  # a job left running would now finish and write its .out
        assert keys(s3, bucket, "predictions/") == []
        with api_server("--state", state, s3_endpoint=s3_endpoint) as (_, url):
            sm = sagemaker(url)
            described = sm.describe_transform_job(TransformJobName="interrupted")
            assert described["TransformJobStatus"] == "Stopped"
            assert described["TransformStartTime"] <= described["TransformEndTime"]
            sm.close()
    finally:
        gate.released.set()
        gate.shutdown()
        gate.server_close()


def test_lists_filter_sort_and_page_as_the_api_does(sm):
    for name in ("beta", "alpha", "gamma-2", "gamma-1"):
        sm.create_model(ModelName=name, PrimaryContainer={"Image": XGBOOST_IMAGE}, ExecutionRoleArn=ROLE)
    newest_first = [m["ModelName"] for m in sm.list_models()["Models"]]
    assert newest_first == ["gamma-1", "gamma-2", "alpha", "beta"]
    first = sm.list_models(SortBy="Name", SortOrder="Ascending", MaxResults=3)
    assert [m["ModelName"] for m in first["Models"]] == ["alpha", "beta", "gamma-1"]
    rest = sm.list_models(SortBy="Name", SortOrder="Ascending", MaxResults=3, NextToken=first["NextToken"])
    assert [m["ModelName"] for m in rest["Models"]] == ["gamma-2"]
    assert "NextToken" not in rest
    assert [m["ModelName"] for m in sm.list_models(NameContains="GAMMA", SortBy="Name")["Models"]] == [
        "gamma-2",
        "gamma-1",
    ]
    with pytest.raises(sm.exceptions.ClientError) as info:
        sm.list_models(SortBy="Size")
    assert info.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'Size' at 'sortBy' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Name, CreationTime]"
    )
