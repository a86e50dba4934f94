"""Transform jobs from CreateTransformJob requests (SPEC §5): the seed example on S3 (moto's
server on 127.0.0.1) and locally with identical bytes, a request checked by botocore's own
validator run unchanged, validation before any data is read, defaults and limits, the
describe_transform_job-shaped result, failures, gzip, manifests, resume, and the CLI."""

from __future__ import annotations

import copy
import gzip
import json
import os

import pytest
from helpers import cli, optional_module
from s3fixtures import get, keys, put

import fastjoin
from fastjoin.describe import describe_json
from fastjoin.errors import ConfigError, ModelError
from fastjoin.job import run_job
from fastjoin.request import validate

xgb = optional_module("xgboost")  # None without xgboost: the tests that use it are marked requires_xgboost

SEED_FILTERS = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    from fastjoin.demo import make_seed_files

    return make_seed_files(tmp_path_factory.mktemp("seed"))


@pytest.fixture(scope="module")
def seed_expected(seed):
    model, batch = seed
    t = fastjoin.Transformer(str(model), input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
    return t.transform_bytes(batch.read_bytes())


def seed_request(source: str, output: str, **extra) -> dict:
    """The seed job as boto3's create_transform_job(**request) takes it."""
    request = {
        "TransformJobName": "breast-cancer-seed",
        "ModelName": "breast-cancer-xgboost",
        "MaxConcurrentTransforms": 1,
        "MaxPayloadInMB": 6,
        "BatchStrategy": "MultiRecord",
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": 600, "InvocationsMaxRetries": 3},
        "Environment": {"SAGEMAKER_PROGRAM": "none"},
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output, "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
        "DataProcessing": dict(SEED_FILTERS),
        "Tags": [{"Key": "project", "Value": "fastjoin"}],
        "ExperimentConfig": {"ExperimentName": "seed", "TrialName": "seed-trial"},
    }
    request.update(extra)
    return request


def botocore_validate(request: dict) -> None:
    """botocore's own client-side parameter validation for sagemaker CreateTransformJob."""
    pytest.importorskip("botocore")
    import botocore.session
    from botocore.validate import validate_parameters

    model = botocore.session.get_session().get_service_model("sagemaker")
    validate_parameters(request, model.operation_model("CreateTransformJob").input_shape)


# ----------------------------------------------------------------------------- the seed example


@pytest.mark.requires_xgboost
def test_seed_request_on_s3_and_locally_gives_identical_bytes(
    seed, seed_expected, s3, bucket, s3_endpoint, tmp_path, monkeypatch
):
    model, batch = seed
    source = put(s3, bucket, "input/batch.csv", batch.read_bytes())
    request = seed_request(source, f"s3://{bucket}/output")
    botocore_validate(request)  # botocore accepts it...
    assert validate(request).ok  # ...and so does SageMaker, as far as we know
    sent = copy.deepcopy(request)

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)  # boto3's own configuration
    described = run_job(request, model=str(model))  # ...and it runs unchanged
    assert request == sent
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    on_s3 = get(s3, bucket, "output/batch.csv.out")

    local = seed_request(str(batch), str(tmp_path / "out"))
    assert run_job(local, model=str(model))["TransformJobStatus"] == "Completed"
    assert (tmp_path / "out" / "batch.csv.out").read_bytes() == on_s3 == seed_expected
    assert on_s3.startswith(b"842302,0.9") and on_s3.count(b"\n") == 569


@pytest.mark.requires_xgboost
def test_endpoint_as_an_option(seed, seed_expected, s3, bucket, s3_endpoint):
    model, batch = seed
    source = put(s3, bucket, "in/batch.csv", batch.read_bytes())
    described = run_job(
        seed_request(source, f"s3://{bucket}/out/"), model=str(model), endpoint_url=s3_endpoint
    )
    assert described["TransformJobStatus"] == "Completed"
    assert get(s3, bucket, "out/batch.csv.out") == seed_expected
    assert described["fastjoin"]["objects"][0]["output"] == f"s3://{bucket}/out/batch.csv.out"


