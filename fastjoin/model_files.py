"""Model artefacts: read a model from a path into bytes, then into a booster.

A path is a model file (format detected from the bytes, never the extension), a SageMaker
``model.tar.gz`` artefact (gzip or plain tar, read as a stream and never extracted) or a
directory holding one model, read within a size limit; a pickle is unpickled only when
allowed. :func:`fastjoin.predictor.load_model` turns the booster into a predictor.

xgboost is imported lazily (only to unpickle): ``import fastjoin.model_files`` must stay cheap
and must work without xgboost installed.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from fastjoin.errors import ModelError, file_kind
from fastjoin.libxgboost import NativeBooster

if TYPE_CHECKING:  # type hints only; the real import is lazy
    import xgboost

__all__ = ["MODEL_MEMBER", "DEFAULT_MAX_MODEL_BYTES", "ARCHIVE_SLACK", "model_size_problem"]

#: The file name SageMaker's XGBoost container gives its model inside ``model.tar.gz``.
MODEL_MEMBER = "xgboost-model"
_MODEL_SUFFIXES = (".json", ".ubj", ".bin", ".model", ".bst")

#: The most a model read from a path may hold (``max_model_bytes``, ``--max-model-size``).
#: XGBoost models are tens to hundreds of MB: a JSON model takes ~57 bytes per tree node and
#: UBJ ~36, so 1 GiB is ~19-30 million nodes (5,000 full trees of depth 12), and libxgboost
#: needs ~12x a JSON model's size in memory to parse it. Past that a file is far likelier a
#: mistake, a device or a decompression bomb than a model this machine could load.
DEFAULT_MAX_MODEL_BYTES = 1 << 30
#: What an archive may expand to beyond the model: tar headers and padding, and small files
#: such as a README or code/inference.py.
ARCHIVE_SLACK = 16 << 20

_PICKLE_MESSAGE = (
    "{source} is a Python pickle. Pickles can run arbitrary code when they are loaded, so "
    "fastjoin does not unpickle models by default. Re-save the model in XGBoost's own format "
    'with booster.save_model("model.json") (for XGBClassifier/XGBRegressor: '
    'model.get_booster().save_model("model.json")), or, if you trust the file, pass '
    "allow_pickle=True in Python (--allow-pickle on the command line)."
)


def _import_xgboost():
    """Import xgboost on demand, turning its absence into a ModelError that says what to install."""
    try:
        import xgboost
    except ImportError as exc:
        raise ModelError(
            "running an XGBoost model needs the xgboost package: "
            'pip install "fastjoin[xgboost]" (or the lean CPU-only wheel: pip install xgboost-cpu)'
        ) from exc
    return xgboost


# -- model size ---------------------------------------------------------------------------------


def model_size_problem(value, name: str = "max_model_bytes") -> str | None:
    """What is wrong with a ``max_model_bytes`` option, or None (one wording for every caller;
    ``name``: how the caller spells the option, e.g. ``--max-model-size``)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return None
    return f"{name} must be a positive number of bytes, not {value!r}"


