"""Storage: which input objects a job reads, where their outputs go, and writing an output so
that a final name only ever holds a complete result.

Local paths (a file, a directory or a glob) and ``s3://`` URIs (``S3Prefix``: a raw key
prefix, as on SageMaker) sit behind one interface, :class:`Storage`: ``inputs()`` lists
sources (also from a ``ManifestFile``), each with ``open()`` (decompressing ``Gzip``), and
``sink()`` names an output with ``exists()`` (resume) and ``open()`` (atomic: a local
temporary file renamed into place, or an S3 upload completed only on success).
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import os
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

import numpy as np

from fastjoin.errors import ConfigError, InputError, StorageError

_MAGIC = set("*?[")
COMPRESSION_TYPES = ("None", "Gzip")


@dataclass(frozen=True)
class InputObject:
    """A local input file."""

    path: Path
    relative: str  # path relative to the input root, with '/' separators
    size: int
    compression: str = "None"

    @property
    def name(self) -> str:
        return str(self.path)

    def open(self):
        """The object's bytes as a binary stream (decompressed when ``compression`` is Gzip)."""
        try:
            f = open(self.path, "rb")
        except OSError as exc:
            raise StorageError(f"{self.path}: cannot read: {exc.strerror}") from exc
        return _decompress(f, self.compression, self.name)


def list_inputs(spec: str | os.PathLike) -> list[InputObject]:
    """Input objects named by a file, a directory (every non-hidden file below it, sorted),
    or a glob (``data/*.csv``, ``data/**/*.csv``). Names are kept relative to the directory
    or to the glob's last directory without wildcards, so outputs mirror the input tree."""
    text = os.fspath(spec)
    if any(c in text for c in _MAGIC):
        parts = Path(text).parts
        fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if _MAGIC & set(p))]]
        root = Path(*fixed) if fixed else Path(".")
        paths = sorted(Path(p) for p in glob.glob(text, recursive=True) if os.path.isfile(p))
        if not paths:
            raise StorageError(f"{text}: no files match this pattern")
    else:
        path = Path(text)
        if path.is_file():
            return [InputObject(path, path.name, path.stat().st_size)]
        if not path.is_dir():
            raise StorageError(f"{text}: no such file or directory")
        root = path
        paths = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not paths:
            raise StorageError(f"{text}: the directory holds no input files")
    return [InputObject(p, p.relative_to(root).as_posix(), p.stat().st_size) for p in paths]


def output_path(output_dir: str | os.PathLike, obj: InputObject) -> Path:
    """``<output dir>/<relative input name>.out``, as SageMaker names outputs."""
    return Path(output_dir) / (obj.relative + ".out")


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """Write to a hidden temporary file beside ``path`` and rename it into place only when
    the block succeeds; on any failure the temporary file is removed and ``path`` untouched."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{path.parent}: cannot create the output directory: {exc.strerror}") from exc
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        f = open(tmp, "wb")
    except OSError as exc:
        raise StorageError(f"{path}: cannot write the output: {exc.strerror}") from exc
    try:
        with f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _count_newlines(buf, end: int, step: int = 1 << 18) -> int:
    # numpy's vectorised compare, without the GIL: bytes.count(b"\n") is four times slower,
    # and this runs on the thread that feeds every worker. In slices, so the temporary
    # array stays small beside the chunks in flight.
    a = np.frombuffer(buf, np.uint8, end)
    return sum(int(np.count_nonzero(a[i : i + step] == 10)) for i in range(0, end, step))


def read_chunks(f: BinaryIO, chunk_size: int) -> Iterator[tuple[bytes, int, int, int]]:
    """Read a stream as chunks of complete lines: yields ``(buf, end, base_offset, base_line)``
    where ``buf[:end]`` is whole lines (the last chunk may lack a final newline), ``buf[0]``
    is at ``base_offset`` and starts line ``base_line``. Memory stays near ``chunk_size``
    unless a single line is longer.

    Each chunk gets a buffer of its own (workers may still hold earlier ones), and the bytes
    are copied once: a local file is read at each chunk's offset (the partial last line is
    read again with the next chunk, instead of copied into it), any other stream straight
    into a new buffer after the previous chunk's partial line."""
    # a buffered local file: its read(n) returns n bytes unless at the end
    if isinstance(f, io.BufferedReader) and isinstance(f.raw, io.FileIO) and f.seekable():
        yield from _read_file_chunks(f, chunk_size)
        return
    readinto = getattr(f, "readinto", None)
    carry = b""
    offset = 0
    line = 1
    while True:
        if readinto is not None:
            buf = bytearray(len(carry) + chunk_size)
            buf[: len(carry)] = carry
            got = readinto(memoryview(buf)[len(carry) :])
            del buf[len(carry) + got :]
        else:
            block = f.read(chunk_size)
            got = len(block)
            buf = carry + block if carry else block
        if not got:
            if carry:
                yield carry, len(carry), offset, line
            return
        cut = buf.rfind(b"\n") + 1
        if cut == 0:
            carry = bytes(buf)  # a line longer than a chunk: keep reading
            continue
        yield buf, cut, offset, line
        line += _count_newlines(buf, cut)
        offset += cut
        carry = bytes(buf[cut:])


