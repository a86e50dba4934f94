"""``fastjoin demo`` without the packages it needs: one line naming the extra to install, no
traceback. The missing packages are simulated (``sys.modules[name] = None`` makes an import of
``name`` fail as if it were not installed)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import optional_module

import fastjoin
from fastjoin.demo import make_seed_files

XGBOOST_HINT = (
    "pip install 'fastjoin[xgboost]' (or the lean CPU-only XGBoost: pip install 'fastjoin[xgboost-cpu]')"
)

CASES = [
    (["sklearn"], "fastjoin demo needs scikit-learn, which is not installed: pip install 'fastjoin[demo]'"),
    (["pandas"], "fastjoin demo needs pandas, which is not installed: pip install 'fastjoin[demo]'"),
    (
        ["sklearn", "pandas"],
        "fastjoin demo needs pandas and scikit-learn, which are not installed: pip install 'fastjoin[demo]'",
    ),
    (["xgboost"], f"fastjoin demo needs xgboost, which is not installed: {XGBOOST_HINT}"),
    (
        ["pandas", "sklearn", "xgboost"],
        "fastjoin demo needs pandas, scikit-learn and xgboost, which are not installed: "
        "pip install 'fastjoin[demo,xgboost]' "
        "(or the lean CPU-only XGBoost: pip install 'fastjoin[demo,xgboost-cpu]')",
    ),
]


def _others_installed(hidden: list[str]) -> None:
    """Skip unless every package the demo needs, other than the hidden ones, is installed (the
    message names exactly the missing ones)."""
    for name in {"pandas", "sklearn", "xgboost"} - set(hidden):
        if optional_module(name) is None:
            pytest.skip(f"{name} is not installed")


@pytest.mark.parametrize("hidden, message", CASES, ids=["+".join(h) for h, _ in CASES])
def test_missing_package_names_the_extra(hidden, message, monkeypatch, tmp_path):
    _others_installed(hidden)
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(fastjoin.ConfigError) as info:
        make_seed_files(tmp_path / "seed")
    assert str(info.value) == message
    assert info.value.problems == [message]
    assert not (tmp_path / "seed").exists()  # checked before anything is written


def test_cli_demo_without_scikit_learn_prints_one_line(tmp_path):
    """The CLI run as a user runs it, in a process where scikit-learn cannot be imported: exit 2
    and one ``fastjoin: error:`` line naming the extra, after the demo's two opening lines."""
    _others_installed(["sklearn"])
    script = (
        "import sys; sys.modules['sklearn'] = None; "
        "from fastjoin.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "demo", "--dir", str(tmp_path / "demo-output")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "fastjoin: error: fastjoin demo needs scikit-learn, which is not installed: "
        "pip install 'fastjoin[demo]'\n"
    )
    assert proc.stdout.startswith("fastjoin demo: ")
    assert not (tmp_path / "demo-output").exists()
