"""Container mini-batches, for every format: records batched into requests by
``MaxPayloadInMB`` (or one per request, ``SingleRecord``), each sent with its location at
hand (:func:`send`), the request-size error and the check that the model answered one line
per record.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from fastjoin.container.policy import ContainerError, ContainerRefused
from fastjoin.errors import Location, OutputError, PayloadTooLargeError, plural
from fastjoin.records.base import ONE_MB, Plan

__all__ = ["payloads", "batches", "send", "too_large", "wrong_count"]


def payloads(line_ends: np.ndarray, limit: int, single: bool) -> Iterator[tuple[int, int, int, int]]:
    """Split a request body of whole lines (``line_ends``: the offset after each) into
    mini-batches of at most ``limit`` bytes (``MultiRecord``; 0: no limit) or one line each
    (``SingleRecord``): yields ``(start, stop, first, last)``, byte bounds and record bounds.
    A record larger than the limit gets a batch of its own (see :func:`too_large`)."""
    first = 0
    start = 0
    n = len(line_ends)
    while first < n:
        if single or limit <= 0:
            last = first + 1 if single else n
        else:
            # the furthest line end within the payload limit; at least one record
            last = int(np.searchsorted(line_ends, start + limit, side="right"))
            last = max(last, first + 1)
        stop = int(line_ends[last - 1])
        yield start, stop, first, last
        first, start = last, stop


def batches(plan: Plan, line_ends: np.ndarray, where) -> Iterator[tuple[int, int, int, int]]:
    """:func:`payloads` under ``plan``'s limits, refusing a record no request can carry;
    ``where(r)`` locates record ``r``."""
    limit = plan.max_payload_bytes
    for start, stop, first, last in payloads(line_ends, limit, plan.single_record):
        if limit and stop - start > limit:
            raise too_large(stop - start, limit, where(first))
        yield start, stop, first, last


def send(model, plan: Plan, body: bytes, where: Callable[[int], Location], first: int, last: int) -> bytes:
    """The model's answer to the mini-batch ``body`` of records ``first`` to ``last - 1``
    (``where(r)`` locates record ``r``); a failure names the batch's first and last line."""
    try:
        return model.invoke(body, plan.content_type, plan.accept)
    except (ContainerError, ContainerRefused) as exc:
        exc.in_batch(where(first), where(last - 1), last - first)
        raise


def too_large(size: int, limit: int, where: Location) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"record is {size} bytes, larger than MaxPayloadInMB ({limit // ONE_MB} MB)", where
    )


def wrong_count(where: Location, why: str, records: int, extra: str = "") -> OutputError:
    """The model's answer to a mini-batch of ``records`` records starting at ``where`` does not
    hold one output per record (``why`` says what it returned)."""
    return OutputError(f"the model {why} for {plural(records, 'record')} (from this record on){extra}", where)
