"""The error policy (``extended``): which bad records fail an object and where skipped ones go.

``on_error="fail"`` (default) is SageMaker's rule: the first bad record fails its input object,
which gets no ``.out``. ``on_error="skip"`` drops bad records from the output and writes each
one to a dead-letter file beside it, ``<name>.out.errors.jsonl``, one JSON object per line::

    {"source": "s3://bucket/in/a.csv", "line": 7, "column": 12, "offset": 311,
     "record": "842308,1.5,x,...", "reason": "field 3: expected a number, got 'x'"}

``offset`` is the byte offset of the record's first byte in the (uncompressed) object;
``record`` its text without the line terminator (invalid UTF-8 is replaced, and the exact
bytes are then also given as ``record_base64``). ``max_errors`` fails the object when
exceeded: a count (``10``: the 11th bad record fails it) or a fraction of the object's records
(``0.01``: checked when the object ends). Records modules report :class:`DeadLetter` entries
per chunk; :class:`DeadLetters` counts them, applies the threshold and streams them out.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

import orjson

from fastjoin.errors import ConfigError, FastjoinError, InputError, Location, encoding_hint, plural, snippet

__all__ = ["ON_ERROR", "ErrorPolicy", "DeadLetter", "DeadLetters", "parse_max_errors", "DEAD_LETTER_SUFFIX"]

ON_ERROR = ("fail", "skip")
DEAD_LETTER_SUFFIX = ".errors.jsonl"  # appended to the output name: <name>.out.errors.jsonl

MaxErrors = Union[int, float, None]

#: How a message names an option (``say("on_error")``) or an option set to a value
#: (``say("on_error", "skip")``): :func:`python_spelling`, or the command line's flags
#: (:meth:`fastjoin.options.TransformOptions.spelling`). None: the Python spelling.
Spelling = Optional[Callable[..., str]]


def python_spelling(option: str, *value: Any) -> str:
    """``on_error``, and with a value ``on_error='skip'``: an option as Python code names it."""
    return f"{option}={value[0]!r}" if value else option


@dataclass(frozen=True)
class ErrorPolicy:
    """``on_error`` and ``max_errors``, validated; build with :meth:`create`."""

    on_error: str = "fail"
    max_errors: MaxErrors = None

    @property
    def skip(self) -> bool:
        return self.on_error == "skip"

    @staticmethod
    def problems(on_error, max_errors, dialect: str = "extended", say: Spelling = None) -> list[str]:
        """What is wrong with these options (empty when they are fine), each option spelled by
        ``say`` (default :func:`python_spelling`; the command line passes its flags')."""
        say = say or python_spelling
        out = []
        if on_error not in ON_ERROR:
            out.append(f"{say('on_error')} must be one of {ON_ERROR}, not {on_error!r}")
        elif on_error == "skip" and dialect == "sagemaker":
            out.append(
                f"{say('on_error', 'skip')} is an extension: it needs {say('dialect', 'extended')} "
                f"(SageMaker fails the whole object on a bad record)"
            )
        if max_errors is not None:
            name = say("max_errors")
            if isinstance(max_errors, bool) or not isinstance(max_errors, (int, float)):
                out.append(
                    f"{name} must be a count (int >= 0) or a fraction (float between 0 "
                    f"and 1), not {max_errors!r}"
                )
            elif isinstance(max_errors, int) and max_errors < 0:
                out.append(f"{name} must not be negative, not {max_errors!r}")
            elif isinstance(max_errors, float) and not 0.0 <= max_errors <= 1.0:
                out.append(
                    f"{name} as a fraction must be between 0 and 1 (0% to 100%), not {max_errors!r} "
                    f"(a count is a whole number)"
                )
            elif on_error != "skip":
                out.append(
                    f"{name} needs {say('on_error', 'skip')} (with 'fail' the first bad record "
                    f"fails its object)"
                )
        return out

    @classmethod
    def create(
        cls, on_error: str = "fail", max_errors: MaxErrors = None, dialect: str = "extended"
    ) -> "ErrorPolicy":
        problems = cls.problems(on_error, max_errors, dialect)
        if problems:
            raise ConfigError.of("invalid error policy", problems)
        return cls(on_error, max_errors)

    def describe(self) -> str:
        if not self.skip:
            return "fail"
        if self.max_errors is None:
            return "skip (no limit)"
        if isinstance(self.max_errors, float):
            return f"skip (at most {self.max_errors:.4g} of the records)"
        return f"skip (at most {self.max_errors} bad records per object)"


def parse_max_errors(text: str) -> MaxErrors:
    """``"10"`` → 10, ``"0.01"`` → 0.01, ``"5%"`` → 0.05 (the command line's form)."""
    text = text.strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100.0
        if any(c in text for c in ".eE"):
            return float(text)
        return int(text)
    except ValueError:
        raise ConfigError(
            f"--max-errors must be a count (10), a fraction (0.01) or a percentage (1%), not {text!r}"
        ) from None


@dataclass(frozen=True)
class DeadLetter:
    """One skipped record: where it is, its raw bytes and why it was skipped."""

    source: str
    line: int
    column: int
    offset: int  # byte offset of the record's first byte in the source
    record: bytes  # the record without its line terminator
    reason: str

    def location(self) -> Location:
        hint = encoding_hint(self.record, self.record[:2] if self.offset == 0 else b"")
        return Location(
            self.source,
            self.line,
            self.column,
            self.offset,
            snippet=snippet(self.record.decode("utf-8", "replace")),
            hint=hint,
        )

    def shifted(self, lines: int) -> "DeadLetter":
        """This entry, found in a chunk (line 1 its first line), in the whole object."""
        return dataclasses.replace(self, line=self.line + lines)

    def to_json(self) -> bytes:
        try:
            text = self.record.decode("utf-8")
            extra = {}
        except UnicodeDecodeError:
            text = self.record.decode("utf-8", "replace")
            extra = {"record_base64": base64.b64encode(self.record).decode("ascii")}
        entry = {
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "offset": self.offset,
            "record": text,
            "reason": self.reason,
            **extra,
        }
        return orjson.dumps(entry) + b"\n"


class DeadLetters:
    """Counts one object's bad records against the policy and streams them to ``sink``.

    ``sink`` has ``open()`` (a context manager giving a writable, committed when the block
    ends without error), ``exists()`` and ``remove()``; it is opened at the first bad record,
    so objects without errors get no file (the runner removes a stale one from an earlier run
    once the new output is in place).
    With ``sink=None`` entries are kept in :attr:`entries`.
    """

    def __init__(self, policy: ErrorPolicy, sink=None):
        self.policy = policy
        self.sink = sink
        self.count = 0
        self.entries: list[DeadLetter] = []
        self._ctx: Any = None  # the sink's open() context and the file it gave
        self._out: Any = None

    def add(self, entries) -> None:
        """Take a chunk's entries (in input order); raise when the count limit is passed."""
        limit = self.policy.max_errors
        for entry in entries:
            self.count += 1
            if isinstance(limit, int) and self.count > limit:
                self.abort()
                raise InputError(
                    f"more than {plural(limit, 'bad record')} (the max_errors limit, --max-errors {limit}); "
                    f"this one: {entry.reason}",
                    entry.location(),
                )
            self._write(entry)

    def _write(self, entry: DeadLetter) -> None:
        if self.sink is None:
            self.entries.append(entry)
            return
        if self._out is None:
            self._ctx = self.sink.open()
            self._out = self._ctx.__enter__()
        self._out.write(entry.to_json())

    def finish(self, records_out: int, source: str) -> Optional[str]:
        """The object ended: apply a fractional limit, then commit the file. Returns the
        dead-letter file's name, or None when there were no bad records."""
        limit = self.policy.max_errors
        total = records_out + self.count
        if isinstance(limit, float) and total and self.count > limit * total:
            self.abort()
            raise InputError(
                f"{source}: {self.count} of {total} records are bad "
                f"({self.count / total:.2%}), more than the max_errors limit (--max-errors {limit:g})"
            )
        if self._ctx is not None:
            ctx, self._ctx, self._out = self._ctx, None, None
            ctx.__exit__(None, None, None)
            return self.sink.name
        return None

    def abort(self) -> None:
        """Drop a partly written dead-letter file (the object failed). Never raises: the
        object's own error is the one to report (a full disk fails both)."""
        if self._ctx is not None:
            ctx, self._ctx, self._out = self._ctx, None, None
            try:
                raise _Aborted
            except _Aborted as exc:
                try:
                    ctx.__exit__(type(exc), exc, exc.__traceback__)
                except (OSError, FastjoinError):
                    pass


class _Aborted(Exception):
    """Passed into a sink's context manager so that it discards what was written."""
