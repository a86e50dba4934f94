"""Blocks: one input object cut into byte ranges that workers read and run on their own.

The driver plans (:func:`plan_blocks`): an object larger than ``block_size`` is cut into
about equal nominal ranges (Dask's ``read_bytes`` spreads the spare bytes the same way);
each worker reads the lines whose first byte lies in its range (the rule of
:func:`fastjoin.framing.byte_range`, so any cut gives every line to exactly one block) and runs them through the pipeline in
``chunk_size`` chunks (:func:`run_block`). A gzip object, a ``SplitType=None`` JSON object
and an object no larger than a block are one block, read as a stream as the local runner
reads it. With ``header=True`` the driver reads the header line once and hands its names
to every block after the first (the first reads and writes the header itself).

:func:`run_blocks` takes the block results back in order and makes their locations
absolute, exactly as :func:`fastjoin.pipeline.run_object` does for chunks, so the output,
errors and dead letters are those of a single-process run, byte for byte. :class:`BlockFeed`
sends every block of a job through one window, so that many small objects spread across the
workers instead of running one after another.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import deque
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Iterator, Optional

from fastjoin import framing
from fastjoin.errors import FastjoinError, InputError, StorageError
from fastjoin.options import FRAMED
from fastjoin.pipeline import INLINE, InOrder, Pipeline, header_names, read_object, run_object
from fastjoin.records.base import ChunkResult

__all__ = ["Block", "plan_blocks", "run_block", "run_blocks", "BlockFeed", "MAX_BLOCKS"]

MAX_BLOCKS = 10_000  # per object: S3's most parts in one upload, and each block may be one


@dataclass(frozen=True)
class Block:
    """The lines of ``obj`` whose first byte lies in ``[start, stop)``; the whole object read
    as a stream when ``whole``. ``names``: the header, read by the driver (None in block 0,
    which reads it itself)."""

    obj: Any  # an InputObject or S3Object: picklable, opened where the block runs
    index: int
    start: int
    stop: int
    whole: bool = False
    names: Optional[tuple[str, ...]] = None

    def pieces(self, f, options) -> Iterator[framing.Piece]:
        """The block's pieces of at most ``chunk_size`` bytes (a longer line whole)."""
        if self.whole:
            yield from read_object(f, options, self.obj.name)
            return
        first, last = framing.line_start(f, self.start), framing.line_start(f, self.stop)
        f.seek(first)
        # read as the local runner reads a stream: chunk_size pieces, a line over the limit refused
        pieces = framing.read_chunks(
            f,
            options.chunk_size,
            max_record=options.max_record_bytes,
            source=self.obj.name,
            limit=last - first,
        )
        try:
            for piece in pieces:
                yield piece._replace(base_offset=first + piece.base_offset)
        except InputError as exc:  # located in the range: made absolute in the object
            if exc.location is not None:
                exc.location = dataclasses.replace(exc.location, byte_offset=first + exc.location.byte_offset)
            raise


