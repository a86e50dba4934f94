"""The library entry point: :class:`Transformer`, options named as in the SageMaker Python SDK.

It validates options before any data is read, compiles the filters once, loads the model once,
and streams each input object through :func:`fastjoin.csv_records.process_chunk` in bounded
chunks, writing each output atomically.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, cast

import numpy as np

from fastjoin import csv_records, storage
from fastjoin.csv_records import Buffer, Chunk, CsvPlan
from fastjoin.deadletter import DEAD_LETTER_SUFFIX, DeadLetters, ErrorPolicy
from fastjoin.errors import UTF8_BOM, ConfigError, CsvError, FastjoinError, InputError, StorageError, locate
from fastjoin.jsonpath import DIALECTS, compile_path
from fastjoin.model_files import DEFAULT_MAX_MODEL_BYTES, model_size_problem
from fastjoin.predictor import (
    ContainerModel,
    XGBoostPredictor,
    available_cores,
    engine_problem,
    load_model,
)

__all__ = ["Transformer", "TransformResult", "FileResult"]

DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024  # ~19k seed-shaped rows: many rows per predict call, bounded memory
_CONTENT_TYPES = {"text/csv": "text/csv", "csv": "text/csv"}
_SPLIT_TYPES = ("Line", "None")
_STRATEGIES = ("MultiRecord", "SingleRecord")

Progress = Callable[[int, int], None]  # (bytes done, records done), called after every chunk


@dataclass
class FileResult:
    """What happened to one input object."""

    source: str
    output: Optional[str]  # the .out written, None when the object failed
    records: int = 0
    blank_lines: int = 0
    bytes_in: int = 0
    seconds: float = 0.0
    error: Optional[FastjoinError] = None
    errors: int = 0  # bad records skipped (on_error="skip")
    dead_letter: Optional[str] = None  # where they were written
    skipped: bool = False  # resume: the output existed, the object was not run
    on_errors: Optional[Callable] = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def add_errors(self, entries) -> None:
        """Count a chunk's skipped records and hand them to the error policy, which may raise."""
        self.errors += len(entries)
        if self.on_errors is not None:
            self.on_errors(entries)


@dataclass
class TransformResult:
    """Per-object results of :meth:`Transformer.transform`, in input order."""

    files: list[FileResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. an output location inside the input one

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if not f.ok]

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def skipped(self) -> list[FileResult]:
        """Objects not run because their output existed (``resume=True``)."""
        return [f for f in self.files if f.skipped]

    def raise_for_errors(self) -> None:
        """Raise the first object's error, if any object failed."""
        for f in self.files:
            if f.error is not None:
                raise f.error


def media_type(value: Optional[str]) -> Optional[str]:
    """``text/csv; charset=utf-8`` → ``text/csv``."""
    return None if value is None else value.split(";", 1)[0].strip().lower()


SDK_NAMES = ("join_source='Input'", "content_type", "accept", "split_type", "assemble_with", "=")
API_NAMES = ("JoinSource 'Input'", "ContentType", "Accept", "SplitType", "AssembleWith", " ")


def join_problems(
    content_type: str, accept: Optional[str], split_type: str, assemble_with: str, names: tuple = SDK_NAMES
) -> list[str]:
    """What stops ``JoinSource=Input`` (SageMaker's rules): Accept must equal ContentType,
    AssembleWith must equal SplitType, and CSV and JSON Lines need ``Line``/``Line``.
    ``names`` words the messages with the SDK's option names or the API's field names."""
    join, ct_name, accept_name, split_name, assemble_name, eq = names
    problems = []
    ctype = media_type(content_type)
    if media_type(accept) != ctype:
        problems.append(f"{join} requires {accept_name} ({accept!r}) to equal {ct_name} ({content_type!r})")
    if assemble_with != split_type:
        problems.append(
            f"{join} requires {assemble_name} ({assemble_with!r}) to equal {split_name} ({split_type!r})"
        )
    elif ctype in ("text/csv", "application/jsonlines") and split_type != "Line":
        problems.append(f"{join} on {ctype} requires {split_name}{eq}'Line' and {assemble_name}{eq}'Line'")
    return problems


