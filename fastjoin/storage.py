"""Storage: which input objects a job reads, where their outputs go, and writing an output so
that a final name only ever holds a complete result.

Local paths (a file, a directory or a glob) and ``s3://`` URIs (``S3Prefix``: a raw key
prefix, as on SageMaker) sit behind one interface, :class:`Storage`: ``inputs()`` lists
sources (also from a ``ManifestFile``), each with ``open()`` (decompressing ``Gzip``), and
``sink()`` names an output with ``exists()`` (resume) and ``open()`` (atomic: a local
temporary file renamed into place, or an S3 upload completed only on success).
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import json
import os
import re
import secrets
import stat
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Optional, cast

from fastjoin.deadletter import DEAD_LETTER_SUFFIX
from fastjoin.errors import ConfigError, FastjoinError, InputError, StorageError, file_kind
from fastjoin.s3 import is_s3_uri

_MAGIC = set("*?[")
COMPRESSION_TYPES = ("None", "Gzip")
OUTPUT_SUFFIX = ".out"  # <input name>.out, as SageMaker names outputs
# what a job writes: <name>.out, its dead letters, and the temporaries they are written under
_OUT = re.escape(OUTPUT_SUFFIX) + "(?:" + re.escape(DEAD_LETTER_SUFFIX) + ")?"
_JOB_OUTPUT = re.compile(f"(?s:.+{_OUT}|\\..+{_OUT}\\.tmp-[0-9]+(?:-[0-9a-f]+)?)")


@dataclass(frozen=True)
class InputObject:
    """A local input file, with its size when it was listed."""

    path: Path
    relative: str  # path relative to the input root, with '/' separators
    size: int
    compression: str = "None"

    @classmethod
    def of(cls, path: Path, relative: str, compression: str = "None") -> "InputObject":
        return cls(path, relative, path.stat().st_size, compression)

    @property
    def name(self) -> str:
        return str(self.path)

    def open(self):
        """The object's bytes as a binary stream (decompressed when ``compression`` is Gzip).
        Opened without blocking, so a file swapped for a FIFO since it was listed is refused
        instead of waiting forever for a writer."""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise StorageError(f"{self.path}: cannot read: {exc.strerror}") from exc
        f = os.fdopen(fd, "rb")
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            f.close()
            raise StorageError(
                f"{self.path}: is no longer a regular file (it was replaced since it was listed)"
            )
        f.opened = opened  # type: ignore[attr-defined]  # for check_unchanged
        return _decompress(f, self.compression, self.name)

    def check_unchanged(self, stream) -> None:
        """Fail the object when the file changed while it was read (a writer truncated,
        appended to or rewrote it): its output would end in a torn record, or mix two
        versions. The S3 path pins the ETag for the same reason."""
        before = getattr(stream, "opened", None)
        st = os.fstat(stream.fileno())
        if before is None or (st.st_size == before.st_size and st.st_mtime_ns == before.st_mtime_ns):
            return
        raise StorageError(
            f"{self.path}: the file changed while it was read (size {before.st_size:,} -> "
            f"{st.st_size:,} bytes{', modified' if st.st_mtime_ns != before.st_mtime_ns else ''}); "
            f"its output was not written: run again once the file is complete"
        )


def _not_regular(path: Path) -> Optional[str]:
    """What kind of non-regular file ``path`` is (``a named pipe (FIFO)``, ``a socket``...);
    None for a regular file, a directory, or nothing."""
    try:
        kind = file_kind(path.stat().st_mode)
    except OSError:
        return None
    return None if kind in (None, "directory") else f"a {kind}"


def list_inputs(spec: str | os.PathLike) -> list[InputObject]:
    """Input objects named by a file, a directory (every non-hidden file below it, sorted),
    or a glob (``data/*.csv``, ``data/**/*.csv``). Names are kept relative to the directory
    or to the glob's last directory without wildcards, so outputs mirror the input tree."""
    text = os.fspath(spec)
    if any(c in text for c in _MAGIC):
        root = _glob_root(text)
        matches = [Path(p) for p in glob.glob(text, recursive=True)]
        paths = sorted(p for p in matches if p.is_file())
        if not paths:
            raise StorageError(f"{text}: no files match this pattern{_skipped_note(matches)}")
    else:
        path = Path(text)
        if path.is_file():
            return [InputObject.of(path, path.name)]
        kind = _not_regular(path)
        if kind is not None:
            raise StorageError(
                f"{text}: is {kind}, not a regular file: fastjoin reads files it can size and read "
                f"again (copy the data to a file first)"
            )
        if not path.is_dir():
            raise StorageError(f"{text}: no such file or directory")
        root = path
        found = [
            p for p in path.rglob("*") if not any(part.startswith(".") for part in p.relative_to(path).parts)
        ]
        paths = sorted(p for p in found if p.is_file())
        if not paths:
            raise StorageError(f"{text}: the directory holds no input files{_skipped_note(found)}")
    return [InputObject.of(p, p.relative_to(root).as_posix()) for p in paths]


