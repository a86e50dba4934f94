"""The one exception hierarchy, and the one place that turns a byte offset into a location.

Cores (compiled and reference) report a status code and a byte offset; the Python layer calls
:func:`locate` and builds the exception here, so both cores produce identical errors.
"""

from __future__ import annotations

import dataclasses
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
    "PayloadTooLargeError",
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

    def shifted(self, lines: int, records: int) -> "Location":
        """This location, found in a chunk (line 1 its first line, record 0 its first record),
        in the whole object: ``lines`` lines and ``records`` records came before the chunk."""
        record = None if self.record is None else self.record + records
        return dataclasses.replace(self, line=self.line + lines, record=record)


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


BLANK_LINE = "blank line (the sagemaker dialect does not skip blank lines)"


def core_message(status: int) -> str:
    """The message for a status code the core (or its twin) returned."""
    from fastjoin import _status as st

    return {
        st.ERR_BARE_QUOTE: 'bare " in non-quoted field (quote the whole field and double the quote)',
        st.ERR_UNTERMINATED_QUOTE: "quoted field is not closed before the end of the line "
        "(records are lines: embedded newlines are not allowed)",
        st.ERR_AFTER_QUOTE: "unexpected character after the closing quote of a field",
        st.ERR_BLANK_LINE: BLANK_LINE,
    }[status]


def snippet(text: str) -> str:
    """A record's text as shown under a message: shortened, control characters escaped."""
    return visible(text if len(text) <= SNIPPET_WIDTH else text[:SNIPPET_WIDTH] + " ...")


def locate(
    source: str,
    buf,
    offset: int,
    *,
    base_offset: int = 0,
    start: int = 0,
    record: int | None = None,
    field: int | None = None,
) -> Location:
    """Build a :class:`Location` for ``offset`` (an index into ``buf``).

    ``buf`` holds complete lines; its byte 0 is at absolute offset ``base_offset`` of the
    source. Lines are counted from ``buf[start]``, which starts line 1: a chunk's location
    is made absolute by :meth:`Location.shifted` once the lines before it are known, so a
    worker that sees one byte range reports exact locations. Line and column are counted
    only here, when an error happens, so the hot path carries nothing but offsets.
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
    hint = encoding_hint(data[line_start:line_end], data[:2] if base_offset == 0 else b"")
    return Location(
        source=source,
        line=1 + data.count(b"\n", start, max(start, line_start)),
        column=column,
        byte_offset=base_offset + offset,
        record=record,
        field=field,
        snippet=snippet(line_bytes.decode("utf-8", "replace")),
        hint=hint,
    )


class FastjoinError(Exception):
    """Base class of every error fastjoin raises.

    ``message`` is the bare cause and ``location`` (optional) where it happened; ``str()``
    puts them together as ``source:line:column: message``. Each class knows the CLI's exit
    code and the HTTP status a server answers with (a client's mistake is a 4xx).
    """

    exit_code = 1
    http_status = 500
    show_snippet = False  # the input line under the message (input errors)

    def __init__(self, message: str = "", location: Location | None = None):
        self.message = message
        self.location = location
        super().__init__(message)

    def __str__(self) -> str:
        location = self.location
        if location is None:
            return super().__str__()
        text = f"{location}: {location.explain(self.message)}"
        if self.show_snippet and location.snippet:
            text += f"\n  {location.snippet}"
        return text

    def shift(self, lines: int, records: int) -> None:
        """Make a location found inside a chunk absolute: ``lines`` lines and ``records``
        records of the object came before the chunk (see :meth:`Location.shifted`)."""
        if self.location is not None:
            self.location = self.location.shifted(lines, records)


class ConfigError(FastjoinError, ValueError):
    """Options that cannot work together, or a bad value; raised before any data is read.

    ``problems`` lists every problem found, one sentence each (``str()`` lists them under
    ``what``), so callers merge and show them without parsing the text.
    """

    exit_code = 2
    http_status = 400

    def __init__(self, message: str = "", problems: list[str] | None = None):
        self.problems = list(problems) if problems is not None else [message]
        super().__init__(message if problems is None else _listed(message, self.problems))

    @classmethod
    def of(cls, what: str, problems: list[str]) -> "ConfigError":
        """One error for several problems: ``what:`` then a ``- problem`` line each."""
        return cls(what, problems)


def _listed(what: str, problems: list[str]) -> str:
    return what + ":\n- " + "\n- ".join(problems)


class PathSyntaxError(FastjoinError, ValueError):
    """A JSONPath filter that does not compile.

    ``message`` is the bare text (SageMaker's exact wording in the ``sagemaker`` dialect);
    ``str()`` adds the expression with a caret under ``position`` (0-based), and leads with
    ``role`` (``InputFilter``, ``OutputFilter``: which option the filter came from) when it is
    known and the message does not already name it (``names_role``: SageMaker's own texts).
    """

    exit_code = 2
    http_status = 400

    def __init__(
        self,
        message: str,
        expression: str,
        position: int,
        role: str | None = None,
        *,
        names_role: bool = False,
    ):
        self.expression = expression
        self.position = position
        self.role = role
        self.names_role = names_role
        super().__init__(message)

    def __str__(self) -> str:
        lead = f"{self.role}: " if self.role and not self.names_role else ""
        return f"{lead}{self.message}\n  {self.expression}\n  {' ' * self.position}^"


class InputError(FastjoinError, ValueError):
    """Bad input data; carries a :class:`Location` and prints as ``source:line:column: message``
    with the line's text under it."""

    exit_code = 3
    http_status = 415  # data the server cannot parse (SPEC §6)
    show_snippet = True


class CsvError(InputError):
    """Malformed CSV: a bare or unterminated quote, a stray character after a quote, a blank line."""


class JsonLinesError(InputError):
    """Malformed JSON Lines input."""


class FeatureError(InputError):
    """A record whose features cannot feed the model: not a number, wrong width, index out of range."""

    http_status = 400  # parsed, but it cannot be predicted

    def __init__(self, message: str, location: Location | None = None, path: str | None = None):
        self.path = path
        super().__init__(message, location)


class PayloadTooLargeError(FeatureError):
    """A record larger than ``MaxPayloadInMB``: no request can carry it to the model."""

    http_status = 413


class ModelError(FastjoinError, ValueError):
    """A model that cannot be loaded or used: unknown format, pickle, feature-count mismatch."""

    exit_code = 4
    http_status = 400  # the request's records do not fit the model (a server's model loads at start)


class OutputError(FastjoinError):
    """Output that cannot be produced, e.g. a container response with the wrong number of lines."""

    exit_code = 5


class StorageError(FastjoinError, OSError):
    """Reading or writing an input or output object failed."""

    exit_code = 6
    code: str | None = None  # the S3 error code (NoSuchKey, AccessDenied...) when there is one
