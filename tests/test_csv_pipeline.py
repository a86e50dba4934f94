"""The CSV pipeline end to end through Transformer: SPEC §2–§4 examples, the seed job against
pandas and Booster.predict, located errors, atomic outputs, chunk invariance, header mode,
container callables. Every test runs on the compiled core and on the reference twin."""

from __future__ import annotations

import csv
import io
import os
import tracemalloc

import numpy as np
import pytest
from helpers import chunking_agrees, optional_module
from hypothesis import given, settings
from hypothesis import strategies as st

import fastjoin
from fastjoin.errors import ConfigError, CsvError, FeatureError, ModelError, OutputError, PathSyntaxError

xgb = optional_module("xgboost")  # None without xgboost: the tests that use it are marked requires_xgboost


def constant(text: bytes):
    """A container callable answering ``text`` for every input line, recording its calls."""
    calls = []

    def invoke(body: bytes, content_type: str, accept: str) -> bytes:
        calls.append((body, content_type, accept))
        return b"".join(text + b"\n" for _ in body.splitlines())

    invoke.calls = calls
    return invoke


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    from fastjoin.demo import make_seed_files

    model, batch = make_seed_files(tmp_path_factory.mktemp("seed"))
    return model, batch


SEED_JOB = dict(
    content_type="text/csv",
    accept="text/csv",
    split_type="Line",
    assemble_with="Line",
    input_filter="$[1:]",
    join_source="Input",
    output_filter="$[0,-1]",
)


# ----------------------------------------------------------------------------- SPEC §4 examples


@pytest.mark.parametrize(
    "record, input_filter, output, output_filter, expected",
    [
        (b"1,2,3", "$", b"1", "$", b"1,2,3,1"),
        (b"id7,1.5,2.5,3.5", "$[1:]", b"0.25", "$", b"id7,1.5,2.5,3.5,0.25"),
        (b"id7,1.5,2.5,3.5", "$[1:]", b"0.25", "$[0,-1]", b"id7,0.25"),
        (b"id1,1,2,3,4", "$[1:]", b"0.5", "$[0,5:]", b"id1,0.5"),
        (b"id1,1,2,3,4", "$[1:]", b"0.5", "$[1:3]", b"1,2,3"),
        (b'"a,b",1001.0,"x""y"', "$[1]", b"7", "$", b'"a,b",1001.0,"x""y",7'),
        (b"a,b,c,d", "$[3,1]", b"9", "$[3,1,1,-1]", b"d,b,b,9"),
        (b"a,b,c,d", "$[0:1,3:]", b"9", "$[0:0,2:]", b"a,c,d,9"),
    ],
)
def test_spec_join_examples(pipeline, record, input_filter, output, output_filter, expected):
    model = constant(output)
    t = fastjoin.Transformer(
        model, input_filter=input_filter, join_source="Input", output_filter=output_filter
    )
    assert t.transform_bytes(record) == expected + b"\n"
    assert t.transform_bytes(record + b"\r\n") == expected + b"\n"


def test_model_sees_the_filtered_record(pipeline):
    model = constant(b"1")
    t = fastjoin.Transformer(model, input_filter="$[1:]", join_source="Input")
    t.transform_bytes(b"id7,1.5,2.5,3.5\nid8,4,5,6\n")
    assert model.calls == [(b"1.5,2.5,3.5\n4,5,6\n", "text/csv", "text/csv")]


def test_no_join_writes_model_output_then_filters_it(pipeline):
    t = fastjoin.Transformer(constant(b"0.1,0.9"), input_filter="$[1:]", output_filter="$[-1]")
    assert t.transform_bytes(b"a,1,2\nb,3,4\n") == b"0.9\n0.9\n"


# ----------------------------------------------------------------------------- the seed job


