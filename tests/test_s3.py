"""fastjoin.s3 and the S3 side of fastjoin.storage against a real HTTP S3 endpoint (moto's
server on 127.0.0.1): ranged streamed reads, writes visible only when complete, multipart
uploads completed or aborted, the endpoint taken from boto3's own configuration, raw-prefix
listing."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from s3fixtures import get, keys, put

from fastjoin.errors import ConfigError, StorageError
from fastjoin.s3 import MIN_PART_SIZE, S3, join_key, parse_uri
from fastjoin.storage import Storage


def test_parse_uri_and_join_key():
    assert parse_uri("s3://b/a/b.csv") == ("b", "a/b.csv")
    assert parse_uri("s3://b") == ("b", "")
    with pytest.raises(ConfigError):
        parse_uri("s3:///key")
    assert join_key("out", "a.csv.out") == "out/a.csv.out"
    assert join_key("out/", "a.csv.out") == "out/a.csv.out"
    assert join_key("", "a.csv.out") == "a.csv.out"


def test_import_fastjoin_does_not_import_boto3():
    code = "import sys, fastjoin, fastjoin.job, fastjoin.storage; print('boto3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("range_size", [997, 4096, 64 * 1024 * 1024])
def test_ranged_reads_return_the_exact_bytes(s3_endpoint, bucket, range_size):
    data = bytes(range(256)) * 40 + b"tail"
    with S3(s3_endpoint, range_size=range_size) as client:
        put(client, bucket, "obj.bin", data)
        with client.open(bucket, "obj.bin") as f:
            got = b"".join(iter(lambda: f.read(333), b""))
    assert got == data


def test_reads_are_ranged_and_pinned_to_the_etag(s3_endpoint, bucket):
    """Each GET asks for a bounded range with If-Match; an object replaced mid-read fails."""
    seen = []
    with S3(s3_endpoint, range_size=100) as client:
        client.client.meta.events.register(
            "before-parameter-build.s3.GetObject", lambda params, **kw: seen.append(dict(params))
        )
        put(client, bucket, "obj.bin", b"a" * 250)
        f = client.open(bucket, "obj.bin")
        assert f.read(150) == b"a" * 150
        put(client, bucket, "obj.bin", b"b" * 250)  # replaced while we read
        with pytest.raises(StorageError, match="PreconditionFailed"):
            f.read()
        f.close()
    assert [p.get("Range") for p in seen[:2]] == ["bytes=0-99", "bytes=100-199"]
    assert all(p.get("IfMatch") for p in seen)


def test_small_write_is_one_put_visible_only_on_commit(s3, bucket):
    writer = s3.writer(bucket, "out/a.out")
    writer.write(b"hello ")
    writer.write(b"world\n")
    assert keys(s3, bucket) == []
    writer.commit()
    assert get(s3, bucket, "out/a.out") == b"hello world\n"


def test_large_write_is_a_multipart_upload_completed_on_success(s3_endpoint, bucket):
    data = os.urandom(MIN_PART_SIZE) * 2 + b"end"
    with S3(s3_endpoint, part_size=MIN_PART_SIZE) as client:
        writer = client.writer(bucket, "big.out")
        for i in range(0, len(data), 1 << 20):
            writer.write(data[i : i + (1 << 20)])
        assert writer.upload_id is not None and len(writer.parts) == 2
        assert keys(client, bucket) == []  # parts uploaded, nothing visible yet
        writer.commit()
        assert get(client, bucket, "big.out") == data
        assert not client.client.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_failed_write_aborts_the_multipart_upload(s3_endpoint, bucket):
    with S3(s3_endpoint, part_size=MIN_PART_SIZE) as client:
        sink = Storage(client).sink(f"s3://{bucket}/out", "x.out")
        with pytest.raises(RuntimeError):
            with sink.open() as w:
                w.write(b"x" * (MIN_PART_SIZE + 10))
                assert w.upload_id is not None
                raise RuntimeError("the object failed")
        assert keys(client, bucket) == []
        assert not client.client.list_multipart_uploads(Bucket=bucket).get("Uploads")
        assert not sink.exists()


def test_kms_key_goes_with_the_upload(s3, bucket):
    key_id = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    writer = s3.writer(bucket, "enc.out", kms_key_id=key_id)
    writer.write(b"x\n")
    writer.commit()
    head = s3.client.head_object(Bucket=bucket, Key="enc.out")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_id


def test_part_size_below_the_s3_minimum_is_refused():
    with pytest.raises(ConfigError, match="at least"):
        S3("http://127.0.0.1:9", part_size=1024)


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
def test_endpoint_comes_from_boto3_configuration(s3_endpoint, bucket, monkeypatch, variable):
    monkeypatch.setenv(variable, s3_endpoint)
    with S3() as client:
        assert client.endpoint == s3_endpoint
        put(client, bucket, "k", b"v")
        assert client.exists(bucket, "k")


def test_explicit_endpoint_wins_over_the_environment(s3_endpoint, bucket, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens there
    with S3(s3_endpoint) as client:
        assert client.endpoint == s3_endpoint
        assert not client.exists(bucket, "missing")


def test_endpoint_from_a_profile_in_the_config_file(s3_endpoint, bucket, monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text(
        f"[profile minio]\nendpoint_url = {s3_endpoint}\nregion = us-east-1\n"
        f"aws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with S3(profile="minio") as client:
        assert client.endpoint == s3_endpoint
        put(client, bucket, "k", b"v")


def test_s3_prefix_is_a_raw_key_prefix(s3, bucket):
    for key in [
        "data/test/a.csv",
        "data/test_small/b.csv",
        "data/test/sub/c.csv",
        "data/other.csv",
        "data/test/",
    ]:  # the last is a folder marker
        put(s3, bucket, key, b"1\n")
    objects = Storage(s3).inputs(f"s3://{bucket}/data/test")
    assert [(o.key, o.relative) for o in objects] == [
        ("data/test/a.csv", "test/a.csv"),
        ("data/test/sub/c.csv", "test/sub/c.csv"),
        ("data/test_small/b.csv", "test_small/b.csv"),
    ]
    objects = Storage(s3).inputs(f"s3://{bucket}/data/test/")
    assert [o.relative for o in objects] == ["a.csv", "sub/c.csv"]
    objects = Storage(s3).inputs(f"s3://{bucket}/data/other.csv")
    assert [o.relative for o in objects] == ["other.csv"]


def test_empty_prefix_is_an_error_naming_it(s3, bucket):
    with pytest.raises(StorageError, match=f"s3://{bucket}/nothing: no S3 objects found"):
        Storage(s3).inputs(f"s3://{bucket}/nothing")


def test_missing_bucket_is_a_storage_error(s3):
    with pytest.raises(StorageError, match="NoSuchBucket"):
        Storage(s3).inputs("s3://no-such-bucket-here/x")


def test_storage_owns_the_client_it_makes(s3_endpoint, bucket, s3):
    put(s3, bucket, "a.csv", b"1\n")
    with Storage(s3_endpoint) as store:
        (obj,) = store.inputs(f"s3://{bucket}/a.csv")
        with obj.open() as f:
            assert f.read() == b"1\n"
        made = store.s3
    assert made._client is None  # closed with the Storage
    with Storage(s3) as store:
        assert store.s3 is s3
    assert s3._client is not None  # not ours to close


def test_gzip_stream_from_s3(s3, bucket):
    import gzip

    raw = b"".join(b"%d,%d\n" % (i, i * i) for i in range(5000))
    put(s3, bucket, "in/a.csv.gz", gzip.compress(raw))
    (obj,) = Storage(s3).inputs(f"s3://{bucket}/in/", compression="Gzip")
    with obj.open() as f:
        got = io.BytesIO()
        while True:
            block = f.read(4096)
            if not block:
                break
            got.write(block)
        assert f.compressed_bytes == obj.size
    assert got.getvalue() == raw
