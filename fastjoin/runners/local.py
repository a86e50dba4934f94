"""The local runner: an ordered thread pool, or the calling thread alone.

Each worker parses, predicts (one thread per predict call) and formats its own chunk with the
GIL released: parsing overlaps prediction, which beats parsing on all cores and then
predicting on all (benchmarks/bench_structure.py). Results are taken back in submission
order, so output keeps input order; at most ``workers + 1`` chunks are in flight.
"""

from __future__ import annotations

import itertools
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, Optional, TypeVar

__all__ = ["LocalRunner"]

T = TypeVar("T")
R = TypeVar("R")


class LocalRunner:
    """Runs ``fn`` on ``workers`` threads (the calling thread when ``workers == 1``)."""

    def __init__(self, workers: int):
        self.workers = workers
        self._executor: Optional[ThreadPoolExecutor] = None

    def _pool(self) -> Optional[ThreadPoolExecutor]:
        if self.workers == 1:
            return None
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="fastjoin")
        return self._executor

    def ordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``fn(item)`` for each item, yielded in input order. An error raised by ``fn`` is
        raised at its item's turn; one raised by ``items`` itself after every earlier
        item's result, so the first error in input order is the one seen. An input of one
        item (the embedded, in-memory case) skips the thread hop."""
        items = iter(items)
        pending: deque = deque()
        try:
            head, rest = _head(items, 2)
            pool = self._pool() if len(head) > 1 else None
            source = itertools.chain(head, rest)
            while True:
                try:
                    item = next(source)
                except StopIteration:
                    break
                except Exception:  # reading or framing failed: the earlier results come first
                    while pending:
                        yield pending.popleft().result()
                    raise
                pending.append(pool.submit(fn, item) if pool else _Done(fn, item))
                while pending and (len(pending) > self.workers or pending[0].done()):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _head(items: Iterator[T], n: int) -> tuple[list[T], Iterator[T]]:
    """The first ``n`` items, and the rest; an error reading the head is raised by the rest,
    after the items read before it (their results, and errors, come first)."""
    head: list[T] = []
    for _ in range(n):
        try:
            head.append(next(items))
        except StopIteration:
            break
        except Exception as exc:
            return head, _raise(exc)
    return head, items


def _raise(exc: Exception) -> Iterator:
    raise exc
    yield  # a generator: raises when read


class _Done:
    """A finished 'future': ``fn`` run inline, its result or error kept for ``result()``."""

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