@pytest.mark.requires_xgboost
def test_seed_job_matches_pandas_pipeline(pipeline, seed):
    pd = pytest.importorskip("pandas")
    model_path, batch = seed
    out = fastjoin.Transformer(str(model_path), **SEED_JOB).transform_bytes(batch.read_bytes())
    # A careful pandas pipeline: ids as text, features as float64 → float32, predictions as
    # the SageMaker XGBoost container prints them.
    df = pd.read_csv(batch, header=None, dtype={0: str})
    booster = xgb.Booster(model_file=str(model_path))
    preds = booster.inplace_predict(df.iloc[:, 1:].to_numpy(np.float64).astype(np.float32))
    expected = "".join(f"{i},{float(p)!r}\n" for i, p in zip(df[0], preds)).encode()
    assert out == expected
    assert out.startswith(b"842302,")


@pytest.mark.requires_xgboost
def test_predictions_equal_dmatrix_predict(pipeline, seed):
    model_path, batch = seed
    t = fastjoin.Transformer(str(model_path), input_filter="$[1:]")
    out = t.transform_bytes(batch.read_bytes())
    X = np.loadtxt(batch, delimiter=",", dtype=np.float64)[:, 1:].astype(np.float32)
    booster = xgb.Booster(model_file=str(model_path))
    expected = booster.predict(xgb.DMatrix(X))
    got = np.array([float(v) for v in out.split()], dtype=np.float32)
    assert np.array_equal(got, expected)
    assert out == b"".join(repr(float(p)).encode() + b"\n" for p in expected)


@pytest.mark.requires_xgboost
def test_multi_output_model_writes_k_fields(pipeline):
    rng = np.random.default_rng(0)
    X = rng.random((60, 3)).astype(np.float32)
    booster = xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "nthread": 1},
        xgb.DMatrix(X, label=np.arange(60) % 3),
        3,
    )
    data = "".join(f"r{i}," + ",".join(map(repr, row.tolist())) + "\n" for i, row in enumerate(X)).encode()
    t = fastjoin.Transformer(booster, input_filter="$[1:]", join_source="Input", output_filter="$[0,-3:]")
    lines = t.transform_bytes(data).splitlines()
    probs = booster.inplace_predict(X)
    assert lines[0] == b"r0," + b",".join(repr(float(p)).encode() for p in probs[0])
    assert len(lines) == 60


@pytest.mark.requires_xgboost
def test_empty_fields_are_missing_values(pipeline):
    X = np.array([[1.0, np.nan], [np.nan, 2.0], [0.0, 0.0]], dtype=np.float32)
    booster = xgb.train(
        {"objective": "reg:squarederror", "nthread": 1},
        xgb.DMatrix(np.random.default_rng(1).random((50, 2)).astype(np.float32), label=np.arange(50.0)),
        5,
    )
    out = fastjoin.Transformer(booster).transform_bytes(b"1,\n,2\n0,0\n")
    expected = booster.predict(xgb.DMatrix(X))
    assert out == b"".join(repr(float(p)).encode() + b"\n" for p in expected)


# ----------------------------------------------------------------------------- errors


@pytest.mark.requires_xgboost
def test_bad_number_names_file_line_and_column(pipeline, seed, tmp_path):
    model_path, batch = seed
    data = batch.read_bytes().replace(b"842305,", b"842305,oops", 1)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_bytes(data)
    (tmp_path / "in" / "b.csv").write_bytes(batch.read_bytes())
    result = fastjoin.Transformer(str(model_path), **SEED_JOB).transform(tmp_path / "in", tmp_path / "out")
    assert not result.ok
    [failed] = result.failed
    err = failed.error
    assert isinstance(err, FeatureError)
    loc = err.location
    assert (loc.source, loc.line, loc.column, loc.field, loc.record) == (
        str(tmp_path / "in" / "a.csv"),
        4,
        8,
        2,
        3,
    )
    assert str(err).startswith(f"{tmp_path / 'in' / 'a.csv'}:4:8: field 2: expected a number, got 'oops")
    # no partial output under the final name, no temporary left behind; the other file ran
    assert sorted(os.listdir(tmp_path / "out")) == ["b.csv.out"]
    assert result.files[1].ok and result.files[1].records == 569


