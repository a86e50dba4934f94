"""Joined JSON records through the output filter, and the bytes written for them.

Join (SPEC §3, reference/semantics.md §3.3): an object record gains ``SageMakerOutput``
(overwritten if present), any other record becomes ``{"SageMakerInput": …,
"SageMakerOutput": …}``. The model's per-record output is parsed as JSON; an in-process
XGBoost prediction is the float32 value written as the container writes it
(``0.9899773597717285``; several outputs: a list). The output filter applies to the joined
record, which is written compactly by orjson with keys sorted by code point, which is UTF-8
byte order (``JsonPlan.key_order == "input"`` keeps the input order instead).

A filter of names on the joined record is written a column at a time, without building the
objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from fastjoin.errors import FeatureError, JsonLinesError
from fastjoin.jsonpath import NoMatch
from fastjoin.records.base import OUTPUT_KEY, no_join_hint
from fastjoin.records.jsonl.numbers import WRITE_DEPTH, at_risk, canonical, exact_load, risky_column
from fastjoin.records.jsonl.parse import Kept, Records, select

if TYPE_CHECKING:
    from fastjoin.records.jsonl import JsonPlan

INPUT_KEY = "SageMakerInput"


def _join(value, output, key: str = OUTPUT_KEY):
    if type(value) is dict:
        return {**value, key: output}  # an existing SageMakerOutput is overwritten in place
    return {INPUT_KEY: value, key: output}


class _Objects:
    """Output values that are all objects with the same keys (``names``, no repeats), held a
    column per key: a filter of names on joined records. Written without building them."""

    __slots__ = ("names", "columns")

    def __init__(self, names: tuple, columns: list):
        self.names = names
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0])

    def set(self, r: int, value: dict) -> None:
        for name, column in zip(self.names, self.columns):
            column[r] = value[name]


_SCALAR_TYPES = frozenset({int, float, bool, type(None), orjson.Fragment})  # no ',' in their JSON


def write(plan: JsonPlan, records: Records, written) -> bytes:
    """The output bytes: each value compact, followed by the terminator."""
    terminator = plan.terminator
    if not isinstance(written, _Objects):
        encoded = encode(plan, records, written)
        return terminator.join(encoded) + terminator if terminator else b"".join(encoded)
    # {"k1":v1,"k2":v2}: one column at a time, then interleaved with the constant parts
    order = (
        sorted(range(len(written.names)), key=written.names.__getitem__)
        if plan.key_order == "sorted"
        else range(len(written.names))
    )
    n, parts_per_row = len(written), 2 * len(written.names) + 1
    parts = [b""] * (n * parts_per_row)
    separator = b"{"
    for j, i in enumerate(order):
        column = written.columns[i]
        pieces = None
        if set(map(type, column)) <= _SCALAR_TYPES:
            try:  # one call for the column, split where no value holds a ','
                pieces = orjson.dumps(column)[1:-1].split(b",")
            except orjson.JSONEncodeError:
                pass  # (an integer beyond 64 bits) encoded one by one, which says where
        if pieces is None:
            pieces = encode(plan, records, column)
        parts[2 * j :: parts_per_row] = [separator + orjson.dumps(written.names[i]) + b":"] * n
        parts[2 * j + 1 :: parts_per_row] = pieces
        separator = b","
    parts[parts_per_row - 1 :: parts_per_row] = [b"}" + terminator] * n
    return b"".join(parts)


def encode(plan: JsonPlan, records: Records, values: list) -> list:
    dumps, option = orjson.dumps, plan.dump_option
    try:
        return [dumps(v, option=option) for v in values]
    except orjson.JSONEncodeError:
        pass  # find the record, below
    encoded = []
    for r, v in enumerate(values):
        try:
            encoded.append(dumps(v, option=option))
        except orjson.JSONEncodeError as exc:
            why = (
                f"it nests deeper than {WRITE_DEPTH} levels, the most orjson writes"
                if "ecursion" in str(exc)
                else str(exc)
            )
            raise JsonLinesError(f"cannot write the output record: {why}", records.where(r)) from None
    return encoded


def outputs(plan: JsonPlan, records: Records, outputs: list, raws, exact_outputs: bool) -> list:
    """What is written for each record: the joined record (or the model output) through the
    output filter, with number text kept when asked. ``exact_outputs``: the outputs are
    in-process predictions, exact by construction; otherwise container responses (``raws``)."""
    key = plan.prediction_name
    written, names, prediction = _joined_selection(plan, records, outputs)
    if plan.numbers != "preserve" or (exact_outputs and not plan.join):
        return written
    select = plan.output_filter.select
    if isinstance(written, _Objects):
        risky = sorted(
            set().union(
                *(
                    risky_column(column)
                    for name, column in zip(written.names, written.columns)
                    if not (exact_outputs and name == prediction)
                )
            )
        )
    else:
        risky = at_risk(written, names, outputs if exact_outputs else None, prediction)
    for r in risky:
        output = outputs[r]
        if not exact_outputs:
            raw = bytes(raws[r])
            if not canonical(output, raw):
                output = exact_load(raw, records.where(r))
        record = records.exact(r) if plan.join else None
        if output is outputs[r] and (not plan.join or record is records.values[r]):
            continue  # orjson writes these numbers as they were written: nothing to redo
        value = select(_join(record, output, key) if plan.join else output)
        if isinstance(written, _Objects):
            written.set(r, value)
        else:
            written[r] = value
    return written


def _joined_selection(plan: JsonPlan, records: Records, outputs: list):
    """The output filter on each joined record → (values, names, prediction): ``names`` when
    every value is an object with exactly those keys, ``prediction`` the one of them that
    holds the model output. A filter of names reads the joined record without building it
    (the common ``$['id','SageMakerOutput']``, straight from the kept columns); any record it
    does not fit goes the general way, which also words the error."""
    path = plan.output_filter
    if not plan.join:
        try:
            return select(path, "OutputFilter", records, outputs), None, None
        except FeatureError as exc:
            message = f"{exc.message}; {no_join_hint(plan)}"
            raise FeatureError(message, exc.location, path=exc.path) from None
    key = plan.prediction_name
    chain = path.name_chain
    values = records.values
    if chain is not None and (chain[0] or chain[1]):
        keys, last = chain
        try:
            if keys:
                head, rest = keys[0], path.rest
                if head == key:
                    picked = list(outputs)
                elif isinstance(values, Kept):
                    picked = list(values.columns[values.keys.index(head)])
                else:
                    picked = [v[head] for v in values]
                return rest.select_all(picked), last, None
            assert last is not None  # no single-name steps: the path is one multi-name bracket
            if len(set(last)) == len(last):
                if isinstance(values, Kept):
                    kept = dict(zip(values.keys, values.columns))
                    columns = [list(outputs) if name == key else list(kept[name]) for name in last]
                else:
                    columns = [list(outputs) if name == key else [v[name] for v in values] for name in last]
                return _Objects(last, columns), last, key
            return (
                [{name: (o if name == key else v[name]) for name in last} for v, o in zip(values, outputs)],
                last,
                key,
            )
        except (KeyError, TypeError, ValueError, NoMatch):
            pass  # some record is not an object, or lacks a key
    joined = [_join(v, o, key) for v, o in zip(values, outputs)]
    return select(path, "OutputFilter", records, joined), None, None
