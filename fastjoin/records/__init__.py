"""Record formats: each turns one chunk of complete lines into its output bytes.

:mod:`~fastjoin.records.base` holds what they share (the chunk, its result, the plan, the
:class:`~fastjoin.records.base.RecordFormat` protocol and the first-record rule),
:mod:`~fastjoin.records.invoke` the container mini-batches; :mod:`~fastjoin.records.csv` and
:mod:`~fastjoin.records.jsonl` are the formats. :func:`format_for` picks one by media type.
"""

from __future__ import annotations

from fastjoin.records.base import RecordFormat


def format_for(media_type: str | None) -> RecordFormat | None:
    """The record format that reads ``media_type`` (already normalised), or None."""
    from fastjoin.records import csv, jsonl

    for module in (csv, jsonl):
        if media_type in module.FORMAT.content_types:
            return module.FORMAT
    return None
