"""The JSONPath subset of SageMaker's InputFilter / OutputFilter, compiled once per job.

``compile_path`` turns an expression into a :class:`Path`: a tuple of steps. A CSV filter is
then resolved, once per distinct row width, into an int64 index vector
(:meth:`Path.csv_indices`); records are never re-parsed against the expression. A JSON
filter is evaluated on parsed values (:meth:`Path.select`, and :meth:`Path.select_all` for a
batch, with fast paths for chains of names).

Two dialects (SPEC §2): ``sagemaker`` accepts exactly what SageMaker accepts, with its error
texts; ``extended`` (default) is a strict superset. Slices include their end (``$[1:4]`` is
indexes 1..4), which is SageMaker's documented rule and differs from other JSONPath libraries.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, NoReturn, Optional, Protocol, Sequence, Tuple, Union

import numpy as np

from fastjoin.errors import ConfigError, FeatureError, PathSyntaxError, plural

__all__ = ["DIALECTS", "ROLES", "compile_path", "Path", "Child", "Wildcard", "Index", "Step", "NoMatch"]

DIALECTS = ("extended", "sagemaker")
ROLES = ("InputFilter", "OutputFilter")

# SageMaker's CreateTransformJob limits (API JsonPath shape; GitHub issue sagemaker-python-sdk#184).
SAGEMAKER_MAX_LENGTH = 63
_SAGEMAKER_CHARS = frozenset(string.ascii_letters + string.digits + "$[]*. ,:-'")
_SAGEMAKER_OPERATORS = "['$', '[', ']', '*', '.', ' ', ',', ':', '-', ''']"

_MAX_LISTED_NAMES = 20  # header names shown in an "unknown column" error
# Indexes resolve into int64 vectors; a longer number is a typo, and int() of one over 4300
# digits raises a bare ValueError, so the parser refuses it first.
_MAX_INDEX = 2**63 - 1

Range = Tuple[Optional[int], Optional[int]]  # (start, end), both inclusive; None = open end
Item = Union[int, Range]


@dataclass(frozen=True)
class Child:
    """Select children by name: ``.name`` (``bracket`` False) or ``['a','b']`` (``bracket`` True).

    The flag matters for JSON results: ``$.a`` yields the value, ``$['a','b']`` an object that
    keeps only those keys.
    """

    names: Tuple[str, ...]
    bracket: bool


@dataclass(frozen=True)
class Wildcard:
    """``.*`` or ``[*]``: every child."""


@dataclass(frozen=True)
class Index:
    """``[i,j:k,...]``: items are indexes or inclusive ranges, in the order written."""

    items: Tuple[Item, ...]


Step = Union[Child, Wildcard, Index]
# A path of names only: the single-name steps' keys, then a final multi-name bracket's names or None.
NameChain = Tuple[List[str], Optional[Tuple[str, ...]]]


class Values(Protocol):
    """What :meth:`Path.select_all` takes: values it can count and iterate more than once (a
    list, a tuple, or records.jsonl' records held a column per key), not a one-shot iterator."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


@dataclass(frozen=True)
class Path:
    """A compiled filter. ``expression`` is the text as given (``"$"`` for an empty filter)."""

    expression: str
    dialect: str
    steps: Tuple[Step, ...]
    # Per (width, header) index vectors; mutated in place, which a frozen dataclass allows.
    _csv_cache: Dict[Tuple[int, Optional[Tuple[str, ...]]], np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def is_root(self) -> bool:
        """True for ``$`` alone: the filter passes the record through unchanged."""
        return not self.steps

    def __str__(self) -> str:
        return self.expression

    def csv_indices(self, width: int, names: Optional[Sequence[str]] = None) -> np.ndarray:
        """Field indexes this filter selects from a CSV row of ``width`` fields, in order.

        ``names`` is the header (``header=True``); without it only index paths apply.
        The result is int64, 1-D, C-contiguous and read-only (it is shared through the cache).
        Raises :class:`FeatureError` (no location: the caller knows the record).
        """
        width = int(width)
        header = None if names is None else tuple(names)
        key = (width, header)
        cached = self._csv_cache.get(key)
        if cached is None:
            cached = np.array(self._resolve_csv(width, header), dtype=np.int64)
            cached.flags.writeable = False
            self._csv_cache[key] = cached
        return cached

    def _resolve_csv(self, width: int, header: Optional[Tuple[str, ...]]) -> Sequence[int]:
        if not self.steps:
            return range(width)
        if len(self.steps) > 1:
            raise self._flat_error(f"{self.expression} has {len(self.steps)} steps")
        step = self.steps[0]
        if isinstance(step, Wildcard):
            return range(width)
        if isinstance(step, Index):
            out: List[int] = []
            for item in step.items:
                if isinstance(item, tuple):
                    out.extend(self._csv_range(item, width))
                else:
                    out.append(self._csv_index(item, width, "index"))
            return out
        if header is None:
            raise self._flat_error(f"{self.expression} selects by name but the CSV input has no header")
        return [self._csv_name(name, width, header) for name in step.names]

    def _csv_index(self, index: int, width: int, what: str) -> int:
        # Negative counts from the end (-1 = last); anything outside the row is an error.
        resolved = index + width if index < 0 else index
        if not 0 <= resolved < width:
            raise self._feature_error(
                f"{what} {index} is out of range for a row of {plural(width, 'field')} in {self.expression}"
            )
        return resolved

    def _csv_range(self, item: Range, width: int) -> range:
        start, end = item
        first = 0 if start is None else self._csv_index(start, width, "slice start")
        if end is not None and end >= width:
            raise self._feature_error(
                f"slice end {end} is out of range for a row of {plural(width, 'field')} in "
                f"{self.expression}{_inclusive_end_hint(self.expression, item, width, 'field')}"
            )
        last = width - 1 if end is None else self._csv_index(end, width, "slice end")
        if first > last and start is not None and end is not None:  # "[:]" on 0 fields is empty
            raise self._feature_error(
                f"slice {_range_text(item)} starts after it ends (index {first} > {last}) "
                f"for a row of {plural(width, 'field')} in {self.expression}"
            )
        return range(first, last + 1)  # the end is inclusive

    def _csv_name(self, name: str, width: int, header: Tuple[str, ...]) -> int:
        hits = [i for i, column in enumerate(header) if column == name]
        if not hits:
            shown = ", ".join(repr(n) for n in header[:_MAX_LISTED_NAMES])
            if len(header) > _MAX_LISTED_NAMES:
                shown += f", ... ({len(header) - _MAX_LISTED_NAMES} more)"
            raise self._feature_error(
                f"no column named {name!r} in the header (available: {shown}) in {self.expression}"
            )
        if len(hits) > 1:
            raise self._feature_error(
                f"column name {name!r} is ambiguous: the header has it at indexes "
                f"{', '.join(map(str, hits))} in {self.expression}"
            )
        if hits[0] >= width:
            raise self._feature_error(
                f"column {name!r} (index {hits[0]}) is out of range for a row of {plural(width, 'field')} "
                f"in {self.expression}"
            )
        return hits[0]

    def _flat_error(self, why: str) -> FeatureError:
        return self._feature_error(
            f"{why}; CSV rows are flat arrays: select fields with one index step such as "
            f"$[0], $[0,-1] or $[1:], or read the input with header=True (--header) to select columns by name"
        )

    def _feature_error(self, message: str) -> FeatureError:
        return FeatureError(message, path=self.expression)

    # -- JSON values (SPEC §2, reference/semantics.md §2.6) --------------------------------

    @functools.cached_property  # written to __dict__ directly, which a frozen dataclass allows
    def is_definite(self) -> bool:
        """True when every step selects exactly one node (names, one plain index): the result
        of :meth:`select` is then that value; otherwise it is the list of selected values."""
        return all(_definite(step) for step in self.steps)

    @property
    def name_chain(self) -> Optional[NameChain]:
        """``(keys, last)`` when the path is only names: ``keys`` the single-name steps, then
        ``last`` the names of a final multi-name bracket (or None). None for other paths."""
        return _name_chain(self.steps)

    @functools.cached_property
    def rest(self) -> "Path":
        """The path after its first step (``$.a.b`` → ``$.b``), compiled once: what is left
        to select once the first name is taken from a record's column."""
        return Path(self.expression, self.dialect, self.steps[1:])

    def select(self, value):
        """Evaluate the filter on a parsed JSON value (dicts, lists, str, int, float, bool,
        None, as orjson or json return them).

        ``.name`` and ``['name']`` give the child; ``['a','b']`` an object with those keys in
        filter order; ``*`` every child (object values in order, or array elements); indexes
        and slices work on arrays, negative counting from the end, slices including their end.
        A definite path gives one value, any other a list (:attr:`is_definite`). A path that
        selects nothing (a missing key, a step on the wrong type, an index out of range)
        raises :class:`NoMatch`, a :class:`FeatureError` without location; an empty wildcard
        or open slice is an empty list, not an error.
        """
        if not self.steps:
            return value
        try:
            return self._select(value, False)
        except _Miss:
            pass
        self._select(value, True)  # raises NoMatch, with a message naming the failing step
        raise AssertionError("unreachable: the explaining pass found no failure")

    def select_all(self, values: Values) -> list:
        """:meth:`select` on each value; a :class:`NoMatch` carries the failing ``index``.

        A root path returns ``values`` itself (as a list); chains of names (``$.a.b``,
        ``$['id','SageMakerOutput']``) run as list comprehensions, falling back to the
        per-value evaluation only to explain a failure.
        """
        if not self.steps:
            return values if isinstance(values, list) else list(values)
        names = _name_chain(self.steps)
        if names is not None:
            keys, last = names
            try:
                selected = values
                for key in keys:
                    selected = [v[key] for v in selected]
                if last is not None:
                    selected = [{name: v[name] for name in last} for v in selected]
                return selected if isinstance(selected, list) else list(selected)
            except (KeyError, TypeError):
                pass  # some value does not fit: find and explain it below
        out = []
        miss = _Miss
        select = self._select
        for index, value in enumerate(values):
            try:
                out.append(select(value, False))
            except miss:
                try:
                    self._select(value, True)
                except NoMatch as exc:
                    exc.index = index
                    raise
                raise AssertionError("unreachable: the explaining pass found no failure") from None
        return out

    def _select(self, value, explain: bool):
        """Walk the steps over a list of nodes. Without ``explain`` a failure raises the bare
        ``_Miss``; with it, node locations (``$.a[2]``) are tracked to word a NoMatch."""
        nodes = [value]
        where: List[str] = ["$"] if explain else []  # node locations, tracked only to explain
        for step in self.steps:
            found: list = []
            found_where: List[str] = []
            kind = type(step)
            # the step's fields, read once per step (kind says which one applies)
            names = step.names if isinstance(step, Child) else ()
            items = step.items if isinstance(step, Index) else ()
            for i, node in enumerate(nodes):
                if kind is Child:
                    if type(node) is not dict:
                        self._miss(
                            explain,
                            f"{where[i] if explain else ''} is {kind_of(node)}, not an "
                            f"object, so it has no key {_name_list(names)}",
                        )
                    if len(names) == 1:
                        name = names[0]
                        if name not in node:
                            self._miss(
                                explain,
                                f"{where[i] if explain else ''} has no key {name!r}"
                                f"{_keys_hint(node) if explain else ''}",
                            )
                        found.append(node[name])
                        if explain:
                            found_where.append(where[i] + _name_step(name))
                    else:
                        for name in names:
                            if name not in node:
                                self._miss(
                                    explain,
                                    f"{where[i] if explain else ''} has no key "
                                    f"{name!r}{_keys_hint(node) if explain else ''}",
                                )
                        found.append({name: node[name] for name in names})
                        if explain:
                            found_where.append(where[i] + _names_step(names))
                elif kind is Wildcard:
                    if type(node) is dict:
                        found.extend(node.values())
                        if explain:
                            found_where.extend(where[i] + _name_step(k) for k in node)
                    elif type(node) is list:
                        found.extend(node)
                        if explain:
                            found_where.extend(f"{where[i]}[{j}]" for j in range(len(node)))
                    else:
                        self._miss(
                            explain,
                            f"{where[i] if explain else ''} is {kind_of(node)}: '*' "
                            f"needs an object or an array",
                        )
                else:
                    if type(node) is not list:
                        self._miss(
                            explain,
                            f"{where[i] if explain else ''} is {kind_of(node)}, not an "
                            f"array, so it cannot be indexed",
                        )
                    positions = _array_positions(items, len(node))
                    if isinstance(positions, tuple):
                        why, past_end = positions
                        hint = ""
                        if explain and past_end is not None:
                            hint = _inclusive_end_hint(None, past_end, len(node), "element")
                        self._miss(
                            explain,
                            f"{why} for {where[i] if explain else ''}, an array of "
                            f"{plural(len(node), 'element')}{hint}",
                        )
                    found.extend(node[j] for j in positions)
                    if explain:
                        found_where.extend(f"{where[i]}[{j}]" for j in positions)
            nodes, where = found, found_where
        return nodes[0] if self.is_definite else nodes

    def _miss(self, explain: bool, why: str) -> NoReturn:
        if explain:
            raise NoMatch(f"{self.expression} selects nothing: {why}", self.expression)
        raise _Miss()  # a new one each time: a shared instance would keep a traceback alive


class NoMatch(FeatureError):
    """A JSON filter that selects nothing from a value. No location (the caller knows the
    record); ``index`` is the value's position in the batch given to ``select_all``."""

    def __init__(self, message: str, path: str, index: Optional[int] = None):
        super().__init__(message, path=path)
        self.index = index


class _Miss(Exception):
    """The fast pass's failure signal: no message is built until a record really fails."""


def _definite(step: Step) -> bool:
    if isinstance(step, Child):
        return True
    if isinstance(step, Index):
        return len(step.items) == 1 and not isinstance(step.items[0], tuple)
    return False


def _name_chain(steps: Tuple[Step, ...]) -> Optional[NameChain]:
    """``(keys, last)`` when the path is names only: single-name steps ``keys``, then
    optionally one multi-name bracket ``last``; None for any other path."""
    keys: List[str] = []
    for position, step in enumerate(steps):
        if not isinstance(step, Child):
            return None
        if len(step.names) > 1:
            return (keys, step.names) if position == len(steps) - 1 else None
        keys.append(step.names[0])
    return keys, None


def _array_positions(items: Tuple[Item, ...], length: int) -> Union[List[int], Tuple[str, Optional[Range]]]:
    """Element positions an index step selects from an array of ``length``, in order, or why
    it selects nothing: ``(reason, slice)``, the slice when it ends at or past the array's end
    (the message reminds that slices include their end), else None. The rules are the CSV
    rules (SPEC §2)."""
    out: List[int] = []
    for item in items:
        if not isinstance(item, tuple):
            position = item + length if item < 0 else item
            if not 0 <= position < length:
                return f"index {item} is out of range", None
            out.append(position)
            continue
        start, end = item
        first = 0 if start is None else (start + length if start < 0 else start)
        last = length - 1 if end is None else (end + length if end < 0 else end)
        if start is not None and not 0 <= first < length:
            return f"slice start {start} is out of range", None
        if end is not None and not 0 <= last < length:
            return f"slice end {end} is out of range", item if end >= length else None
        if first > last and start is not None and end is not None:
            return f"slice {_range_text(item)} starts after it ends (index {first} > {last})", None
        out.extend(range(first, last + 1))  # the end is inclusive
    return out


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _name_step(name: str) -> str:
    if _PLAIN_NAME.fullmatch(name):
        return "." + name
    return "[" + _quote(name) + "]"


def _names_step(names: Sequence[str]) -> str:
    return "[" + ",".join(map(_quote, names)) + "]"


def _quote(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _name_list(names: Sequence[str]) -> str:
    return " or ".join(repr(n) for n in names)


def _keys_hint(node: dict) -> str:
    if not node:
        return " (it is an empty object)"
    keys = list(node)
    shown = ", ".join(repr(k) for k in keys[:_MAX_LISTED_NAMES])
    if len(keys) > _MAX_LISTED_NAMES:
        shown += f", ... ({len(keys) - _MAX_LISTED_NAMES} more)"
    return f" (keys: {shown})"


def kind_of(value) -> str:
    """A JSON value's type, as a message names it."""
    if value is None:
        return "null"
    if value is True or value is False:
        return str(value).lower()
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a number"


def compile_path(
    expression: Optional[str],
    *,
    dialect: str = "extended",
    role: Optional[str] = None,
    content_type: str = "text/csv",
) -> Path:
    """Compile a filter expression; an empty string or None means ``$``.

    ``role`` (``InputFilter`` or ``OutputFilter``, None when the filter is no job's option)
    names the option in a syntax error; with ``content_type`` it feeds SageMaker's error texts
    (which say ``InputFilter`` when ``role`` is None). Raises :class:`PathSyntaxError` for a
    bad expression, :class:`ConfigError` for bad arguments.
    """
    if dialect not in DIALECTS:
        raise ConfigError(f"unknown JSONPath dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    if role is not None and role not in ROLES:
        raise ConfigError(f"unknown filter role {role!r}; expected one of {', '.join(ROLES)}")
    if expression is None or expression == "":
        expression = "$"  # SageMaker's default for an omitted filter
    if not isinstance(expression, str):
        raise ConfigError(f"{role or 'a filter'} must be a string, not {type(expression).__name__}")
    strict = dialect == "sagemaker"
    if strict:
        _check_sagemaker_text(expression, role or "InputFilter", content_type)
    return Path(expression, dialect, _Parser(expression, strict, role).parse())


def _check_sagemaker_text(expression: str, role: str, content_type: str) -> None:
    # CreateTransformJob validates length, then characters, before anything parses the path.
    if len(expression) > SAGEMAKER_MAX_LENGTH:
        member = role[0].lower() + role[1:]
        raise PathSyntaxError(
            f"1 validation error detected: Value '{expression}' at 'dataProcessing.{member}' "
            f"failed to satisfy constraint: Member must have length less than or equal to "
            f"{SAGEMAKER_MAX_LENGTH}",
            expression,
            SAGEMAKER_MAX_LENGTH,
            role,
            names_role=True,  # SageMaker's text names the member
        )
    for position, char in enumerate(expression):
        if char not in _SAGEMAKER_CHARS:
            raise PathSyntaxError(
                f'Invalid {role}: "{expression}". Unexpected "{char}" in JsonPath. '
                f'Supported operators for "{content_type}" are {_SAGEMAKER_OPERATORS}',
                expression,
                position,
                role,
                names_role=True,
            )


def _inclusive_end_hint(expression: Optional[str], item: Range, width: int, what: str) -> str:
    """The reminder for a slice end at or past ``width`` (positive): SageMaker's slices include
    their end, so the last index is ``width - 1``; an end of exactly ``width`` is the usual
    slip from Python's end-exclusive slices, and the slice meant is shown (the whole filter
    when it is that one slice). Built only while an error is worded."""
    start, end = item
    last = width - 1
    if end != width or last < 0:
        return f" (slices include their end: the last {what} is index {last})" if last >= 0 else ""
    fixed = _range_text((start, last))
    if expression is not None and expression.replace(" ", "") == f"$[{_range_text(item)}]":
        fixed = f"$[{fixed}]"
    if what != "field":
        return f" (slices include their end: {fixed} ends at the last {what})"
    first = 0 if start is None else (start + width if start < 0 else start)
    return f" (slices include their end: {fixed} selects fields {first + 1}..{width}, the last one included)"


def _range_text(item: Range) -> str:
    start, end = item
    return f"{'' if start is None else start}:{'' if end is None else end}"


def _is_digit(char: str) -> bool:
    return char != "" and char in "0123456789"  # not str.isdigit(): no '²' or Arabic digits


def _is_name_char(char: str) -> bool:
    # Dot names: letters, digits, '-' (SageMaker's whitelist) and, in extended, '_' and
    # non-ASCII letters. Anything else needs a quoted name: ['a b'].
    return char != "" and (char.isalnum() or char in "_-")


# Hints for characters users bring from other JSONPath dialects.
_HINTS = {
    "?": "filter expressions ?(...) are not supported",
    "@": "'@' (the current node) is only meaningful in filter expressions, which are not supported",
    "(": "script expressions (...) are not supported",
    ")": "script expressions (...) are not supported",
    '"': "quote names with single quotes, e.g. ['name']",
}


class _Parser:
    """Recursive descent over the characters; positions are 0-based indexes into the text."""

    def __init__(self, text: str, strict: bool, role: Optional[str] = None):
        self.text = text
        self.strict = strict
        self.role = role  # which option the text is, for the errors
        self.pos = 0

    def parse(self) -> Tuple[Step, ...]:
        self._skip_spaces()
        if self._peek() != "$":
            raise self._error("filter must start with '$'")
        self.pos += 1
        steps: List[Step] = []
        while True:
            self._skip_spaces()
            char = self._peek()
            if char == "":
                return tuple(steps)
            if char == ".":
                steps.append(self._dot_step())
            elif char == "[":
                steps.append(self._bracket())
            else:
                raise self._unexpected(char, "expected '.' or '['")

    # -- steps -----------------------------------------------------------------------------

    def _dot_step(self) -> Step:
        self.pos += 1
        self._skip_spaces()
        char = self._peek()
        if char == ".":
            raise self._error("recursive descent '..' is not supported")
        if char == "*":
            self.pos += 1
            return Wildcard()
        if char == "[":
            return self._bracket()  # "$.a.['b','c']" means "$.a['b','c']" (SageMaker's own example)
        if _is_name_char(char):
            start = self.pos
            while _is_name_char(self._peek()):
                self.pos += 1
            return Child((self.text[start : self.pos],), bracket=False)
        if char == "":
            raise self._error("expected a name, '*' or '[' after '.'")
        raise self._unexpected(char, "expected a name, '*' or '[' after '.'")

    def _bracket(self) -> Step:
        opening = self.pos
        self.pos += 1
        self._skip_spaces()
        char = self._peek()
        if char == "]":
            raise self._error("empty brackets", opening)
        if char == "*":
            self.pos += 1
            self._close(opening, "expected ']' after '*'")
            return Wildcard()
        if char == "'":
            return self._names(opening)
        if char in ("-", ":") or _is_digit(char):
            return self._indexes(opening)
        if char == "":
            raise self._unclosed(opening)
        raise self._unexpected(char, "expected an index, a range, '*' or a quoted name")

    def _names(self, opening: int) -> Child:
        names = []
        while True:
            self._skip_spaces()
            char = self._peek()
            if char != "'":
                if char == "":
                    raise self._unclosed(opening)
                if char in ("-", ":") or _is_digit(char):
                    raise self._error("names and indexes cannot be mixed in one bracket")
                raise self._unexpected(char, "expected a quoted name")
            names.append(self._quoted())
            if self._separator(opening, "expected ',' or ']' after a name"):
                return Child(tuple(names), bracket=True)

    def _quoted(self) -> str:
        opening = self.pos
        self.pos += 1
        chars = []
        while True:
            char = self._peek()
            if char == "":
                raise self._error("unterminated quoted name", opening)
            if char == "'":
                self.pos += 1
                break
            if char == "\\" and not self.strict:  # strict never gets here: '\' fails the whitelist
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if escaped not in ("'", "\\"):
                    raise self._error("unsupported escape in a quoted name: only \\' and \\\\ are allowed")
                chars.append(escaped)
                self.pos += 2
                continue
            if char == "." and self.strict:
                # SageMaker: names in a bracket are plain keys, not nested paths.
                name_end = self.text.find("'", self.pos)
                name = self.text[opening : name_end + 1] if name_end >= 0 else self.text[opening:]
                raise self._error(
                    f"nested names are not supported in a bracket: {name} (names in ['...'] are plain keys)"
                )
            chars.append(char)
            self.pos += 1
        return "".join(chars)

    def _indexes(self, opening: int) -> Index:
        items = []
        range_starts = []
        while True:
            self._skip_spaces()
            start = self.pos
            item = self._item(opening)
            if isinstance(item, tuple):
                range_starts.append(start)
            items.append(item)
            if self._separator(opening, "expected ',' or ']' after an index"):
                break
        if self.strict and len(range_starts) > 1:
            raise self._error(
                f"Invalid JsonPath: {self.text}: only single range filters of format (eg: [1:5]) "
                f"are supported. Format {self.text[opening : self.pos]} is not supported",
                range_starts[1],
            )
        return Index(tuple(items))

    def _item(self, opening: int) -> Item:
        start = self._int()
        self._skip_spaces()
        if self._peek() == ":":
            self.pos += 1
            self._skip_spaces()
            end = self._int()
            self._skip_spaces()
            if self._peek() == ":":
                raise self._error("slice step is not supported")
            return (start, end)
        if start is not None:
            return start
        char = self._peek()
        if char == "":
            raise self._unclosed(opening)
        if char in (",", "]"):
            raise self._error("expected an index or a range")
        if char == "'":
            raise self._error("names and indexes cannot be mixed in one bracket")
        raise self._unexpected(char, "expected an index or a range")

    def _int(self) -> Optional[int]:
        start = self.pos
        if self._peek() == "-":
            self.pos += 1
            if not _is_digit(self._peek()):
                raise self._error("expected digits after '-'")
        while _is_digit(self._peek()):
            self.pos += 1
        if self.pos == start:
            return None
        text = self.text[start : self.pos]
        digits = text.lstrip("-").lstrip("0")
        value = int(digits) if 0 < len(digits) <= len(str(_MAX_INDEX)) else 0
        if value > _MAX_INDEX or len(digits) > len(str(_MAX_INDEX)):
            shown = text if len(text) <= 24 else f"{text[:12]}...{text[-6:]} ({plural(len(digits), 'digit')})"
            raise self._error(
                f"number {shown} is too large: indexes and slice bounds lie within "
                f"-{_MAX_INDEX}..{_MAX_INDEX}",
                start,
            )
        return -value if text.startswith("-") else value

    # -- tokens ----------------------------------------------------------------------------

    def _separator(self, opening: int, expected: str) -> bool:
        """Consume ',' (False: another item follows) or ']' (True: the bracket is closed)."""
        self._skip_spaces()
        char = self._peek()
        if char in (",", "]"):
            self.pos += 1
            return char == "]"
        if char == "":
            raise self._unclosed(opening)
        raise self._unexpected(char, expected)

    def _close(self, opening: int, expected: str) -> None:
        self._skip_spaces()
        char = self._peek()
        if char == "]":
            self.pos += 1
        elif char == "":
            raise self._unclosed(opening)
        else:
            raise self._unexpected(char, expected)

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _skip_spaces(self) -> None:
        while self._peek() == " ":
            self.pos += 1

    # -- errors ----------------------------------------------------------------------------

    def _error(self, message: str, position: Optional[int] = None) -> PathSyntaxError:
        return PathSyntaxError(message, self.text, self.pos if position is None else position, self.role)

    def _unclosed(self, opening: int) -> PathSyntaxError:
        return self._error(f"expected ']' to close '[' at position {opening}")

    def _unexpected(self, char: str, expected: str) -> PathSyntaxError:
        return self._error(f"unexpected character {char!r}: {_HINTS.get(char, expected)}")