@pytest.mark.parametrize(
    "line, column, message",
    [
        (b'7,1.5,2"5', 8, 'bare " in non-quoted field'),
        (b'7,"1.5,2.5', 3, "quoted field is not closed"),
        (b'7,"1.5"x,2.5', 8, "unexpected character after the closing quote"),
    ],
)
def test_malformed_csv_is_located(pipeline, line, column, message):
    t = fastjoin.Transformer(constant(b"1"), input_filter="$[1:]", join_source="Input")
    with pytest.raises(CsvError) as info:
        t.transform_bytes(b"1,2,3\n4,5,6\n" + line + b"\n8,9,10\n", source="in.csv")
    assert (info.value.location.line, info.value.location.column) == (3, column)
    assert str(info.value).startswith(f"in.csv:3:{column}: {message}")


def test_blank_lines_skipped_in_extended_error_in_sagemaker(pipeline):
    data = b"a,1\n\nb,2\r\n\r\nc,3"
    t = fastjoin.Transformer(constant(b"0"), input_filter="$[1:]", join_source="Input", output_filter="$[0]")
    assert t.transform_bytes(data) == b"a\nb\nc\n"
    strict = fastjoin.Transformer(
        constant(b"0"), input_filter="$[1:]", join_source="Input", output_filter="$[0]", dialect="sagemaker"
    )
    with pytest.raises(CsvError) as info:
        strict.transform_bytes(data, source="s.csv")
    assert str(info.value).startswith("s.csv:2:1: blank line")


def test_index_out_of_range_names_the_record(pipeline):
    t = fastjoin.Transformer(
        constant(b"0"), input_filter="$[1:]", join_source="Input", output_filter="$[0,5]"
    )
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(b"a,1,2\n", source="x.csv")
    assert str(info.value).startswith("x.csv:1:1: index 5 is out of range for a row of 4 fields")


@pytest.mark.requires_xgboost
def test_feature_count_mismatch_is_one_model_error(pipeline, seed):
    model_path, batch = seed
    t = fastjoin.Transformer(str(model_path), input_filter="$[2:]", join_source="Input")
    with pytest.raises(ModelError, match="selects 29 features but the model expects 30"):
        t.transform_bytes(batch.read_bytes())


@pytest.mark.requires_xgboost
def test_ragged_record_later_is_a_feature_error(pipeline, seed):
    model_path, batch = seed
    lines = batch.read_bytes().splitlines(keepends=True)
    lines[10] = lines[10].rstrip(b"\n") + b",1.0\n"
    t = fastjoin.Transformer(str(model_path), input_filter="$[1:]", join_source="Input")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(b"".join(lines), source="r.csv")
    assert info.value.location.line == 11
    assert "record has 32 fields" in str(info.value)


UTF16_HINT = "the object looks like UTF-16 ({why}), but fastjoin reads UTF-8: convert it, e.g. with iconv -f UTF-16 -t UTF-8"
CR_HINT = (
    "the line holds a carriage return (\\r) that no \\n follows: with old Mac (CR-only) line "
    "endings the whole object reads as one line; convert them to \\n, e.g. with tr '\\r' '\\n'"
)
BOM_WHY = "it starts with a UTF-16 byte-order mark"
NUL_WHY = "NUL bytes between its characters"


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "encode, why",
    [
        (lambda text: text.encode("utf-16"), BOM_WHY),  # with a BOM (little-endian here)
        (lambda text: text.encode("utf-16-be"), NUL_WHY),
        (lambda text: text.replace("\n", "\r\n").encode("utf-16-le"), NUL_WHY),
    ],
)
def test_utf16_input_errors_say_it_looks_like_utf16(pipeline, seed, encode, why):
    model_path, batch = seed
    t = fastjoin.Transformer(str(model_path), **SEED_JOB)
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(encode(batch.read_text()), source="u.csv")
    first = str(info.value).splitlines()[0]
    assert first.startswith("u.csv:1:")
    assert first.endswith(
        "field 2: expected a number, got '\\x001\\x007\\x00.\\x009\\x009\\x00'; " + UTF16_HINT.format(why=why)
    )
    assert "\x00" not in str(info.value)  # the snippet shows NULs escaped


