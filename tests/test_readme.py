"""README.md's examples, run as written and checked against the output the README shows.

What runs, in a fresh temporary directory per block holding the seed files (``model.json`` and
``batch.csv`` from ``fastjoin.demo.make_seed_files``, a copy in ``demo-output/`` as
``fastjoin demo`` leaves it) and every block marked ``<!-- file: NAME -->`` saved as NAME:

* ```` ```python ```` blocks, executed in this process. A plain ```` ``` ```` block right after
  one is what it prints.
* ```` ```console ```` blocks: each ``$ command`` (``\\`` continues it on the next line) runs in
  a shell where ``fastjoin`` is ``python -m fastjoin`` from this checkout, and the lines up to
  the next ``$`` are what it prints, stdout and stderr together. ``cd DIR`` moves the rest of
  the block into DIR.

Elapsed times (``in 0.01 s``, ``in 38 ms``) are compared as numbers of any value. A block that
names ``s3://`` or ``request.json`` runs against moto's S3 server (the s3fixtures), with the
seed's ``batch.csv`` at ``s3://my-bucket/batch/batch.csv``, and skips without moto.

Not run: a block marked ``<!-- not run: REASON -->``, ```` ```sh ```` blocks (installing,
building, benchmarking and fuzzing commands: no ``fastjoin`` command may hide in one), and
```` ```json ```` blocks other than files, which must parse.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
_MARKER = re.compile(r"^<!-- (not run|file): (.+?) -->$")
_ELAPSED = re.compile(r"\bin \d+(\.\d+)? (s|ms)\b")


@dataclass
class Block:
    lang: str
    text: str
    line: int  # 1-based line of the opening fence
    marker: tuple[str, str] | None  # ("not run", reason) or ("file", name) from the line above
    output: str | None = None  # a plain block right after this one (only blank lines between)

    @property
    def id(self) -> str:
        return f"{self.lang}-line{self.line}"


def read_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    last_end = -2  # index of the previous block's closing fence
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2)
        j = i + 1
        while not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        body = "".join(line.removeprefix(indent) + "\n" for line in lines[i + 1 : j])
        above = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = _MARKER.match(above)
        adjacent = all(not lines[k].strip() for k in range(last_end + 1, i))
        if not lang and blocks and adjacent and blocks[-1].lang == "python":
            blocks[-1].output = body
        else:
            blocks.append(Block(lang, body, i + 1, (marker.group(1), marker.group(2)) if marker else None))
        last_end = i = j
        i += 1
    return blocks


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))
FILES = {b.marker[1]: b.text for b in BLOCKS if b.marker and b.marker[0] == "file"}
RUN = [b for b in BLOCKS if b.lang in ("python", "console") and not (b.marker and b.marker[0] == "not run")]


def normalised(text: str) -> str:
    return _ELAPSED.sub(r"in <elapsed> \2", text)


def test_the_readme_has_examples_to_run():
    """The parser finds what it should: a change to the README's fences cannot silently leave
    its examples untested."""
    langs = [b.lang for b in RUN]
    assert langs.count("python") >= 3 and langs.count("console") >= 3
    assert "request.json" in FILES
    assert any(b.output for b in RUN if b.lang == "python")


def test_not_run_blocks_say_why():
    for b in BLOCKS:
        if b.marker and b.marker[0] == "not run":
            assert len(b.marker[1]) > 10, f"README.md:{b.line}: say why the block is not run"


def test_no_fastjoin_command_in_sh_blocks():
    """Commands a user types to run fastjoin are ``console`` blocks (run here); ``sh`` blocks
    are for installing, building, benchmarking and fuzzing."""
    for b in BLOCKS:
        if b.lang == "sh":
            for line in b.text.splitlines():
                assert not line.lstrip().startswith("fastjoin "), f"README.md:{b.line}: {line}"


def test_json_blocks_parse():
    for b in BLOCKS:
        if b.lang == "json":
            json.loads(b.text)


def test_intro_quotes_the_benchmark_table():
    """The introduction's ratios, date and start-up times are those of the generated benchmark
    section (``benchmarks/report.py --readme``): after ``make bench`` rewrites it, the
    introduction is updated too."""
    text = README.read_text(encoding="utf-8")
    intro = " ".join(text[: text.index("## Install")].split())  # line breaks as spaces
    bench = text[text.index("<!-- bench:begin -->") : text.index("<!-- bench:end -->")]
    e2e = bench[bench.index("### End to end") :].split("\n### ")[0]

    def ratios(pipeline: str) -> str:
        row = next(line for line in e2e.splitlines() if line.startswith(f"| {pipeline}"))
        one, two = (float(cell.strip().rstrip("×")) for cell in row.split("|")[3:6:2])
        low, high = f"{min(one, two):.1f}", f"{max(one, two):.1f}"
        return f"{low if low == high else low + '–' + high}× faster than {pipeline.split()[0]}"

    for pipeline in ("polars `read_csv`", "pyarrow `csv.read_csv`", "pandas `read_csv(engine='c')`"):
        assert ratios(pipeline) in intro
    startup, xgb = re.search(
        r"\| Start-up: .*?\| ([\d.]+) s \(`import xgboost` alone: ([\d.]+) s\)", bench
    ).groups()
    assert f"start-up {float(startup):.2f} s, `import xgboost` {float(xgb):.2f} s" in intro
    assert float(xgb) / float(startup) > 5  # "less than a fifth of the time"
    assert re.search(r", (\d{4}-\d\d-\d\d), Python", bench).group(1) in intro


# --- running the examples --------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    pytest.importorskip("xgboost")
    from fastjoin.demo import make_seed_files

    return make_seed_files(tmp_path_factory.mktemp("seed"))


@pytest.fixture
def workdir(tmp_path, seed):
    """A directory as a reader's ``demo-output/``: the seed files, the README's files, and a copy
    of the seed files in ``demo-output/`` (so ``fastjoin demo`` reuses them, not trains)."""
    work = tmp_path / "work"
    (work / "demo-output").mkdir(parents=True)
    for path in seed:
        shutil.copy(path, work / path.name)
        shutil.copy(path, work / "demo-output" / path.name)
    for name, text in FILES.items():
        (work / name).write_text(text)
    return work


def _needs_s3(block: Block) -> bool:
    return "s3://" in block.text or "request.json" in block.text


@pytest.fixture
def s3_env(request, seed, monkeypatch):
    """For a block that needs S3: the moto endpoint in AWS_ENDPOINT_URL_S3 and the seed's
    ``batch.csv`` at ``s3://my-bucket/batch/``, where ``request.json`` reads it."""
    block = request.node.callspec.params["block"]
    if not _needs_s3(block):
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="my-bucket")  # created again for each block: moto answers OK
    client.put_object(Bucket="my-bucket", Key="batch/batch.csv", Body=seed[1].read_bytes())
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)


