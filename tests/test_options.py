"""The one options model: every front end reads its options from TransformOptions, so their
names, defaults, choices and checks cannot drift apart."""

from __future__ import annotations

import argparse
import dataclasses
import re

import pytest
from helpers import transform_request

import fastjoin
from fastjoin.cli import _build_parser, main
from fastjoin.errors import ConfigError
from fastjoin.options import TransformOptions, add_arguments, from_args

FIELDS = [f.name for f in dataclasses.fields(TransformOptions)]


def echo(body: bytes, content_type: str, accept: str) -> bytes:
    return b"".join(b"0.5\n" for _ in body.splitlines())


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = _build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def _dests(parser: argparse.ArgumentParser) -> set[str]:
    return {a.dest for a in parser._actions}


def test_every_option_is_a_flag_of_transform_and_documented_by_the_transformer():
    assert set(FIELDS) <= _dests(_subparser("transform"))
    doc = fastjoin.Transformer.__doc__ or ""
    assert [name for name in FIELDS if name not in doc] == []


@pytest.mark.parametrize("command", ["run-job", "preview"])
def test_options_a_request_cannot_say_are_flags_of_the_job_commands(command):
    extensions = TransformOptions.extension_names()
    assert {"on_error", "threads", "json_key_order", "json_numbers", "header", "engine"} <= set(extensions)
    assert set(extensions) <= _dests(_subparser(command))
    # and the request's own members are not (the request says them)
    assert not {"content_type", "input_filter", "max_payload"} & _dests(_subparser(command))


def test_each_request_member_has_one_option():
    paths = [f.metadata["api"] for f in dataclasses.fields(TransformOptions) if f.metadata["api"]]
    assert len(paths) == len(set(paths))
    request = {
        "TransformInput": {"ContentType": "application/jsonlines", "SplitType": "Line"},
        "TransformOutput": {"Accept": "application/jsonlines", "AssembleWith": "Line"},
        "DataProcessing": {"InputFilter": "$.f", "JoinSource": "Input"},
        "BatchStrategy": "SingleRecord",
        "ModelClientConfig": {"InvocationsMaxRetries": 1},
    }
    o = TransformOptions.from_request(request, on_error="skip")
    assert (o.content_type, o.accept, o.split_type, o.assemble_with) == (
        "application/jsonlines",
        "application/jsonlines",
        "Line",
        "Line",
    )
    assert (o.input_filter, o.output_filter, o.join_source, o.strategy) == (
        "$.f",
        None,
        "Input",
        "SingleRecord",
    )
    # what the request leaves out takes SageMaker's API defaults, not the SDK's
    assert (o.max_payload, o.invocations_timeout, o.invocations_retries) == (6, 600, 1)
    assert TransformOptions.from_request({}).split_type == "None"
    assert TransformOptions().split_type == "Line"
    assert o.on_error == "skip"


def test_problems_are_data_and_every_one_is_reported():
    with pytest.raises(ConfigError) as info:
        fastjoin.Transformer(echo, strategy="Sometimes", max_payload=101, json_numbers="round")
    problems = info.value.problems
    assert len(problems) == 3
    assert any("strategy" in p for p in problems) and any("json_numbers" in p for p in problems)
    assert str(info.value) == "invalid transform options:\n- " + "\n- ".join(problems)
    assert ConfigError("one thing").problems == ["one thing"]


def test_a_request_and_its_extension_options_are_checked_together(tmp_path):
    from fastjoin.job import parse_request

    request = transform_request(tmp_path, tmp_path / "out", BatchStrategy="SingleRecord")
    job = parse_request(request, extensions={"json_key_order": "input"})
    assert job.options.json_key_order == "input" and job.options.strategy == "SingleRecord"
    with pytest.raises(ConfigError) as info:
        parse_request(request, extensions={"on_error": "ignore", "threads": 0})
    assert len(info.value.problems) == 2