def _skipped_note(paths: list[Path]) -> str:
    """Names the FIFOs, sockets and devices that were passed over, for an error that found
    nothing else."""
    odd = [(p, kind) for p in paths if (kind := _not_regular(p)) is not None]
    if not odd:
        return ""
    shown = ", ".join(f"{p} ({kind})" for p, kind in odd[:3]) + (", ..." if len(odd) > 3 else "")
    return f" (skipped, not regular files: {shown})"


def safe_relative(name: str, source: str) -> str:
    """``name`` when it is a plain relative path that stays under the directory it is joined
    to; otherwise a :class:`StorageError` that fails the object. An S3 key after the prefix
    may hold anything (``in//tmp/x.csv`` gives ``/tmp/x.csv``, ``in/../../x`` climbs): such a
    name is refused, never rewritten, so two objects never share an output."""
    parts = name.split("/")
    bad = None
    if name.startswith("/"):
        bad = "it is absolute"
    elif any(p in ("", ".", "..") for p in parts):
        bad = "it has an empty, '.' or '..' part"
    elif "\0" in name:
        bad = "it has a NUL character"
    if bad is None:
        return name
    raise StorageError(
        f"{source}: its name after the input prefix, {name!r}, cannot be mapped to a local output "
        f"path ({bad}, so the output would land outside the output directory or under another "
        f"object's name); rename the object or write the outputs to S3"
    )


@contextmanager
def atomic_output(path: Path) -> Iterator[_OutputFile]:
    """Write to a hidden temporary file beside ``path`` and rename it into place only when
    the block succeeds; on any failure the temporary file is removed and ``path`` untouched.
    A failed write (disk full, quota, file size limit) is a :class:`StorageError` naming
    ``path``, not the input being read."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{path.parent}: cannot create the output directory: {exc.strerror}") from exc
    tmp, f = _create_temporary(path)
    out = _OutputFile(f, path, tmp)
    try:
        yield out
        out.wait_placed()
        _output_step(path, f.flush)
        _output_step(path, f.close)
        _output_step(path, lambda: os.replace(tmp, path))
    except BaseException:
        out.cancel_placed()
        try:
            f.close()  # retries a failed flush: that second failure is not news
        except OSError:
            pass
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _create_temporary(path: Path) -> tuple[Path, BinaryIO]:
    """A new hidden file ``.<name>.tmp-<pid>-<random>`` beside ``path``: created exclusively
    and never through a symlink, so a link planted under a guessable name cannot redirect the
    output; the pid lets a later run remove it once this process is gone."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise StorageError(f"{path}: cannot write the output: {exc.strerror}") from exc
        return tmp, os.fdopen(fd, "wb")
    raise StorageError(f"{path}: cannot create a temporary file beside it")


def _output_step(path: Path, step) -> None:
    try:
        step()
    except OSError as exc:
        raise StorageError(f"{path}: cannot write the output: {exc.strerror or exc}") from exc


class _OutputFile:
    """A local output file whose write errors name the output. Besides ``write(data)``,
    ``place(remote)`` has the holder of ``remote`` (a block's output on a Dask worker: see
    :class:`fastjoin.runners.dask.RemoteBytes`) write it at the current end, so the bytes never
    pass through this process; :func:`atomic_output` waits for those writes before renaming."""

    def __init__(self, f: BinaryIO, path: Path, tmp: Optional[Path] = None):
        self._f, self._path, self._tmp = f, path, tmp
        self._placed: list = []  # the writers' futures

    def write(self, data) -> int:
        try:
            return self._f.write(data)
        except OSError as exc:
            raise StorageError(f"{self._path}: cannot write the output: {exc.strerror or exc}") from exc

    def place(self, remote) -> None:
        if not len(remote):
            return
        _output_step(self._path, self._f.flush)
        offset = self._f.tell()
        self._placed.append(remote.put(FileRange(str(self._tmp), offset)))
        self._f.seek(offset + len(remote))  # later writes go after it

    def wait_placed(self) -> None:
        for future in self._placed:
            try:
                future.result()
            except OSError as exc:
                raise StorageError(
                    f"{self._path}: a worker cannot write the output: {exc.strerror or exc} (a Dask "
                    "cluster's workers must see the local output path, as they do the inputs)"
                ) from exc
            except FastjoinError:
                raise
            except Exception as exc:  # e.g. the cluster lost the block for good: this object fails
                raise StorageError(f"{self._path}: a worker cannot write the output: {exc}") from exc
        self._placed = []

    def cancel_placed(self) -> None:
        for future in self._placed:
            future.cancel()
        self._placed = []


