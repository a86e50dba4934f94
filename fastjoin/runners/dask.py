"""The Dask runner: blocks of one object run on the workers of a ``distributed`` cluster.

``DaskRunner(client, pipeline, spec).ordered(fn, items)`` has the local runner's shape:
``fn(item)`` for every item, results (or their errors) yielded in input order, a bounded
window of them in flight (twice the cluster's threads). ``fn`` answers a
:class:`~fastjoin.records.base.ChunkResult` (a block's: :func:`~fastjoin.runners.blocks.run_block`);
only its counts come back: its output bytes stay on the worker as :class:`RemoteBytes`,
which the output writer has that worker write in place (a local file's range, an S3 part).
``fn`` runs on a worker and must be picklable; the pipeline it needs is
:attr:`DaskRunner.pipeline`, a handle that pickles as a key and resolves to the pipeline
loaded in the worker process.

The model travels once per worker, as bytes: a ``WorkerPlugin`` (sent to every worker, and
to each one that joins later, a restarted one included) holds the options and the model's
:class:`~fastjoin.pipeline.ModelSpec` with the model's UBJ bytes, never a live Booster; the
worker loads it on its first block and keeps it in a per-process cache keyed by the hash of
the payload (the newest two stay after their job: jobs in a loop do not reload their model).
Each load predicts on one thread (``nthread=1``, set explicitly: one task per worker thread,
as the local runner has one predict thread per worker thread).

Workers must be spawned, not forked: a fastjoin process has OpenMP and pool threads once it
has predicted, and a fork after that can deadlock (``scale-out.md`` §3.5). Dask's default
(``distributed.worker.multiprocessing-method: spawn``) does it; :func:`local_cluster` asks
for it explicitly.

``distributed`` is an optional dependency (``pip install "fastjoin[dask]"``); without it
this module imports, and :func:`require` says what to install.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import pickle
import threading
import time
import uuid
from collections import deque
from typing import Any, Callable, Iterable, Iterator, Optional

from fastjoin.errors import ConfigError, FastjoinError

try:
    import distributed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # the dask extra is not installed
    distributed = None  # type: ignore[assignment]
    WorkerPlugin = object  # type: ignore[assignment,misc]

__all__ = ["DaskRunner", "WorkerPipeline", "local_cluster", "connect", "require", "INSTALL"]

INSTALL = 'pip install "fastjoin[dask]"'

_LOADED: dict[str, Any] = {}  # this worker process's pipelines, by payload key, oldest first
_KEEP_LOADED = 2
_PAYLOADS: dict[str, tuple] = {}  # (options, ModelSpec) given by the plugin, loaded on first use
_LOCK = threading.Lock()
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def require(what: str = "a Dask cluster") -> None:
    """A :class:`ConfigError` naming the extra when ``distributed`` is not installed."""
    if distributed is None:
        raise ConfigError(f"{what} needs dask.distributed, which is not installed: {INSTALL}")


class _Payload(WorkerPlugin):
    """Hands the options and the model spec to each worker (and to workers that join later)."""

    def __init__(self, key: str, options, spec):
        self.key, self.options, self.spec = key, options, spec

    def setup(self, worker=None) -> None:
        _PAYLOADS[self.key] = (self.options, self.spec)
        if self.key in _LOADED:  # loaded for an earlier job: now the newest
            _LOADED[self.key] = _LOADED.pop(self.key)
        _reuse_freed_memory()

    def teardown(self, worker=None) -> None:
        _PAYLOADS.pop(self.key, None)
        # the loaded model stays for the next job with the same payload (jobs in a loop, one
        # model), but only the newest few: a long-lived cluster sees many models
        while len(_LOADED) > _KEEP_LOADED:
            _LOADED.pop(next(iter(_LOADED)))


def _reuse_freed_memory() -> None:
    """Undo the nanny's ``MALLOC_TRIM_THRESHOLD_=65536`` in this worker: with it glibc maps
    every buffer over 128 KiB afresh and unmaps it when freed, and the page faults cost a
    block 1.6x the CPU time it takes in a plain process (measured on the seed job). Freed
    chunks are kept for reuse again (up to 256 MiB untrimmed). Other C libraries: nothing."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest: buffers under it come from the heap
    mallopt(_M_TRIM_THRESHOLD, 256 << 20)


def _pipeline(key: str):
    """The pipeline for ``key`` in this worker process, loaded once."""
    found = _LOADED.get(key)
    if found is not None:
        return found
    with _LOCK:
        if key not in _LOADED:
            from fastjoin.pipeline import Pipeline

            if key not in _PAYLOADS:
                raise FastjoinError(f"this Dask worker has no fastjoin model {key} (its plugin did not run)")
            options, spec = _PAYLOADS[key]
            _LOADED[key] = Pipeline(options, spec.load())
        return _LOADED[key]


class WorkerPipeline:
    """Stands for the pipeline loaded in whichever worker process holds it: pickles as its
    key, and reads every attribute from that process's pipeline."""

    def __init__(self, key: str):
        self.key = key

    def __getattr__(self, name: str):
        if name.startswith("__") or "key" not in self.__dict__:  # pickling asks before key is set
            raise AttributeError(name)
        return getattr(_pipeline(self.key), name)


def _run(fn: Callable, item) -> tuple[Any, str, float]:
    """``fn(item)`` on a worker, with the worker's address and the seconds it took; kept
    there (its output is placed from there, :class:`RemoteBytes`)."""
    started = time.perf_counter()
    result = fn(item)
    return result, distributed.get_worker().address, time.perf_counter() - started