def run_python(block: Block) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block.text, f"README.md:{block.line}", "exec"), {"__name__": "__readme__"})
    return out.getvalue()


def commands(block: Block) -> list[tuple[str, str]]:
    """A console block's ``(command, expected output)`` pairs."""
    pairs: list[tuple[str, str]] = []
    lines = block.text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        assert lines[i].startswith("$ "), f"README.md:{block.line + 1 + i}: output before any command"
        command = lines[i][2:]
        while command.rstrip("\n").endswith("\\"):
            i += 1
            command += lines[i]
        i += 1
        output = ""
        while i < len(lines) and not lines[i].startswith("$ "):
            output += lines[i]
            i += 1
        pairs.append((command.strip(), output))
    return pairs


def run_console(block: Block, cwd: Path, bin_dir: Path) -> None:
    shim = bin_dir / "fastjoin"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fastjoin "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", PYTHONUNBUFFERED="1")
    for command, expected in commands(block):
        if command.startswith("cd "):
            cwd = cwd / command.split()[1]
            continue
        proc = subprocess.run(
            command, shell=True, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert normalised(proc.stdout) == normalised(expected), f"README.md:{block.line}: $ {command}"


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("block", RUN, ids=[b.id for b in RUN])
def test_example(block, workdir, s3_env, monkeypatch, tmp_path):
    monkeypatch.chdir(workdir)
    if block.lang == "python":
        printed = run_python(block)
        if block.output is not None:
            assert normalised(printed) == normalised(block.output)
    else:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        run_console(block, workdir, bin_dir)
