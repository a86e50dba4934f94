"""Suite-wide test configuration.

* ``impl``: runs a test on both cores, ids ``reference`` and ``core``. A core that is not
  built fails the ``core`` case when the test uses it (never skips); ``-k reference`` runs
  the reference alone.
  ``reference`` and ``core`` fixtures give one of them each, for differential tests.
* Guards: an unraisable exception ("Exception ignored in ...") during a test, or that text in
  its captured stderr, fails the test.
* AWS isolation: set at import time, before any test module imports boto3/botocore, so no
  test reads the user's AWS configuration or credentials or reaches instance metadata.
* ``buffer_kinds``: the same bytes as every buffer type the cores accept.
* ``requires_xgboost``: a test with this marker skips where xgboost cannot be imported (the
  ``test`` extra installs it). The S3 fixtures (``s3fixtures``) skip their tests without moto.
* Hypothesis profiles ``ci`` (default: derandomized, no deadline) and ``dev``, chosen with
  ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import gc
import importlib
import mmap
import os
import sys

import numpy as np
import pytest
from helpers import optional_module
from hypothesis import HealthCheck, settings

pytest_plugins = ["s3fixtures"]  # the S3 endpoint fixtures, in every module

# --- AWS isolation (import time) -------------------------------------------------------------

for _name in (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CA_BUNDLE",
    "AWS_REGION",
):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
)

# --- hypothesis profiles ---------------------------------------------------------------------

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=200,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --- optional dependencies -------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    """Tests marked ``requires_xgboost`` skip where xgboost cannot be imported; the rest of
    their module (container callables, JSON joins, refusals) still runs."""
    marked = [item for item in items if item.get_closest_marker("requires_xgboost")]
    if marked and optional_module("xgboost") is None:
        skip = pytest.mark.skip(reason='needs xgboost (the test extra installs it: pip install -e ".[test]")')
        for item in marked:
            item.add_marker(skip)


# --- the two cores ---------------------------------------------------------------------------

IMPLS = ["reference", "core"]


class _UnbuiltCore:
    """Stands in for a core that cannot be imported: any use fails the test (never skips)."""

    def __init__(self, error: ImportError):
        self._error = error

    def __getattr__(self, name):
        pytest.fail(
            f"fastjoin._core cannot be imported ({self._error}); build it with "
            "`python setup.py build_ext --inplace`, or run the reference alone with "
            "`-k reference`",
            pytrace=False,
        )


def load_impl(name: str):
    """The module for ``name``; an unbuilt core gives a stand-in that fails the test using it."""
    if name == "reference":
        return importlib.import_module("fastjoin._reference")
    try:
        return importlib.import_module("fastjoin._core")
    except ImportError as exc:
        return _UnbuiltCore(exc)


# Session scope: the modules are stateless, and hypothesis tests may then use them.
@pytest.fixture(scope="session", params=IMPLS, ids=IMPLS)
def impl(request):
    return load_impl(request.param)


@pytest.fixture(scope="session")
def reference():
    return load_impl("reference")


@pytest.fixture(scope="session")
def core():
    return load_impl("core")


# --- guards ----------------------------------------------------------------------------------


_UNRAISABLE = pytest.StashKey[list]()


@pytest.fixture(autouse=True)
def _no_unraisable_exceptions(request):
    """Route sys.unraisablehook ("Exception ignored in ...") into a list on the test item;
    ``pytest_runtest_makereport`` below fails the phase in which one happened."""
    seen = request.node.stash.setdefault(_UNRAISABLE, [])
    previous = sys.unraisablehook

    def hook(unraisable):
        seen.append(
            f"{unraisable.err_msg or 'Exception ignored in'}: {unraisable.object!r}: "
            f"{unraisable.exc_type.__name__}: {unraisable.exc_value}"
        )

    sys.unraisablehook = hook
    yield
    sys.unraisablehook = previous


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        return (yield)
    finally:
        gc.collect(1)  # finalize young cycles the test dropped, inside it (a full collect: slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Fail a phase that raised an unraisable exception or whose own captured stderr says
    "Exception ignored" (also text written below Python, straight to fd 2)."""
    report = yield
    problems = item.stash.get(_UNRAISABLE, [])
    stderr = "".join(text for name, text in report.sections if name == f"Captured stderr {report.when}")
    if report.passed and problems:
        report.outcome = "failed"
        report.longrepr = "unraisable exception(s):\n" + "\n".join(problems)
    elif report.passed and "Exception ignored" in stderr:
        report.outcome = "failed"
        report.longrepr = '"Exception ignored" in captured stderr:\n' + stderr
    problems.clear()  # reported with this phase; the next phase starts clean
    return report


