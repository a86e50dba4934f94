"""The one exception hierarchy, and the one place that turns a byte offset into a location.

Cores (compiled and reference) report a status code and a byte offset; the Python layer calls
:func:`locate` and builds the exception here, so both cores produce identical errors.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

__all__ = [
    "FastjoinError",
    "ConfigError",
    "PathSyntaxError",
    "InputError",
    "CsvError",
    "JsonLinesError",
    "FeatureError",
    "ModelError",
    "OutputError",
    "StorageError",
    "Location",
    "locate",
    "encoding_hint",
]

SNIPPET_WIDTH = 96
UTF8_BOM = b"\xef\xbb\xbf"  # marks the encoding at an object's start; not data (extended)


def file_kind(mode: int) -> str | None:
    """What a file that is not a regular file is (``named pipe (FIFO)``, ``character
    device``...), from its ``st_mode``, for a message; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, kind in (
        (stat.S_ISFIFO, "named pipe (FIFO)"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "directory"),
    ):
        if test(mode):
            return kind
    return "special file"


def plural(n: int, noun: str, nouns: str | None = None, *, grouped: bool = False) -> str:
    """A count and its noun in agreement: ``1 field``, ``2 fields`` (``nouns`` for irregulars;
    ``grouped``: thousands separators, ``12,345 records``)."""
    count = f"{n:,}" if grouped else str(n)
    return f"{count} {noun if n == 1 else nouns or noun + 's'}"


@dataclass(frozen=True)
class Location:
    """Where in an input object something went wrong.

    ``line`` is the 1-based physical line, ``column`` the 1-based character column in that
    line, ``byte_offset`` the 0-based absolute offset in the source, ``record`` the 0-based
    index of the record (blank lines skipped), ``field`` the 1-based CSV field when known.
    """

    source: str
    line: int
    column: int
    byte_offset: int
    record: int | None = None
    field: int | None = None
    snippet: str = ""
    hint: str = ""  # a likely cause the message cannot show (encoding_hint), or ""

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"

    def explain(self, message: str) -> str:
        """``message`` with the hint, if any, after it."""
        return f"{message}; {self.hint}" if self.hint else message


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_VISIBLE = {c: repr(chr(c))[1:-1] for c in [*range(0x20), 0x7F] if c != 0x09}


def visible(text: str) -> str:
    """A snippet with control characters escaped: a raw \\r would send the terminal's cursor
    back over the message, a NUL would vanish."""
    return text.translate(_VISIBLE)


def encoding_hint(line: bytes, object_start: bytes = b"") -> str:
    """What an input error may really be about when the object is not the UTF-8 text with \\n
    line endings that fastjoin reads: UTF-16 (a byte-order mark at the start, or NUL bytes
    between ASCII characters) or old Mac CR-only line endings (a \\r inside the line, which
    is then the whole object). ``line`` is the failing line without its \\n, ``object_start``
    the object's first bytes when the line's buffer holds them. "" when nothing is suspect.

    Called only while an error is being built, never on the hot path.
    """
    bom = object_start[:2] in _UTF16_BOMS
    if bom or _nul_interleaved(line[:1024]):
        why = "it starts with a UTF-16 byte-order mark" if bom else "NUL bytes between its characters"
        return (
            f"the object looks like UTF-16 ({why}), but fastjoin reads UTF-8: convert it, "
            f"e.g. with iconv -f UTF-16 -t UTF-8"
        )
    if b"\r" in line.rstrip(b"\r"):
        return (
            "the line holds a carriage return (\\r) that no \\n follows: with old Mac (CR-only) "
            "line endings the whole object reads as one line; convert them to \\n, e.g. with "
            "tr '\\r' '\\n'"
        )
    return ""


def _nul_interleaved(sample: bytes) -> bool:
    """ASCII text in UTF-16: a NUL in every other byte (odd or even, as the line may start on
    either half of a character), few on the other side."""
    if len(sample) < 4:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    most, least = max(even, odd), min(even, odd)
    return most * 4 >= len(sample) and least * 8 <= most


def locate(
    source: str,
    buf,
    offset: int,
    *,
    base_offset: int = 0,
    base_line: int = 1,
    record: int | None = None,
    field: int | None = None,
) -> Location:
    """Build a :class:`Location` for ``offset`` (an index into ``buf``).

    ``buf`` holds complete lines; its byte 0 is at absolute offset ``base_offset`` of the
    source and starts line ``base_line``. Line and column are counted only here, when an
    error happens, so the hot path carries nothing but offsets.
    """
    data = bytes(memoryview(buf)[: len(buf)])  # errors only: a copy is fine
    offset = max(0, min(offset, len(data)))
    line_start = data.rfind(b"\n", 0, offset) + 1
    if line_start == 0 and base_offset == 0 and data.startswith(UTF8_BOM):
        line_start = 3  # editors do not show a UTF-8 BOM: columns count from after it
    line_end = data.find(b"\n", offset)
    if line_end < 0:
        line_end = len(data)
    line_bytes = data[line_start:line_end].rstrip(b"\r")
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    text = line_bytes.decode("utf-8", "replace")
    snippet = text if len(text) <= SNIPPET_WIDTH else text[:SNIPPET_WIDTH] + " ..."
    hint = encoding_hint(data[line_start:line_end], data[:2] if base_offset == 0 else b"")
    return Location(
        source=source,
        line=base_line + data.count(b"\n", 0, line_start),
        column=column,
        byte_offset=base_offset + offset,
        record=record,
        field=field,
        snippet=visible(snippet),
        hint=hint,
    )


class FastjoinError(Exception):
    """Base class of every error fastjoin raises."""

    exit_code = 1


class ConfigError(FastjoinError, ValueError):
    """Options that cannot work together, or a bad value; raised before any data is read."""

    exit_code = 2


class PathSyntaxError(FastjoinError, ValueError):
    """A JSONPath filter that does not compile.

    ``message`` is the bare text (SageMaker's exact wording in the ``sagemaker`` dialect);
    ``str()`` adds the expression with a caret under ``position`` (0-based).
    """

    exit_code = 2

    def __init__(self, message: str, expression: str, position: int):
        self.message = message
        self.expression = expression
        self.position = position
        super().__init__(f"{message}\n  {expression}\n  {' ' * position}^")


class InputError(FastjoinError, ValueError):
    """Bad input data; carries a :class:`Location` and prints as ``source:line:column: message``."""

    exit_code = 3

    def __init__(self, message: str, location: Location | None = None):
        self.message = message
        self.location = location
        text = f"{location}: {location.explain(message)}" if location else message
        if location is not None and location.snippet:
            text += f"\n  {location.snippet}"
        super().__init__(text)


class CsvError(InputError):
    """Malformed CSV: a bare or unterminated quote, a stray character after a quote, a blank line."""


class JsonLinesError(InputError):
    """Malformed JSON Lines input."""


class FeatureError(InputError):
    """A record whose features cannot feed the model: not a number, wrong width, index out of range."""

    def __init__(self, message: str, location: Location | None = None, path: str | None = None):
        self.path = path
        super().__init__(message, location)


class ModelError(FastjoinError, ValueError):
    """A model that cannot be loaded or used: unknown format, pickle, feature-count mismatch."""

    exit_code = 4


class OutputError(FastjoinError):
    """Output that cannot be produced, e.g. a container response with the wrong number of lines."""

    exit_code = 5


class StorageError(FastjoinError, OSError):
    """Reading or writing an input or output object failed."""

    exit_code = 6
    code: str | None = None  # the S3 error code (NoSuchKey, AccessDenied...) when there is one
