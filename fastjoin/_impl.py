"""The one place that chooses the compiled parts: the core (or its pure-Python reference) and
the tree predictor.

``FASTJOIN_IMPL`` = ``core`` (default: the compiled extension, an ImportError if it is not
built), ``reference`` (the spec-driven pure-Python twin, for bisecting bugs), or ``auto``
(compiled if built, else reference). There is no silent fallback by default.

The compiled tree predictor (fastjoin._trees) has no Python twin: libxgboost is its reference,
and ``FASTJOIN_IMPL`` does not choose it. ``trees`` is that module, or None when it cannot be
imported, with ``TREES_MISSING`` saying why and how to build it; fastjoin.predictor then runs
XGBoost models on libxgboost under ``engine="auto"`` and says so (``fallback_note``), and
refuses ``engine="compiled"``.
"""

from __future__ import annotations

import os

_BUILD = "Build it with `pip install -e .` or `python setup.py build_ext --inplace` (needs Cython and a C compiler)"

_choice = os.environ.get("FASTJOIN_IMPL", "core").lower()
if _choice == "reference":
    from fastjoin import _reference as impl
elif _choice in ("core", "auto"):
    try:
        from fastjoin import _core as impl  # type: ignore[no-redef]  # same interface (_core.pyi)
    except ImportError as exc:
        if _choice == "auto":
            from fastjoin import _reference as impl
        else:
            raise ImportError(
                f"fastjoin's compiled core (fastjoin._core) is not built. {_BUILD}, or set "
                "FASTJOIN_IMPL=reference to use the slow pure-Python twin."
            ) from exc
else:
    raise ImportError(f"FASTJOIN_IMPL must be 'core', 'reference' or 'auto', not {_choice!r}")

NAME = impl.__name__.rsplit(".", 1)[-1]  # "_core" or "_reference"
tokenize = impl.tokenize
gather_float32 = impl.gather_float32
format_floats = impl.format_floats
splice = impl.splice
scan_jsonl = impl.scan_jsonl
join_jsonl = impl.join_jsonl
OK = impl.OK
ERR_BARE_QUOTE = impl.ERR_BARE_QUOTE
ERR_UNTERMINATED_QUOTE = impl.ERR_UNTERMINATED_QUOTE
ERR_AFTER_QUOTE = impl.ERR_AFTER_QUOTE
ERR_BLANK_LINE = impl.ERR_BLANK_LINE
ERR_NUMBER = impl.ERR_NUMBER

TREES_MISSING: str | None = None
try:
    from fastjoin import _trees as trees
except ImportError as exc:
    trees = None  # type: ignore[assignment]  # callers check: `if _impl.trees is None`
    TREES_MISSING = f"fastjoin._trees is not built ({exc}). {_BUILD}."
