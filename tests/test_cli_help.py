"""Every ``--help`` of the command line reads as plain text in a terminal: no reST markup left
over from docstrings, no description cut mid-sentence, ASCII only, and hand-wrapped texts that
fit 80 columns."""

from __future__ import annotations

import argparse
import re

import pytest
from helpers import cli

from fastjoin.cli import _build_parser, main

COMMANDS = ["transform", "run-job", "validate", "preview", "demo", "serve", "api"]
MARKUP = re.compile(r"``|:(?:class|func|meth|mod|attr|exc|data|obj|ref):|`")


def _parsers() -> dict[str, argparse.ArgumentParser]:
    parser = _build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": parser, **sub.choices}


PARSERS = _parsers()


def test_every_command_is_checked():
    assert set(PARSERS) == {"", *COMMANDS}


@pytest.mark.parametrize("command", PARSERS, ids=lambda c: c or "fastjoin")
def test_help_is_plain_text(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"] if command else ["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert MARKUP.findall(text) == []
    assert text.isascii(), [c for c in text if not c.isascii()]


@pytest.mark.parametrize("command", PARSERS, ids=lambda c: c or "fastjoin")
def test_help_texts_are_whole_sentences(command):
    parser = PARSERS[command]
    assert parser.description, "no description"
    for text in (parser.description, parser.epilog):
        if text is None:
            continue
        assert re.search(r"[.!?]$", text.strip()), f"cut sentence: ...{text.strip()[-60:]!r}"
        if parser.formatter_class is argparse.RawDescriptionHelpFormatter:
            # printed as written: its line breaks are the ones a terminal shows
            assert max(len(line) for line in text.splitlines()) < 80


def test_console_help():
    proc = cli("--help")
    assert proc.returncode == 0, proc.stderr
    assert PARSERS[""].description in proc.stdout
    assert MARKUP.findall(proc.stdout) == []


def test_top_level_help_lists_every_exit_code(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # the wrapping is not the point
    assert "Exit codes: 0 success" in text
    for code, meaning in [
        ("2", "configuration or usage"),
        ("3", "input data"),
        ("4", "model"),
        ("5", "output"),
        ("6", "storage"),
        ("1", "when run-job's job ends Failed"),
        ("130", "interrupted"),
    ]:
        assert f"{code} {meaning}" in text


def _flags(command: str):
    """(flag, action) for every optional argument of a command: the help's own -h, --version
    and the subcommand list left out."""
    for action in PARSERS[command]._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        yield action


DEFAULT = re.compile(r"\(default: ([^()]+)\)$")


@pytest.mark.parametrize("command", PARSERS, ids=lambda c: c or "fastjoin")
def test_every_flag_says_what_it_does_and_its_default(command):
    """As argparse's ArgumentDefaultsHelpFormatter or click would, but true: the transform
    options' flags default to None ("not given", so a request's own values stand), and their
    help states the default the option then takes, once."""
    for action in _flags(command):
        name = "/".join(action.option_strings) or action.dest
        assert action.help and len(action.help) > 10, f"{name}: no help"
        switch = action.nargs == 0  # --header, --resume, --debug: off unless given
        if not action.option_strings or switch or action.required:
            assert "default" not in action.help, f"{name}: {action.help}"
            continue
        found = DEFAULT.search(action.help)
        assert found, f"{name}: no '(default: ...)' at the end of {action.help!r}"
        assert action.help.count("default") == 1, f"{name} says its default twice: {action.help!r}"
        shown = found.group(1).split(";")[0]
        assert shown != "None" or "None" in (action.choices or ()), f"{name}: default None"


@pytest.mark.parametrize("command", ["transform", "run-job", "preview"])
def test_the_defaults_shown_are_the_ones_the_options_take(command):
    """The default in each option flag's help is the value the option has when the flag is
    left out (sizes as the flag takes them: 4MiB)."""
    from fastjoin.options import TransformOptions, parse_size

    resolved = TransformOptions().resolved()
    fields = {f.name: f for f in TransformOptions.fields()}
    checked = 0
    for action in _flags(command):
        f = fields.get(action.dest)
        if f is None or action.nargs == 0 or f.metadata["shown"] is not None:
            continue  # not an option, a switch, or a default in words ("the content type")
        shown = DEFAULT.search(action.help).group(1).split(";")[0]
        value = getattr(resolved, f.name)
        convert = f.metadata["cli_type"] or str
        assert convert(shown) == value, f"{action.option_strings[0]}: shows {shown!r}, takes {value!r}"
        checked += 1
        if convert is parse_size:
            assert re.fullmatch(r"\d+[KMG]iB", shown)
    assert checked >= 8


def test_request_defaults_are_told_where_they_differ():
    help = {a.dest: a.help for a in _flags("transform")}
    assert help["split_type"].endswith("(default: Line; None in a CreateTransformJob request)")
    assert help["invocations_timeout"].endswith("(default: no limit; 600 in a CreateTransformJob request)")
    assert help["strategy"].endswith("(default: MultiRecord)")  # the same in both


@pytest.mark.parametrize("command", COMMANDS)
def test_debug_is_a_flag_of_every_command_too(command):
    assert "--debug" in [s for a in _flags(command) for s in a.option_strings]
    parser = PARSERS[""]
    args = [command, "req.json"] if command in ("run-job", "validate", "preview") else [command]
    if command == "transform":
        args += ["--model", "m", "--input", "i", "--output", "o"]
    assert parser.parse_args(args).debug is False
    assert parser.parse_args(["--debug", *args]).debug is True
    assert parser.parse_args([*args, "--debug"]).debug is True
