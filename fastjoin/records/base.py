"""What every record format shares: the chunk it gets, the result it returns, the plan it
runs, the protocol it implements and the first-record rule.

A format's ``process_chunk(plan, model, chunk) -> ChunkResult`` is a pure function: no I/O,
no shared state, so threads, processes or machines run it side by side. Locations it reports
count lines and records from the chunk's start; the runner that puts results back in order
makes them absolute (:meth:`fastjoin.errors.FastjoinError.shift`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

from fastjoin.errors import BLANK_LINE, FastjoinError, FeatureError, Location, ModelError, locate, plural
from fastjoin.framing import Buffer
from fastjoin.jsonpath import Path

__all__ = [
    "Chunk",
    "ChunkResult",
    "Plan",
    "RecordFormat",
    "check_first_record",
    "no_join_hint",
    "ONE_MB",
    "BLANK_LINE",
]

ONE_MB = 1024 * 1024
OUTPUT_KEY = "SageMakerOutput"  # SageMaker's name for the prediction (header column, joined key)


@dataclass
class Chunk:
    """Complete lines ``buf[start:end]`` of ``source``; ``buf[0]`` is its byte ``base_offset``."""

    source: str
    buf: Buffer
    start: int
    end: int
    base_offset: int = 0
    names: tuple[str, ...] | None = None  # the header, when header=True
    first: bool = False  # the object's first chunk (its first record is here)

    def locate(self, offset: int, record: int | None = None, field: int | None = None) -> Location:
        """Where ``buf[offset]`` is: line 1 is the chunk's first line, record 0 its first
        record (made absolute by the runner)."""
        return locate(
            self.source,
            self.buf,
            offset,
            base_offset=self.base_offset,
            start=self.start,
            record=record,
            field=field,
        )


@dataclass
class ChunkResult:
    data: bytes
    records: int  # records written
    blank_lines: int
    n_outputs: int
    errors: list = field(default_factory=list)  # DeadLetter entries, in input order (skip_errors)
    lines: int = 0  # line ends in the chunk (the pipeline counts them: later chunks' locations)
    size: int = 0  # bytes of the chunk


@dataclass(frozen=True)
class Plan:
    """Everything fixed for a job, whatever the format: compiled filters, join mode, output
    form and container batching. Built once from the options (:meth:`TransformOptions.plan`)."""

    input_filter: Path
    output_filter: Path
    join: bool
    allow_blank: bool
    terminator: bytes = b"\n"  # AssembleWith Line; b"" for None
    prediction_name: str = OUTPUT_KEY
    content_type: str = "text/csv"
    accept: str = "text/csv"
    single_record: bool = False
    max_payload_bytes: int = 6 * ONE_MB  # 0: no limit (the whole chunk in one request)
    skip_errors: bool = False  # on_error="skip": bad records become dead letters
    whole_object: bool = False  # the object is one record (application/json, SplitType None)

    def prediction_names(self, k: int) -> list[str]:
        if k == 1:
            return [self.prediction_name]
        return [f"{self.prediction_name}_{i}" for i in range(k)]

    def output_filter_warning(self, n_outputs: Optional[int], header: bool = False) -> str:
        """What to warn of, once per job, when the output filter runs without a join: it then
        applies to the prediction alone, and a filter that is legal there but does nothing a
        user would ask for (the one prediction selected, or selected twice: ``$[0,-1]``) is
        almost surely meant for the input joined with it. "" when there is nothing to say;
        ``n_outputs`` None (a container: its outputs are not known before it answers) says
        nothing either. A filter that does not fit the prediction says nothing here: every
        record fails, with :func:`no_join_hint`."""
        if self.join or self.output_filter.is_root or n_outputs is None:
            return ""
        names = self.prediction_names(n_outputs) if header else None
        try:
            selected = self.output_filter.csv_indices(n_outputs, names).tolist()
        except FeatureError:
            return ""
        return _no_join_warning(self.output_filter.expression, n_outputs, selected)


class RecordFormat(Protocol):
    """One record format (CSV, JSON Lines): what the pipeline and the options ask of it."""

    name: str
    content_types: tuple[str, ...]  # media types it reads
    supports_header: bool  # header=True: a header line names the columns
    skips_bad_records: bool  # on_error="skip" handled by process_chunk (else records.skip does it)

    def make_plan(self, **fields: Any) -> Plan: ...

    def process_chunk(self, plan: Any, model: Any, chunk: Chunk) -> ChunkResult: ...

    def header_names(self, chunk: Chunk) -> tuple[str, ...]: ...

    def header_line(self, plan: Any, chunk: Chunk, k: int) -> bytes: ...


def no_join_hint(plan: Plan, size: str = "") -> str:
    """Why an output filter fails without a join, appended to its error: it applies to the
    prediction alone (``size``: how many fields it has, as ``(1 field)``), not to the input
    record it was likely written for."""
    return (
        f"there is no join (JoinSource None), so OutputFilter {plan.output_filter.expression} "
        f"applies to the prediction alone{size and ' ' + size}, not to the input record: to select from the input record "
        f"joined with the prediction, use join_source='Input' (--join-source Input)"
    )


def _no_join_warning(expression: str, k: int, selected: list) -> str:
    repeated = sorted(i for i, count in Counter(selected).items() if count > 1)
    if k == 1 and len(selected) == 1:
        what = "it selects the prediction, as $ would"
    elif k == 1 and selected:
        times = {2: "twice", 3: "three times"}.get(len(selected), f"{len(selected)} times")
        what = f"each output record is the one prediction {times} over"
    elif repeated:
        shown = ", ".join(map(str, repeated))
        what = f"it selects the same output more than once (index {shown} of {plural(k, 'output')})"
    else:
        return ""
    return (
        f"OutputFilter {expression} applies to the prediction alone, as there is no join "
        f"(JoinSource None): {what}; to select from the input record joined with the "
        f"prediction, use join_source='Input' (--join-source Input)"
    )


def check_first_record(model, width: int, where: Location, why: str) -> None:
    """The object's first record decides whether the filter fits the model: a width the model
    refuses there is a :class:`ModelError` (the filter or the model is wrong, not the data);
    later records with another width are bad records. ``why`` says what was selected."""
    try:
        model.check_features(width)
    except ModelError as exc:
        raise ModelError(f"{exc} ({why})", where) from None


def raise_an_earlier_error(process, plan, model, chunk: Chunk, exc) -> None:
    """``exc`` stopped ``process`` on ``chunk``; a record before its line may hold an error too
    (a later stage's: an output filter after an input filter, a feature before a malformed
    line). The first in line order is the one reported, whatever the chunking, so the lines
    before are run again and an error there is raised instead. Only on the error path."""
    if exc.location is None:
        return
    at = exc.location.byte_offset - chunk.base_offset
    line_start = chunk.start + bytes(chunk.buf[chunk.start : at]).rfind(b"\n") + 1
    if line_start <= chunk.start:
        return
    head = Chunk(
        chunk.source, chunk.buf, chunk.start, line_start, chunk.base_offset, chunk.names, chunk.first
    )
    try:
        process(plan, model, head)
    except FastjoinError as earlier:
        raise earlier from None
