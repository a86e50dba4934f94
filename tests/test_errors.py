"""The error hierarchy: every class knows its builtin, its exit code and the HTTP status a
server answers with; a location is data, shifted when a chunk's place becomes known."""

from __future__ import annotations

import pytest

from fastjoin import errors
from fastjoin.errors import (
    ConfigError,
    CsvError,
    FastjoinError,
    FeatureError,
    InputError,
    JsonLinesError,
    ModelError,
    OutputError,
    PathSyntaxError,
    PayloadTooLargeError,
    StorageError,
    locate,
)

TABLE = [
    # class, builtin, exit code, HTTP status (a client's mistake is a 4xx, SPEC §6)
    (ConfigError, ValueError, 2, 400),
    (PathSyntaxError, ValueError, 2, 400),
    (InputError, ValueError, 3, 415),
    (CsvError, ValueError, 3, 415),
    (JsonLinesError, ValueError, 3, 415),
    (FeatureError, ValueError, 3, 400),
    (PayloadTooLargeError, ValueError, 3, 413),
    (ModelError, ValueError, 4, 400),
    (OutputError, Exception, 5, 500),
    (StorageError, OSError, 6, 500),
]


@pytest.mark.parametrize("cls, builtin, exit_code, http_status", TABLE)
def test_each_class_knows_its_codes(cls, builtin, exit_code, http_status):
    assert issubclass(cls, FastjoinError) and issubclass(cls, builtin)
    assert (cls.exit_code, cls.http_status) == (exit_code, http_status)


def test_every_class_is_in_the_table():
    classes = {c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, FastjoinError)}
    assert classes == {FastjoinError} | {row[0] for row in TABLE}


def test_a_location_is_data_and_prints_compiler_style():
    buf = b"a,b\n1,x\n"
    where = locate("in.csv", buf, 6, start=4, record=0, field=2)
    assert (where.line, where.column, where.byte_offset, where.record) == (1, 3, 6, 0)
    error = FeatureError("field 2: expected a number", where)
    assert str(error) == "in.csv:1:3: field 2: expected a number\n  1,x"
    error.shift(4, 10)  # four lines and ten records came before the chunk
    assert (error.location.line, error.location.record) == (5, 10)
    assert str(error).startswith("in.csv:5:3: ")
    model = ModelError("the model expects 3 features", where)  # no snippet under a model error
    assert str(model) == "in.csv:1:3: the model expects 3 features"
    assert str(OutputError("no location")) == "no location"
