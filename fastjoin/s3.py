"""S3 through boto3 (the ``fastjoin[s3]`` extra): listing, streamed ranged reads, and writes that
are only visible when complete.

* The endpoint, region and credentials follow boto3's own configuration: environment
  (``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``, ``AWS_PROFILE``, ``AWS_DEFAULT_REGION``...)
  and the shared config files, so MinIO and other S3-compatible stores work as they do with
  the AWS CLI. ``endpoint_url`` (and ``profile``, ``region``) override them.
* Reads are ranged ``GetObject`` calls of ``range_size`` bytes, each streamed, pinned to the
  object's ETag (``If-Match``) so an object replaced mid-read fails instead of mixing
  versions; a dropped connection resumes at the byte it stopped at. Memory stays at what the
  caller reads at a time.
* Writes buffer one part (``part_size``, at least 5 MiB). An object that fits in one part is
  written with one ``PutObject`` when it is complete; a larger one is a multipart upload,
  completed only on success and aborted on failure, so a key never holds a partial result.

boto3 is imported on first use: ``import fastjoin`` never needs it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Iterator, Optional, cast

from fastjoin.errors import ConfigError, FastjoinError, StorageError

__all__ = ["S3", "is_s3_uri", "parse_uri", "join_key"]

MIN_PART_SIZE = 5 * 1024 * 1024
DEFAULT_PART_SIZE = 16 * 1024 * 1024
DEFAULT_RANGE_SIZE = 64 * 1024 * 1024
_READ_RETRIES = 3


def is_s3_uri(text) -> bool:
    return isinstance(text, str) and text.startswith("s3://")


def parse_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key/prefix`` → ``("bucket", "key/prefix")``."""
    if not is_s3_uri(uri):
        raise ConfigError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ConfigError(f"{uri!r} names no bucket")
    return bucket, key


def join_key(prefix: str, name: str) -> str:
    """``prefix`` as a folder, then ``name``: ``("out", "a.csv.out")`` → ``"out/a.csv.out"``."""
    if not prefix:
        return name
    return prefix if prefix.endswith("/") and not name else prefix.rstrip("/") + "/" + name


def _boto3():
    try:
        import boto3
        import botocore.config
        import botocore.exceptions
    except ImportError as exc:
        raise ConfigError("s3:// paths need boto3: pip install 'fastjoin[s3]'") from exc
    return boto3, botocore