def _human(n: int) -> str:
    """``1 GiB``, ``1.5 MiB``; exact bytes when no unit says it exactly."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and (n * 4) % size == 0:  # whole or quarter units only: no rounding
            return f"{n / size:g} {unit}"
    return f"{n:,} bytes" if n != 1 else "1 byte"


def _too_big(what: str, size: int | None, limit: int, extra: str = "") -> ModelError:
    """The error for a model over the limit (``size`` None: more than the limit, size unknown):
    what the limit is, why there is one, and how to raise it."""
    if size is None:
        shown, wanted = f"more than {_human(limit)}", 2 * limit
    else:
        shown, wanted = _human(size), size
        if shown != f"{size:,} bytes":
            shown += f" ({size:,} bytes)"
        elif size >= 1 << 10:  # no exact unit: the bytes, and roughly in a unit
            unit, name = next(
                u for u in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")) if size >= u[0]
            )
            shown += f" ({size / unit:.2f} {name})"
    unit, name = (1 << 30, "GiB") if wanted >= 1 << 30 else (1 << 20, "MiB")
    suggestion = f"{-(-wanted // unit)}{name}"  # whole units, rounded up
    return ModelError(
        f"{what} is {shown}, over the model size limit of {_human(limit)}{extra}: fastjoin stops "
        f"there so that a corrupt file, a device or a decompression bomb cannot exhaust memory. If "
        f"it really is a model that large, raise the limit: max_model_bytes= in Python, "
        f"--max-model-size {suggestion} on the command line"
    )


# -- reading a model from a path ----------------------------------------------------------------


def _not_regular(path, kind: str) -> ModelError:
    return ModelError(
        f"model {path} is a {kind}, not a regular file: fastjoin reads a model from a file, a "
        f"model.tar.gz or a directory, and does not open a {kind} (reading it could block "
        f"forever or never end); save the model to a file and pass that"
    )


def _open_regular(path: Path):
    """Open a regular file for reading; anything else is refused *before* it is opened
    (opening a FIFO blocks until a writer comes; a device may never end)."""
    try:
        kind = file_kind(os.stat(path).st_mode)
    except FileNotFoundError:
        raise ModelError(f"model not found: {path}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from exc
    if kind:
        raise _not_regular(path, kind)
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, open still returns
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ModelError(f"model not found: {path}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from exc
    f = os.fdopen(fd, "rb")
    kind = file_kind(os.fstat(fd).st_mode)
    if kind:
        f.close()
        raise _not_regular(path, kind)
    return f


def _read_bounded(f, what: str, limit: int) -> bytes:
    """Read a regular file whole, refusing it by its size first (and if it grows meanwhile)."""
    size = os.fstat(f.fileno()).st_size
    if size > limit:
        raise _too_big(what, size, limit)
    raw = f.read(size)
    if f.read(1):  # more than its size said: growing, or a pseudo-file; either way not a model
        raise ModelError(f"{what} changed while it was read (it held more than its size, {size:,} bytes)")
    return raw


def _booster_from_path(path: Path, *, allow_pickle: bool, limit: int) -> NativeBooster | xgboost.Booster:
    if path.is_dir():
        source, raw = _read_from_dir(path, limit)
        return _booster_from_bytes(raw, source, allow_pickle=allow_pickle)
    with _open_regular(path) as f:
        try:
            head = f.read(512)
            f.seek(0)
            gzipped = head[:2] == b"\x1f\x8b"
            if gzipped or head[257:262] == b"ustar":  # gzip or tar magic
                source, raw = _read_from_tar(f, path, limit, gzipped)
            else:
                source, raw = str(path), _read_bounded(f, f"model file {path}", limit)
        except OSError as exc:
            raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from exc
    return _booster_from_bytes(raw, source, allow_pickle=allow_pickle)


def _is_model_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(_MODEL_SUFFIXES)


def _choose_member(names: list[str], where: str, skipped: dict[str, str] | None = None) -> str:
    """Pick ``xgboost-model``, else the single file that looks like a model. ``skipped``:
    entries that are not candidates, with the reason, for the message when nothing fits."""
    if MODEL_MEMBER in names:
        return MODEL_MEMBER
    found = sorted(n for n in names if _is_model_name(n))
    if len(found) == 1:
        return found[0]
    if found:
        raise ModelError(
            f"{where} holds {len(found)} model files ({', '.join(found)}) and no "
            f"{MODEL_MEMBER}; fastjoin runs one model: pass the file to use"
        )
    skipped = skipped or {}
    # entries named like a model first: they are the ones the user meant
    shown = sorted(
        [(name, "") for name in names] + list(skipped.items()),
        key=lambda item: (not _looks_meant(item[0]), item[0]),
    )
    listing = ", ".join(f"{name} ({why})" if why else name for name, why in shown[:10])
    if len(shown) > 10:
        listing += f", ... ({len(shown) - 10} more)"
    raise ModelError(
        f"{where} holds no {MODEL_MEMBER} and no model file ({', '.join(_MODEL_SUFFIXES)}); "
        f"found: {listing or 'nothing'}"
    )


def _looks_meant(name: str) -> bool:
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return base == MODEL_MEMBER or _is_model_name(base)


#: Why an entry below the top of an archive or directory is not loaded: the container lists
#: the top of /opt/ml/model and loads a regular file from there, never from a subdirectory.
_TOP_ONLY = (
    "SageMaker's XGBoost container loads only files at the top of /opt/ml/model, where "
    "model.tar.gz is unpacked, and so does fastjoin"
)


def _read_from_dir(path: Path, limit: int) -> tuple[str, bytes]:
    names, skipped = [], {}
    try:
        for entry in os.scandir(path):
            if entry.is_file():  # follows symbolic links, as the container's os.path.isfile does
                names.append(entry.name)
            elif os.path.lexists(os.path.join(entry.path, MODEL_MEMBER)):  # a stat, no open
                skipped[f"{entry.name}/{MODEL_MEMBER}"] = f"in a subdirectory: {_TOP_ONLY}"
            elif entry.is_dir():
                skipped[entry.name + "/"] = f"a subdirectory: {_TOP_ONLY}"
            elif entry.is_symlink() and not os.path.exists(entry.path):
                skipped[entry.name] = "a broken symbolic link"
            else:
                skipped[entry.name] = f"a {file_kind(entry.stat().st_mode)}, not a regular file"
    except OSError as exc:
        raise ModelError(f"cannot read model directory {path}: {exc.strerror or exc}") from exc
    member = path / _choose_member(names, f"model directory {path}", skipped)
    with _open_regular(member) as f:
        try:
            return str(member), _read_bounded(f, f"model file {member}", limit)
        except OSError as exc:
            raise ModelError(f"cannot read model {member}: {exc.strerror or exc}") from exc


def _unsafe_member_name(name: str) -> bool:
    posix = name.replace("\\", "/")
    return (
        posix.startswith("/")
        or re.match(r"^[A-Za-z]:", posix) is not None
        or ".." in PurePosixPath(posix).parts
        or "\0" in name
    )


class _ArchiveTooBig(Exception):
    """Raised by :class:`_Budget` when an archive expands past its budget."""


class _Budget:
    """A reader that counts the bytes read through it and fails past ``limit``: an archive is
    decompressed as it streams, so a gzip bomb stops at the limit and is never held whole."""

    def __init__(self, f, limit: int):
        self.f, self.limit, self.count = f, limit, 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:  # never unbounded: at most one byte past the budget
            n = self.limit + 1 - self.count
        data = self.f.read(n)
        self.count += len(data)
        if self.count > self.limit:
            raise _ArchiveTooBig()
        return data


def _describe_member(m: tarfile.TarInfo, name: str) -> str | None:
    """Why a tar member (``name``: without a leading ``./``) is not a candidate, or None when it
    is a top-level regular file."""
    if m.issym() or m.islnk():
        kind = "symbolic" if m.issym() else "hard"
        return (
            f"a {kind} link to {m.linkname!r}: fastjoin reads the archive without extracting it "
            f"and does not follow links; put the model file itself in the archive"
        )
    if not m.isfile():
        return None if m.isdir() else "not a regular file"
    return f"in a subdirectory: {_TOP_ONLY}" if "/" in name.rstrip("/") else None


def _read_from_tar(f: io.BufferedReader, path: Path, limit: int, gzipped: bool) -> tuple[str, bytes]:
    """Read the model member into memory; nothing is ever extracted to disk.

    The archive is read as a stream: gzip is decompressed as it goes and every byte counts
    against ``limit`` plus :data:`ARCHIVE_SLACK`; a member's size is checked from its header
    before its data is read. Only ``xgboost-model`` or the first member named like a model is
    held (the choice is made once every header has been seen).
    """
    budget = limit + ARCHIVE_SLACK
    files: list[str] = []  # top-level regular files
    skipped: dict[str, str] = {}  # other entries, with the reason they are not loaded
    bad: list[str] = []
    held: dict[str, bytes] = {}
    try:
        stream = gzip.GzipFile(fileobj=f, mode="rb") if gzipped else f
        # typeshed's fileobj protocol also asks for write/seek/tell/close, which a stream ("r|") never calls
        with tarfile.open(fileobj=_Budget(stream, budget), mode="r|") as tar:  # type: ignore[call-overload]
            for m in tar:
                name = m.name[2:] if m.name.startswith("./") else m.name
                if _unsafe_member_name(m.name):
                    bad.append(m.name)
                    continue
                why = _describe_member(m, name)
                if why:
                    skipped[name] = why
                    continue
                if not m.isfile():
                    continue  # a directory: its files are listed on their own
                files.append(name)
                # xgboost-model is always read; else the first file named like a model (a
                # second one makes _choose_member refuse the archive, so it is not read)
                wanted = name == MODEL_MEMBER or (not held and _is_model_name(name))
                if not wanted:
                    continue
                if m.size > limit:  # from the header: refused before its data is read
                    raise _too_big(f"member {name} of model archive {path}", m.size, limit)
                data = tar.extractfile(m)
                assert data is not None  # regular files always have data
                held = {name: data.read()}  # xgboost-model replaces a candidate held before
    except _ArchiveTooBig:
        extra = f" (plus {_human(ARCHIVE_SLACK)} for the archive's headers and other files)"
        raise _too_big(f"model archive {path}, decompressed,", None, limit, extra) from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ModelError(f"{path} looks like a tar/gzip archive but cannot be read: {exc}") from exc
    if bad:  # a SageMaker artefact never has these; refuse rather than guess
        raise ModelError(
            f"{path} has unsafe member names (absolute or with '..'): {', '.join(bad[:5])}; refusing to read it"
        )
    name = _choose_member(files, f"model archive {path}", skipped)
    return f"{path}:{name}", held[name]


def _booster_from_bytes(
    raw: bytes, source: str, *, allow_pickle: bool
) -> NativeBooster | xgboost.Booster:  # a Booster only when unpickled
    if not raw:  # XGBoost aborts the whole process on an empty buffer
        raise ModelError(f"model file {source} is empty")
    if _is_pickle(raw):
        if not allow_pickle:
            raise ModelError(_PICKLE_MESSAGE.format(source=source))
        return _unpickle(raw, source)
    try:
        # libxgboost directly: `import xgboost` would cost a second of imports (see libxgboost)
        return NativeBooster.from_bytes(raw)  # the format comes from the bytes, not the name
    except ModelError as exc:
        if "pip install" in str(exc):
            raise
        message = f"{source} is not an XGBoost model that this xgboost can read"
        if raw.lstrip()[:1] != b"{":  # neither JSON nor UBJ: maybe the legacy binary format
            message += (
                " (it is neither JSON nor UBJ; a legacy binary model needs an older "
                "xgboost: load it there and re-save it with "
                'booster.save_model("model.json"))'
            )
        raise ModelError(f"{message}: {exc}") from exc


#: Opcodes a protocol 0/1 pickle of a model (or of a dict or list holding one) starts with:
#: GLOBAL ("ccopy_reg\n_reconstructor"), MARK ("(dp0"), EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE.
_OLD_PICKLE_STARTS = frozenset(b"c(}])")


def _is_pickle(raw: bytes) -> bool:
    """Whether ``raw`` is a pickle. Protocol 2+ starts with the PROTO opcode (0x80; SageMaker
    XGBoost < 1.3 wrote these). Protocols 0/1 have no header, so the bytes must parse as
    opcodes (without running them) up to a STOP that ends the data, naming a class on the way
    (a model is an object): JSON and UBJ start with '{', which is no opcode, and a legacy binary
    model or other data fails to parse within a few bytes."""
    if raw[:1] == b"\x80":
        return True
    if raw[0] not in _OLD_PICKLE_STARTS:
        return False
    import pickletools

    names_a_class = False
    try:
        for opcode, _, position in pickletools.genops(raw):
            names_a_class = names_a_class or opcode.name in ("GLOBAL", "INST")
            if opcode.name == "STOP":
                return names_a_class and position == len(raw) - 1
    except (ValueError, UnicodeDecodeError):  # not an opcode stream
        return False
    return False


def _unpickle(raw: bytes, source: str) -> xgboost.Booster:
    import pickle

    xgb = _import_xgboost()
    try:
        obj = pickle.loads(raw)  # allowed explicitly by the caller
    except Exception as exc:
        raise ModelError(f"cannot unpickle {source}: {type(exc).__name__}: {exc}") from exc
    if isinstance(obj, xgb.Booster):
        return obj
    get_booster = getattr(obj, "get_booster", None)
    if callable(get_booster):
        booster = get_booster()
        if isinstance(booster, xgb.Booster):
            return booster
    raise ModelError(f"{source} unpickles to a {type(obj).__name__}, not an XGBoost model")
