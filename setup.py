"""Build of the compiled parts: fastjoin._core (CSV bytes) and fastjoin._trees (tree ensembles). Compiler directives live here and only here.

FASTJOIN_CYTHON_DEBUG=1 builds a checked variant (bounds and initialisation checks on);
FASTJOIN_CYTHON_ANNOTATE=1 writes the annotated HTML next to each .pyx.
"""
import os
import sys

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


def extension(name: str, libraries: list = ()) -> Extension:
    return Extension(
        f"fastjoin.{name}",
        [f"fastjoin/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        libraries=list(libraries),
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
        + ([("FASTJOIN_DEBUG", "1")] if DEBUG else []),
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
    )


# _trees links libm by name: unlinked, its expf/logf bind to glibc's oldest symbol versions
# (the SVID-compatible wrappers: logf(-1) is +NaN there), not the ones libxgboost calls
LIBM = ["m"] if os.name == "posix" and sys.platform != "darwin" else []

setup(
    ext_modules=cythonize(
        [extension("_core"), extension("_trees", LIBM)], compiler_directives=directives, annotate=ANNOTATE
    )
)