class S3:
    """One S3 client with fastjoin's read and write rules. Close it (or use ``with``)."""

    def __init__(
        self,
        endpoint_url: Optional[str] = None,
        *,
        region: Optional[str] = None,
        profile: Optional[str] = None,
        client=None,
        part_size: int = DEFAULT_PART_SIZE,
        range_size: int = DEFAULT_RANGE_SIZE,
    ):
        if part_size < MIN_PART_SIZE:
            raise ConfigError(
                f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum part), not {part_size}"
            )
        if range_size < 1:
            raise ConfigError(f"range_size must be positive, not {range_size}")
        self.endpoint_url, self.region, self.profile = endpoint_url, region, profile
        self.part_size, self.range_size = part_size, range_size
        self._client = client
        self._owns_client = client is None

    @property
    def client(self):
        if self._client is None:
            boto3, botocore = _boto3()
            try:
                session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
                config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 5})
                self._client = session.client("s3", endpoint_url=self.endpoint_url, config=config)
            except botocore.exceptions.BotoCoreError as exc:
                raise ConfigError(f"cannot set up the S3 client: {exc}") from exc
        return self._client

    @property
    def endpoint(self) -> str:
        return self.client.meta.endpoint_url

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
            self._client = None

    def __enter__(self) -> "S3":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __reduce__(self):
        # sent to a Dask worker (inside an input object): the settings travel, and each
        # process makes one client for them (a boto3 client does not pickle, and making one
        # takes a tenth of a second: not once per block)
        endpoint, region = self.endpoint_url, self.region
        if self._client is not None and not self._owns_client:  # the caller's client: its endpoint
            endpoint, region = self._client.meta.endpoint_url, region or self._client.meta.region_name
        return (_process_s3, (endpoint, region, self.profile, self.part_size, self.range_size))

    # ------------------------------------------------------------------ errors

    def _error(self, what: str, uri: str, exc: Exception) -> StorageError:
        response = getattr(exc, "response", None) or {}
        err = response.get("Error", {})
        code = err.get("Code")
        if code:
            text = f"{code}: {err.get('Message') or exc}"
        else:
            text = str(exc)
        error = StorageError(f"{uri}: cannot {what}: {text}")
        error.code = code
        return error

    def _call(self, what: str, uri: str, fn, **kwargs):
        _, botocore = _boto3()
        try:
            return fn(**kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._error(what, uri, exc) from exc

    # ------------------------------------------------------------------ reading

    def list(self, bucket: str, prefix: str) -> Iterator[tuple[str, int, str]]:
        """``(key, size, etag)`` of every object whose key starts with ``prefix`` (a raw string
        prefix, as SageMaker's ``S3Prefix``), in key order; folder markers (keys ending in
        ``/``) are left out."""
        uri = f"s3://{bucket}/{prefix}"
        paginator = self.client.get_paginator("list_objects_v2")
        _, botocore = _boto3()
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", ()):
                    if not item["Key"].endswith("/"):
                        yield item["Key"], int(item["Size"]), item.get("ETag", "")
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise self._error("list objects", uri, exc) from exc

    def head(self, bucket: str, key: str) -> Optional[tuple[int, str]]:
        """``(size, etag)``, or None when there is no such object."""
        _, botocore = _boto3()
        try:
            meta = self.client.head_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._error("read object metadata", f"s3://{bucket}/{key}", exc) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise self._error("read object metadata", f"s3://{bucket}/{key}", exc) from exc
        return int(meta["ContentLength"]), meta.get("ETag", "")

    def exists(self, bucket: str, key: str) -> bool:
        return self.head(bucket, key) is not None

    def read_bytes(self, bucket: str, key: str, limit: int = 64 * 1024 * 1024) -> bytes:
        """A small object whole (a manifest); refuses one larger than ``limit``."""
        with self.open(bucket, key) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise StorageError(f"s3://{bucket}/{key}: larger than {limit} bytes")
        return data

    def open(self, bucket: str, key: str, size: Optional[int] = None, etag: Optional[str] = None):
        """A buffered binary reader over the object, by streamed ranged reads."""
        if size is None or etag is None:
            meta = self.head(bucket, key)
            if meta is None:
                raise StorageError(f"s3://{bucket}/{key}: no such object")
            size, etag = meta
        return io.BufferedReader(_RangedReader(self, bucket, key, size, etag), buffer_size=1 << 20)

    # ------------------------------------------------------------------ writing

    def writer(self, bucket: str, key: str, *, kms_key_id: Optional[str] = None) -> "_Writer":
        """A writer whose object appears only on :meth:`_Writer.commit`; :meth:`_Writer.abort`
        discards it (and aborts the multipart upload, if one was started)."""
        return _Writer(self, bucket, key, kms_key_id)

    def delete(self, bucket: str, key: str) -> None:
        self._call("delete", f"s3://{bucket}/{key}", self.client.delete_object, Bucket=bucket, Key=key)


_PROCESS_S3: dict[tuple, S3] = {}  # this process's S3 per settings, for objects sent to it


def _process_s3(endpoint_url, region, profile, part_size, range_size) -> S3:
    settings = (endpoint_url, region, profile, part_size, range_size)
    s3 = _PROCESS_S3.get(settings)
    if s3 is None:
        s3 = _PROCESS_S3.setdefault(
            settings,
            S3(endpoint_url, region=region, profile=profile, part_size=part_size, range_size=range_size),
        )
    return s3


class _RangedReader(io.RawIOBase):
    """Sequential reads of one object version as a series of streamed ranged GETs."""

    def __init__(self, s3: S3, bucket: str, key: str, size: int, etag: str):
        self.s3, self.bucket, self.key, self.size, self.etag = s3, bucket, key, size, etag
        self.uri = f"s3://{bucket}/{key}"
        self.pos = 0
        self._body: Any = None  # botocore's StreamingBody of the open range
        self._body_end = 0  # first byte after the open range

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # a byte range of the object is read from its offset
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        if pos != self.pos:
            self._close_body()  # the next read opens a range at the new position
            self.pos = pos
        return pos

    def _open_range(self) -> None:
        end = min(self.pos + self.s3.range_size, self.size) - 1
        kwargs = dict(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.pos}-{end}")
        if self.etag:
            kwargs["IfMatch"] = self.etag
        response = self.s3._call("read", self.uri, self.s3.client.get_object, **kwargs)
        self._body, self._body_end = response["Body"], end + 1

    def readinto(self, buffer) -> int:
        if self.pos >= self.size:
            return 0
        _, botocore = _boto3()
        view = memoryview(buffer).cast("B")
        for attempt in range(_READ_RETRIES + 1):
            if self._body is None or self.pos >= self._body_end:
                self._close_body()
                self._open_range()
            want = min(len(view), self._body_end - self.pos)
            try:
                data = self._body.read(want)
            except (botocore.exceptions.BotoCoreError, OSError) as exc:
                # a dropped stream: start a new range at the byte we stopped at
                self._close_body()
                if attempt == _READ_RETRIES:
                    raise self.s3._error("read", self.uri, exc) from exc
                continue
            if not data:
                self._close_body()
                if attempt == _READ_RETRIES:
                    raise StorageError(f"{self.uri}: the object ended at byte {self.pos} of {self.size}")
                continue
            view[: len(data)] = data
            self.pos += len(data)
            return len(data)
        return 0  # not reached

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._close_body()
        super().close()


@dataclass(frozen=True)
class S3Part:
    """Part ``number`` of a multipart upload: uploaded by whichever process holds its bytes
    (``s3`` pickles as its settings); ``put`` answers what CompleteMultipartUpload lists."""

    s3: S3
    bucket: str
    key: str
    upload_id: str
    number: int

    def put(self, data) -> dict:
        response = self.s3._call(
            f"upload part {self.number}",
            f"s3://{self.bucket}/{self.key}",
            self.s3.client.upload_part,
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=self.number,
            Body=data,
        )
        return {"ETag": response["ETag"], "PartNumber": self.number}


class _Writer:
    """Buffers one part; the object appears only on commit()."""

    def __init__(self, s3: S3, bucket: str, key: str, kms_key_id: Optional[str]):
        self.s3, self.bucket, self.key = s3, bucket, key
        self.uri = f"s3://{bucket}/{key}"
        self.extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
        self.buffer = bytearray()
        self.upload_id: Optional[str] = None
        self.parts: list = []  # {ETag, PartNumber}, or a placed part's future of one
        self.size = 0

    def write(self, data) -> int:
        self.buffer += data
        self.size += len(data)
        while len(self.buffer) >= self.s3.part_size:
            part = bytes(self.buffer[: self.s3.part_size])
            del self.buffer[: self.s3.part_size]
            self._upload_part(part)
        return len(data)

    def place(self, remote) -> None:
        """``remote`` (a block's output held by a Dask worker, see
        :class:`fastjoin.runners.dask.RemoteBytes`) as the next part, uploaded by its holder,
        when it can be one by itself (nothing buffered before it, at least S3's minimum part);
        otherwise fetched and buffered as written bytes are, so parts stay in order and large
        enough."""
        size = len(remote)
        if not size:
            return
        if size < MIN_PART_SIZE:
            self.write(remote.fetch())
            return
        if self.buffer:
            if len(self.buffer) < MIN_PART_SIZE:  # too small a part alone: one part with it
                self.buffer += remote.fetch()
                self.size += size
                self._flush()
                return
            self._flush()
        number = self._start_part()
        self.parts.append(
            remote.put(S3Part(self.s3, self.bucket, self.key, cast(str, self.upload_id), number))
        )
        self.size += size

    def _flush(self) -> None:
        part, self.buffer = bytes(self.buffer), bytearray()
        self._upload_part(part)

    def _start_part(self) -> int:
        """The next part's number, the multipart upload started first if need be."""
        if self.upload_id is None:
            response = self.s3._call(
                "start a multipart upload",
                self.uri,
                self.s3.client.create_multipart_upload,
                Bucket=self.bucket,
                Key=self.key,
                **self.extra,
            )
            self.upload_id = response["UploadId"]
        return len(self.parts) + 1

    def _upload_part(self, data: bytes) -> None:
        number = self._start_part()
        self.parts.append(S3Part(self.s3, self.bucket, self.key, cast(str, self.upload_id), number).put(data))

    def commit(self) -> None:
        client = self.s3.client
        if self.upload_id is None:
            self.s3._call(
                "write",
                self.uri,
                client.put_object,
                Bucket=self.bucket,
                Key=self.key,
                Body=bytes(self.buffer),
                **self.extra,
            )
        else:
            if self.buffer:
                self._upload_part(bytes(self.buffer))
            parts = [p if isinstance(p, dict) else self._placed(p) for p in self.parts]
            self.s3._call(
                "complete the multipart upload",
                self.uri,
                client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )
        self.buffer = bytearray()

    def _placed(self, future) -> dict:
        """A placed part's entry, once its holder has uploaded it."""
        try:
            return future.result()
        except FastjoinError:
            raise
        except Exception as exc:  # e.g. the cluster lost the block for good: this object fails
            raise StorageError(f"{self.uri}: a worker cannot upload its part: {exc}") from exc

    def abort(self) -> None:
        self.buffer = bytearray()
        for part in self.parts:
            if not isinstance(part, dict):  # a placed part still uploading
                part.cancel()
        if self.upload_id is not None:
            upload_id, self.upload_id = self.upload_id, None
            try:
                self.s3.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
            except Exception:  # best effort: the failure being reported matters more
                pass
