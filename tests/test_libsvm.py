"""fastjoin.container.libsvm: libsvm request bodies read as the SageMaker XGBoost container's
algorithm-mode server reads them (``reference/serving.md`` §2.1): the matrix, the index shift,
absent entries missing, the errors and their places."""

from __future__ import annotations

import numpy as np
import pytest

from fastjoin.container.libsvm import parse
from fastjoin.errors import FeatureError, InputError

nan = float("nan")


def _same(got: np.ndarray, want) -> None:
    want = np.asarray(want, dtype=np.float32)
    assert got.dtype == np.float32
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # NaN equals NaN here


def test_rows_labels_the_one_based_shift_and_absent_entries_missing():
    # labels skipped; indices 1-based (smallest ≥ 1) shifted; an absent index is missing, 0 a value
    _same(parse(b"1 1:0.5 3:0\n0 2:1\n", 5), [[0.5, nan, 0, nan, nan], [nan, 1, nan, nan, nan]])


def test_an_index_zero_anywhere_keeps_every_index_as_it_is():
    _same(parse(b"1 1:0.5\n0 0:7\n", 3), [[nan, 0.5, nan], [7, nan, nan]])


def test_lines_without_a_label_comments_blank_lines_and_trailing_lines_without_entries():
    # blank lines before the first entry and after the last are stripped or give no row; a line
    # without an entry in between is a row of missing values; CR is part of the last value
    body = b"\n  1:0.5 # a comment\r\n\n0 2:1   \n0\n\n"
    _same(parse(body, 2), [[0.5, nan], [nan, nan], [nan, 1]])


def test_a_repeated_index_is_summed_and_values_are_rounded_to_float32():
    _same(parse(b"1:1 1:0.1 2:nan 3:1_0 4:0.5:9\n", 4), [[np.float32(1.1), nan, 10, 0.5]])


@pytest.mark.parametrize(
    "body, place, words",
    [
        (b"1 qid:3 1:2\n", "<body>:1:3", "feature index 'qid' is not a whole number"),
        (b"1 1:2\n0 1.5:1\n", "<body>:2:3", "feature index '1.5' is not a whole number"),
        (b"1 1:2\n0 1:a\n", "<body>:2:5", "the value 'a' of feature 1 is not a number"),
        (
            b"1 1:2\t2:3\n",
            "<body>:1:5",
            "the value '2\\t2' of feature 1 is not a number",
        ),  # tab: no separator
        (b"1 1:2\n\xff\n", "<body>:2:1", "not UTF-8 text"),
        (b"1 -1:2\n", "<body>:1:3", "feature index -1 is negative"),
        (b"1 1:2\n0 2:1e40\n", "<body>:2:3", "feature 2 is inf or too large for float32"),
        (b"1 1:2 2:-inf\n", "<body>:1:7", "feature 2 is inf"),
        (b"1\n0\n", "<body>:1:1", "no index:value entry in the body"),
    ],
)
def test_data_the_container_cannot_load_is_an_input_error_at_its_place(body, place, words):
    with pytest.raises(InputError) as caught:
        parse(body, 4)
    assert caught.value.http_status == 415
    assert str(caught.value).startswith(f"{place}: {words}")


def test_an_index_beyond_the_model_is_a_feature_error():
    with pytest.raises(FeatureError) as caught:
        parse(b"1 1:2\n0 2:1 5:1 9:1\n", 4)
    assert caught.value.http_status == 400
    assert str(caught.value).startswith("<body>:2:7: feature index 5 is beyond the model's 4 features")
    _same(parse(b"0 4:1\n", 4), [[nan, nan, nan, 1]])  # 1-based: 4 is the last feature


def test_columns_are_counted_in_characters_after_multibyte_text():
    with pytest.raises(InputError, match=r"<body>:1:9: the value 'x' of feature 2"):
        parse("é 1:1 2:x".encode(), 4)
