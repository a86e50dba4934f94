"""The pure pipeline, and how one object's chunks go through it in order.

:class:`Pipeline` is (record format, compiled plan, loaded model): ``process(chunk)`` is a
pure function of the chunk, so a runner may call it on any thread, process or machine.
:class:`ModelSpec` says how to load the model where it runs (picklable when its source is:
a path, bytes, a Booster, a loaded predictor, a picklable callable).

:func:`run_object` drives one object: it cuts pieces into chunks (a UTF-8 BOM, the header
line), hands them to a runner, takes the results back in input order and makes the locations
they report absolute (lines and records before each chunk are known only then).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Iterator, Optional

from fastjoin import frames
from fastjoin.container.policy import InvocationPolicy
from fastjoin.errors import UTF8_BOM, ConfigError, CsvError, FastjoinError, locate
from fastjoin.framing import Piece, buffer_chunks, count_newlines, next_newline, read_pieces
from fastjoin.model_files import DEFAULT_MAX_MODEL_BYTES
from fastjoin.options import FRAMED, TransformOptions
from fastjoin.records.base import Chunk, ChunkResult, raise_an_earlier_error
from fastjoin.records.skip import process_skipping
from fastjoin.runners.local import LocalRunner

__all__ = ["Pipeline", "ModelSpec", "InOrder", "run_object", "run_bytes", "header_names"]

Progress = Callable[[int, int], None]  # (bytes done, records done), called after every chunk


@dataclass(frozen=True)
class ModelSpec:
    """How to load a model: the source ``load_model`` takes, and how to run it."""

    source: Any
    engine: str = "auto"
    nthread: Optional[int] = None  # threads per predict call (None: every core)
    allow_pickle: bool = False
    max_model_bytes: int = DEFAULT_MAX_MODEL_BYTES
    policy: InvocationPolicy = InvocationPolicy()  # container models only

    @classmethod
    def from_options(cls, source: Any, options: TransformOptions, nthread: Optional[int]) -> "ModelSpec":
        policy = InvocationPolicy(
            options.invocations_timeout, options.invocations_retries, options.max_concurrent or 1
        )
        return cls(source, options.engine, nthread, options.allow_pickle, options.max_model_bytes, policy)

    def load(self):
        """The model, ready to predict: a container model under the policy, or an in-process
        predictor with ``nthread`` threads per call (a copy if the source is a predictor
        running with another count: a caller's object is never changed)."""
        from fastjoin.predictor import ContainerModel, load_model

        if is_url(self.source) or getattr(self.source, "is_http", False):
            from fastjoin.container.http import HttpContainer

            return self.policy.apply(HttpContainer.of(self.source))
        model = load_model(
            self.source,
            nthread=self.nthread,
            allow_pickle=self.allow_pickle,
            engine=self.engine,
            max_model_bytes=self.max_model_bytes,
        )
        if isinstance(model, ContainerModel):
            return self.policy.apply(model)
        return model if self.nthread is None else model.with_threads(self.nthread)


def is_url(source: Any) -> bool:
    """A model container's address (``http://host:port``, ``https://...``), not a path."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


class Pipeline:
    """One job's record format, compiled plan and model; :meth:`process` is the pure step."""

    def __init__(self, options: TransformOptions, model, compiled=None):
        self.options = options.check()
        # (format, plan) compiled before the model loaded: a filter error comes first
        self.format, self.plan = options.plan() if compiled is None else compiled
        self.model = model
        if self.options.passes_through and not model.is_container:
            raise ConfigError(
                f"{self.options.content_type} records (SplitType {self.options.split_type}) go to a "
                f"container model as they are: an XGBoost model in process reads text/csv and JSON only"
            )

    def process(self, chunk: Chunk) -> ChunkResult:
        # a container's refusal (a 4xx) is found only by sending: bisected like any format's
        if self.plan.skip_errors and (not self.format.skips_bad_records or self.model.is_container):
            result = process_skipping(self.format.process_chunk, self.plan, self.model, chunk)
        else:
            try:
                result = self.format.process_chunk(self.plan, self.model, chunk)
            except FastjoinError as exc:
                raise_an_earlier_error(self.format.process_chunk, self.plan, self.model, chunk, exc)
                raise
        result.lines = count_newlines(chunk.buf, chunk.start, chunk.end)
        result.size = chunk.end - chunk.start
        return result

    @property
    def default_outputs(self) -> int:
        """Outputs per record before any is predicted (a header for an object of none)."""
        return 1 if self.model.is_container else self.model.n_outputs


def _chunks(
    pipeline: Pipeline, source: str, pieces: Iterable[Piece], stats, header: list, names=None
) -> Iterator[Chunk]:
    """Chunks from pieces: a UTF-8 BOM starting the object skipped (``extended``), the header
    line taken off into ``header`` (``[chunk]``) when the options ask for one and ``names``
    (a header read already: a later byte range of the object) is None."""
    text = not pipeline.options.passes_through  # records passed through are never touched
    for buf, start, end, base_offset in pieces:
        first = base_offset + start == 0  # the object's first chunk (a byte range's may not be)
        if first and pipeline.options.dialect == "extended" and text:
            # a UTF-8 BOM starting the object marks its encoding, it is not data (as
            # utf-8-sig and pandas read it); the sagemaker dialect keeps it, as SageMaker
            bom = len(UTF8_BOM) if bytes(buf[start : start + 3]) == UTF8_BOM else 0
            start, stats.bytes_in = start + bom, stats.bytes_in + bom
        if pipeline.options.header and names is None:
            nl = min(next_newline(buf, start, end) + 1, end)
            chunk = Chunk(source, buf, start, nl, base_offset)
            names = chunk.names = pipeline.format.header_names(chunk)
            header.append(chunk)
            stats.bytes_in += nl - start
            start = nl
        yield Chunk(source, buf, start, end, base_offset, names, first=first)
    if pipeline.options.header and names is None:
        raise CsvError(
            "header=True (--header) but the object is empty: it has no header line", locate(source, b"", 0)
        )


def header_names(pipeline: Pipeline, source: str, piece: Piece) -> Optional[tuple[str, ...]]:
    """The column names in ``piece``, an object's first line (read once by a runner that hands
    them to each byte range), as :func:`run_object` reads them; None without ``header``."""
    header: list = []
    next(_chunks(pipeline, source, [piece], SimpleNamespace(bytes_in=0), header), None)
    return header[0].names if header else None


class InOrder:
    """Results taken in input order made absolute: each error or dead letter shifted by the
    lines and records of the results before it, counts added to ``stats``. One object's."""

    def __init__(self, stats, progress: Optional[Progress] = None, on_errors=None):
        self.stats, self.progress, self.on_errors = stats, progress, on_errors
        self.lines = self.records = 0  # in the results before the current one

    def failed(self, exc: FastjoinError) -> None:
        exc.shift(self.lines, self.records)

    def take(self, result: ChunkResult) -> bytes:
        stats = self.stats
        if result.errors and self.on_errors is not None:
            self.on_errors([entry.shifted(self.lines) for entry in result.errors])
        self.lines += result.lines
        self.records += result.records + len(result.errors)
        stats.records += result.records
        stats.blank_lines += result.blank_lines
        stats.bytes_in += result.size
        if self.progress is not None:
            self.progress(stats.bytes_in, stats.records)
        return result.data


def run_object(
    pipeline: Pipeline,
    runner,
    source: str,
    pieces: Iterable[Piece],
    stats,
    progress: Optional[Progress] = None,
    on_errors: Optional[Callable[[list], None]] = None,
    names: Optional[tuple[str, ...]] = None,
    order: Optional[InOrder] = None,
) -> Iterator[bytes]:
    """One object's output bytes, in input order; ``stats`` (a :class:`FileResult`) counts
    records, blank lines and bytes read. ``runner.ordered(fn, items)`` runs
    ``pipeline.process`` on each chunk and yields the results (or raises their errors) in
    input order. Each error or dead letter is then made absolute: the lines and records of
    the chunks before it are known. ``on_errors`` gets each chunk's dead letters (and may
    raise: the error policy's threshold). ``names``: the header, read already (the pieces
    are a later byte range of the object). ``order``: an :class:`InOrder` of the caller's,
    whose ``lines`` it can read afterwards."""
    header: list = []
    order = InOrder(stats, progress, on_errors) if order is None else order
    results = runner.ordered(pipeline.process, _chunks(pipeline, source, pieces, stats, header, names))
    while True:
        try:
            result = next(results)
        except StopIteration:
            break
        except FastjoinError as exc:
            if header:  # the header line comes first
                order.lines += count_newlines(header[0].buf, header[0].start, header[0].end)
            order.failed(exc)
            raise
        if header:
            chunk = header.pop()
            order.lines += count_newlines(chunk.buf, chunk.start, chunk.end)
            yield pipeline.format.header_line(
                pipeline.plan, chunk, result.n_outputs or pipeline.default_outputs
            )
        yield order.take(result)


INLINE = LocalRunner(1)  # one object on the calling thread


def read_object(f, options: TransformOptions, source: str) -> Iterator[Piece]:
    """An open object's pieces as the options frame its records: binary frames (RecordIO,
    TFRecord), lines, or the whole object as one record (SplitType None)."""
    o = options
    if o.split_type in FRAMED:
        return frames.read_frames(f, o.chunk_size, o.split_type, o.max_record_bytes, source)
    return read_pieces(f, o.chunk_size, o.whole_object, o.max_record_bytes, source)


def run_bytes(
    pipeline: Pipeline,
    data,
    source: str = "<bytes>",
    *,
    runner=INLINE,
    stats=None,
    on_errors: Optional[Callable[[list], None]] = None,
) -> bytes:
    """One object held in memory (bytes, bytearray, memoryview, mmap) through ``pipeline``,
    cut into ``chunk_size`` pieces without copying; its output bytes. ``stats``, when given,
    counts as in :func:`run_object`."""
    options = pipeline.options
    if options.split_type in FRAMED:
        pieces = frames.buffer_frames(data, options.chunk_size, options.split_type, source)
    else:
        pieces = buffer_chunks(data, options.chunk_size, options.whole_object)
    counts = SimpleNamespace(records=0, blank_lines=0, bytes_in=0) if stats is None else stats
    return b"".join(run_object(pipeline, runner, source, pieces, counts, None, on_errors))