def test_the_transformer_resolves_defaults_once():
    t = fastjoin.Transformer(echo)
    assert (t.options.accept, t.options.assemble_with, t.options.strategy, t.options.max_payload) == (
        "text/csv",
        "Line",
        "MultiRecord",
        6,
    )
    options = TransformOptions(input_filter="$[1:]")
    assert fastjoin.Transformer(echo, options, join_source="Input").options.input_filter == "$[1:]"


def test_flags_default_to_not_given():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert from_args(parser.parse_args([])) == {}
    args = parser.parse_args(["--chunk-size", "1KiB", "--max-errors", "5%", "--header", "--max-payload", "0"])
    assert from_args(args) == {"chunk_size": 1024, "max_errors": 0.05, "header": True, "max_payload": 0}


def test_transform_has_the_flags_it_lacked(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": 1, "f": [1.50]}\n')
    model = tmp_path / "m"  # never loaded: the policy test below uses a callable
    code = main(
        [
            "transform",
            "--model",
            str(model),
            "--input",
            str(src),
            "--output",
            str(tmp_path / "out"),
            "--content-type",
            "application/jsonlines",
            "--json-numbers",
            "reencode",
            "--chunk-size",
            "1KiB",
            "--prediction-name",
            "score",
            "--quiet",
        ]
    )
    assert code == 4  # the model file does not exist: the flags themselves were accepted
    assert "model" in capsys.readouterr().err


@pytest.mark.parametrize("key_order", ["sorted", "input"])
@pytest.mark.parametrize("numbers", ["preserve", "reencode"])
def test_the_preview_shows_what_is_written(tmp_path, key_order, numbers):
    from fastjoin.preview import preview

    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"b": 1.50, "a": 2}\n{"b": 3, "a": 1e2}\n')
    t = fastjoin.Transformer(
        echo,
        content_type="application/jsonlines",
        join_source="Input",
        json_key_order=key_order,
        json_numbers=numbers,
    )
    records = preview(t, str(src), n=2)
    written = t.transform_bytes(src.read_bytes()).splitlines()
    assert [r.joined for r in records] == written
    assert [r.written for r in records] == written
    assert records[0].joined.startswith(b'{"b"' if key_order == "input" else b'{"SageMakerOutput"')


# -- problems named as each front end names the options ----------------------------------------

