"""The JSONPath compiler: grammar, both dialects, SageMaker's exact error texts, CSV index vectors.

Expected values come from SPEC §2 and reference/semantics.md §2 and §4, never from running the
code. A hypothesis property compares ``csv_indices`` with a naive evaluator written here.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
import pytest
from hypothesis import example, given, note, settings
from hypothesis import strategies as st
from oracles import naive_select

from fastjoin.errors import ConfigError, FeatureError, PathSyntaxError
from fastjoin.jsonpath import DIALECTS, Child, Index, NoMatch, Path, Wildcard, compile_path

OPERATORS = "['$', '[', ']', '*', '.', ' ', ',', ':', '-', ''']"


def indices(expression: str, width: int, names=None, dialect: str = "extended") -> List[int]:
    return compile_path(expression, dialect=dialect).csv_indices(width, names).tolist()


def syntax_error(expression: str, **kwargs) -> PathSyntaxError:
    with pytest.raises(PathSyntaxError) as info:
        compile_path(expression, **kwargs)
    return info.value


def feature_error(expression: str, width: int, names=None) -> FeatureError:
    path = compile_path(expression)
    with pytest.raises(FeatureError) as info:
        path.csv_indices(width, names)
    assert info.value.path == expression
    assert info.value.location is None  # the caller adds the record's location
    return info.value


# -- grammar ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "expression, steps",
    [
        ("$", ()),
        ("$.id", (Child(("id",), False),)),
        ("$.features", (Child(("features",), False),)),
        ("$.id.*", (Child(("id",), False), Wildcard())),
        ("$.*", (Wildcard(),)),
        ("$[*]", (Wildcard(),)),
        ("$['id','SageMakerOutput']", (Child(("id", "SageMakerOutput"), True),)),
        ("$['id']", (Child(("id",), True),)),
        ("$[1]", (Index((1,)),)),
        ("$[1,3,5]", (Index((1, 3, 5)),)),
        ("$[0,-1]", (Index((0, -1)),)),
        ("$[0, -1]", (Index((0, -1)),)),
        ("$[2:5]", (Index(((2, 5),)),)),
        ("$[:5]", (Index(((None, 5),)),)),
        ("$[2:]", (Index(((2, None),)),)),
        ("$[:]", (Index(((None, None),)),)),
        ("$[-3:-1]", (Index(((-3, -1),)),)),
        ("$[0,5:]", (Index((0, (5, None))),)),
        ("$[ 1 : ]", (Index(((1, None),)),)),
        ("$ [ 3 , 1 , 1 ] ", (Index((3, 1, 1)),)),
        ("$[0][1]", (Index((0,)), Index((1,)))),
        ("$.a.b", (Child(("a",), False), Child(("b",), False))),
        ("$.field1.['child1','child2']", (Child(("field1",), False), Child(("child1", "child2"), True))),
        ("$.field1['child1','child2']", (Child(("field1",), False), Child(("child1", "child2"), True))),
        ("$['a b', 'c-d']", (Child(("a b", "c-d"), True),)),
        ("$.instances[0].features", (Child(("instances",), False), Index((0,)), Child(("features",), False))),
        ("$.x-1", (Child(("x-1",), False),)),
    ],
)
def test_grammar(expression, steps, dialect):
    path = compile_path(expression, dialect=dialect)
    assert path.steps == steps
    assert path.expression == expression
    assert path.dialect == dialect
    assert str(path) == expression
    assert path.is_root == (steps == ())


@pytest.mark.parametrize("expression", ["", None])
def test_empty_filter_means_root(expression):
    # semantics §2.2: the API echoes "$" for an omitted filter; length 0 is allowed.
    for dialect in DIALECTS:
        path = compile_path(expression, dialect=dialect)
        assert path.expression == "$"
        assert path.is_root and path.steps == ()


def test_bracket_after_dot_means_the_same_bracket():
    assert compile_path("$.field1.['a','b']").steps == compile_path("$.field1['a','b']").steps
    assert compile_path("$.[0]").steps == compile_path("$[0]").steps


def test_path_is_frozen_and_comparable():
    path = compile_path("$[1:]")
    with pytest.raises(AttributeError):
        path.expression = "$"  # type: ignore[misc]
    assert path == compile_path("$[1:]")
    assert hash(path) == hash(compile_path("$[1:]"))
    path.csv_indices(4)  # the cache does not take part in equality
    assert path == compile_path("$[1:]")


# -- extended dialect: a strict superset -----------------------------------------------------


def test_extended_lifts_the_three_sagemaker_limits():
    assert compile_path("$[0:2,246:]").steps == (Index(((0, 2), (246, None))),)
    assert compile_path("$['account_id','SageMakerOutput']").steps == (
        Child(("account_id", "SageMakerOutput"), True),
    )
    long_path = "$[" + ",".join(str(i) for i in range(40)) + "]"
    assert len(long_path) > 63
    assert compile_path(long_path).steps == (Index(tuple(range(40))),)


def test_extended_quoted_names():
    assert compile_path("$.field1.['child1','child2.grandchild']").steps[1] == Child(
        ("child1", "child2.grandchild"), True
    )
    assert compile_path("$['naïve key (x) @?\"']").steps == (Child(('naïve key (x) @?"',), True),)
    assert compile_path(r"$['it\'s', 'back\\slash']").steps == (Child(("it's", "back\\slash"), True),)
    assert compile_path("$['']").steps == (Child(("",), True),)


def test_extended_dot_names_allow_underscore_and_unicode_letters():
    assert compile_path("$.account_id").steps == (Child(("account_id",), False),)
    assert compile_path("$.größe").steps == (Child(("größe",), False),)


@pytest.mark.parametrize(
    "expression",
    [
        "$",
        "$[1:]",
        "$[0,-1]",
        "$[0,5:]",
        "$[1:3]",
        "$.features",
        "$['id','SageMakerOutput']",
        "$.field1.['child1','child2']",
        "$[ 1 : ]",
        "$[*]",
        "$.a.*",
    ],
)
def test_valid_sagemaker_paths_mean_the_same_in_extended(expression):
    assert compile_path(expression, dialect="sagemaker").steps == compile_path(expression).steps


# -- SageMaker's exact error texts -----------------------------------------------------------


def test_sagemaker_single_range_error_exact():
    # semantics §2.5, GitHub issue I-1112, verbatim.
    error = syntax_error("$[0:2,246:]", dialect="sagemaker", role="OutputFilter")
    assert error.message == (
        "Invalid JsonPath: $[0:2,246:]: only single range filters of format (eg: [1:5]) are "
        "supported. Format [0:2,246:] is not supported"
    )
    assert error.position == 6  # the second range
    assert error.expression == "$[0:2,246:]"


def test_sagemaker_single_range_error_quotes_the_bracket_as_written():
    error = syntax_error("$.a.[0:2, 5:]", dialect="sagemaker")
    assert error.message == (
        "Invalid JsonPath: $.a.[0:2, 5:]: only single range filters of format (eg: [1:5]) are "
        "supported. Format [0:2, 5:] is not supported"
    )
    assert error.position == 10


def test_sagemaker_whitelist_error_exact():
    # semantics §2.5, GitHub issue I-184, verbatim (no trailing period).
    expression = "$['account_id','SageMakerOutput']"
    error = syntax_error(
        expression, dialect="sagemaker", role="OutputFilter", content_type="application/jsonlines"
    )
    assert error.message == (
        "Invalid OutputFilter: \"$['account_id','SageMakerOutput']\". Unexpected \"_\" in JsonPath. "
        "Supported operators for \"application/jsonlines\" are ['$', '[', ']', '*', '.', ' ', ',', "
        "':', '-', ''']"
    )
    assert error.position == expression.index("_")


@pytest.mark.parametrize(
    "expression, char",
    [
        ("$[?(@.a)]", "?"),
        ("$..a@", "@"),
        ('$["a"]', '"'),
        ("$[1]>", ">"),
        ("$[0]\t", "\t"),
        ("$.a_b", "_"),
        ("$['é']", "é"),
        (r"$['a\'b']", "\\"),
    ],
)
def test_sagemaker_whitelist_names_the_first_bad_character(expression, char):
    error = syntax_error(expression, dialect="sagemaker")  # InputFilter, text/csv by default
    assert error.message == (
        f'Invalid InputFilter: "{expression}". Unexpected "{char}" in JsonPath. '
        f'Supported operators for "text/csv" are {OPERATORS}'
    )
    assert error.position == expression.index(char)


@pytest.mark.parametrize("role, member", [("InputFilter", "inputFilter"), ("OutputFilter", "outputFilter")])
def test_sagemaker_length_error_exact(role, member):
    expression = "$[" + ",".join(["1"] * 31) + "]"
    assert len(expression) == 64
    error = syntax_error(expression, dialect="sagemaker", role=role)
    assert error.message == (
        f"1 validation error detected: Value '{expression}' at 'dataProcessing.{member}' failed to "
        f"satisfy constraint: Member must have length less than or equal to 63"
    )
    assert error.position == 63
    at_limit = "$[" + ",".join(["1"] * 30) + "1]"
    assert len(at_limit) == 63
    assert compile_path(at_limit, dialect="sagemaker").steps == (Index((1,) * 29 + (11,)),)


def test_sagemaker_checks_length_then_whitelist_then_syntax():
    too_long_and_bad = "$['a_b'," + "'x'," * 14 + "'y']"
    assert len(too_long_and_bad) > 63
    assert syntax_error(too_long_and_bad, dialect="sagemaker").message.startswith("1 validation error")
    # A syntax error ('$$') comes first in the text, but the whitelist is checked first.
    error = syntax_error("$$[0:1,2:3]_", dialect="sagemaker")
    assert error.message.startswith('Invalid InputFilter: "$$[0:1,2:3]_". Unexpected "_"')
    error = syntax_error("$$[0:1,2:3]", dialect="sagemaker")
    assert error.message == "unexpected character '$': expected '.' or '['"
    assert error.position == 1


@pytest.mark.parametrize(
    "expression",
    [
        "$.field1.['child1','child2.grandchild']",
        "$['a.b']",
    ],
)
def test_sagemaker_rejects_nested_names_in_a_bracket(expression):
    error = syntax_error(expression, dialect="sagemaker")
    assert "nested names are not supported" in error.message
    assert error.position == expression.index(".", expression.index("'"))


def test_sagemaker_allows_indexes_with_one_range():
    assert compile_path("$[0,5:]", dialect="sagemaker").steps == (Index((0, (5, None))),)
    assert compile_path("$[0,1,-1:]", dialect="sagemaker").steps == (Index((0, 1, (-1, None))),)


# -- syntax errors with positions ------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "expression, position, message",
    [
        ("a", 0, "filter must start with '$'"),
        ("[0]", 0, "filter must start with '$'"),
        ("  ", 2, "filter must start with '$'"),
        ("$[", 2, "expected ']' to close '[' at position 1"),
        ("$[0", 3, "expected ']' to close '[' at position 1"),
        ("$[0, 1", 6, "expected ']' to close '[' at position 1"),
        ("$.a['x'", 7, "expected ']' to close '[' at position 3"),
        ("$[*", 3, "expected ']' to close '[' at position 1"),
        ("$[]", 1, "empty brackets"),
        ("$[ ]", 1, "empty brackets"),
        ("$[0:1:2]", 5, "slice step is not supported"),
        ("$[::2]", 3, "slice step is not supported"),
        ("$..a", 2, "recursive descent '..' is not supported"),
        ("$.", 2, "expected a name, '*' or '[' after '.'"),
        ("$[0,]", 4, "expected an index or a range"),
        ("$[,0]", 2, "unexpected character ','"),
        ("$[0 1]", 4, "unexpected character '1': expected ',' or ']'"),
        ("$[-]", 3, "expected digits after '-'"),
        ("$[- 1]", 3, "expected digits after '-'"),
        ("$['a", 2, "unterminated quoted name"),
        ("$['a' 'b']", 6, "expected ',' or ']'"),
        ("$['a',1]", 6, "names and indexes cannot be mixed"),
        ("$[1,'a']", 4, "names and indexes cannot be mixed"),
        ("$[*,1]", 3, "unexpected character ','"),
        ("$a", 1, "unexpected character 'a': expected '.' or '['"),
        ("$]", 1, "unexpected character ']'"),
        ("$$", 1, "unexpected character '$'"),
        ("$.a]", 3, "unexpected character ']'"),
    ],
)
def test_syntax_errors(expression, position, message, dialect):
    error = syntax_error(expression, dialect=dialect)
    assert message in error.message
    assert error.position == position
    assert error.expression == expression


@pytest.mark.parametrize(
    "expression, position, message",
    [
        ("$[?(@.price < 10)]", 2, "unexpected character '?': filter expressions ?(...) are not supported"),
        ("$[(@.length-1)]", 2, "script expressions"),
        ("$.@", 2, "'@'"),
        ('$["a"]', 2, "single quotes"),
        ("$.a$b", 3, "unexpected character '$'"),
        (r"$['a\n']", 4, "unsupported escape"),
        ("$['a\\", 4, "unsupported escape"),
    ],
)
def test_extended_syntax_errors(expression, position, message):
    error = syntax_error(expression)
    assert message in error.message
    assert error.position == position


BIG = "1" + "0" * 5000  # int() of over 4300 digits raises a bare ValueError
LONG = "9" * 25  # fits SageMaker's 63-character limit, but not in an int64


@pytest.mark.parametrize(
    "before, number, after, dialect",
    [
        ("$[", BIG, "]", "extended"),
        ("$[", "-" + BIG, "]", "extended"),
        ("$[0,", BIG, ":]", "extended"),
        ("$[1:", BIG, "]", "extended"),
        ("$.features[", BIG, "]", "extended"),
        ("$.a.b[:", "-" + BIG, "]", "extended"),
        ("$[", LONG, "]", "sagemaker"),
        ("$[1:", "-" + LONG, "]", "sagemaker"),
        ("$.features[", LONG, ":]", "sagemaker"),
        ("$[", "9223372036854775808", "]", "extended"),
        ("$[", "-9223372036854775808", "]", "sagemaker"),
    ],
)
def test_numbers_beyond_int64_are_syntax_errors(before, number, after, dialect):
    error = syntax_error(before + number + after, dialect=dialect)
    assert "is too large: indexes and slice bounds lie within" in error.message
    assert error.position == len(before)  # the caret under the number
    assert len(error.message) < 200  # a 5000-digit number is shortened in the message


def test_numbers_up_to_int64_and_leading_zeros_compile():
    assert compile_path("$[9223372036854775807]").steps == (Index((2**63 - 1,)),)
    assert compile_path("$[-9223372036854775807:]").steps == (Index(((-(2**63) + 1, None),)),)
    assert compile_path("$[" + "0" * 5000 + "1]").steps == (Index((1,)),)
    with pytest.raises(FeatureError, match="index 9223372036854775807 is out of range for a row of 3"):
        compile_path("$[9223372036854775807]").csv_indices(3)


def test_syntax_error_renders_a_caret():
    error = syntax_error("$[0:1:2]")
    assert str(error) == "slice step is not supported\n  $[0:1:2]\n       ^"
    assert isinstance(error, ValueError)


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="dialect"):
        compile_path("$", dialect="jayway")
    with pytest.raises(ConfigError, match="role"):
        compile_path("$", role="Filter")
    with pytest.raises(ConfigError, match="string"):
        compile_path(5)  # type: ignore[arg-type]


# -- CSV index vectors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression, width, expected",
    [
        ("$", 4, [0, 1, 2, 3]),
        ("$[*]", 4, [0, 1, 2, 3]),
        ("$.*", 4, [0, 1, 2, 3]),
        ("$[0]", 1, [0]),
        ("$[1]", 4, [1]),
        ("$[-1]", 4, [3]),
        ("$[1,3,5]", 6, [1, 3, 5]),
        ("$[3,1]", 5, [3, 1]),  # selection order follows the expression
        ("$[3,1,1]", 5, [3, 1, 1]),  # duplicates repeat
        ("$[0,0]", 2, [0, 0]),
        ("$[1:4]", 6, [1, 2, 3, 4]),  # slices include their end: 2nd..5th
        ("$[:5]", 7, [0, 1, 2, 3, 4, 5]),  # the first six
        ("$[5:]", 8, [5, 6, 7]),  # 6th to last
        ("$[0:2]", 5, [0, 1, 2]),  # 2019 guide: "0:2 specifies the first three columns"
        ("$[2:2]", 5, [2]),
        ("$[:]", 3, [0, 1, 2]),
        ("$[-3:-1]", 5, [2, 3, 4]),  # negative bounds count from the end
        ("$[-2:]", 5, [3, 4]),
        ("$[:-2]", 5, [0, 1, 2, 3]),
        ("$[1:-1]", 3, [1, 2]),
        ("$[0,5:]", 8, [0, 5, 6, 7]),
        ("$[4:,0]", 6, [4, 5, 0]),
        ("$[0:2,246:]", 248, [0, 1, 2, 246, 247]),
        ("$[ 0 , -1 ]", 3, [0, 2]),
        ("$", 0, []),
        ("$[*]", 0, []),
        ("$[:]", 0, []),
    ],
)
def test_csv_indices(expression, width, expected):
    assert indices(expression, width) == expected


@pytest.mark.parametrize(
    "record, output, input_filter, input_fields, output_filter, written",
    [
        # semantics.md §4 (CSV rows): the input filter indexes the record, the output filter the
        # joined record (input fields then the prediction).
        ("1,2,3", "1", "$", "1,2,3", "$", "1,2,3,1"),
        ("id7,1.5,2.5,3.5", "0.25", "$[1:]", "1.5,2.5,3.5", "$", "id7,1.5,2.5,3.5,0.25"),
        ("id7,1.5,2.5,3.5", "0.25", "$[1:]", "1.5,2.5,3.5", "$[0,-1]", "id7,0.25"),
        ("id1,1,2,3,4", "0.5", "$[1:]", "1,2,3,4", "$[0,5:]", "id1,0.5"),
        ("id1,1,2,3,4", "0.5", "$[1:]", "1,2,3,4", "$[1:3]", "1,2,3"),
    ],
)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_semantics_csv_rows(record, output, input_filter, input_fields, output_filter, written, dialect):
    fields = record.split(",")
    selected = compile_path(input_filter, dialect=dialect).csv_indices(len(fields))
    assert ",".join(fields[i] for i in selected) == input_fields
    joined = fields + [output]
    out = compile_path(output_filter, dialect=dialect, role="OutputFilter").csv_indices(len(joined))
    assert ",".join(joined[i] for i in out) == written


def test_csv_indices_array_properties():
    array = compile_path("$[3,1,1]").csv_indices(5)
    assert array.dtype == np.int64 and array.ndim == 1
    assert array.flags.c_contiguous
    assert not array.flags.writeable  # shared through the cache
    assert compile_path("$").csv_indices(3).dtype == np.int64
    assert compile_path("$").csv_indices(0).shape == (0,)


def test_csv_indices_is_cached_per_width_and_header():
    path = compile_path("$[0,-1]")
    first = path.csv_indices(5)
    assert path.csv_indices(5) is first
    assert path.csv_indices(np.int64(5)) is first
    other = path.csv_indices(7)
    assert other is not first and other.tolist() == [0, 6]
    assert path.csv_indices(5) is first
    with_header = path.csv_indices(5, ("a", "b", "c", "d", "e"))
    assert with_header is not first and with_header.tolist() == [0, 4]
    assert path.csv_indices(5, ["a", "b", "c", "d", "e"]) is with_header


@pytest.mark.parametrize(
    "expression, width, message",
    [
        ("$[0,5]", 3, "index 5 is out of range for a row of 3 fields in $[0,5]"),
        ("$[3]", 3, "index 3 is out of range for a row of 3 fields in $[3]"),
        ("$[-4]", 3, "index -4 is out of range for a row of 3 fields in $[-4]"),
        ("$[0]", 0, "index 0 is out of range for a row of 0 fields in $[0]"),
        ("$[5:]", 5, "slice start 5 is out of range for a row of 5 fields in $[5:]"),
        ("$[1:]", 1, "slice start 1 is out of range for a row of 1 field in $[1:]"),
        ("$[1]", 1, "index 1 is out of range for a row of 1 field in $[1]"),
        ("$[0:-2]", 1, "slice end -2 is out of range for a row of 1 field in $[0:-2]"),
        (
            "$[0:99]",
            5,
            "slice end 99 is out of range for a row of 5 fields in $[0:99] "
            "(slices include their end: the last field is index 4)",
        ),
        (
            "$[1:5]",
            5,
            "slice end 5 is out of range for a row of 5 fields in $[1:5] "
            "(slices include their end: $[1:4] selects fields 2..5, the last one included)",
        ),
        ("$[:-6]", 5, "slice end -6 is out of range for a row of 5 fields in $[:-6]"),
        ("$[3:1]", 5, "slice 3:1 starts after it ends (index 3 > 1) for a row of 5 fields in $[3:1]"),
        ("$[-1:0]", 5, "slice -1:0 starts after it ends (index 4 > 0) for a row of 5 fields in $[-1:0]"),
    ],
)
def test_csv_index_errors(expression, width, message):
    assert feature_error(expression, width).message == message


@pytest.mark.parametrize(
    "expression, why",
    [
        ("$[0][1]", "$[0][1] has 2 steps"),
        ("$.a.b", "$.a.b has 2 steps"),
        ("$[*][0]", "$[*][0] has 2 steps"),
        ("$.features", "$.features selects by name but the CSV input has no header"),
        ("$['id','age']", "$['id','age'] selects by name but the CSV input has no header"),
    ],
)
def test_csv_rows_are_flat_arrays(expression, why):
    message = feature_error(expression, 4).message
    assert message.startswith(why + "; CSV rows are flat arrays")
    assert "$[1:]" in message and "header=True" in message


HEADER = ("id", "age", "income", "SageMakerOutput")


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("$.id", [0]),
        ("$['id','SageMakerOutput']", [0, 3]),
        ("$['income', 'id', 'income']", [2, 0, 2]),
        ("$[0,-1]", [0, 3]),  # index paths still work with a header
        ("$[*]", [0, 1, 2, 3]),
        ("$", [0, 1, 2, 3]),
    ],
)
def test_csv_header_names(expression, expected):
    assert indices(expression, 4, HEADER) == expected


def test_csv_header_unknown_name_lists_the_columns():
    message = feature_error("$['id','weight']", 4, HEADER).message
    assert message == (
        "no column named 'weight' in the header (available: 'id', 'age', 'income', "
        "'SageMakerOutput') in $['id','weight']"
    )
    long_header = tuple(f"c{i}" for i in range(30))
    message = feature_error("$.x", 30, long_header).message
    assert "'c19', ... (10 more)" in message and "'c20'" not in message


def test_csv_header_duplicate_name_is_ambiguous():
    message = feature_error("$.a", 3, ("a", "b", "a")).message
    assert message == "column name 'a' is ambiguous: the header has it at indexes 0, 2 in $.a"
    assert indices("$.b", 3, ("a", "b", "a")) == [1]  # other names still resolve


def test_csv_header_name_beyond_the_row():
    message = feature_error("$.c", 2, ("a", "b", "c")).message
    assert message == "column 'c' (index 2) is out of range for a row of 2 fields in $.c"


def test_csv_names_with_a_header_still_need_one_step():
    assert "has 2 steps" in feature_error("$.id.x", 4, HEADER).message


# -- property: csv_indices equals a naive evaluator ------------------------------------------


small_ints = st.integers(min_value=-12, max_value=12)
items_strategy = st.lists(
    st.one_of(small_ints, st.tuples(st.none() | small_ints, st.none() | small_ints)), min_size=1, max_size=6
)
spaces = st.sampled_from(["", "", " ", "  "])


@st.composite
def index_paths(draw) -> Tuple[str, list]:
    items = draw(items_strategy)
    parts = []
    for item in items:
        if isinstance(item, int):
            parts.append(str(item))
        else:
            start, end = item
            parts.append(
                f"{'' if start is None else start}{draw(spaces)}:{draw(spaces)}{'' if end is None else end}"
            )
    separator = draw(spaces) + "," + draw(spaces)
    return f"${draw(spaces)}[{draw(spaces)}{separator.join(parts)}{draw(spaces)}]", items


@settings(max_examples=400, deadline=None)
@given(index_paths(), st.integers(min_value=0, max_value=10))
@example(("$[1:]", [(1, None)]), 4)
@example(("$[0,5:]", [0, (5, None)]), 6)
@example(("$[3:1]", [(3, 1)]), 5)
@example(("$[:]", [(None, None)]), 0)
def test_csv_indices_match_naive_evaluator(path_and_items, width):
    expression, items = path_and_items
    note(f"expression={expression!r} width={width}")
    path = compile_path(expression)
    assert path.steps == (Index(tuple(items)),)
    expected = naive_select(items, width)
    if expected is None:
        with pytest.raises(FeatureError) as info:
            path.csv_indices(width)
        fields = "1 field" if width == 1 else f"{width} fields"
        assert f"for a row of {fields} in {expression}" in info.value.message
    else:
        assert path.csv_indices(width).tolist() == expected
    ranges = sum(isinstance(item, tuple) for item in items)
    if ranges <= 1 and len(expression) <= 63:  # valid in sagemaker too, and means the same
        assert compile_path(expression, dialect="sagemaker").steps == path.steps


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="$.[]*,:-' _ab01?@\\\"", max_size=16), st.sampled_from(DIALECTS))
def test_any_text_compiles_or_raises_a_positioned_syntax_error(expression, dialect):
    try:
        path = compile_path(expression, dialect=dialect)
    except PathSyntaxError as error:
        assert error.expression == expression
        assert 0 <= error.position <= len(expression)
    else:
        assert isinstance(path, Path)
        assert path.expression == (expression or "$")


# -- JSON values: Path.select / select_all (SPEC §2, reference/semantics.md §2.6) ------------

RECORD = {
    "id": "r1",
    "features": [0.5, 1.5, 2, 3],
    "a": {"b": [{"x": 1}, {"x": 2}], "c": None},
    "account_id": 7,
    "weird key": "w",
    "SageMakerOutput": {"label": 1},
}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("$", RECORD),
        ("$.features", [0.5, 1.5, 2, 3]),  # a single name: the value itself
        ("$['id','SageMakerOutput']", {"id": "r1", "SageMakerOutput": {"label": 1}}),  # several: an object
        ("$['SageMakerOutput','id']", {"SageMakerOutput": {"label": 1}, "id": "r1"}),  # in filter order
        ("$['id']", "r1"),  # one quoted name is a name step
        ("$.features[1:2]", [1.5, 2]),  # slices include their end
        ("$.features[:1]", [0.5, 1.5]),
        ("$.features[2:]", [2, 3]),
        ("$.features[-2:-1]", [2, 3]),
        ("$.features[0,-1]", [0.5, 3]),
        ("$.features[3,1,1]", [3, 1.5, 1.5]),  # expression order, duplicates repeat
        ("$.features[0,2:]", [0.5, 2, 3]),
        ("$.features[-1]", 3),  # one plain index: the value
        ("$.features[*]", [0.5, 1.5, 2, 3]),
        ("$.features[:]", [0.5, 1.5, 2, 3]),
        ("$.a.b[*].x", [1, 2]),
        ("$.a.b[0].x", 1),
        ("$.a.c", None),
        ("$.a.*", [[{"x": 1}, {"x": 2}], None]),
        ("$.a.['c','b']", {"c": None, "b": [{"x": 1}, {"x": 2}]}),
        ("$['weird key']", "w"),
        ("$.account_id", 7),
        ("$.SageMakerOutput.label", 1),
    ],
)
def test_json_select(expression, expected):
    path = compile_path(expression)
    assert path.select(RECORD) == expected
    assert path.select_all([RECORD, RECORD]) == [expected, expected]
    assert path.is_definite == (not isinstance(expected, list) or expression in ("$.features",))


@pytest.mark.parametrize(
    "value, expression, expected",
    [
        ([1, 2, 3], "$[1:]", [2, 3]),
        ([1, 2, 3], "$", [1, 2, 3]),
        ([], "$[*]", []),  # an empty wildcard is not an error
        ([], "$[:]", []),
        ({}, "$.*", []),
        ([[1, 2], [3, 4]], "$[*][0]", [1, 3]),
        ([[1, 2], [3, 4]], "$[1][0]", 3),
        ({"a": {"b": {"c": [9]}}}, "$.a.b.c[0]", 9),
    ],
)
def test_json_select_on_other_shapes(value, expression, expected):
    assert compile_path(expression).select(value) == expected


@pytest.mark.parametrize(
    "value, expression, message",
    [
        (
            RECORD,
            "$.nope",
            "$.nope selects nothing: $ has no key 'nope' (keys: 'id', 'features', 'a', "
            "'account_id', 'weird key', 'SageMakerOutput')",
        ),
        (RECORD, "$['id','zz']", "$['id','zz'] selects nothing: $ has no key 'zz'"),
        (RECORD, "$.id.x", "$.id.x selects nothing: $.id is a string, not an object, so it has no key 'x'"),
        (
            RECORD,
            "$.features[4]",
            "$.features[4] selects nothing: index 4 is out of range for $.features, an array of 4 elements",
        ),
        (RECORD, "$.features[-5]", "index -5 is out of range for $.features"),
        (RECORD, "$.features[3:1]", "slice 3:1 starts after it ends (index 3 > 1) for $.features"),
        (RECORD, "$.features[2:9]", "slice end 9 is out of range for $.features"),
        (RECORD, "$.features[5:]", "slice start 5 is out of range for $.features"),
        (RECORD, "$.a.b[*].y", "$.a.b[*].y selects nothing: $.a.b[0] has no key 'y' (keys: 'x')"),
        (RECORD, "$.id[0]", "$.id is a string, not an array, so it cannot be indexed"),
        (RECORD, "$.account_id.*", "$.account_id is a number: '*' needs an object or an array"),
        (RECORD, "$['weird key'].x", "$['weird key'] is a string, not an object"),
        (RECORD, "$.a.c.d", "$.a.c is null, not an object"),
        ({}, "$.x", "$ has no key 'x' (it is an empty object)"),
        ([1, 2], "$.x", "$ is an array, not an object, so it has no key 'x'"),
        ({"x": True}, "$.x[0]", "$.x is true, not an array"),
        ({"x": {"a": 1}}, "$.x[0]", "$.x is an object, not an array, so it cannot be indexed"),
    ],
)
def test_json_select_nothing_is_a_no_match_error(value, expression, message):
    path = compile_path(expression)
    with pytest.raises(NoMatch) as info:
        path.select(value)
    err = info.value
    assert isinstance(err, FeatureError) and err.location is None and err.index is None
    assert err.path == expression
    assert message in err.message
    with pytest.raises(NoMatch) as info:
        path.select_all([value, value])
    assert info.value.index == 0 and info.value.message == err.message


def test_json_select_all_fast_path_fits_any_record_or_explains():
    path = compile_path("$['id','SageMakerOutput']")
    assert path.name_chain == ([], ("id", "SageMakerOutput"))
    assert compile_path("$.a.b").name_chain == (["a", "b"], None)
    assert compile_path("$.a['b','c']").name_chain == (["a"], ("b", "c"))
    assert compile_path("$").name_chain == ([], None)
    assert compile_path("$['b','c'].a").name_chain is None
    assert compile_path("$.a[0]").name_chain is None
    with pytest.raises(NoMatch) as info:
        path.select_all([{"id": 1, "SageMakerOutput": 2}, [1, 2], {"id": 3}])
    assert info.value.index == 1 and "$ is an array, not an object" in info.value.message
    # strings are not indexable by name, whatever Python allows
    with pytest.raises(NoMatch) as info:
        compile_path("$.a.b").select_all([{"a": {"b": 1}}, {"a": "text"}])
    assert info.value.index == 1


def test_json_root_select_all_returns_the_values():
    values = [{"a": 1}, 2]
    assert compile_path("$").select_all(values) is values
    assert compile_path("$").select_all(tuple(values)) == values


@settings(max_examples=300, deadline=None)
@given(index_paths(), st.integers(min_value=0, max_value=10))
def test_json_index_paths_match_the_naive_evaluator(path_and_items, width):
    # On JSON arrays, index steps mean exactly what they mean on CSV rows.
    expression, items = path_and_items
    path = compile_path(expression)
    expected = naive_select(items, width)
    array = [f"v{i}" for i in range(width)]
    if expected is None:
        with pytest.raises(NoMatch):
            path.select(array)
    else:
        result = path.select(array)
        selected = [array[i] for i in expected]
        assert result == (selected[0] if path.is_definite else selected)


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=3)
)


def _json_containers(inner):
    return st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3)


json_tree = st.recursive(json_leaf, _json_containers, max_leaves=10)
name_chains = st.lists(st.sampled_from("abc"), min_size=1, max_size=3).flatmap(
    lambda keys: st.one_of(
        st.just((keys, None)),
        st.lists(st.sampled_from("abc"), min_size=2, max_size=3).map(lambda last: (keys[:-1], last)),
    )
)


@settings(max_examples=300, deadline=None)
@given(st.lists(json_tree, min_size=1, max_size=5), name_chains)
def test_json_select_all_equals_select_on_each(values, chain):
    keys, last = chain
    expression = (
        "$" + "".join(f".{k}" for k in keys) + ("[" + ",".join(f"'{n}'" for n in last) + "]" if last else "")
    )
    path = compile_path(expression)
    expected, failed = [], None
    for i, v in enumerate(values):
        try:
            expected.append(path.select(v))
        except NoMatch:
            failed = i
            break
    if failed is None:
        assert path.select_all(values) == expected
    else:
        with pytest.raises(NoMatch) as info:
            path.select_all(values)
        assert info.value.index == failed


def test_csv_indices_are_unchanged_by_json_evaluation():
    path = compile_path("$[0,-1]")
    assert path.select([1, 2, 3]) == [1, 3]
    assert path.csv_indices(3).tolist() == [0, 2]
    with pytest.raises(FeatureError, match="selects by name"):
        compile_path("$.features").csv_indices(3)