class Transformer:
    """Run SageMaker Batch Transform's record pipeline locally.

    Parameters
    ----------
    model
        An XGBoost model file (JSON or UBJ), a SageMaker ``model.tar.gz`` or a directory holding
        ``xgboost-model``, an ``xgboost.Booster``, or a container callable
        ``f(body: bytes, content_type: str, accept: str) -> bytes`` behaving like
        ``POST /invocations`` (one output line per input line).
    content_type, accept
        ``text/csv``, ``application/jsonlines`` or ``application/json``. ``accept`` defaults to
        ``content_type``; a join requires them equal.
    split_type, assemble_with
        ``"Line"`` (default) or ``"None"``. ``assemble_with`` defaults to ``split_type``.
    input_filter, join_source, output_filter
        SageMaker's ``DataProcessing``: JSONPath filters (default ``$``) and ``"Input"`` or
        ``None`` for the join.
    strategy, max_payload
        ``"MultiRecord"`` (default) or ``"SingleRecord"``, and ``MaxPayloadInMB`` (0..100,
        default 6): how records are batched into requests for a container callable.
    dialect
        ``"extended"`` (default) or ``"sagemaker"`` (strict parity: its limits, its error texts,
        blank lines are errors, no header).
    header
        ``extended`` only: the first line of each object is a header; filters may name columns
        and the output starts with the selected names (predictions: ``SageMakerOutput``, or
        ``SageMakerOutput_0``... for several outputs; see ``prediction_name``).
    threads
        Prediction threads (default: every core this process may use).
    engine
        How an XGBoost model runs: ``"auto"`` (default: fastjoin's compiled tree predictor when
        the model allows it, checked against XGBoost when loaded; libxgboost otherwise),
        ``"compiled"`` (an error if the model needs libxgboost) or ``"xgboost"``. Predictions
        are bit-identical either way.
    chunk_size
        Bytes read per chunk; memory is bounded by it, not by the input size.
    max_record_bytes
        The longest line (or, with ``split_type="None"`` on JSON, object) read, default 100 MiB
        (SageMaker's largest ``MaxPayloadInMB``): a longer one fails its object with a located
        error instead of filling memory.
    allow_pickle
        Load pickled models (they can run arbitrary code when loaded). Default False.
    max_model_bytes
        The most a model file, or the model in a ``model.tar.gz``, may hold, in bytes; default
        1 GiB (:data:`fastjoin.predictor.DEFAULT_MAX_MODEL_BYTES`). A larger one is refused before
        it is read.
    prediction_name
        The prediction's name: the output header's column with ``header=True``, and the key a
        joined JSON record gets (default ``SageMakerOutput``, SageMaker's).
    json_key_order
        JSON output keys: ``"sorted"`` (default: by code point, i.e. UTF-8 byte order, at every
        level, as SageMaker writes joined JSON) or ``"input"`` (``extended``: the input's order,
        a new ``SageMakerOutput`` last).
    json_numbers
        ``"preserve"`` (default): numbers copied from the input keep their exact text;
        ``"reencode"``: orjson's shortest round-trip text (faster when records hold floats).
    on_error, max_errors
        ``extended`` error policy. ``"fail"`` (default, SageMaker's rule): a bad record fails its
        object. ``"skip"``: bad records are left out and written to ``<name>.out.errors.jsonl``
        beside the output; ``max_errors`` (a count, or a fraction of the object's records as a
        float) fails the object when exceeded. See :mod:`fastjoin.deadletter`.
    """

    def __init__(
        self,
        model,
        *,
        content_type: str = "text/csv",
        accept: Optional[str] = None,
        split_type: Optional[str] = "Line",
        assemble_with: Optional[str] = None,
        input_filter: Optional[str] = None,
        join_source: Optional[str] = None,
        output_filter: Optional[str] = None,
        strategy: Optional[str] = None,
        max_payload: Optional[int] = None,
        dialect: str = "extended",
        header: bool = False,
        threads: Optional[int] = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        prediction_name: str = "SageMakerOutput",
        allow_pickle: bool = False,
        on_error: str = "fail",
        max_errors=None,
        json_key_order: str = "sorted",
        json_numbers: str = "preserve",
        engine: str = "auto",
        max_record_bytes: int = storage.DEFAULT_MAX_RECORD_BYTES,
        max_model_bytes: int = DEFAULT_MAX_MODEL_BYTES,
    ):
        split_type = "None" if split_type is None else split_type
        assemble_with = split_type if assemble_with is None else assemble_with
        join_source = "None" if join_source is None else join_source
        strategy = "MultiRecord" if strategy is None else strategy
        max_payload = 6 if max_payload is None else max_payload
        accept = content_type if accept is None else accept

        from fastjoin import jsonl_records  # JSON records: application/jsonlines, application/json

        problems = []
        media = media_type(content_type)
        ctype = _CONTENT_TYPES.get(media or "") or (media if media in jsonl_records.CONTENT_TYPES else None)
        is_json = ctype in jsonl_records.CONTENT_TYPES
        if ctype is None:
            problems.append(
                f"content_type {content_type!r} is not supported: fastjoin reads text/csv, "
                f"application/jsonlines and application/json"
            )
        if split_type not in _SPLIT_TYPES:
            problems.append(f"split_type must be one of {_SPLIT_TYPES}, not {split_type!r}")
        if assemble_with not in ("Line", "None"):
            problems.append(f"assemble_with must be 'Line' or 'None', not {assemble_with!r}")
        if join_source not in ("Input", "None"):
            problems.append(f"join_source must be 'Input' or None, not {join_source!r}")
        if join_source == "Input":
            problems += join_problems(content_type, accept, split_type, assemble_with)
        if strategy not in _STRATEGIES:
            problems.append(f"strategy must be one of {_STRATEGIES}, not {strategy!r}")
        if not isinstance(max_payload, int) or isinstance(max_payload, bool) or not 0 <= max_payload <= 100:
            problems.append(f"max_payload must be a whole number of MB from 0 to 100, not {max_payload!r}")
        if dialect not in DIALECTS:
            problems.append(f"dialect must be one of {DIALECTS}, not {dialect!r}")
        if header and dialect == "sagemaker":
            problems.append("header=True is an extension: it needs dialect='extended'")
        if header and is_json:
            problems.append(f"header=True applies to text/csv only: {ctype} records name their own fields")
        if json_key_order not in jsonl_records.KEY_ORDERS:
            problems.append(
                f"json_key_order must be one of {jsonl_records.KEY_ORDERS}, not {json_key_order!r}"
            )
        elif json_key_order == "input" and dialect == "sagemaker":
            problems.append("json_key_order='input' is an extension: it needs dialect='extended'")
        if json_numbers not in jsonl_records.NUMBER_MODES:
            problems.append(f"json_numbers must be one of {jsonl_records.NUMBER_MODES}, not {json_numbers!r}")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            problems.append(f"threads must be a positive whole number, not {threads!r}")
        engine_text = engine_problem(engine)
        if engine_text:
            problems.append(engine_text)
        if (
            isinstance(max_record_bytes, bool)
            or not isinstance(max_record_bytes, int)
            or max_record_bytes < 1
        ):
            problems.append(f"max_record_bytes must be a positive number of bytes, not {max_record_bytes!r}")
        model_size_text = model_size_problem(max_model_bytes)
        if model_size_text:
            problems.append(model_size_text)
        if not isinstance(chunk_size, int) or chunk_size < 1:
            problems.append(f"chunk_size must be a positive number of bytes, not {chunk_size!r}")
        problems += ErrorPolicy.problems(on_error, max_errors, dialect)
        if problems:
            raise ConfigError("invalid transform options:\n- " + "\n- ".join(problems))

        self.content_type, self.accept = content_type, accept
        self.split_type, self.assemble_with, self.join_source = split_type, assemble_with, join_source
        self.strategy, self.max_payload, self.dialect = strategy, max_payload, dialect
        self.header, self.threads, self.chunk_size = bool(header), threads, chunk_size
        self.max_record_bytes = max_record_bytes
        # the record format's module: process_chunk (and header_* for CSV)
        self.records = jsonl_records if is_json else csv_records
        compile_options: dict[str, Any] = dict(dialect=dialect, content_type=ctype)
        format_options: dict[str, Any] = dict(prediction_name=prediction_name)
        if is_json:
            format_options.update(
                whole_object=ctype == "application/json" and split_type == "None",
                terminator=b"\n" if assemble_with == "Line" else b"",
                key_order=json_key_order,
                numbers=json_numbers,
            )
        self.plan = (jsonl_records.JsonPlan if is_json else CsvPlan)(
            input_filter=compile_path(input_filter, role="InputFilter", **compile_options),
            output_filter=compile_path(output_filter, role="OutputFilter", **compile_options),
            join=join_source == "Input",
            allow_blank=dialect == "extended",
            **format_options,
            content_type=content_type,
            accept=accept,
            single_record=strategy == "SingleRecord",
            max_payload_bytes=max_payload * 1024 * 1024,
        )
        # application/json with SplitType None: the whole object is one record, read at once
        self.whole_object = bool(getattr(self.plan, "whole_object", False))
        self.policy = ErrorPolicy(on_error, max_errors)
        if self.policy.skip:
            if not hasattr(self.plan, "skip_errors"):
                raise ConfigError(f"on_error='skip' is not supported for {content_type}")
            self.plan.skip_errors = True
        self.model = load_model(
            model, nthread=threads, allow_pickle=allow_pickle, engine=engine, max_model_bytes=max_model_bytes
        )
        # One worker per thread, each parsing, predicting (one XGBoost thread) and formatting
        # its own chunk: parsing overlaps prediction, which beats parsing on all cores and
        # then predicting on all (benchmarks/bench_structure.py). A container callable is called
        # from one thread.
        container = isinstance(self.model, ContainerModel)
        self.workers = 1 if container else (threads or available_cores())
        if self.workers > 1:
            cast(XGBoostPredictor, self.model).set_threads(1)
        self._executor: Optional[ThreadPoolExecutor] = None

    # ------------------------------------------------------------------ one object

    def _run_object(
        self,
        source: str,
        pieces: Iterator[tuple[Buffer, int, int, int, int]],
        stats: FileResult,
        progress: Optional[Progress],
    ) -> Iterator[bytes]:
        """Stream one input object: ``pieces`` yields ``(buf, start, end, base_offset,
        base_line)`` runs of complete lines; yields output bytes in input order.

        Chunks go to the worker threads, each of which parses, predicts and formats its own
        chunk with the GIL released; results are taken back in submission order, so the
        output keeps input order. At most ``workers + 1`` chunks are in flight.
        """
        records, plan, pool = self.records, self.plan, self._pool()
        names = None
        header_chunk = None
        pending: deque = deque()
        pieces = iter(pieces)
        head = list(itertools.islice(pieces, 2))  # is the object a single chunk?
        try:
            for index, (buf, start, end, base_offset, base_line) in enumerate(itertools.chain(head, pieces)):
                if index == 0 and base_offset + start == 0 and self.dialect == "extended":
                    # a UTF-8 BOM starting the object marks its encoding, it is not data (as
                    # utf-8-sig and pandas read it); the sagemaker dialect keeps it, as SageMaker
                    bom = len(UTF8_BOM) if bytes(buf[start : start + 3]) == UTF8_BOM else 0
                    start, stats.bytes_in = start + bom, stats.bytes_in + bom
                if self.header and names is None:
                    nl = _find_newline(buf, start, end)
                    header_chunk = Chunk(source, buf, start, nl, base_offset, base_line)
                    names = header_chunk.names = records.header_names(header_chunk)
                    stats.bytes_in += nl - start
                    start = nl
                chunk = Chunk(source, buf, start, end, base_offset, base_line, 0, names, first=index == 0)
                # an object of one chunk (the embedded, in-memory case) skips the thread hop
                alone = len(head) == 1
                pending.append(
                    (
                        pool.submit(records.process_chunk, plan, self.model, chunk)
                        if pool and not alone
                        else _Done(records.process_chunk, plan, self.model, chunk),
                        end - start,
                    )
                )
                while pending and (len(pending) > self.workers or pending[0][0].done()):
                    for data in self._finish(pending.popleft(), header_chunk, stats, progress):
                        header_chunk = None
                        yield data
            while pending:
                for data in self._finish(pending.popleft(), header_chunk, stats, progress):
                    header_chunk = None
                    yield data
        finally:
            for future, _ in pending:
                future.cancel()
        if self.header and names is None:
            raise CsvError(
                "header=True but the object is empty: it has no header line", locate(source, b"", 0)
            )

    def _finish(
        self, item, header_chunk: Optional[Chunk], stats: FileResult, progress: Optional[Progress]
    ) -> Iterator[bytes]:
        future, size = item
        try:
            result = future.result()
        except InputError as exc:
            # Workers do not know how many records came before their chunk; now we do.
            if exc.location is not None and exc.location.record is not None:
                exc.location = dataclasses.replace(exc.location, record=exc.location.record + stats.records)
            raise
        if header_chunk is not None:
            yield self.records.header_line(self.plan, header_chunk, result.n_outputs or self._default_k())
        stats.records += result.records
        stats.blank_lines += result.blank_lines
        if getattr(result, "errors", None):  # on_error="skip": the chunk's dead letters
            stats.add_errors(result.errors)
        stats.bytes_in += size
        if progress is not None:
            progress(stats.bytes_in, stats.records)
        yield result.data

    def _pool(self) -> Optional[ThreadPoolExecutor]:
        if self.workers == 1:
            return None
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="fastjoin")
        return self._executor

    def _default_k(self) -> int:
        return 1 if isinstance(self.model, ContainerModel) else self.model.n_outputs

    def transform_bytes(self, data, *, source: str = "<bytes>", errors: Optional[list] = None) -> bytes:
        """Transform one input object held in memory (bytes, bytearray, memoryview, mmap) and
        return its output object. Errors raise, located in ``source``. With ``on_error="skip"``
        the skipped records' :class:`~fastjoin.deadletter.DeadLetter` entries are appended to
        ``errors`` when given."""
        stats = FileResult(source, None)
        dead = DeadLetters(self.policy)
        stats.on_errors = dead.add
        pieces = _buffer_pieces(data, self.chunk_size, self.whole_object)
        out = b"".join(self._run_object(source, pieces, stats, None))
        dead.finish(stats.records, source)
        if errors is not None:
            errors.extend(dead.entries)
        return out

    # ------------------------------------------------------------------ files

    def transform(
        self,
        input,
        output,
        *,
        progress: Optional[Progress] = None,
        resume: bool = False,
        manifest: bool = False,
        compression: Optional[str] = None,
        s3=None,
        kms_key_id: Optional[str] = None,
    ) -> TransformResult:
        """Transform a file, a directory, a glob or an ``s3://`` prefix into ``<name>.out``
        objects under ``output`` (a directory or an ``s3://`` prefix).

        Each output is written under a temporary name and renamed when complete (on S3: an
        upload completed only on success); an object that fails gets no ``.out``, and the
        others still run. ``manifest``: ``input`` is a manifest file (SageMaker's
        ``ManifestFile``). ``compression``: ``"Gzip"`` to decompress inputs. ``resume``: skip
        objects whose ``.out`` exists (atomic writes make existence mean completeness); they
        are reported with ``skipped=True``. ``s3``: an endpoint URL, a dict of
        :class:`fastjoin.s3.S3` options or an ``S3`` (default: boto3's own configuration).
        ``kms_key_id``: SSE-KMS key for S3 outputs. Returns a :class:`TransformResult`; call
        ``raise_for_errors()`` to turn a failure into an exception.
        """
        result = TransformResult()
        done_before = records_before = 0
        with storage.Storage(s3) as store:
            objects = store.inputs(input, manifest=manifest, compression=compression)
            objects, earlier = storage.split_job_outputs(objects, output)
            overlap = storage.output_overlap(input, output, manifest=manifest)
            if overlap:
                result.warnings.append(overlap)
            if not objects:
                raise StorageError(
                    f"{input}: holds no input objects besides this job's own earlier outputs "
                    f"({len(earlier)}: {', '.join(o.name for o in earlier[:3])}{', ...' if len(earlier) > 3 else ''})"
                )
            if hasattr(progress, "start"):  # e.g. ProgressBar: learns the job's size up front
                cast(Any, progress).start([obj.size for obj in objects])
            for obj in objects:
                stats = FileResult(obj.name, None)
                try:
                    sink = store.sink(
                        output, obj.relative + storage.OUTPUT_SUFFIX, kms_key_id=kms_key_id, source=obj.name
                    )
                    done = resume and sink.exists()
                except (StorageError, OSError) as exc:  # e.g. a name that cannot be mapped safely
                    stats.error = _storage_error(obj.name, "cannot name the output", exc)
                else:
                    if done:
                        stats.output, stats.skipped = sink.name, True
                    else:
                        self._transform_object(
                            store, obj, sink, output, stats, progress, done_before, records_before, kms_key_id
                        )
                done_before += obj.size
                records_before += stats.records
                if progress is not None:
                    progress(done_before, records_before)
                result.files.append(stats)
        return result

    def _transform_object(
        self,
        store,
        obj,
        sink,
        output,
        stats: FileResult,
        progress: Optional[Progress],
        done_before: int,
        records_before: int,
        kms_key_id: Optional[str],
    ) -> None:
        started = time.perf_counter()
        dead = None
        dead_sink = None
        try:
            dead_sink = store.sink(
                output,
                obj.relative + storage.OUTPUT_SUFFIX + DEAD_LETTER_SUFFIX,
                kms_key_id=kms_key_id,
                source=obj.name,
            )
            if self.policy.skip:
                dead = DeadLetters(self.policy, dead_sink)
                stats.on_errors = dead.add
            with obj.open() as f, sink.open() as out:
                # progress in stored bytes: compressed ones for gzip inputs
                counted = getattr(f, "compressed_bytes", None)
                report = (
                    None
                    if progress is None
                    else (
                        lambda b, r: progress(
                            done_before + (b if counted is None else f.compressed_bytes), records_before + r
                        )
                    )
                )
                pieces = (
                    (buf, 0, end, off, line)
                    for buf, end, off, line in _read_pieces(
                        f, self.chunk_size, self.whole_object, self.max_record_bytes, obj.name
                    )
                )
                for data in self._run_object(obj.name, pieces, stats, report):
                    out.write(data)
                check = getattr(obj, "check_unchanged", None)
                if check is not None:  # a local file that shrank or grew while read: a torn output
                    check(f)
                if dead is not None:  # the dead letters land before the .out they belong to
                    stats.dead_letter = dead.finish(stats.records, obj.name)
            stats.output = sink.name
            if stats.dead_letter is None:  # the new .out is in place: older dead letters no longer apply
                _remove_quietly(dead_sink)
        except FastjoinError as exc:
            stats.error = exc
        except OSError as exc:  # output errors are StorageErrors already: this is the input
            stats.error = _storage_error(obj.name, "cannot read", exc)
        finally:
            if stats.error is not None and dead is not None:
                dead.abort()
                if stats.dead_letter is not None:  # committed, but its .out was not: drop it
                    try:
                        dead.sink.remove()
                    except (FastjoinError, OSError):
                        pass
                    stats.dead_letter = None
            stats.seconds = time.perf_counter() - started