@dataclass(frozen=True)
class FileRange:
    """Where one piece of an output goes in the temporary file another process (the driver)
    created: written there by whichever process holds the bytes."""

    path: str
    offset: int

    def put(self, data) -> int:
        # never created here (no O_CREAT): a temporary the driver already removed stays gone
        fd = os.open(self.path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            with memoryview(data) as view:
                done = 0
                while done < len(view):
                    done += os.pwrite(fd, view[done:], self.offset + done)
        finally:
            os.close(fd)
        return done


# ----------------------------------------------------------------------------- S3 objects, gzip


@dataclass(frozen=True)
class S3Object:
    """An input object on S3."""

    s3: Any  # fastjoin.s3.S3
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
    reason: str = ""

    def open(self):
        raise StorageError(self.reason or f"{self.name}: listed in the manifest, but there is no such object")


class _GzipInput:
    """A gzip stream read as its decompressed bytes (concatenated members too); bad data is an
    :class:`InputError` naming the object. ``compressed_bytes`` counts what was read."""

    def __init__(self, raw: BinaryIO, name: str):
        self.raw, self.name = raw, name
        self.compressed_bytes = 0
        self._gz = gzip.GzipFile(fileobj=cast(BinaryIO, self), mode="rb")

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

    def fileno(self) -> int:  # the compressed file's, for InputObject.check_unchanged
        return self._gz.raw.fileno()

    @property
    def opened(self):
        return getattr(self._gz.raw, "opened", None)

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
    root: Optional[Path] = None  # the output location: the file must land inside it

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
        if self.root is not None:
            folder = self.path.parent.resolve()
            if not _inside(folder, self.root.resolve()):
                raise StorageError(
                    f"{self.path}: the output would land in {folder}, outside the output location "
                    f"{self.root} (a symbolic link inside it leads elsewhere); nothing was written"
                )
        _remove_stale_temporaries(self.path)
        return atomic_output(self.path)


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.<name>.tmp-<pid>`` files left beside ``path`` by a process that was killed."""
    if os.name != "posix" or not path.parent.is_dir():
        return
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
        pid = tmp.name.rsplit(".tmp-", 1)[-1].split("-", 1)[0]
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
    s3: Any
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
        if is_s3_uri(text):
            return self._s3_inputs(text, compression)
        return [dataclasses.replace(o, compression=compression) for o in list_inputs(text)]

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

        if is_s3_uri(spec):
            bucket, key = parse_uri(spec)
            data = self.s3.read_bytes(bucket, key)
        else:
            try:
                data = Path(spec).read_bytes()
            except OSError as exc:
                raise StorageError(f"{spec}: cannot read the manifest: {exc.strerror}") from exc
        prefix, keys = parse_manifest(data, spec)
        if is_s3_uri(spec) and not is_s3_uri(prefix):
            # a manifest from a bucket must not name this machine's files: it could copy them out
            raise StorageError(
                f"{spec}: the manifest's prefix {prefix!r} is not an s3:// URI; a manifest stored "
                f"on S3 names S3 objects only"
            )
        local_dir = not is_s3_uri(prefix) and Path(prefix).is_dir()
        folder = (Path(prefix) if local_dir else Path(prefix).parent).resolve()  # entries stay below it
        objects: list = []
        for rel in keys:
            if is_s3_uri(prefix):
                # S3 keys are names, not paths: prefix + entry is the key, '..' and all (the
                # output side refuses names that would escape a local output directory)
                bucket, key = parse_uri(prefix + rel)
                meta = self.s3.head(bucket, key)
                if meta is None:
                    objects.append(MissingObject(f"s3://{bucket}/{key}", rel, 0, compression))
                else:
                    objects.append(S3Object(self.s3, bucket, key, rel, meta[0], meta[1], compression))
                continue
            path = Path(prefix) / rel if local_dir else Path(prefix + rel)
            outside = _outside_prefix(rel) or (
                "leads outside the prefix through a symbolic link"
                if path.exists() and not _inside(path.resolve(), folder)
                else None
            )
            if outside:
                objects.append(
                    MissingObject(
                        str(path),
                        rel,
                        0,
                        compression,
                        f"{spec}: manifest entry {rel!r} {outside}: entries are read relative to the "
                        f"manifest's prefix {prefix!r}, as on SageMaker, and never outside it",
                    )
                )
            elif path.is_file():
                objects.append(InputObject.of(path, rel, compression))
            else:
                kind = _not_regular(path)
                reason = f"{path}: is {kind}, not a regular file" if kind else ""
                objects.append(MissingObject(str(path), rel, 0, compression, reason))
        return objects

    def sink(self, output, name: str, *, kms_key_id: Optional[str] = None, source: str = ""):
        """Where the output called ``name`` (e.g. ``dir/a.csv.out``) goes under ``output``.
        A local output refuses a name that would leave ``output`` (:func:`safe_relative`;
        ``source`` names the input in that error)."""
        text = os.fspath(output)
        if is_s3_uri(text):
            from fastjoin.s3 import join_key, parse_uri

            bucket, prefix = parse_uri(text)
            return S3Sink(self.s3, bucket, join_key(prefix, name), kms_key_id)
        return LocalSink(Path(text) / safe_relative(name, source or name), Path(text))


def _glob_root(text: str) -> Path:
    parts = Path(text).parts
    fixed = parts[: next(i for i, p in enumerate(parts) if _MAGIC & set(p))]
    return Path(*fixed) if fixed else Path(".")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def output_overlap(input_spec, output, *, manifest: bool = False) -> Optional[str]:
    """A warning when the output location is inside the input location (the next run would
    find this run's outputs among its inputs), else None."""
    src, dst = os.fspath(input_spec), os.fspath(output)
    if manifest or is_s3_uri(src) != is_s3_uri(dst):
        return None
    if is_s3_uri(src):
        from fastjoin.s3 import join_key, parse_uri

        (ib, ip), (ob, op) = parse_uri(src), parse_uri(dst)
        folder = join_key(op, "")
        # a raw prefix: outputs under data/ can match the input prefix data/test as well
        inside = ib == ob and (folder.startswith(ip) or ip.startswith(folder))
    else:
        root = _glob_root(src) if any(c in src for c in _MAGIC) else Path(src)
        if not root.is_dir():
            return None
        inside = _inside(Path(dst).resolve(), root.resolve())
    if not inside:
        return None
    return (
        f"the output location {dst} is inside the input location {src}: this job's outputs "
        f"(*{OUTPUT_SUFFIX}, *{OUTPUT_SUFFIX}{DEAD_LETTER_SUFFIX}) found there are not read as inputs, "
        f"but other files written there would be; an output location of its own is safer"
    )


def split_job_outputs(objects: list, output) -> tuple[list, list]:
    """``(inputs, earlier outputs)``: input objects that sit inside ``output`` and are named as
    this job names what it writes (``<name>.out``, dead letters, temporaries) are its own
    earlier outputs, never its inputs (no ``a.csv.out.out`` on the next run)."""
    dst = os.fspath(output)
    if is_s3_uri(dst):
        from fastjoin.s3 import join_key, parse_uri

        bucket, prefix = parse_uri(dst)
        folder = join_key(prefix, "")

        def ours(obj) -> bool:
            return (
                isinstance(obj, S3Object)
                and obj.bucket == bucket
                and obj.key.startswith(folder)
                and _JOB_OUTPUT.fullmatch(obj.key.rsplit("/", 1)[-1]) is not None
            )
    else:
        out_dir = Path(dst).resolve()

        def ours(obj) -> bool:
            return (
                isinstance(obj, InputObject)
                and _JOB_OUTPUT.fullmatch(obj.path.name) is not None
                and _inside(obj.path.resolve().parent, out_dir)
            )

    kept: list = []
    dropped: list = []
    for obj in objects:
        (dropped if ours(obj) else kept).append(obj)
    return kept, dropped


def _outside_prefix(rel: str) -> Optional[str]:
    """Why a local manifest entry would read outside its prefix, or None."""
    if rel.startswith("/") or Path(rel).is_absolute():
        return "is an absolute path"
    if ".." in rel.replace("\\", "/").split("/"):
        return "climbs out with '..'"
    return None


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