@pytest.mark.requires_xgboost
def test_describe_shape(seed, tmp_path):
    model, seed_batch = seed
    batch = tmp_path / "batch_noID.csv"  # the notebook's first job: features only, no filters
    batch.write_bytes(b"".join(line.split(b",", 1)[1] for line in seed_batch.read_bytes().splitlines(True)))
    request = {
        "TransformJobName": "minimal",
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(batch)}},
            "ContentType": "text/csv",
        },
        "TransformOutput": {"S3OutputPath": str(tmp_path / "out")},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    d = run_job(request, model=str(model))
    assert d["TransformJobStatus"] == "Completed" and "FailureReason" not in d
    assert d["TransformJobArn"].endswith(":transform-job/minimal")
    assert d["fastjoin"]["engine"] == "compiled" and d["fastjoin"]["warnings"] == []
    d = run_job(request, model=str(model), engine="xgboost")
    assert d["fastjoin"]["engine"] == "xgboost" and d["TransformJobStatus"] == "Completed"
    # SageMaker's defaults are echoed, as describe_transform_job shows them
    assert d["DataProcessing"] == {"InputFilter": "$", "OutputFilter": "$", "JoinSource": "None"}
    assert d["TransformInput"]["CompressionType"] == "None" and d["TransformInput"]["SplitType"] == "None"
    assert d["TransformOutput"]["AssembleWith"] == "None"
    assert d["MaxPayloadInMB"] == 6 and d["BatchStrategy"] == "MultiRecord"
    assert d["ModelClientConfig"] == {"InvocationsTimeoutInSeconds": 600, "InvocationsMaxRetries": 3}
    assert d["CreationTime"] <= d["TransformStartTime"] <= d["TransformEndTime"]
    assert d["CreationTime"].tzinfo is not None
    info = d["fastjoin"]
    assert info["objects_total"] == info["objects_completed"] == 1
    assert info["records_in"] == info["records_out"] == 569 and info["errors"] == 0
    (obj,) = info["objects"]
    assert obj["source"] == str(batch) and obj["status"] == "Completed"
    assert obj["output"] == str(tmp_path / "out" / "batch_noID.csv.out")
    assert obj["bytes_in"] == batch.stat().st_size
    json.loads(describe_json(d))  # serialisable


@pytest.mark.requires_xgboost
def test_extended_runs_without_sagemaker_only_members(seed, seed_expected, tmp_path):
    """Locally the model path may be the ModelName; job name and resources may be left out."""
    model, batch = seed
    request = {
        "ModelName": str(model),
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(batch)}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": str(tmp_path), "Accept": "text/csv", "AssembleWith": "Line"},
        "DataProcessing": SEED_FILTERS,
    }
    d = run_job(request)
    assert d["TransformJobStatus"] == "Completed"
    assert d["TransformJobName"].startswith("fastjoin-")
    assert d["TransformResources"] == {"InstanceType": "local", "InstanceCount": 1}
    assert (tmp_path / "batch.csv.out").read_bytes() == seed_expected
    # but SageMaker would not take it
    problems = validate(request).problems
    assert 'Missing required parameter in input: "TransformJobName"' in problems
    assert 'Missing required parameter in input: "TransformResources"' in problems
    assert any("at 'modelName' failed to satisfy constraint" in p for p in problems)


@pytest.mark.requires_xgboost
def test_request_from_json_file_and_text(seed, seed_expected, tmp_path):
    model, batch = seed
    request = seed_request(str(batch), str(tmp_path / "a"))
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    assert run_job(path, model=str(model))["TransformJobStatus"] == "Completed"
    request["TransformOutput"]["S3OutputPath"] = str(tmp_path / "b")
    assert run_job(json.dumps(request), model=str(model))["TransformJobStatus"] == "Completed"
    assert (tmp_path / "a" / "batch.csv.out").read_bytes() == (tmp_path / "b" / "batch.csv.out").read_bytes()


# ----------------------------------------------------------------------------- validation


def test_every_problem_in_one_config_error_before_any_data_is_read(tmp_path):
    request = seed_request(
        str(tmp_path / "does-not-exist.csv"),
        str(tmp_path / "out"),
        MaxPayloadInMB=101,
        BatchStrategy="Multi",
        Unknown=1,
        MaxConcurrentTransforms=20,
    )
    request["TransformOutput"]["Accept"] = "application/json"
    request["DataProcessing"]["OutputFilter"] = "$[0"
    request["ModelClientConfig"]["InvocationsMaxRetries"] = 4
    request["Environment"] = {"1BAD": "x"}
    with pytest.raises(ConfigError) as info:
        run_job(request, model=str(tmp_path / "no-model.json"))  # neither model nor data is read
    text = str(info.value)
    for expected in [
        'Unknown parameter in input: "Unknown"',
        "Value '101' at 'maxPayloadInMB' failed to satisfy constraint: Member must have value "
        "less than or equal to 100",
        "Value 'Multi' at 'batchStrategy' failed to satisfy constraint: Member must satisfy enum "
        "value set: [MultiRecord, SingleRecord]",
        "Value '4' at 'modelClientConfig.invocationsMaxRetries'",
        "at 'environment' failed to satisfy constraint",
        "JoinSource 'Input' requires Accept ('application/json') to equal ContentType ('text/csv')",
        "OutputFilter '$[0'",
    ]:
        assert expected in text, expected
    assert text.count("\n- ") >= 7
    assert not (tmp_path / "out").exists()