# (options, the problem as Python code names them, as the command line does)
SPELLED = [
    (
        dict(header=True, dialect="sagemaker"),
        "header=True is an extension: it needs dialect='extended'",
        "--header is an extension: it needs --dialect extended",
    ),
    (
        dict(header=True, content_type="application/jsonlines"),
        "header=True applies to text/csv only: application/jsonlines records name their own fields",
        "--header applies to text/csv only: application/jsonlines records name their own fields",
    ),
    (
        dict(json_key_order="input", dialect="sagemaker"),
        "json_key_order='input' is an extension: it needs dialect='extended'",
        "--json-key-order input is an extension: it needs --dialect extended",
    ),
    (
        dict(on_error="skip", dialect="sagemaker"),
        "on_error='skip' is an extension: it needs dialect='extended' (SageMaker fails the whole "
        "object on a bad record)",
        "--on-error skip is an extension: it needs --dialect extended (SageMaker fails the whole "
        "object on a bad record)",
    ),
    (
        dict(max_errors=3),
        "max_errors needs on_error='skip' (with 'fail' the first bad record fails its object)",
        "--max-errors needs --on-error skip (with 'fail' the first bad record fails its object)",
    ),
    (
        dict(on_error="skip", max_errors=-1),
        "max_errors must not be negative, not -1",
        "--max-errors must not be negative, not -1",
    ),
    (
        dict(on_error="skip", max_errors=2.5),
        "max_errors as a fraction must be between 0 and 1 (0% to 100%), not 2.5 (a count is a whole number)",
        "--max-errors as a fraction must be between 0 and 1 (0% to 100%), not 2.5 (a count is a whole number)",
    ),
    (
        dict(join_source="Input", accept="application/json"),
        "join_source='Input' requires accept ('application/json') to equal content_type ('text/csv')",
        "--join-source Input requires --accept ('application/json') to equal --content-type ('text/csv')",
    ),
    (
        dict(join_source="Input", split_type="None"),
        "join_source='Input' on text/csv requires split_type='Line' and assemble_with='Line'",
        "--join-source Input on text/csv requires --split-type 'Line' and --assemble-with 'Line'",
    ),
    (
        dict(content_type="text/plain", input_filter="$[1:]"),
        "input_filter '$[1:]' needs records fastjoin reads: content type text/plain records pass to "
        "the model as they are (DataProcessing applies to CSV and JSON only, as on SageMaker)",
        "--input-filter '$[1:]' needs records fastjoin reads: content type text/plain records pass to "
        "the model as they are (DataProcessing applies to CSV and JSON only, as on SageMaker)",
    ),
    (
        dict(max_payload=101),
        "max_payload must be a whole number of MB from 0 to 100, not 101",
        "--max-payload must be a whole number of MB from 0 to 100, not 101",
    ),
    (
        dict(threads=0),
        "threads must be a positive whole number, not 0",
        "--threads must be a positive whole number, not 0",
    ),
    (
        dict(invocations_retries=-1),
        "invocations_retries must be a whole number >= 0, not -1",
        "--invocations-retries must be a whole number >= 0, not -1",
    ),
    (
        dict(engine="gpu"),
        "engine must be one of ('auto', 'compiled', 'xgboost'), not 'gpu'",
        "--engine must be one of ('auto', 'compiled', 'xgboost'), not 'gpu'",
    ),
    (
        dict(max_model_bytes=0),
        "max_model_bytes must be a positive number of bytes, not 0",
        "--max-model-size must be a positive number of bytes, not 0",
    ),
    (
        dict(max_record_bytes=0),
        "max_record_bytes must be a positive number of bytes, not 0",
        "--max-record-size must be a positive number of bytes, not 0",
    ),
    (
        dict(chunk_size=0),
        "chunk_size must be a positive number of bytes, not 0",
        "--chunk-size must be a positive number of bytes, not 0",
    ),
    (
        dict(split_type="Lines", assemble_with="Line"),
        "split_type must be one of ('Line', 'None', 'RecordIO', 'TFRecord'), not 'Lines'",
        "--split-type must be one of ('Line', 'None', 'RecordIO', 'TFRecord'), not 'Lines'",
    ),
]


@pytest.mark.parametrize("options, sdk, cli", SPELLED, ids=[s[1].split(" ")[0] for s in SPELLED])
def test_problems_name_options_as_the_front_end_does(options, sdk, cli):
    o = TransformOptions(**options)
    assert o.problems() == o.problems("sdk") == [sdk]
    assert o.problems("cli") == [cli]
    with pytest.raises(ConfigError) as info:
        o.check("cli")
    assert info.value.problems == [cli]


def test_the_command_line_spelling_uses_the_flags_add_arguments_makes():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = {a.dest: a.option_strings[0] for a in parser._actions if a.dest in FIELDS}
    say = TransformOptions.spelling("cli")
    for name in FIELDS:
        assert say(name) == TransformOptions.flag(name) == flags[name]
    assert say("max_model_bytes", "4GiB") == "--max-model-size 4GiB"
    assert say("allow_pickle", True) == "--allow-pickle"
    assert TransformOptions.spelling("sdk")("allow_pickle", True) == "allow_pickle=True"
    with pytest.raises(ValueError, match="style must be 'sdk' or 'cli'"):
        TransformOptions.spelling("api")
    with pytest.raises(KeyError, match="'nope' is not a transform option"):
        TransformOptions.flag("nope")


def test_every_problem_on_the_command_line_names_a_flag():
    """Every options problem at once, in the cli style: no Python spelling left in any."""
    o = TransformOptions(**{k: v for options, _, _ in SPELLED for k, v in options.items()})
    problems = o.problems("cli")
    assert len(problems) >= 10
    python = re.compile(r"(?<![-\w])(?:" + "|".join(FIELDS) + r")\b|=True|='")
    assert [p for p in problems if python.search(p)] == []
    assert all(python.search(p) for p in o.problems("sdk"))  # the pattern finds what it looks for
