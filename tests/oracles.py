"""Naive evaluators written from the spec, shared by the tests and the fuzz targets (which
add this folder to their path): small enough to be obviously right, never fast."""

from __future__ import annotations

from typing import List, Optional, Tuple, Union

RangeItem = Tuple[Optional[int], Optional[int]]


def naive_select(items: List[Union[int, RangeItem]], width: int) -> Optional[List[int]]:
    """Python list indexing on the row [0..width-1]; None where the filter must fail."""
    row = list(range(width))

    def at(i: int) -> Optional[int]:
        return row[i] if -width <= i < width else None

    out: List[int] = []
    for item in items:
        if isinstance(item, int):
            if at(item) is None:
                return None
            out.append(at(item))
            continue
        start, end = item
        first = 0 if start is None else at(start)
        last = width - 1 if end is None else at(end)
        if first is None or last is None or (first > last and item != (None, None)):
            return None
        out.extend(row[first : last + 1])
    return out