def _storage_error(name: str, what: str, exc: BaseException) -> StorageError:
    if isinstance(exc, StorageError):
        return exc
    error = StorageError(f"{name}: {what}: {getattr(exc, 'strerror', None) or exc}")
    error.__cause__ = exc
    return error


def _remove_quietly(sink) -> None:
    """Remove a stale side file if there is one. A store that will not say (an S3 role that
    may write but not read) or will not delete leaves it: that must not fail the object."""
    try:
        if sink.exists():
            sink.remove()
    except (FastjoinError, OSError):
        pass


class _Done:
    """A finished 'future' for running a chunk inline when there is one worker."""

    def __init__(self, fn, *args):
        try:
            self._result, self._error = fn(*args), None
        except BaseException as exc:  # re-raised, in order, by result()
            self._result, self._error = None, exc

    def done(self) -> bool:
        return True

    def cancel(self) -> bool:
        return False

    def result(self):
        if self._error is not None:
            raise self._error
        return self._result


def _find_newline(buf, start: int, end: int) -> int:
    """Index just past the first line of buf[start:end]."""
    view = np.frombuffer(buf, dtype=np.uint8)
    step = 1 << 16
    for pos in range(start, end, step):
        hits = np.flatnonzero(view[pos : min(pos + step, end)] == 10)
        if len(hits):
            return pos + int(hits[0]) + 1
    return end


def _buffer_pieces(data, chunk_size: int, whole: bool = False):
    """Split an in-memory object into runs of complete lines without copying it (one piece
    when ``whole``: the object is one record)."""
    buf = data if isinstance(data, (bytes, bytearray)) else memoryview(data).cast("B")
    n = len(buf)
    start = 0
    if whole:
        chunk_size = max(n, 1)
    while start < n:
        end = n if start + chunk_size >= n else _find_newline(buf, start + chunk_size - 1, n)
        yield buf, start, end, 0, 1
        start = end


def _read_pieces(f, chunk_size: int, whole: bool, max_record: int, source: str):
    """``storage.read_chunks``, or the whole stream as one piece when the object is one record
    (application/json with SplitType None)."""
    if not whole:
        yield from storage.read_chunks(f, chunk_size, max_record=max_record, source=source)
        return
    data = storage.read_whole(f, max_record, source)
    if data:
        yield data, len(data), 0, 1