def _summary(ran: tuple) -> tuple[Any, int, str, float]:
    """What the driver needs of a block's result: all but its output bytes, and their size."""
    result, worker, seconds = ran
    return dataclasses.replace(result, data=b""), len(result.data), worker, seconds


def _put(ran: tuple, target) -> Any:
    return target.put(ran[0].data)


def _data(ran: tuple) -> bytes:
    return ran[0].data


class RemoteBytes:
    """A block's output, held by the worker that made it until it is written: ``put(target)``
    has that worker write it (``target.put(data)``: a range of a local file, a part of an S3
    upload) and answers the write's future; ``fetch()`` brings the bytes here. If the worker
    dies first, Dask runs the block again for whichever of them needs it."""

    def __init__(self, client, ran, size: int):
        self._client, self._ran, self._size = client, ran, size

    def __len__(self) -> int:
        return self._size

    def put(self, target):
        future = self._client.submit(_put, self._ran, target, pure=False)
        self._ran = None  # the task holds it now: freed on the worker once written
        return future

    def fetch(self) -> bytes:
        data = self._client.submit(_data, self._ran, pure=False).result()
        self._ran = None
        return data


@dataclasses.dataclass
class WorkerFigures:
    """What one worker did for a job."""

    blocks: int = 0
    bytes_in: int = 0
    records: int = 0
    seconds: float = 0.0


class DaskRunner:
    """Runs ``fn`` on the workers of ``client``'s cluster, results in input order."""

    def __init__(self, client, pipeline, spec):
        require()
        self.client = client
        payload = (pipeline.options, spec)
        try:
            self.key = hashlib.sha256(pickle.dumps(payload)).hexdigest()[:16]
        except Exception:  # a model that pickles only with cloudpickle (a closure): no hash
            self.key = uuid.uuid4().hex[:16]
        self._name = f"fastjoin-{self.key}"
        client.register_plugin(_Payload(self.key, *payload), name=self._name)
        self.pipeline = WorkerPipeline(self.key)
        self.workers = max(sum(w["nthreads"] for w in client.scheduler_info()["workers"].values()), 1)
        self.figures: dict[str, WorkerFigures] = {}

    def ordered(self, fn: Callable, items: Iterable) -> Iterator:
        """``fn(item)`` for each item on the cluster, yielded in input order; one that failed
        is raised at its turn (the later ones cancelled)."""
        for result, error in self.outcomes(fn, items):
            if error is not None:
                raise error
            yield result

    def outcomes(self, fn: Callable, items: Iterable) -> Iterator[tuple[Any, Optional[BaseException]]]:
        """``(fn(item), None)`` or ``(None, its error)`` for each item, in input order, with
        at most twice the cluster's threads in flight. A block whose worker dies is run again
        elsewhere by Dask; closing the iterator cancels what is still in flight."""
        pending: deque = deque()
        window = 2 * self.workers
        try:
            for item in items:
                ran = self.client.submit(_run, fn, item, pure=False)
                pending.append((ran, self.client.submit(_summary, ran, pure=False)))
                if len(pending) >= window:
                    yield self._outcome(*pending.popleft())
            while pending:
                yield self._outcome(*pending.popleft())
        finally:
            for futures in pending:
                for future in futures:
                    future.cancel()

    def _outcome(self, ran, summary) -> tuple[Any, Optional[BaseException]]:
        try:
            result, size, worker, seconds = summary.result()
        except (FastjoinError, OSError) as exc:
            return None, exc
        except Exception as exc:  # KilledWorker, a lost scheduler: this object fails, not the job
            error = FastjoinError(f"a block failed on the Dask cluster: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            return None, error
        figures = self.figures.setdefault(worker, WorkerFigures())
        figures.blocks += 1
        figures.bytes_in += getattr(result, "size", 0)
        figures.records += getattr(result, "records", 0)
        figures.seconds += seconds
        result.data = RemoteBytes(self.client, ran, size)
        return result, None

    def close(self) -> None:
        """Remove the model from the workers."""
        with contextlib.suppress(Exception):  # a cluster already gone has nothing to remove
            self.client.unregister_worker_plugin(self._name)


def local_cluster(workers: int, threads_per_worker: int = 1):
    """A ``LocalCluster`` of ``workers`` spawned processes with one thread each."""
    require("--workers")
    import dask

    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}):
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            # a free port: the scheduler's HTTP server starts even without a dashboard, and
            # 8787 may be another cluster's (a warning, then a port of its own anyway)
            dashboard_address=":0",
        )


@contextlib.contextmanager
def connect(scheduler: Optional[str] = None, workers: Optional[int] = None) -> Iterator[Any]:
    """A client of the cluster at ``scheduler``, or of a local cluster of ``workers``
    processes started (and stopped) here; None when neither is given."""
    if scheduler is None and workers is None:
        yield None
        return
    if scheduler is not None and workers is not None:
        raise ConfigError("--scheduler and --workers: give one (a running cluster, or a local one to start)")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers} must be at least 1")
    require("--scheduler" if scheduler is not None else "--workers")
    if scheduler is not None:
        with distributed.Client(scheduler) as client:
            yield client
        return
    assert workers is not None
    with local_cluster(workers) as cluster, distributed.Client(cluster) as client:
        yield client
