"""Every ``--help`` of the command line reads as plain text in a terminal: no reST markup left
over from docstrings, no description cut mid-sentence, ASCII only, and hand-wrapped texts that
fit 80 columns."""

from __future__ import annotations

import argparse
import re

import pytest
from helpers import cli

from fastjoin.cli import _build_parser, main

COMMANDS = ["transform", "run-job", "validate", "preview", "demo"]
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