def _read_file_chunks(f: BinaryIO, chunk_size: int) -> Iterator[tuple[bytes, int, int, int]]:
    """read_chunks for a seekable local file: each chunk read whole from its own offset."""
    offset = f.tell()
    base = offset
    line = 1
    size = chunk_size
    while True:
        buf = f.read(size)
        cut = buf.rfind(b"\n") + 1
        if len(buf) < size:  # the end of the file
            if buf:
                yield buf, len(buf), offset - base, line
            return
        if cut == 0:  # a line longer than the chunk: read more of it at once
            size *= 2
            f.seek(offset)
            continue
        yield buf, cut, offset - base, line
        line += _count_newlines(buf, cut)
        offset += cut
        size = chunk_size
        f.seek(offset)


# ----------------------------------------------------------------------------- S3 objects, gzip


@dataclass(frozen=True)
class S3Object:
    """An input object on S3."""

    s3: object  # fastjoin.s3.S3
    bucket: str
    key: str
    relative: str
    size: int
    etag: str = ""
    compression: str = "None"

    @property
    def name(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def open(self):
        return _decompress(
            self.s3.open(self.bucket, self.key, self.size, self.etag or None), self.compression, self.name
        )


@dataclass(frozen=True)
class MissingObject:
    """A manifest entry that names no object: it fails alone, the others still run."""

    name: str
    relative: str
    size: int = 0
    compression: str = "None"

    def open(self):
        raise StorageError(f"{self.name}: listed in the manifest, but there is no such object")


class _GzipInput:
    """A gzip stream read as its decompressed bytes (concatenated members too); bad data is an
    :class:`InputError` naming the object. ``compressed_bytes`` counts what was read."""

    def __init__(self, raw: BinaryIO, name: str):
        self.raw, self.name = raw, name
        self.compressed_bytes = 0
        self._gz = gzip.GzipFile(fileobj=self, mode="rb")

    def read(self, n: int = -1) -> bytes:  # called by GzipFile on the compressed side
        data = self.raw.read(n)
        self.compressed_bytes += len(data)
        return data

    def read_decompressed(self, n: int = -1) -> bytes:
        try:
            return self._gz.read(n)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise InputError(
                f"{self.name}: CompressionType is Gzip, but the object is not valid gzip data ({exc})"
            ) from None

    def close(self) -> None:
        try:
            self._gz.close()
        finally:
            self.raw.close()


class _Decompressed:
    """The reading side of :class:`_GzipInput`: a plain binary stream."""

    def __init__(self, gz: _GzipInput):
        self._gz = gz

    @property
    def compressed_bytes(self) -> int:
        return self._gz.compressed_bytes

    def read(self, n: int = -1) -> bytes:
        return self._gz.read_decompressed(n)

    def close(self) -> None:
        self._gz.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _decompress(raw: BinaryIO, compression: str, name: str):
    if compression == "Gzip":
        return _Decompressed(_GzipInput(raw, name))
    return raw


# ----------------------------------------------------------------------------- sinks


@dataclass(frozen=True)
class LocalSink:
    path: Path

    @property
    def name(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.is_file()

    def remove(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def open(self):
        _remove_stale_temporaries(self.path)
        return atomic_output(self.path)


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.<name>.tmp-<pid>`` files left beside ``path`` by a process that was killed."""
    if os.name != "posix" or not path.parent.is_dir():
        return
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            try:
                tmp.unlink()
            except OSError:
                pass
        except OSError:
            pass  # alive, or not ours to judge


@dataclass(frozen=True)
class S3Sink:
    s3: object
    bucket: str
    key: str
    kms_key_id: Optional[str] = None

    @property
    def name(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def exists(self) -> bool:
        return self.s3.exists(self.bucket, self.key)

    def remove(self) -> None:
        self.s3.delete(self.bucket, self.key)

    @contextmanager
    def open(self) -> Iterator:
        writer = self.s3.writer(self.bucket, self.key, kms_key_id=self.kms_key_id)
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        try:
            writer.commit()
        except BaseException:
            writer.abort()
            raise


# ----------------------------------------------------------------------------- one interface


class Storage:
    """Local paths and ``s3://`` URIs behind one interface.

    ``s3``: a :class:`fastjoin.s3.S3` (used, not closed), an endpoint URL, a dict of
    :class:`~fastjoin.s3.S3` options, or None (boto3's own configuration). The S3 client is
    made on first use of an ``s3://`` URI; close the Storage (or use ``with``) to release it.
    """

    def __init__(self, s3=None):
        self._s3_option = s3
        self._s3 = None
        self._owns_s3 = False

    @property
    def s3(self):
        if self._s3 is None:
            from fastjoin.s3 import S3

            option = self._s3_option
            if isinstance(option, S3):
                self._s3 = option
            else:
                kwargs = dict(option) if isinstance(option, dict) else {"endpoint_url": option}
                self._s3, self._owns_s3 = S3(**kwargs), True
        return self._s3

    def close(self) -> None:
        if self._s3 is not None and self._owns_s3:
            self._s3.close()
        self._s3 = None

    def __enter__(self) -> "Storage":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def inputs(self, spec, *, manifest: bool = False, compression: Optional[str] = None) -> list:
        """The input objects ``spec`` names, in order: a local file, directory or glob, an
        ``s3://`` prefix, or (``manifest=True``) a manifest file, local or on S3."""
        compression = "None" if compression is None else compression
        if compression not in COMPRESSION_TYPES:
            raise ConfigError(f"CompressionType must be one of {COMPRESSION_TYPES}, not {compression!r}")
        text = os.fspath(spec)
        if manifest:
            return self._manifest_inputs(text, compression)
        if _is_s3(text):
            return self._s3_inputs(text, compression)
        return [InputObject(o.path, o.relative, o.size, compression) for o in list_inputs(text)]

    def _s3_inputs(self, uri: str, compression: str) -> list:
        from fastjoin.s3 import parse_uri

        bucket, prefix = parse_uri(uri)
        root = prefix[: prefix.rfind("/") + 1]  # the "directory" part of the raw prefix
        objects = [
            S3Object(self.s3, bucket, key, key[len(root) :], size, etag, compression)
            for key, size, etag in self.s3.list(bucket, prefix)
        ]
        if not objects:
            raise StorageError(
                f"{uri}: no S3 objects found under this prefix (S3Prefix matches keys "
                f"that start with it; check the bucket, the prefix and list permission)"
            )
        return objects

    def _manifest_inputs(self, spec: str, compression: str) -> list:
        from fastjoin.s3 import parse_uri

        if _is_s3(spec):
            bucket, key = parse_uri(spec)
            data = self.s3.read_bytes(bucket, key)
        else:
            try:
                data = Path(spec).read_bytes()
            except OSError as exc:
                raise StorageError(f"{spec}: cannot read the manifest: {exc.strerror}") from exc
        prefix, keys = parse_manifest(data, spec)
        objects = []
        for rel in keys:
            relative = rel.lstrip("/")
            if _is_s3(prefix):
                bucket, key = parse_uri(prefix + rel)
                meta = self.s3.head(bucket, key)
                if meta is None:
                    objects.append(MissingObject(f"s3://{bucket}/{key}", relative, 0, compression))
                else:
                    objects.append(S3Object(self.s3, bucket, key, relative, meta[0], meta[1], compression))
            else:
                path = Path(prefix) / rel if Path(prefix).is_dir() else Path(prefix + rel)
                if path.is_file():
                    objects.append(InputObject(path, relative, path.stat().st_size, compression))
                else:
                    objects.append(MissingObject(str(path), relative, 0, compression))
        return objects

    def sink(self, output, name: str, *, kms_key_id: Optional[str] = None):
        """Where the output called ``name`` (e.g. ``dir/a.csv.out``) goes under ``output``."""
        text = os.fspath(output)
        if _is_s3(text):
            from fastjoin.s3 import join_key, parse_uri

            bucket, prefix = parse_uri(text)
            return S3Sink(self.s3, bucket, join_key(prefix, name), kms_key_id)
        return LocalSink(Path(text) / name)


def _is_s3(text: str) -> bool:
    return text.startswith("s3://")


def parse_manifest(data: bytes, source: str = "<manifest>") -> tuple[str, list[str]]:
    """A ``ManifestFile``: a JSON list whose first element is ``{"prefix": ...}`` and whose
    other elements are keys relative to that prefix. Returns ``(prefix, keys)``."""
    try:
        items = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: the manifest is not valid JSON: {exc}") from None
    if (
        not isinstance(items, list)
        or not items
        or not isinstance(items[0], dict)
        or not isinstance(items[0].get("prefix"), str)
    ):
        raise InputError(
            f"{source}: a manifest is a JSON list whose first element is "
            f'{{"prefix": "s3://bucket/prefix/"}}, followed by relative keys'
        )
    bad = [i for i, item in enumerate(items[1:], 1) if not isinstance(item, str) or not item]
    if bad:
        raise InputError(
            f"{source}: manifest element {bad[0]} is not a relative key (a non-empty "
            f"string): {items[bad[0]]!r}"
        )
    if len(items) == 1:
        raise InputError(f"{source}: the manifest lists no objects")
    return items[0]["prefix"], items[1:]
