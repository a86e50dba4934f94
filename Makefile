# The two commands a fresh machine needs: `make demo` and `make test`. Each sets itself up:
# a virtual environment in .venv, the project installed editable with its extras, the
# compiled core built in place.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SETUP  := $(VENV)/.setup-done
CORE   := build/.core-built
EXTRAS ?= xgboost-cpu,test,demo,lint

.PHONY: all demo test test-checked sdist-check lint bench bench-serve fuzz fuzz-short clean

all: $(CORE)

$(SETUP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip "setuptools>=77" wheel
	$(BIN)/python -m pip install -q "Cython>=3.0,<4" "numpy>=1.25"
	$(BIN)/python -m pip install -q --no-build-isolation -e ".[$(EXTRAS)]"
	@mkdir -p build && touch $@

$(CORE): $(SETUP) fastjoin/_core.pyx fastjoin/_trees.pyx fastjoin/_core.pxd fastjoin/_trees.pxd \
    $(wildcard fastjoin/src/*.h) setup.py
	$(BIN)/python setup.py -q build_ext --inplace
	@mkdir -p build && touch $@

demo: $(CORE)
	$(BIN)/fastjoin demo

test: $(CORE)
	$(BIN)/python -m pytest

# ruff's lint rules and format check, then mypy on the package (all three set in pyproject.toml)
lint: $(SETUP)
	$(BIN)/ruff check fastjoin tests benchmarks fuzz
	$(BIN)/ruff format --check fastjoin tests benchmarks fuzz
	$(BIN)/mypy

# The suite once more against a bounds-checked build of the core, then back to release.
test-checked: $(SETUP)
	FASTJOIN_CYTHON_DEBUG=1 $(BIN)/python setup.py -q build_ext --inplace --force
	$(BIN)/python -m pytest -q tests/test_core.py tests/test_csv_pipeline.py tests/test_trees.py tests/test_jsonl.py tests/test_jsonl_scan.py; status=$$?; \
	  $(BIN)/python setup.py -q build_ext --inplace --force; touch $(CORE); exit $$status

# The sdist is enough to build and test from: build it, unpack it in a temporary directory, build
# the core there and run the suite from that copy (FASTJOIN_SDIST: tests/test_packaging.py checks
# that tarball's file list). .venv's packages serve, so nothing is installed: PYTHONPATH puts the
# unpacked copy ahead of .venv's editable install, for the tests' subprocesses too. The old
# fastjoin.egg-info goes first: setuptools adds every file its SOURCES.txt lists to the sdist.
sdist-check: $(SETUP)
	@set -e; py=$(abspath $(BIN))/python; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  rm -rf fastjoin.egg-info; \
	  $$py -m build --sdist --no-isolation --outdir "$$tmp" . >"$$tmp/build.log" 2>&1 \
	    || { cat "$$tmp/build.log"; exit 1; }; \
	  sdist=$$(echo "$$tmp"/fastjoin-*.tar.gz); echo "sdist-check: $$sdist"; \
	  tar -xzf "$$sdist" -C "$$tmp"; cd "$$tmp"/fastjoin-*/; \
	  $$py setup.py -q build_ext --inplace; \
	  export PYTHONPATH="$$PWD" FASTJOIN_SDIST="$$sdist"; \
	  $$py -c 'import sys, fastjoin._core as c; c.__file__.startswith(sys.argv[1]) or sys.exit("not the unpacked copy: " + c.__file__)' "$$PWD/"; \
	  $$py -m pytest -q

bench: $(CORE)
	$(BIN)/python -m pip install -q --no-build-isolation -e ".[$(EXTRAS),bench,serve]"
	# the one-chunk stage benchmarks in a process of their own: earlier benchmarks' large
	# allocations leave a heap on which the same loops run up to 40% slower
	$(BIN)/python -m pytest benchmarks/bench_stages.py --benchmark-only --benchmark-json=bench-stages.json $(BENCH_ARGS)
	$(BIN)/python -m pytest benchmarks --ignore=benchmarks/bench_stages.py --benchmark-only --benchmark-json=bench-results.json $(BENCH_ARGS)
	$(BIN)/python benchmarks/report.py bench-results.json bench-stages.json -o benchmarks/RESULTS.md --readme README.md

# The serving benchmark alone (also part of `make bench`): fastjoin serve beside the XGBoost
# container's stack, one worker each on one core, the load generator on another
bench-serve: $(CORE)
	$(BIN)/python -m pip install -q --no-build-isolation -e ".[$(EXTRAS),bench,serve]"
	$(BIN)/python -m pytest benchmarks/bench_serve.py --benchmark-only --benchmark-json=bench-serve.json $(BENCH_ARGS)
	$(BIN)/python benchmarks/report.py --serving bench-serve.json

# Coverage-guided fuzzing (fuzz/run.py): an ASan+UBSan build of the compiled parts in
# build/fuzz, every target against its reference for FUZZ_SECONDS each (FUZZ_RUNS=n stops a
# target after n inputs); exits non-zero on any crash, disagreement or sanitizer report.
# Needs clang (installed with apt-get when missing) and atheris (the `fuzz` extra).
FUZZ_SECONDS ?= 600
FUZZ_SHORT_SECONDS ?= 25
FUZZ_DEPS := $(VENV)/.fuzz-done
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(FUZZ_DEPS): $(SETUP)
	command -v clang >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq clang; }
	$(BIN)/python -m pip install -q --no-build-isolation -e ".[$(EXTRAS),fuzz]"
	@touch $@

fuzz: $(FUZZ_DEPS)
	$(BIN)/python fuzz/run.py --seconds $(FUZZ_SECONDS) $(if $(FUZZ_RUNS),--runs $(FUZZ_RUNS)) $(FUZZ_TARGETS)

# CI's pass: every target for FUZZ_SHORT_SECONDS
fuzz-short: $(FUZZ_DEPS)
	$(BIN)/python fuzz/run.py --seconds $(FUZZ_SHORT_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf build fastjoin/_core.c fastjoin/_core*.so fastjoin/_core.html fastjoin/_trees.c fastjoin/_trees*.so fastjoin/_trees.html
