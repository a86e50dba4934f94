"""fastjoin.container.libsvm: libsvm request bodies read as the SageMaker XGBoost container reads
them (``reference/serving.md`` §2.1): the matrix, the index shift, absent entries, the errors
and their places."""

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


def test_rows_labels_and_the_one_based_shift():
    # labels skipped; indices 1-based (smallest ≥ 1) shifted; absent within the widest index
    # is 0.0, beyond it (up to the model's features) missing
    _same(parse(b"1 1:0.5 3:2\n0 2:1\n", 5), [[0.5, 0, 2, nan, nan], [0, 1, 0, nan, nan]])


def test_an_index_zero_anywhere_keeps_every_index_as_it_is():
    _same(parse(b"1 1:0.5\n0 0:7\n", 3), [[0, 0.5, nan], [7, 0, nan]])


def test_lines_without_a_label_other_words_blank_lines_and_whitespace():
    body = b"\n  1:0.5 # a comment\r\n\n0\t2:1   \n\n"
    _same(parse(body, 2), [[0.5, 0], [0, 0], [0, 1]])


def test_a_repeated_index_keeps_the_last_value_and_values_are_rounded_to_float32():
    _same(parse(b"1:1 1:0.1 2:1e40 3:nan 4:-inf\n", 4), [[0.1, np.inf, nan, -np.inf]])


def test_a_body_without_any_entry_has_no_rows():
    assert parse(b"1\n0\n", 3).shape == (0, 3)
    assert parse(b"  \n", 3).shape == (0, 3)


@pytest.mark.parametrize(
    "body, place, words",
    [
        (b"1 qid:3 1:2\n", "<body>:1:3", "feature index 'qid' is not a whole number"),
        (b"1 1:2\n0 1.5:1\n", "<body>:2:3", "feature index '1.5' is not a whole number"),
        (b"1 1:2\n0 1:a\n", "<body>:2:5", "the value 'a' of feature 1 is not a number"),
        (b"1 1:0.5:3\n", "<body>:1:5", "the value '0.5:3' of feature 1 is not a number"),
        (b"1 1:2\n\xff\n", "<body>:2:1", "not UTF-8 text"),
    ],
)
def test_data_that_does_not_parse_is_an_input_error_at_its_place(body, place, words):
    with pytest.raises(InputError) as caught:
        parse(body, 4)
    assert caught.value.http_status == 415
    assert str(caught.value).startswith(f"{place}: {words}")


def test_an_index_beyond_the_model_or_a_negative_one_is_a_feature_error():
    with pytest.raises(FeatureError) as caught:
        parse(b"1 1:2\n0 2:1 5:1 9:1\n", 4)
    assert caught.value.http_status == 400
    assert str(caught.value).startswith("<body>:2:7: feature index 5 is beyond the model's 4 features")
    _same(parse(b"0 4:1\n", 4), [[0, 0, 0, 1]])  # 1-based: 4 is the last feature
    with pytest.raises(FeatureError, match=r"<body>:1:3: feature index -1 is negative"):
        parse(b"1 -1:2\n", 4)


def test_columns_are_counted_in_characters_after_multibyte_text():
    with pytest.raises(InputError, match=r"<body>:1:9: the value 'x' of feature 2"):
        parse("é 1:1 2:x".encode(), 4)
