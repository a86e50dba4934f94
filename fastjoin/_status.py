"""The status codes the core functions return: the one definition Python reads.

:mod:`fastjoin._reference` returns these objects, and the error messages are keyed on them
(through :mod:`fastjoin._impl`). The compiled core needs the numbers when it is compiled, so
``fastjoin/_core.pxd`` declares them as a C enum; ``tests/test_core.py`` fails if that enum or
the built extension says anything else. What each code means: ``fastjoin/_core.pyi``.
"""

from __future__ import annotations

__all__ = [
    "OK",
    "ERR_BARE_QUOTE",
    "ERR_UNTERMINATED_QUOTE",
    "ERR_AFTER_QUOTE",
    "ERR_BLANK_LINE",
    "ERR_NUMBER",
]

OK = 0
ERR_BARE_QUOTE = 1
ERR_UNTERMINATED_QUOTE = 2
ERR_AFTER_QUOTE = 3
ERR_BLANK_LINE = 4
ERR_NUMBER = 5
