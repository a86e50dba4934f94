"""Build of the compiled core, fastjoin._core. Compiler directives live here and only here.

FASTJOIN_CYTHON_DEBUG=1 builds a checked variant (bounds and initialisation checks on);
FASTJOIN_CYTHON_ANNOTATE=1 writes the annotated HTML next to _core.pyx.
"""
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTJOIN_CYTHON_DEBUG", "") not in ("", "0")
ANNOTATE = DEBUG or os.environ.get("FASTJOIN_CYTHON_ANNOTATE", "") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

extension = Extension(
    "fastjoin._core",
    ["fastjoin/_core.pyx"],
    include_dirs=[numpy.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    + ([("FASTJOIN_DEBUG", "1")] if DEBUG else []),
    extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
)

setup(ext_modules=cythonize([extension], compiler_directives=directives, annotate=ANNOTATE))