# --- buffers ---------------------------------------------------------------------------------

BUFFER_KINDS = ["bytes", "bytearray", "memoryview-slice", "mmap", "numpy-memmap"]


class BufferKinds:
    """Makes the same bytes as every buffer kind; closes what it opened at teardown.

    ``memoryview-slice`` is a slice at a non-zero offset of a larger buffer whose surrounding
    bytes are valid-looking CSV, so a core that reads outside the view or reports offsets not
    relative to it gives a different answer. ``mmap`` (read-only) and ``numpy-memmap``
    (read-only uint8) map a temporary file; an empty file cannot be mapped, so empty data has
    only the first three kinds. Closing an mmap fails if a core still holds its buffer.
    """

    def __init__(self, tmp_path_factory):
        self._dir = tmp_path_factory.mktemp("buffers")
        self._count = 0
        self._files = []
        self._mmaps = []

    def __call__(self, data: bytes) -> list[tuple[str, object]]:
        data = bytes(data)
        prefix, suffix = b'9,"x\n\r\n"', b'\n",y'
        kinds = [
            ("bytes", data),
            ("bytearray", bytearray(data)),
            ("memoryview-slice", memoryview(prefix + data + suffix)[len(prefix) : len(prefix) + len(data)]),
        ]
        if data:
            self._count += 1
            path = self._dir / f"buf{self._count}.bin"
            path.write_bytes(data)
            f = open(path, "rb")
            self._files.append(f)
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self._mmaps.append(m)
            kinds.append(("mmap", m))
            kinds.append(("numpy-memmap", np.memmap(path, dtype=np.uint8, mode="r")))
        return kinds

    def close(self):
        for m in self._mmaps:
            m.close()  # BufferError here: something still holds the mapping's buffer
        for f in self._files:
            f.close()


@pytest.fixture
def buffer_kinds(tmp_path_factory):
    """``buffer_kinds(data)`` -> ``[(kind, buffer), ...]`` holding the same bytes."""
    kinds = BufferKinds(tmp_path_factory)
    yield kinds
    kinds.close()


@pytest.fixture(scope="session", params=["inline", "threads"])
def runner(request) -> dict:
    """Transformer options that choose how chunks run: one after another on the calling
    thread, or on three worker threads with chunks in flight and results put back in order
    (in-process models and container models alike). The Dask runner (whole files only:
    ``transform(client=)``) has ``dask_client`` and tests/test_dask*.py."""
    return {"threads": 1} if request.param == "inline" else {"threads": 3, "max_concurrent": 3}


@pytest.fixture(scope="session")
def dask_client():
    """A ``distributed.Client`` of a real LocalCluster: 2 spawned worker processes with one
    thread each, started once per session (spawning costs seconds). Without the dask extra
    (the test extra installs it) the tests that use it skip."""
    pytest.importorskip("distributed", reason='needs dask.distributed (pip install -e ".[test]")')
    from distributed import Client

    from fastjoin.runners.dask import local_cluster

    with local_cluster(2) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(params=["core", "reference"])
def pipeline(request, monkeypatch):
    """Route the whole pipeline through one implementation of the core, so end-to-end tests
    require identical bytes and errors from both."""
    from fastjoin import _core, _impl, _reference

    module = _core if request.param == "core" else _reference
    for name in ("tokenize", "gather_float32", "format_floats", "splice", "scan_jsonl", "join_jsonl"):
        monkeypatch.setattr(_impl, name, getattr(module, name))
    return request.param