def test_payload_times_concurrency_limit():
    request = seed_request("s3://b/in", "s3://b/out", MaxConcurrentTransforms=20, MaxPayloadInMB=6)
    (problem,) = validate(request).problems
    assert problem == "MaxConcurrentTransforms × MaxPayloadInMB must not exceed 100 MB (20 × 6 = 120)"


def test_sagemaker_dialect_filter_rules():
    request = seed_request("s3://b/in", "s3://b/out")
    request["DataProcessing"] = {
        "InputFilter": "$[0:2,246:]",
        "OutputFilter": "$['account_id']",
        "JoinSource": "Input",
    }
    problems = validate(request).problems
    assert problems == [
        "Invalid JsonPath: $[0:2,246:]: only single range filters of format (eg: [1:5]) are supported. "
        "Format [0:2,246:] is not supported",
        'Invalid OutputFilter: "$[\'account_id\']". Unexpected "_" in JsonPath. Supported operators for '
        "\"text/csv\" are ['$', '[', ']', '*', '.', ' ', ',', ':', '-', ''']",
    ]
    # extended lifts both; a name path still needs a header on CSV, which is a run-time matter
    pytest.importorskip("boto3")  # and the s3:// URIs need boto3 there
    assert validate(request, dialect="extended", model_given=True).ok
    request["DataProcessing"]["InputFilter"] = "$" + "[0]" * 21
    assert "Member must have length less than or equal to 63" in validate(request).problems[0]


def test_join_rules():
    request = seed_request("s3://b/in", "s3://b/out")
    request["TransformOutput"]["AssembleWith"] = "None"
    assert validate(request).problems == [
        "JoinSource 'Input' requires AssembleWith ('None') to equal SplitType ('Line')"
    ]
    request["TransformOutput"]["AssembleWith"] = "Line"
    request["TransformInput"]["ContentType"] = "application/x-image"
    request["TransformOutput"]["Accept"] = "application/x-image"
    assert "works on CSV and JSON only" in validate(request).problems[0]


def test_documented_unsupported_data_type_and_warnings():
    request = seed_request("s3://b/in/", "s3://b/in/out", BatchStrategy="SingleRecord")
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] = "AugmentedManifestFile"
    request["TransformInput"]["SplitType"] = "None"
    request.pop("DataProcessing")
    v = validate(request)
    assert v.problems == [
        "S3DataType 'AugmentedManifestFile' is not supported for transform jobs "
        "(use S3Prefix or ManifestFile)"
    ]
    assert any("BatchStrategy has no effect" in w for w in v.warnings)


GOOD = seed_request("s3://bucket/in/", "s3://bucket/out/")


