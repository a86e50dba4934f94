"""Build of the compiled parts: fastjoin._core (CSV bytes) and fastjoin._trees (tree ensembles). Compiler directives live here and only here.

FASTJOIN_CYTHON_DEBUG=1 builds a checked variant (bounds and initialisation checks on, and
FASTJOIN_DEBUG defined: the C kernels' FJ_ASSERT preconditions, fastjoin/src/fj_assert.h);
FASTJOIN_CYTHON_ANNOTATE=1 writes the annotated HTML next to each .pyx;
FASTJOIN_FUZZ_BUILD=1 builds the fuzzing variant (release directives, AddressSanitizer,
UndefinedBehaviorSanitizer and libFuzzer's coverage hooks; clang only) with its C files in
build/fuzz/c, so the in-place release build is never touched: see fuzz/run.py.
"""
import glob
import os
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTJOIN_CYTHON_DEBUG", "") not in ("", "0")
FUZZ = os.environ.get("FASTJOIN_FUZZ_BUILD", "") not in ("", "0")
ANNOTATE = DEBUG or os.environ.get("FASTJOIN_CYTHON_ANNOTATE", "") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}


# Any UB report aborts (no recovery), so libFuzzer records it as a crash with its input.
FUZZ_SANITIZERS = ["-fsanitize=address,undefined,fuzzer-no-link", "-fno-sanitize-recover=all"]
# -O2 keeps the release code paths (SSE2 split, fast parsers) as they ship; frame pointers and
# -g give symbolised stacks in sanitizer reports.
FUZZ_FLAGS = FUZZ_SANITIZERS + ["-O2", "-g", "-fno-omit-frame-pointer"]


HEADERS = sorted(glob.glob("fastjoin/src/*.h"))


def extension(name: str, libraries: list = ()) -> Extension:
    return Extension(
        f"fastjoin.{name}",
        [f"fastjoin/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        # the C headers the .pxd files include (and they include): a change rebuilds, and a
        # build_dir build (fuzz) gets copies next to its C files, where the includes look
        depends=HEADERS,
        libraries=list(libraries),
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
        + ([("FASTJOIN_DEBUG", "1")] if DEBUG else []),
        extra_compile_args=["-O0", "-g"] if DEBUG else FUZZ_FLAGS if FUZZ else ["-O3"],
        extra_link_args=FUZZ_SANITIZERS if FUZZ else [],
    )


# _trees links libm by name: unlinked, its expf/logf bind to glibc's oldest symbol versions
# (the SVID-compatible wrappers: logf(-1) is +NaN there), not the ones libxgboost calls
LIBM = ["m"] if os.name == "posix" and sys.platform != "darwin" else []

setup(
    ext_modules=cythonize(
        [extension("_core"), extension("_trees", LIBM)],
        compiler_directives=directives,
        annotate=ANNOTATE and not FUZZ,
        build_dir="build/fuzz/c" if FUZZ else None,
    )
)