@pytest.mark.requires_xgboost
def test_cr_only_line_endings_are_named(pipeline, seed):
    model_path, batch = seed
    t = fastjoin.Transformer(str(model_path), **SEED_JOB)
    with pytest.raises(ModelError) as info:  # the whole object is one record of 17071 fields
        t.transform_bytes(batch.read_bytes().replace(b"\n", b"\r"), source="mac.csv")
    text = str(info.value)
    assert text.startswith("mac.csv:1:1: the input filter selects 17070 features but the model expects 30")
    assert text.endswith("(InputFilter $[1:] on a record of 17071 fields); " + CR_HINT)
    with pytest.raises(FeatureError) as info:  # a later line, e.g. one pasted from an old Mac file
        t.transform_bytes(b"1," + b"0.5," * 29 + b"0.5\n2," + b"0.5\r" * 3 + b"\n", source="m.csv")
    assert str(info.value).splitlines()[0].endswith(CR_HINT)
    assert "0.5\\r0.5" in str(info.value)  # shown escaped: a raw \r would garble the terminal


@pytest.mark.parametrize(
    "data",
    [
        b"1,x\n",  # plain UTF-8
        b"1,x\r\n",  # CRLF line endings are fine
        "1,\u00e9\u00e8\u4e2d\u6587,x\n".encode(),  # non-ASCII UTF-8
        b"1,\x00,x\n",  # one NUL is not UTF-16
    ],
)
def test_no_hint_on_ordinary_errors(pipeline, data):
    t = fastjoin.Transformer(constant(b"1"), input_filter="$[5]")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(data, source="ok.csv")
    assert "UTF-16" not in str(info.value) and "carriage return" not in str(info.value)


@pytest.mark.requires_xgboost
def test_counts_of_one_are_singular(pipeline, seed):
    model_path, batch = seed
    lines = batch.read_bytes().splitlines(keepends=True)
    lines[3] = b"842305\n"
    t = fastjoin.Transformer(str(model_path), input_filter="$", join_source="Input")
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(b"".join(lines[:1]).replace(b"842302,", b"") + b"".join(lines[3:4]))
    assert "record has 1 field, so InputFilter $ selects 1 feature, but the model expects 30" in str(
        info.value
    )


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(join_source="Input", accept="application/json"), "requires accept"),
        (dict(join_source="Input", assemble_with="None"), "requires assemble_with"),
        (dict(join_source="Input", split_type="None"), "requires split_type='Line'"),
        (dict(content_type="application/x-parquet", input_filter="$[1:]"), "needs records fastjoin reads"),
        (dict(max_payload=101), "max_payload"),
        (dict(strategy="Batch"), "strategy"),
        (dict(header=True, dialect="sagemaker"), "header=True is an extension"),
        (dict(max_model_bytes="4GiB"), "max_model_bytes must be a positive number of bytes"),
    ],
)
def test_config_errors_before_any_data(options, message):
    with pytest.raises(ConfigError, match=message):
        fastjoin.Transformer(constant(b"1"), **options)


def test_filter_errors_at_construction():
    with pytest.raises(PathSyntaxError):
        fastjoin.Transformer(constant(b"1"), input_filter="$[1:")
    with pytest.raises(PathSyntaxError, match="only single range filters"):
        fastjoin.Transformer(constant(b"1"), output_filter="$[0:2,246:]", dialect="sagemaker")