def _mutations():
    """(description, mutate) pairs, each breaking or bending one member."""

    def set_path(path, value):
        def mutate(r):
            node = r
            *parents, last = path
            for p in parents:
                node = node[p]
            if value is KeyError:
                del node[last]
            else:
                node[last] = value

        return mutate

    cases = [
        (("TransformJobName",), KeyError),
        (("TransformJobName",), ""),
        (("TransformJobName",), 7),
        (("TransformJobName",), "bad_name"),
        (("TransformJobName",), "x" * 64),
        (("ModelName",), KeyError),
        (("ModelName",), None),
        (("MaxConcurrentTransforms",), -1),
        (("MaxConcurrentTransforms",), "2"),
        (("MaxPayloadInMB",), -1),
        (("MaxPayloadInMB",), 6.0),
        (("ModelClientConfig", "InvocationsTimeoutInSeconds"), 0),
        (("ModelClientConfig", "InvocationsTimeoutInSeconds"), 3601),
        (("ModelClientConfig", "Bogus"), 1),
        (("BatchStrategy",), "multirecord"),
        (("Environment",), {"A": 1}),
        (("Environment",), {f"K{i}": "v" for i in range(17)}),
        (("Environment",), []),
        (("TransformInput",), KeyError),
        (("TransformInput", "DataSource"), KeyError),
        (("TransformInput", "DataSource", "S3DataSource", "S3Uri"), KeyError),
        (("TransformInput", "DataSource", "S3DataSource", "S3Uri"), "ftp://x/y"),
        (("TransformInput", "DataSource", "S3DataSource", "S3DataType"), "Prefix"),
        (("TransformInput", "CompressionType"), "gzip"),
        (("TransformInput", "SplitType"), "Lines"),
        (("TransformInput", "ContentType"), 1),
        (("TransformOutput",), KeyError),
        (("TransformOutput", "S3OutputPath"), KeyError),
        (("TransformOutput", "AssembleWith"), "Newline"),
        (("TransformOutput", "KmsKeyId"), "key with spaces"),
        (("TransformResources",), KeyError),
        (("TransformResources", "InstanceType"), "ml.m5.huge"),
        (("TransformResources", "InstanceCount"), 0),
        (("TransformResources", "InstanceCount"), KeyError),
        (("DataProcessing", "JoinSource"), "Output"),
        (("DataProcessing", "InputFilter"), 5),
        (("Tags",), [{"Key": "k"}]),
        (("Tags",), [{"Key": "", "Value": "v"}]),
        (("Tags",), [{"Key": "a", "Value": "v"}] * 51),
        (("Tags",), [{"Key": "k!", "Value": "v"}]),
        (("ExperimentConfig", "TrialName"), "a_b"),
        (("DataCaptureConfig",), {"KmsKeyId": "k"}),
        (("Extra",), 1),
        # valid bends
        (("Tags",), [{"Key": "équipe données", "Value": "ok: a/b=c+d-e@f"}]),
        (("DataCaptureConfig",), {"DestinationS3Uri": "s3://b/capture", "GenerateInferenceId": True}),
        (("MaxPayloadInMB",), 0),
        (("TransformInput", "CompressionType"), "Gzip"),
    ]
    return [(f"{'.'.join(path)}={value!r}"[:60], set_path(path, value)) for path, value in cases]


@pytest.mark.parametrize("name, mutate", _mutations(), ids=[m[0] for m in _mutations()])
def test_validate_rejects_whatever_botocore_rejects(name, mutate):
    """botocore validates types, required members and minimums on the client; SageMaker checks
    the rest. Whatever botocore rejects, validate() must reject too (and it names the member)."""
    ParamValidationError = pytest.importorskip("botocore.exceptions").ParamValidationError

    request = copy.deepcopy(GOOD)
    mutate(request)
    try:
        botocore_validate(request)
        botocore_ok = True
    except ParamValidationError as exc:
        botocore_ok = False
        botocore_text = str(exc)
    result = validate(request)
    if not botocore_ok:
        assert not result.ok, f"botocore rejects it ({botocore_text}), validate() accepts it"
        # same wording as botocore for what botocore checks
        first = botocore_text.split("\n")[1] if "\n" in botocore_text else botocore_text
        assert any(p in first or first.endswith(p) for p in result.problems), (first, result.problems)


def test_good_request_passes_both():
    botocore_validate(GOOD)
    assert validate(GOOD).ok


# ----------------------------------------------------------------------------- running


@pytest.mark.requires_xgboost
def test_model_name_as_a_local_path(seed, tmp_path):
    model, batch = seed
    request = seed_request(str(batch), str(tmp_path), ModelName=str(tmp_path / "missing-model.json"))
    with pytest.raises(ModelError, match="missing-model.json"):
        run_job(request)
    request["ModelName"] = str(model)
    assert run_job(request)["TransformJobStatus"] == "Completed"


@pytest.mark.requires_xgboost
def test_a_bad_object_fails_alone_and_the_job_fails_naming_object_line_cause(seed, tmp_path):
    model, batch = seed
    data = tmp_path / "in"
    data.mkdir()
    lines = batch.read_bytes().splitlines(keepends=True)
    (data / "a.csv").write_bytes(b"".join(lines[:100]))
    (data / "b.csv").write_bytes(b"".join(lines[100:200]).replace(b",", b",oops", 1))
    (data / "c.csv").write_bytes(b"".join(lines[200:]))
    d = run_job(seed_request(str(data), str(tmp_path / "out")), model=str(model))
    assert d["TransformJobStatus"] == "Failed"
    bad_field = lines[100].split(b",")[1].decode()
    assert d["FailureReason"] == (
        f"1 of 3 input objects failed; first: {data / 'b.csv'}:1:8: field 2: "
        f"expected a number, got 'oops{bad_field}'"
    )
    assert sorted(os.listdir(tmp_path / "out")) == ["a.csv.out", "c.csv.out"]
    statuses = [o["status"] for o in d["fastjoin"]["objects"]]
    assert statuses == ["Completed", "Failed", "Completed"]
    assert d["fastjoin"]["objects"][1]["output"] is None


