"""Fuzz target: the JSONPath compiler (fastjoin.jsonpath) against a naive evaluator written
here from SPEC §2, as the tests' property does for CSV.

An input is a flags byte (dialect, CSV width, header quirks), the expression (UTF-8), and
after a NUL byte an optional JSON value. For every input:

* compile_path returns a Path or raises PathSyntaxError naming the expression and a position
  inside it; nothing else may escape;
* a path that compiles renders back to text that compiles to the same steps, and one the
  sagemaker dialect accepts means the same in extended;
* csv_indices equals the naive CSV evaluator (indexes, ranges, names against a header), or
  both fail;
* select and select_all equal the naive JSON evaluator on the value, or all raise NoMatch
  (select_all naming the failing record).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris
import harness
import orjson

sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))  # the shared naive oracles
from oracles import naive_select as naive_positions  # noqa: E402

with atheris.instrument_imports(include=["fastjoin.jsonpath"]):
    from fastjoin.errors import FeatureError, PathSyntaxError
    from fastjoin.jsonpath import Child, Index, NoMatch, Wildcard, compile_path

TARGET = "jsonpath"
HEADER = ("id", "a", "b", "features", "SageMakerOutput", "x", "a", "é")
DEFAULT_VALUE = {"a": {"b": [1, 2, 3]}, "id": 7, "features": [0.5, 1, 2], "SageMakerOutput": {"x": 1}}
MISS = object()


def naive_csv(steps, width, header):
    if not steps:
        return list(range(width))
    if len(steps) > 1:
        return None
    (step,) = steps
    if isinstance(step, Wildcard):
        return list(range(width))
    if isinstance(step, Index):
        return naive_positions(step.items, width)
    if header is None:
        return None
    out = []
    for name in step.names:
        hits = [i for i, column in enumerate(header) if column == name]
        if len(hits) != 1 or hits[0] >= width:
            return None
        out.append(hits[0])
    return out


def naive_select(steps, value):
    nodes = [value]
    for step in steps:
        found = []
        for node in nodes:
            if isinstance(step, Child):
                if type(node) is not dict or any(name not in node for name in step.names):
                    return MISS
                if len(step.names) == 1:
                    found.append(node[step.names[0]])
                else:
                    found.append({name: node[name] for name in step.names})
            elif isinstance(step, Wildcard):
                if type(node) is dict:
                    found.extend(node.values())
                elif type(node) is list:
                    found.extend(node)
                else:
                    return MISS
            else:
                positions = naive_positions(step.items, len(node)) if type(node) is list else None
                if positions is None:
                    return MISS
                found.extend(node[i] for i in positions)
        nodes = found
    definite = all(
        isinstance(s, Child)
        or (isinstance(s, Index) and len(s.items) == 1 and not isinstance(s.items[0], tuple))
        for s in steps
    )
    return nodes[0] if definite else nodes


def render(steps) -> str:
    """Extended-dialect text for ``steps``."""
    parts = ["$"]
    for step in steps:
        if isinstance(step, Wildcard):
            parts.append(".*")
        elif isinstance(step, Index):
            items = [
                str(i)
                if not isinstance(i, tuple)
                else f"{'' if i[0] is None else i[0]}:{'' if i[1] is None else i[1]}"
                for i in step.items
            ]
            parts.append("[" + ",".join(items) + "]")
        elif not step.bracket:
            parts.append("." + step.names[0])
        else:
            quoted = ("'" + n.replace("\\", "\\\\").replace("'", "\\'") + "'" for n in step.names)
            parts.append("[" + ",".join(quoted) + "]")
    return "".join(parts)


def outcome(run):
    try:
        return repr(run())  # repr tells True from 1 and keeps key order
    except NoMatch as exc:
        return ("NoMatch", exc.index)


def test_one_input(data: bytes) -> None:
    data = data[: harness.MAX_LEN]
    if not data:
        return
    flags, rest = data[0], data[1:]
    text, _, value_bytes = rest.partition(b"\0")
    expression = text.decode("utf-8", "replace")
    dialect = "sagemaker" if flags & 1 else "extended"
    value = DEFAULT_VALUE
    if value_bytes and value_bytes.count(b"[") + value_bytes.count(b"{") < 200:  # repr's depth limit
        try:
            value = orjson.loads(value_bytes)
        except orjson.JSONDecodeError:
            pass
    try:
        path = compile_path(expression, dialect=dialect)
    except PathSyntaxError as exc:
        if exc.expression != expression or not 0 <= exc.position <= len(expression):
            harness.disagree(TARGET, data, f"bad error position {exc.position}: {exc}")
        return
    if path.expression != (expression or "$"):
        harness.disagree(TARGET, data, f"path.expression is {path.expression!r}")
    again = compile_path(render(path.steps))
    if again.steps != path.steps:
        harness.disagree(TARGET, data, f"{render(path.steps)!r} compiles to {again.steps}, not {path.steps}")
    if dialect == "sagemaker" and compile_path(expression).steps != path.steps:
        harness.disagree(TARGET, data, "the sagemaker and extended dialects disagree")

    width = (flags >> 1) & 7
    header = None if flags & 0x10 else HEADER[: width + (flags >> 5 & 3)]
    try:
        got = path.csv_indices(width, header).tolist()
    except FeatureError:
        got = None
    want = naive_csv(path.steps, width, header)
    if got != want:
        harness.disagree(TARGET, data, f"csv_indices({width}, {header}): {got}, naive {want}")

    want = naive_select(path.steps, value)
    got = outcome(lambda: path.select(value))
    if got != (("NoMatch", None) if want is MISS else repr(want)):
        harness.disagree(TARGET, data, f"select: {got}, naive {'no match' if want is MISS else repr(want)}")
    others = [value, DEFAULT_VALUE] if flags & 0x80 else [DEFAULT_VALUE, value]
    wants = [naive_select(path.steps, v) for v in others]
    missed = [i for i, w in enumerate(wants) if w is MISS]
    expected = ("NoMatch", missed[0]) if missed else repr(wants)
    got = outcome(lambda: path.select_all(others))
    if got != expected:
        harness.disagree(TARGET, data, f"select_all: {got}, naive {expected}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