# ----------------------------------------------------------------------------- chunking, buffers


def _seed_like(rows: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    X = np.round(rng.random((rows, 3)) * 100, 2)
    return "".join(f"{1000 + i},{a!r},{b!r},{c!r}\n" for i, (a, b, c) in enumerate(X.tolist())).encode()


@pytest.fixture(scope="module")
def small_booster():
    rng = np.random.default_rng(3)
    X = rng.random((200, 3)).astype(np.float32) * 100
    return xgb.train({"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(X, label=X[:, 0] > 50), 10)


@pytest.mark.requires_xgboost
@settings(max_examples=30, deadline=None)
@given(chunk_size=st.integers(min_value=1, max_value=400), bad_row=st.integers(min_value=0, max_value=39))
def test_any_chunk_size_gives_same_bytes_and_same_error(small_booster, runner, chunk_size, bad_row):
    data = _seed_like(40)
    lines = data.splitlines(keepends=True)
    lines[bad_row] = lines[bad_row].replace(b",", b",x", 1)
    where = chunking_agrees(small_booster, SEED_JOB, chunk_size, data, b"".join(lines), runner)
    assert where.line == bad_row + 1


@pytest.mark.requires_xgboost
def test_file_chunks_match_in_memory(small_booster, tmp_path):
    data = _seed_like(500)
    (tmp_path / "d.csv").write_bytes(data)
    for chunk_size in (7, 64, 1000, 1 << 20):
        t = fastjoin.Transformer(small_booster, chunk_size=chunk_size, **SEED_JOB)
        result = t.transform(tmp_path / "d.csv", tmp_path / f"out{chunk_size}")
        assert result.ok and result.records == 500
        assert (tmp_path / f"out{chunk_size}" / "d.csv.out").read_bytes() == t.transform_bytes(data)


@pytest.mark.requires_xgboost
def test_buffer_kinds(small_booster, tmp_path):
    import mmap

    data = _seed_like(50)
    t = fastjoin.Transformer(small_booster, **SEED_JOB)
    expected = t.transform_bytes(data)
    (tmp_path / "m.csv").write_bytes(data)
    with open(tmp_path / "m.csv", "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        assert t.transform_bytes(mm) == expected
    assert t.transform_bytes(bytearray(data)) == expected
    assert t.transform_bytes(memoryview(b"xx" + data)[2:]) == expected


def _peak_memory(transformer, path, out) -> int:
    tracemalloc.start()
    try:
        result = transformer.transform(path, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok
    return peak


@pytest.mark.requires_xgboost
def test_memory_stays_bounded_by_chunk_size(small_booster, tmp_path):
    block = _seed_like(20_000)  # ~0.5 MB
    for name, copies in (("small.csv", 2), ("big.csv", 16)):
        with open(tmp_path / name, "wb") as f:
            for _ in range(copies):
                f.write(block)
    t = fastjoin.Transformer(small_booster, chunk_size=128 * 1024, **SEED_JOB)
    small = _peak_memory(t, tmp_path / "small.csv", tmp_path / "out")
    big = _peak_memory(t, tmp_path / "big.csv", tmp_path / "out")
    # 8x the input, the same peak: bounded by chunk size and workers, not by the file
    assert big < small * 1.5 + 512 * 1024, f"peak {small / 1e6:.1f} MB → {big / 1e6:.1f} MB"
    assert big < 8 * 1024 * 1024


# ----------------------------------------------------------------------------- files


@pytest.mark.requires_xgboost
def test_directory_and_glob_inputs_mirror_names(small_booster, tmp_path):
    data = _seed_like(5)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "a.csv").write_bytes(data)
    (tmp_path / "in" / "sub" / "b.csv").write_bytes(data)
    (tmp_path / "in" / ".hidden").write_bytes(b"junk")
    t = fastjoin.Transformer(small_booster, **SEED_JOB)
    result = t.transform(tmp_path / "in", tmp_path / "out")
    assert result.ok
    assert (tmp_path / "out" / "a.csv.out").exists() and (tmp_path / "out" / "sub" / "b.csv.out").exists()
    result = t.transform(str(tmp_path / "in" / "**" / "*.csv"), tmp_path / "out2")
    assert [os.path.relpath(f.output, tmp_path / "out2") for f in result.files] == [
        "a.csv.out",
        "sub/b.csv.out",
    ]


@pytest.mark.requires_xgboost
def test_missing_input_is_a_storage_error(small_booster, tmp_path):
    t = fastjoin.Transformer(small_booster, **SEED_JOB)
    with pytest.raises(fastjoin.StorageError, match="no such file"):
        t.transform(tmp_path / "nope.csv", tmp_path / "out")


@pytest.mark.requires_xgboost
def test_failure_leaves_previous_output_untouched(small_booster, tmp_path):
    (tmp_path / "a.csv").write_bytes(_seed_like(5))
    t = fastjoin.Transformer(small_booster, **SEED_JOB)
    assert t.transform(tmp_path / "a.csv", tmp_path / "out").ok
    good = (tmp_path / "out" / "a.csv.out").read_bytes()
    (tmp_path / "a.csv").write_bytes(_seed_like(5) + b'1,"2\n')
    result = t.transform(tmp_path / "a.csv", tmp_path / "out")
    assert not result.ok
    assert (tmp_path / "out" / "a.csv.out").read_bytes() == good
    assert os.listdir(tmp_path / "out") == ["a.csv.out"]


# ----------------------------------------------------------------------------- header mode


def _by_names(model, **options) -> fastjoin.Transformer:
    """The seed job on a headed CSV, its filters written with column names."""
    return fastjoin.Transformer(
        model,
        header=True,
        input_filter="$['x','y','z']",
        join_source="Input",
        output_filter="$['id','SageMakerOutput']",
        **options,
    )


@pytest.mark.requires_xgboost
def test_header_names_in_filters_and_output(pipeline, small_booster):
    data = b"id,x,y,z\n" + _seed_like(3)
    out = _by_names(small_booster).transform_bytes(data)
    plain = fastjoin.Transformer(small_booster, **SEED_JOB).transform_bytes(_seed_like(3))
    assert out == b"id,SageMakerOutput\n" + plain


BOM = b"\xef\xbb\xbf"


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("chunk_size", [3, 50, 1 << 20])
def test_utf8_bom_before_a_header_is_not_part_of_the_first_name(pipeline, small_booster, chunk_size):
    data = b"id,x,y,z\n" + _seed_like(3)
    t = _by_names(small_booster, chunk_size=chunk_size)
    assert t.transform_bytes(BOM + data) == t.transform_bytes(data)
    assert t.transform_bytes(BOM + data).startswith(b"id,SageMakerOutput\n")


@pytest.mark.requires_xgboost
def test_utf8_bom_at_the_start_of_a_headerless_object_is_skipped(pipeline, small_booster, tmp_path):
    data = _seed_like(5)
    t = fastjoin.Transformer(small_booster, **SEED_JOB)
    assert t.transform_bytes(BOM + data) == t.transform_bytes(data)  # not copied to the output
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_bytes(BOM + data)
    result = t.transform(tmp_path / "in", tmp_path / "out")
    assert (tmp_path / "out" / "a.csv.out").read_bytes() == t.transform_bytes(data)
    assert result.files[0].bytes_in == len(BOM + data)  # the progress total is reached
    # columns on line 1 count from after the BOM, as an editor shows the line
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(BOM + b"1000,1.5,x,2.5\n", source="b.csv")
    assert str(info.value).startswith("b.csv:1:10: field 3: expected a number, got 'x'\n  1000,1.5,x,2.5")


@pytest.mark.requires_xgboost
def test_utf8_bom_is_data_in_the_sagemaker_dialect(pipeline, small_booster):
    data = _seed_like(2)
    t = fastjoin.Transformer(small_booster, **dict(SEED_JOB, output_filter="$"), dialect="sagemaker")
    assert t.transform_bytes(BOM + data) == BOM + t.transform_bytes(data)  # copied, as SageMaker does
    t = fastjoin.Transformer(small_booster, dialect="sagemaker")
    first = data.split(b",", 1)[1]  # the first feature first
    with pytest.raises(FeatureError) as info:
        t.transform_bytes(BOM + first, source="s.csv")
    text = str(info.value).splitlines()[0]
    assert text.startswith("s.csv:1:1: field 1: expected a number, got '\\ufeff")
    assert text.endswith(
        "(it starts with a UTF-8 byte-order mark: the extended dialect skips one at the very start "
        "of an object; the sagemaker dialect keeps it as data, as SageMaker does)"
    )


@pytest.mark.requires_xgboost
def test_utf8_bom_inside_an_object_is_data(pipeline, small_booster):
    features = [line.split(b",", 1)[1] for line in _seed_like(2).splitlines(keepends=True)]
    t = fastjoin.Transformer(small_booster)
    with pytest.raises(FeatureError) as info:  # e.g. two files concatenated
        t.transform_bytes(features[0] + BOM + features[1], source="m.csv")
    assert str(info.value).startswith("m.csv:2:1: field 1: expected a number, got '\\ufeff")
    assert "(it starts with a UTF-8 byte-order mark: the extended dialect skips one" in str(info.value)


@pytest.mark.requires_xgboost
def test_header_with_index_filters_and_named_prediction(pipeline, small_booster):
    data = b'"the id",x,y,z\n' + _seed_like(2)
    t = fastjoin.Transformer(small_booster, header=True, prediction_name="p,1", **SEED_JOB)
    assert t.transform_bytes(data).splitlines()[0] == b'"the id","p,1"'


# ----------------------------------------------------------------------------- containers


def test_container_mini_batches_respect_max_payload(pipeline):
    model = constant(b"1")
    t = fastjoin.Transformer(model, max_payload=1, input_filter="$[1:]", join_source="Input")
    row = b"id," + b"x" * 1000 + b"\n"
    out = t.transform_bytes(row * 3000)  # ~3 MB of filtered records → several 1 MB requests
    assert out == (row[:-1] + b",1\n") * 3000
    assert len(model.calls) >= 3
    assert all(len(body) <= 1024 * 1024 for body, _, _ in model.calls)
    assert sum(body.count(b"\n") for body, _, _ in model.calls) == 3000


def test_single_record_strategy(pipeline):
    model = constant(b"1")
    t = fastjoin.Transformer(model, strategy="SingleRecord", join_source="Input")
    t.transform_bytes(b"a\nb\nc\n")
    assert [body for body, _, _ in model.calls] == [b"a\n", b"b\n", b"c\n"]


def test_container_with_wrong_line_count_is_an_error(pipeline):
    t = fastjoin.Transformer(lambda body, ct, acc: b"1\n", join_source="Input")
    with pytest.raises(OutputError, match="returned 1 line for 3 records"):
        t.transform_bytes(b"a\nb\nc\n", source="c.csv")
    t = fastjoin.Transformer(lambda body, ct, acc: b"1\n2\n", join_source="Input")
    with pytest.raises(OutputError, match="returned 2 lines for 1 record "):
        t.transform_bytes(b"a\n", source="c.csv")


def test_roundtrip_property_with_csv_module(pipeline):
    rows = [["id 1", "a,b", 'say "hi"', ""], ["2", "x", "y", "z"], ["ü", "", "", "end"]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    t = fastjoin.Transformer(constant(b"p"), join_source="Input")
    out = t.transform_bytes(buf.getvalue().encode())
    assert list(csv.reader(io.StringIO(out.decode()))) == [r + ["p"] for r in rows]