@pytest.mark.requires_xgboost
def test_nothing_to_read_fails_the_job(seed, tmp_path):
    model, _ = seed
    d = run_job(seed_request(str(tmp_path / "nothing-here"), str(tmp_path / "out")), model=str(model))
    assert d["TransformJobStatus"] == "Failed"
    assert "no such file or directory" in d["FailureReason"]


@pytest.mark.requires_xgboost
def test_missing_s3_prefix_fails_the_job(seed, s3_endpoint, bucket):
    model, _ = seed
    d = run_job(
        seed_request(f"s3://{bucket}/nope/", f"s3://{bucket}/out/"),
        model=str(model),
        endpoint_url=s3_endpoint,
    )
    assert d["TransformJobStatus"] == "Failed"
    assert d["FailureReason"].startswith(f"s3://{bucket}/nope/: no S3 objects found")


@pytest.mark.requires_xgboost
def test_nested_keys_keep_their_relative_path(seed, s3, bucket, s3_endpoint):
    model, batch = seed
    lines = batch.read_bytes().splitlines(keepends=True)
    put(s3, bucket, "data/2024/01/a.csv", b"".join(lines[:10]))
    put(s3, bucket, "data/2024/02/b.csv", b"".join(lines[10:20]))
    d = run_job(
        seed_request(f"s3://{bucket}/data/", f"s3://{bucket}/results"),
        model=str(model),
        endpoint_url=s3_endpoint,
    )
    assert d["TransformJobStatus"] == "Completed"
    assert keys(s3, bucket, "results/") == ["results/2024/01/a.csv.out", "results/2024/02/b.csv.out"]


@pytest.mark.requires_xgboost
def test_kms_key_for_s3_outputs(seed, s3, bucket, s3_endpoint):
    model, batch = seed
    key_id = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    source = put(s3, bucket, "in/batch.csv", batch.read_bytes())
    request = seed_request(source, f"s3://{bucket}/out")
    request["TransformOutput"]["KmsKeyId"] = key_id
    assert run_job(request, model=str(model), endpoint_url=s3_endpoint)["TransformJobStatus"] == "Completed"
    assert s3.client.head_object(Bucket=bucket, Key="out/batch.csv.out")["SSEKMSKeyId"] == key_id


def test_invocation_retries_follow_model_client_config(tmp_path):
    (tmp_path / "in.csv").write_bytes(b"a,1\nb,2\n")
    calls = []

    def flaky(body, content_type, accept):
        calls.append(body)
        if len(calls) <= 2:
            raise ConnectionError("container hiccup")
        return b"".join(b"7\n" for _ in body.splitlines())

    request = seed_request(str(tmp_path / "in.csv"), str(tmp_path / "out"))
    d = run_job(request, model=flaky)
    assert d["TransformJobStatus"] == "Completed" and len(calls) == 3
    assert (tmp_path / "out" / "in.csv.out").read_bytes() == b"a,7\nb,7\n"

    calls.clear()
    request["ModelClientConfig"]["InvocationsMaxRetries"] = 0
    d = run_job(request, model=flaky)
    assert d["TransformJobStatus"] == "Failed"
    assert "the model failed 1 time: ConnectionError: container hiccup" in d["FailureReason"]


# ----------------------------------------------------------------------------- gzip, manifests


