"""Local storage: which input objects a path names, where their outputs go, and writing an
output so that a final name only ever holds a complete result."""
from __future__ import annotations

import glob
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from fastjoin.errors import StorageError

_MAGIC = set("*?[")


@dataclass(frozen=True)
class InputObject:
    path: Path
    relative: str   # path relative to the input root, with '/' separators
    size: int


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
        paths = sorted(p for p in path.rglob("*")
                       if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
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


def read_chunks(f: BinaryIO, chunk_size: int) -> Iterator[tuple[bytes, int, int, int]]:
    """Read a stream as chunks of complete lines: yields ``(buf, end, base_offset, base_line)``
    where ``buf[:end]`` is whole lines (the last chunk may lack a final newline), ``buf[0]``
    is at ``base_offset`` and starts line ``base_line``. Memory stays near ``chunk_size``
    unless a single line is longer."""
    carry = b""
    offset = 0
    line = 1
    while True:
        block = f.read(chunk_size)
        if not block:
            if carry:
                yield carry, len(carry), offset, line
            return
        buf = carry + block if carry else block
        cut = buf.rfind(b"\n") + 1
        if cut == 0:
            carry = buf  # a line longer than a chunk: keep reading
            continue
        yield buf, cut, offset, line
        line += buf.count(b"\n", 0, cut)
        offset += cut
        carry = buf[cut:]
