"""The sdist holds what a user needs to build the core and run this suite from it.

``make sdist-check`` builds the sdist, runs the suite from its unpacked copy and passes the
tarball in ``FASTJOIN_SDIST``; without it, the sdist is built here from the tree under test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Named explicitly, so that a tree missing one of them cannot pass by comparing with itself.
REQUIRED = {
    "PKG-INFO",
    "LICENSE",
    "README.md",
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "Makefile",
    "fastjoin/_core.pyx",
    "fastjoin/_core.pyi",
    "fastjoin/_trees.pyx",
    "fastjoin/_trees.pyi",
    "fastjoin/_core.pxd",
    "fastjoin/_trees.pxd",
    "fastjoin/src/csv_simd.h",
    "fastjoin/src/trees_kernels.h",
    "fastjoin/src/fj_assert.h",
    "fastjoin/py.typed",
    "tests/conftest.py",
    "tests/s3fixtures.py",
    "tests/helpers.py",
    "tests/test_packaging.py",
    "benchmarks/conftest.py",
}
BUILD_OUTPUTS = (".c", ".so", ".pyd", ".html", ".pyc", ".pyo")


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    given = os.environ.get("FASTJOIN_SDIST")
    if given:
        return Path(given)
    pytest.importorskip("build.__main__")  # for python -m build; plain "build" finds the build/ folder
    out = tmp_path_factory.mktemp("sdist")
    # setuptools adds every file an earlier build's SOURCES.txt lists: build from a clean slate
    shutil.rmtree(ROOT / "fastjoin.egg-info", ignore_errors=True)
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (path,) = out.glob("fastjoin-*.tar.gz")
    return path


def _members(sdist: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(sdist) as tar:
        infos = tar.getmembers()
    # every member sits under fastjoin-<version>/
    return {info.name.split("/", 1)[1]: info for info in infos if "/" in info.name and info.isfile()}


def _tree_files(folder: str, suffixes: tuple[str, ...] = ()) -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and (not suffixes or p.suffix in suffixes)
    }


def test_sdist_has_sources_tests_and_license(sdist):
    names = set(_members(sdist))
    expected = (
        REQUIRED
        | _tree_files("fastjoin", (".py", ".pyx", ".pyi", ".pxd", ".h"))
        | {
            p
            for p in _tree_files("tests") | _tree_files("benchmarks") | _tree_files("fuzz")
            if not p.endswith(BUILD_OUTPUTS)
        }
    )
    assert sorted(expected - names) == []


def test_sdist_has_no_build_outputs_or_ci_files(sdist):
    names = set(_members(sdist))
    assert sorted(n for n in names if n.endswith(BUILD_OUTPUTS)) == []
    assert sorted(n for n in names if n.split("/")[0] in (".ci", ".git", ".venv", "build")) == []


def test_sdist_license_matches_metadata(sdist):
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        pkg_info = tar.extractfile(f"{top}/PKG-INFO").read().decode()
        license_text = tar.extractfile(f"{top}/LICENSE").read().decode()
    assert "License-Expression: Apache-2.0" in pkg_info.splitlines()
    assert "License-File: LICENSE" in pkg_info.splitlines()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