@pytest.mark.requires_xgboost
def test_gzip_inputs_local_and_s3(seed, seed_expected, s3, bucket, s3_endpoint, tmp_path):
    model, batch = seed
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "batch.csv.gz").write_bytes(gzip.compress(batch.read_bytes()))
    request = seed_request(str(tmp_path / "in"), str(tmp_path / "out"))
    request["TransformInput"]["CompressionType"] = "Gzip"
    d = run_job(request, model=str(model))
    assert d["TransformJobStatus"] == "Completed"
    assert (tmp_path / "out" / "batch.csv.gz.out").read_bytes() == seed_expected  # uncompressed output

    source = put(s3, bucket, "in/batch.csv.gz", (tmp_path / "in" / "batch.csv.gz").read_bytes())
    request = seed_request(source, f"s3://{bucket}/out")
    request["TransformInput"]["CompressionType"] = "Gzip"
    d = run_job(request, model=str(model), endpoint_url=s3_endpoint)
    assert d["TransformJobStatus"] == "Completed"
    assert get(s3, bucket, "out/batch.csv.gz.out") == seed_expected
    assert d["fastjoin"]["objects"][0]["bytes_in"] == batch.stat().st_size


@pytest.mark.requires_xgboost
def test_gzip_multi_member_and_bad_gzip(seed, tmp_path):
    model, batch = seed
    data = batch.read_bytes()
    half = data.index(b"\n", len(data) // 2) + 1
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.gz").write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    (tmp_path / "in" / "b.gz").write_bytes(data[:1000])  # not gzip at all
    request = seed_request(str(tmp_path / "in"), str(tmp_path / "out"))
    request["TransformInput"]["CompressionType"] = "Gzip"
    d = run_job(request, model=str(model))
    assert [o["status"] for o in d["fastjoin"]["objects"]] == ["Completed", "Failed"]
    assert d["fastjoin"]["objects"][0]["records_out"] == 569
    assert "b.gz: CompressionType is Gzip, but the object is not valid gzip data" in d["FailureReason"]
    assert not (tmp_path / "out" / "b.gz.out").exists()


@pytest.mark.requires_xgboost
def test_manifest_local(seed, seed_expected, tmp_path):
    model, batch = seed
    lines = batch.read_bytes().splitlines(keepends=True)
    (tmp_path / "data" / "x").mkdir(parents=True)
    (tmp_path / "data" / "x" / "one.csv").write_bytes(b"".join(lines[:300]))
    (tmp_path / "data" / "two.csv").write_bytes(b"".join(lines[300:]))
    (tmp_path / "data" / "ignored.csv").write_bytes(b"garbage\n")
    manifest = tmp_path / "inputs.manifest"
    manifest.write_text(json.dumps([{"prefix": str(tmp_path / "data") + "/"}, "two.csv", "x/one.csv"]))
    request = seed_request(str(manifest), str(tmp_path / "out"))
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] = "ManifestFile"
    d = run_job(request, model=str(model))
    assert d["TransformJobStatus"] == "Completed"
    assert [o["source"] for o in d["fastjoin"]["objects"]] == [
        str(tmp_path / "data" / "two.csv"),
        str(tmp_path / "data" / "x" / "one.csv"),
    ]
    out = tmp_path / "out"
    assert (out / "x" / "one.csv.out").read_bytes() + (out / "two.csv.out").read_bytes() == seed_expected
    assert not (out / "ignored.csv.out").exists()