def plan_blocks(pipeline: Pipeline, obj) -> list[Block]:
    """``obj`` as blocks of about ``block_size`` bytes, in order (an empty object is one
    empty block: its header error and its empty output come from the same code as any other)."""
    options = pipeline.options
    size, block_size = obj.size, options.block_size
    # gzip cannot be entered midway, frames are not cut at newlines: one block, read as a stream
    if (
        obj.compression != "None"
        or options.whole_object
        or options.split_type in FRAMED
        or size <= block_size
    ):
        return [Block(obj, 0, 0, size, whole=True)]
    count = min(-(-size // block_size), MAX_BLOCKS)  # larger blocks past S3's part limit
    bounds = [size * i // count for i in range(count + 1)]
    names = None
    if options.header:
        with obj.open() as f:
            names = header_names(pipeline, obj.name, framing.byte_range(f, 0, 1))
    return [Block(obj, i, bounds[i], bounds[i + 1], names=names if i else None) for i in range(count)]


def run_block(pipeline: Pipeline, block: Block) -> ChunkResult:
    """Run one block where it is (a worker): its output, counts and dead letters, with
    locations counted from its first line (:func:`run_blocks` shifts them)."""
    stats = SimpleNamespace(records=0, blank_lines=0, bytes_in=0)
    errors: list = []
    order = InOrder(stats, None, errors.extend)  # counts the block's lines as its results come
    obj = block.obj
    with obj.open() as f:
        _check_size(obj, f)
        pieces = block.pieces(f, pipeline.options)
        data = b"".join(run_object(pipeline, INLINE, obj.name, pieces, stats, names=block.names, order=order))
        check = getattr(obj, "check_unchanged", None)
        if check is not None:
            check(f)
    return ChunkResult(data, stats.records, stats.blank_lines, 0, errors, order.lines, stats.bytes_in)


def _check_size(obj, f) -> None:
    """Blocks were planned from the size listed; a local file that has another size now would
    be cut at the wrong places."""
    opened = getattr(f, "opened", None)
    if opened is not None and obj.compression == "None" and opened.st_size != obj.size:
        raise StorageError(
            f"{obj.name}: the file changed since it was listed (size {obj.size:,} -> "
            f"{opened.st_size:,} bytes); its output was not written: run again once the file is complete"
        )


def run_blocks(
    results: Iterator[ChunkResult],
    stats,
    progress: Optional[Callable[[int, int], None]] = None,
    on_errors: Optional[Callable[[list], None]] = None,
) -> Iterator[bytes]:
    """One object's output bytes, in input order, from the results of its blocks (in order,
    each error raised at its turn); errors and dead letters made absolute."""
    order = InOrder(stats, progress, on_errors)
    while True:
        try:
            result = next(results)
        except StopIteration:
            return
        except FastjoinError as exc:
            order.failed(exc)
            raise
        yield order.take(result)


class BlockFeed:
    """Every block of a job's objects, planned up front and sent through one runner window,
    so that small objects run side by side on the workers; :meth:`next_object` hands out
    the next object's block results in order. ``runner`` has ``outcomes(fn, items)``
    (``(result, error)`` pairs in input order) and ``pipeline`` (what runs the blocks)."""

    def __init__(self, runner, pipeline: Pipeline, objects: list):
        plans: list = []
        for obj in objects:
            try:
                plans.append(plan_blocks(pipeline, obj))
            except (FastjoinError, OSError) as exc:  # e.g. the header cannot be read: this object fails
                plans.append(exc)
        self._plans = deque(plans)  # handed out by next_object
        blocks = (b for plan in plans if isinstance(plan, list) for b in plan)
        self._outcomes = runner.outcomes(functools.partial(run_block, runner.pipeline), blocks)

    def next_object(self) -> "_ObjectResults":
        """The next object's block results, in order; close it when done (its blocks left
        untaken, as when the object failed, are then drained so the next object starts at
        its own)."""
        return _ObjectResults(self._outcomes, self._plans.popleft())

    def close(self) -> None:
        """Cancel what is still in flight (a job interrupted)."""
        self._outcomes.close()


class _ObjectResults:
    """One object's block results from a :class:`BlockFeed`; each error raised at its turn."""

    def __init__(self, outcomes: Iterator, plan):
        self._outcomes, self._plan = outcomes, plan
        self._left = len(plan) if isinstance(plan, list) else 0

    def __iter__(self) -> "_ObjectResults":
        return self

    def __next__(self) -> ChunkResult:
        if not isinstance(self._plan, list):  # planning failed: the object's error, once
            error, self._plan = self._plan, []
            raise error
        if not self._left:
            raise StopIteration
        result, error = next(self._outcomes)
        self._left -= 1
        if error is not None:
            raise error
        return result

    def close(self) -> None:
        while self._left:
            next(self._outcomes)
            self._left -= 1
