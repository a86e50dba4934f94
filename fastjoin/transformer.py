"""The library entry point: :class:`Transformer`, options named as in the SageMaker Python SDK.

A thin façade: the options are checked (:class:`fastjoin.options.TransformOptions`) before any
data is read, the model is loaded once (:class:`fastjoin.pipeline.ModelSpec`), and each input
object goes through :func:`fastjoin.pipeline.run_object` on the local runner in bounded
chunks, its output written atomically.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, cast

from fastjoin import storage
from fastjoin.container.policy import with_execution_parameters
from fastjoin.deadletter import DEAD_LETTER_SUFFIX, DeadLetters
from fastjoin.errors import FastjoinError, StorageError
from fastjoin.options import TransformOptions
from fastjoin.pipeline import ModelSpec, Pipeline, read_object, run_bytes, run_object
from fastjoin.predictor import available_cores
from fastjoin.runners.blocks import BlockFeed, run_blocks
from fastjoin.runners.local import LocalRunner

__all__ = ["Transformer", "TransformResult", "FileResult"]

CONTAINER_WORKERS = 2  # chunks worked on per request in flight to a container model
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
    workers: dict = field(default_factory=dict)  # on a Dask cluster: WorkerFigures by worker address

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


class Transformer:
    """Run SageMaker Batch Transform's record pipeline locally.

    The keyword arguments are the fields of :class:`fastjoin.options.TransformOptions`
    (or pass one as ``options``; keyword arguments then override its fields).

    Parameters
    ----------
    model
        An XGBoost model file (JSON or UBJ), a SageMaker ``model.tar.gz`` or a directory holding
        ``xgboost-model``, an ``xgboost.Booster``, or a container callable
        ``f(body: bytes, content_type: str, accept: str) -> bytes`` behaving like
        ``POST /invocations`` (one output line per input line), or the URL of a running
        SageMaker-compatible model container (``http://host:port``, ``https://...``:
        :class:`fastjoin.container.http.HttpContainer`).
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
    max_concurrent, invocations_timeout, invocations_retries
        A container callable's ``MaxConcurrentTransforms`` (requests in flight, default 1) and
        ``ModelClientConfig``: seconds one request may take (default no limit) and retries of
        a failed one (default 0). A request that still fails fails its object with a
        :class:`~fastjoin.errors.ModelError`.
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
    block_size
        On a Dask cluster (``transform(client=...)``): bytes of an object per block, the unit
        a worker reads and runs (default 32 MiB); a larger object is split by byte ranges.
    max_record_bytes
        The longest line (or, with ``split_type="None"`` on JSON, object) read, default 100 MiB
        (SageMaker's largest ``MaxPayloadInMB``): a longer one fails its object with a located
        error instead of filling memory.
    allow_pickle
        Load pickled models (they can run arbitrary code when loaded). Default False.
    max_model_bytes
        The most a model file, or the model in a ``model.tar.gz``, may hold, in bytes; default
        1 GiB (:data:`fastjoin.model_files.DEFAULT_MAX_MODEL_BYTES`). A larger one is refused before
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

    def __init__(self, model, options: Optional[TransformOptions] = None, **kwargs: Any):
        options = TransformOptions(**kwargs) if options is None else options.replace(**kwargs)
        self.options = options.check()  # a ConfigError listing every problem, before any work
        threads = options.threads
        workers = threads or available_cores()
        # One worker per thread, each predicting with one thread (see fastjoin.runners.local)
        nthread = 1 if workers > 1 else threads
        compiled = self.options.plan()  # a filter that does not compile fails before the model loads
        self._spec = ModelSpec.from_options(model, options, nthread)
        model = self._spec.load()
        if model.is_container:  # MaxConcurrentTransforms requests in flight (default 1)
            options = with_execution_parameters(options, model)  # request > container > defaults
            self.options = options.check()
            compiled = options.plan()
            concurrency = options.max_concurrent or 1
            model = model.limited(concurrency)
            # twice as many workers as requests in flight: half prepare or write mini-batches
            # while the others wait for the container
            workers = CONTAINER_WORKERS * concurrency
        self.pipeline = Pipeline(options, model, compiled)
        self.runner = LocalRunner(workers)

    @property
    def model(self):
        """The loaded model: a predictor, or a container model under the invocation policy."""
        return self.pipeline.model

    @property
    def plan(self):
        return self.pipeline.plan

    @property
    def workers(self) -> int:
        return self.runner.workers

    def transform_bytes(self, data, *, source: str = "<bytes>", errors: Optional[list] = None) -> bytes:
        """Transform one input object held in memory (bytes, bytearray, memoryview, mmap) and
        return its output object. Errors raise, located in ``source``. With ``on_error="skip"``
        the skipped records' :class:`~fastjoin.deadletter.DeadLetter` entries are appended to
        ``errors`` when given."""
        stats = FileResult(source, None)
        dead = DeadLetters(self.options.policy)
        stats.on_errors = dead.add
        out = run_bytes(
            self.pipeline, data, source, runner=self.runner, stats=stats, on_errors=stats.add_errors
        )
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
        client=None,
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
        ``kms_key_id``: SSE-KMS key for S3 outputs. ``client``: a ``distributed.Client``; the
        objects are then cut into ``block_size`` byte ranges run on its cluster's workers
        (:mod:`fastjoin.runners.dask`), with the same output, byte for byte. Returns a
        :class:`TransformResult`; call ``raise_for_errors()`` to turn a failure into an exception.
        """
        result = TransformResult()
        runner = self.runner if client is None else self._dask_runner(client)
        try:
            self._transform_all(
                result, runner, input, output, progress, resume, manifest, compression, s3, kms_key_id
            )
        finally:
            if runner is not self.runner:
                runner.close()
                result.workers = cast(Any, runner).figures
        return result

    def _dask_runner(self, client):
        from fastjoin.runners.dask import DaskRunner

        spec, model = self._spec, self.model
        if not model.is_container:  # the model's bytes, loaded by each worker on its engine
            spec = dataclasses.replace(spec, source=model.booster.save_raw("ubj"), engine=model.engine)
        return DaskRunner(client, self.pipeline, dataclasses.replace(spec, nthread=1))

    def _transform_all(
        self, result, runner, input, output, progress, resume, manifest, compression, s3, kms_key_id
    ) -> None:
        model = self.model  # an output filter that, with no join, does nothing a user asks for
        unintended = self.plan.output_filter_warning(
            None if model.is_container else model.n_outputs, self.options.header
        )
        if unintended:
            result.warnings.append(unintended)
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
            todo = []  # (object, its result, its sink when it runs)
            for obj in objects:
                stats, sink = FileResult(obj.name, None), None
                try:
                    sink = store.sink(
                        output, obj.relative + storage.OUTPUT_SUFFIX, kms_key_id=kms_key_id, source=obj.name
                    )
                    if resume and sink.exists():
                        stats.output, stats.skipped, sink = sink.name, True, None
                except (StorageError, OSError) as exc:  # e.g. a name that cannot be mapped safely
                    stats.error, sink = _storage_error(obj.name, "cannot name the output", exc), None
                todo.append((obj, stats, sink))
            # on a cluster every block of the job shares one window: small objects run side by side
            feed = (
                None
                if runner is self.runner
                else BlockFeed(runner, self.pipeline, [o for o, _, k in todo if k is not None])
            )
            try:
                for obj, stats, sink in todo:
                    if sink is not None:
                        blocks = None if feed is None else feed.next_object()
                        self._transform_object(
                            store,
                            obj,
                            sink,
                            output,
                            stats,
                            progress,
                            done_before,
                            records_before,
                            kms_key_id,
                            blocks,
                        )
                        if blocks is not None:  # blocks the object did not take (it failed) are dropped
                            blocks.close()
                    done_before += obj.size
                    records_before += stats.records
                    if progress is not None:
                        progress(done_before, records_before)
                    result.files.append(stats)
            finally:
                if feed is not None:
                    feed.close()

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
        blocks=None,
    ) -> None:
        """Run one object into ``sink``: its chunks on the local runner, or (``blocks``) the
        results of its blocks, run on a cluster, in order."""
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
            if self.options.policy.skip:
                dead = DeadLetters(self.options.policy, dead_sink)
                stats.on_errors = dead.add
            with sink.open() as out:
                for data in self._outputs(obj, stats, progress, done_before, records_before, blocks):
                    if isinstance(data, (bytes, bytearray)):
                        out.write(data)
                    else:  # a block's output still on its Dask worker: written from there
                        out.place(data)
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

    def _outputs(self, obj, stats: FileResult, progress, done_before: int, records_before: int, blocks):
        """One object's output bytes in order: its chunks on the local runner, or the results
        of its blocks, run on a cluster (which read their byte ranges themselves)."""
        report = None
        if blocks is not None:
            if progress is not None:  # bytes read, at most the object's (a gzip one is larger)
                report = lambda b, r: progress(done_before + min(b, obj.size), records_before + r)  # noqa: E731
            yield from run_blocks(blocks, stats, report, stats.add_errors)
            return
        with obj.open() as f:
            # progress in stored bytes: compressed ones for gzip inputs
            counted = getattr(f, "compressed_bytes", None)
            if progress is not None:
                report = lambda b, r: progress(  # noqa: E731
                    done_before + (b if counted is None else f.compressed_bytes), records_before + r
                )
            pieces = read_object(f, self.options, obj.name)
            yield from run_object(
                self.pipeline, self.runner, obj.name, pieces, stats, report, stats.add_errors
            )
            check = getattr(obj, "check_unchanged", None)
            if check is not None:  # a local file that shrank or grew while read: a torn output
                check(f)


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