@pytest.mark.requires_xgboost
def test_manifest_on_s3_with_a_missing_entry(seed, seed_expected, s3, bucket, s3_endpoint):
    model, batch = seed
    put(s3, bucket, "data/batch.csv", batch.read_bytes())
    manifest = [{"prefix": f"s3://{bucket}/data/"}, "batch.csv", "gone.csv"]
    uri = put(s3, bucket, "manifests/job.manifest", json.dumps(manifest).encode())
    request = seed_request(uri, f"s3://{bucket}/out")
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] = "ManifestFile"
    d = run_job(request, model=str(model), endpoint_url=s3_endpoint)
    assert d["TransformJobStatus"] == "Failed"
    assert [o["status"] for o in d["fastjoin"]["objects"]] == ["Completed", "Failed"]
    assert (
        f"s3://{bucket}/data/gone.csv: listed in the manifest, but there is no such object"
        in d["FailureReason"]
    )
    assert get(s3, bucket, "out/batch.csv.out") == seed_expected


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "not valid JSON"),
        ('{"prefix": "x"}', "first element"),
        ('[{"prefix": "s3://b/"}]', "lists no objects"),
        ('[{"prefix": "s3://b/"}, 3]', "element 1 is not a relative key"),
    ],
)
def test_bad_manifest_fails_the_job(seed, tmp_path, text, message):
    model, _ = seed
    manifest = tmp_path / "m.json"
    manifest.write_text(text)
    request = seed_request(str(manifest), str(tmp_path / "out"))
    request["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] = "ManifestFile"
    d = run_job(request, model=str(model))
    assert d["TransformJobStatus"] == "Failed" and message in d["FailureReason"]


# ----------------------------------------------------------------------------- resume


@pytest.mark.requires_xgboost
def test_resume_skips_complete_outputs_and_reports_them(seed, tmp_path):
    model, batch = seed
    data = tmp_path / "in"
    data.mkdir()
    lines = batch.read_bytes().splitlines(keepends=True)
    (data / "a.csv").write_bytes(b"".join(lines[:200]))
    (data / "b.csv").write_bytes(b"".join(lines[200:]))
    request = seed_request(str(data), str(tmp_path / "out"))
    first = run_job(request, model=str(model))
    b_out = (tmp_path / "out" / "b.csv.out").read_bytes()
    (tmp_path / "out" / "b.csv.out").unlink()
    (tmp_path / "out" / "a.csv.out").write_bytes(b"sentinel: left alone\n")
    again = run_job(request, model=str(model), resume=True)
    assert again["TransformJobStatus"] == "Completed"
    assert [o["status"] for o in again["fastjoin"]["objects"]] == ["Skipped", "Completed"]
    assert again["fastjoin"]["objects_skipped"] == 1 and again["fastjoin"]["records_out"] == 369
    assert (tmp_path / "out" / "a.csv.out").read_bytes() == b"sentinel: left alone\n"
    assert (tmp_path / "out" / "b.csv.out").read_bytes() == b_out
    assert first["fastjoin"]["resume"] is False and again["fastjoin"]["resume"] is True


@pytest.mark.requires_xgboost
def test_resume_on_s3(seed, s3, bucket, s3_endpoint):
    model, batch = seed
    source = put(s3, bucket, "in/batch.csv", batch.read_bytes())
    put(s3, bucket, "out/batch.csv.out", b"already there\n")
    d = run_job(
        seed_request(source, f"s3://{bucket}/out"), model=str(model), endpoint_url=s3_endpoint, resume=True
    )
    assert d["fastjoin"]["objects"][0]["status"] == "Skipped"
    assert get(s3, bucket, "out/batch.csv.out") == b"already there\n"


# ----------------------------------------------------------------------------- progress, CLI


@pytest.mark.requires_xgboost
def test_progress_callable_sees_the_whole_job(seed, tmp_path):
    model, batch = seed
    data = tmp_path / "in"
    data.mkdir()
    lines = batch.read_bytes().splitlines(keepends=True)
    (data / "a.csv").write_bytes(b"".join(lines[:300]))
    (data / "b.csv").write_bytes(b"".join(lines[300:]))
    seen = []
    run_job(
        seed_request(str(data), str(tmp_path / "out")),
        model=str(model),
        progress=lambda done, records: seen.append((done, records)),
        chunk_size=4096,
    )
    assert seen[-1] == (batch.stat().st_size, 569)
    assert seen == sorted(seen)


def test_progress_bar_counts_objects():
    import io

    from fastjoin.progress import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(stream=stream, enabled=True)
    bar.start([100, 300])
    bar(100, 5, force=True)
    bar.close(400, 20)
    text = stream.getvalue()
    assert "25%" in text and "1/2 objects" in text and "2/2 objects" in text and "20 rows" in text
    assert "MB/s" in text and "ETA" in text


@pytest.mark.requires_xgboost
def test_cli_run_job(seed, seed_expected, tmp_path):
    model, batch = seed
    request = tmp_path / "request.json"
    request.write_text(json.dumps(seed_request(str(batch), str(tmp_path / "out"))))
    proc = cli("run-job", request, "--model", model, "--describe", tmp_path / "describe.json")
    assert proc.returncode == 0, proc.stderr
    assert "job breast-cancer-seed Completed: 1 object written, 569 records written in" in proc.stderr
    assert "\r" not in proc.stderr  # not a terminal: no progress bar
    assert (tmp_path / "out" / "batch.csv.out").read_bytes() == seed_expected
    described = json.loads((tmp_path / "describe.json").read_text())
    assert described["TransformJobStatus"] == "Completed"
    assert described["fastjoin"]["objects"][0]["records_out"] == 569

    proc = cli("run-job", request, "--model", model, "--resume", "--quiet")
    assert proc.returncode == 0 and proc.stderr == ""
    proc = cli("run-job", request, "--model", model, "--resume", "--verbose", "--describe", "-")
    assert json.loads(proc.stdout)["fastjoin"]["objects_skipped"] == 1
    assert "Skipped" in proc.stderr and "1 skipped (output exists)" in proc.stderr


@pytest.mark.requires_xgboost
def test_cli_run_job_failed_exits_non_zero(seed, tmp_path):
    model, batch = seed
    bad = tmp_path / "bad.csv"
    bad.write_bytes(batch.read_bytes().replace(b"842303,", b'842303,"', 1))
    request = tmp_path / "request.json"
    request.write_text(json.dumps(seed_request(str(bad), str(tmp_path / "out"))))
    proc = cli("run-job", request, "--model", model)
    assert proc.returncode == 1
    assert f"failed: {bad}:2:8: quoted field is not closed" in proc.stderr
    assert "job breast-cancer-seed Failed" in proc.stderr
    proc = cli("run-job", request, "--model", model, "--on-error", "skip")
    assert proc.returncode == 0, proc.stderr
    assert "1 bad record skipped" in proc.stderr


@pytest.mark.requires_xgboost
def test_cli_run_job_max_model_size(seed, tmp_path):
    model, batch = seed
    request = tmp_path / "request.json"
    request.write_text(json.dumps(seed_request(str(batch), str(tmp_path / "out"))))
    proc = cli("run-job", request, "--model", model, "--max-model-size", "1KiB", "--quiet")
    assert proc.returncode == 4, proc.stderr
    assert f"model file {model} is" in proc.stderr and "over the model size limit of 1 KiB" in proc.stderr
    assert "--max-model-size 1MiB" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("run-job", request, "--model", model, "--max-model-size", "lots")
    assert proc.returncode == 2
    assert "argument --max-model-size: 'lots' is not a size" in proc.stderr
    proc = cli("run-job", request, "--model", model, "--max-model-size", "64MiB", "--quiet")
    assert proc.returncode == 0, proc.stderr


def test_cli_run_job_rejected_request_exits_2(tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(seed_request("s3://b/in", "s3://b/out", MaxPayloadInMB=500)))
    proc = cli("run-job", request, "--model", tmp_path / "m.json")
    assert proc.returncode == 2
    assert "at 'maxPayloadInMB' failed to satisfy constraint" in proc.stderr


def test_cli_validate(tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(GOOD))
    proc = cli("validate", request)
    assert proc.returncode == 0 and proc.stdout.startswith("OK: SageMaker would accept")
    broken = dict(GOOD, BatchStrategy="Batch")
    broken["DataProcessing"] = dict(GOOD["DataProcessing"], OutputFilter="$[0:1,2:]")
    request.write_text(json.dumps(broken))
    proc = cli("validate", request)
    assert proc.returncode == 2
    assert "SageMaker would reject this request: 2 problems" in proc.stdout
    assert "- Invalid JsonPath: $[0:1,2:]: only single range filters" in proc.stdout
    pytest.importorskip("boto3")  # the extended dialect's s3:// URIs need it
    proc = cli("validate", request, "--dialect", "extended")
    assert proc.returncode == 2 and "1 problem" in proc.stdout
    request.write_text("{not json")
    proc = cli("validate", request)
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr


@pytest.mark.requires_xgboost
def test_cli_transform_on_s3_with_skip_and_resume(seed, seed_expected, s3, bucket, s3_endpoint):
    model, batch = seed
    lines = batch.read_bytes().splitlines(keepends=True)
    put(s3, bucket, "in/a.csv", b"".join(lines[:300]) + b"junk\n" + b"".join(lines[300:]))
    flags = ["--input-filter", "$[1:]", "--join-source", "Input", "--output-filter", "$[0,-1]"]
    args = [
        "transform",
        "--model",
        model,
        "--input",
        f"s3://{bucket}/in/",
        "--output",
        f"s3://{bucket}/out",
        "--endpoint-url",
        s3_endpoint,
        "--on-error",
        "skip",
        "--max-errors",
        "1",
        *flags,
    ]
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "1 file written, 569 records written, 1 bad record skipped" in proc.stderr
    assert get(s3, bucket, "out/a.csv.out") == seed_expected
    (entry,) = [json.loads(x) for x in get(s3, bucket, "out/a.csv.out.errors.jsonl").splitlines()]
    assert entry["source"] == f"s3://{bucket}/in/a.csv" and entry["line"] == 301 and entry["record"] == "junk"
    proc = cli(*args, "--resume")
    assert proc.returncode == 0 and "1 skipped (output exists)" in proc.stderr
