"""The one exception hierarchy, and the one place that turns a byte offset into a location.

Cores (compiled and reference) report a status code and a byte offset; the Python layer calls
:func:`locate` and builds the exception here, so both cores produce identical errors.
"""

from __future__ import annotations

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
]

SNIPPET_WIDTH = 96


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

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


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
    line_end = data.find(b"\n", offset)
    if line_end < 0:
        line_end = len(data)
    line_bytes = data[line_start:line_end].rstrip(b"\r")
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    text = line_bytes.decode("utf-8", "replace")
    snippet = text if len(text) <= SNIPPET_WIDTH else text[:SNIPPET_WIDTH] + " ..."
    return Location(
        source=source,
        line=base_line + data.count(b"\n", 0, line_start),
        column=column,
        byte_offset=base_offset + offset,
        record=record,
        field=field,
        snippet=snippet,
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
        text = f"{location}: {message}" if location else message
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
