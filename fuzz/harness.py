"""What every fuzz target shares: the check that the sanitized build is the one loaded, and
the one way a disagreement is reported (an exception libFuzzer records as a crash, with the
input saved as ``crash-<sha1>`` and shown in the message)."""

from __future__ import annotations

import os
import sys

MAX_LEN = 4096  # inputs are cut here: executions stay fast and disagreements stay readable


class Disagreement(AssertionError):
    """The compiled code and its reference gave different results for one input."""


def disagree(target: str, data: bytes, details: str) -> None:
    # The marker is what fuzz/run.py counts; the repr is the whole input, small by design.
    raise Disagreement(f"DISAGREEMENT in {target}\ninput: {data!r}\n{details}")


def check_build(*modules) -> None:
    """Refuse to fuzz anything but the sanitized build fuzz/run.py made (build/fuzz/lib):
    the in-place release .so would fuzz nothing a sanitizer can see."""
    if os.environ.get("FASTJOIN_FUZZ_ANY_BUILD") == "1":  # a quick look without sanitizers
        return
    for module in modules:
        path = module.__file__ or ""
        with open(path, "rb") as f:
            sanitized = b"__asan_report_load" in f.read()
        if os.sep.join(("build", "fuzz", "lib")) not in path or not sanitized:
            sys.exit(f"{module.__name__} is {path}, not the sanitized build: run fuzz/run.py (make fuzz)")
