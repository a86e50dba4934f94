"""Build the sanitized extensions and run every fuzz target for a time budget (``make fuzz``).

1. Builds fastjoin._core and fastjoin._trees with clang, AddressSanitizer, UndefinedBehavior-
   Sanitizer (every report fatal) and libFuzzer's coverage hooks into build/fuzz/lib
   (``FASTJOIN_FUZZ_BUILD=1``, see setup.py), next to a copy of the package's Python files.
   The in-place .so files that ``make test`` uses are never touched.
2. Writes each target's seed corpus (fuzz/seeds.py) into build/fuzz/corpus/<target>, which
   libFuzzer then grows: a later run starts from everything the earlier ones found.
3. Runs each target, one at a time, with atheris's ASan+libFuzzer runtime preloaded and
   build/fuzz/lib first on the path, for ``--seconds`` (or ``--runs`` inputs) each.
4. Prints inputs executed, crashes, disagreements and sanitizer reports per target, writes
   them to build/fuzz/results/<target>.json, and exits 1 on any finding. Findings are saved as
   build/fuzz/findings/<target>/crash-*, logs as build/fuzz/logs/<target>.log; replay one
   with ``python fuzz/run.py --no-build --replay <target> <file>``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "fuzz")
LIB = os.path.join(BUILD, "lib")
TARGETS = ("core", "jsonpath", "jsonl", "jsonl_scan", "trees")

# detect_leaks=0: CPython keeps its interned objects, caches and module state alive until
# exit on purpose, so LeakSanitizer's exit-time check reports thousands of "leaks" that are
# the interpreter's, not ours (atheris's docs say the same). Use-after-free, overflows and
# double frees are still caught, and -rss_limit_mb stops a run whose memory grows per input.
# malloc_context_size=0: no stack recorded per allocation (with PYTHONMALLOC=malloc that is
# every Python object), which doubles the rate; a report still shows where the bad access
# was, and --replay records full allocation stacks.
ASAN_OPTIONS = "detect_leaks=0:allocator_may_return_null=1:handle_abort=1:symbolize=1"
CAMPAIGN_ASAN_OPTIONS = ASAN_OPTIONS + ":malloc_context_size=0"
UBSAN_OPTIONS = "halt_on_error=1:print_stacktrace=1"

SANITIZER = re.compile(r"ERROR: AddressSanitizer|runtime error:|ERROR: UndefinedBehaviorSanitizer")
DISAGREEMENT = "DISAGREEMENT in "


def build() -> None:
    clang = shutil.which("clang")
    if clang is None:
        sys.exit("clang is not installed: `make fuzz` installs it (apt-get install clang)")
    env = dict(os.environ, FASTJOIN_FUZZ_BUILD="1", CC=clang, LDSHARED=f"{clang} -shared")
    env.pop("FASTJOIN_CYTHON_DEBUG", None)
    cmd = [sys.executable, "setup.py", "-q", "build", "--build-base", BUILD, "--build-lib", LIB]
    print("building the ASan+UBSan extensions into", os.path.relpath(LIB, ROOT), flush=True)
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode:
        sys.exit(done.stdout + "\nthe sanitized build failed")


def preload() -> str:
    import atheris  # the runtime that holds both ASan (with UBSan's handlers) and libFuzzer

    path = os.path.join(atheris.path(), "asan_with_fuzzer.so")
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: reinstall atheris (pip install atheris) with clang present")
    return path


def target_env(asan_options: str = CAMPAIGN_ASAN_OPTIONS) -> dict:
    return dict(
        os.environ,
        LD_PRELOAD=preload(),
        ASAN_OPTIONS=asan_options,
        UBSAN_OPTIONS=UBSAN_OPTIONS,
        PYTHONMALLOC="malloc",  # every Python allocation its own malloc, with redzones
        PYTHONPATH=LIB,
        OMP_NUM_THREADS="1",
    )


def script(target: str) -> str:
    return os.path.join(ROOT, "fuzz", f"fuzz_{target}.py")


def run_target(target: str, seconds: int, runs: int | None, max_len: int) -> dict:
    corpus = os.path.join(BUILD, "corpus", target)
    findings = os.path.join(BUILD, "findings", target) + os.sep
    log_path = os.path.join(BUILD, "logs", f"{target}.log")
    for d in (corpus, findings, os.path.dirname(log_path)):
        os.makedirs(d, exist_ok=True)
    args = [
        sys.executable,
        script(target),
        corpus,
        f"-max_len={max_len}",
        "-timeout=60",
        "-rss_limit_mb=6144",
        "-print_final_stats=1",
        f"-artifact_prefix={findings}",
        f"-max_total_time={seconds}",
    ]
    if runs is not None:
        args.append(f"-runs={runs}")
    print(f"fuzzing {target} for {seconds} s" + (f" or {runs} inputs" if runs else ""), flush=True)
    began = time.monotonic()
    with open(log_path, "w") as log:
        rc = subprocess.run(args, cwd=ROOT, env=target_env(), stdout=log, stderr=subprocess.STDOUT).returncode
    elapsed = time.monotonic() - began
    with open(log_path, errors="replace") as log:
        text = log.read()
    return summarise(target, rc, text, elapsed, log_path)


def summarise(target: str, rc: int, text: str, elapsed: float, log_path: str) -> dict:
    executed = re.findall(r"stat::number_of_executed_units: (\d+)", text) or re.findall(
        r"Done (\d+) runs", text
    )
    if not executed:
        executed = re.findall(r"^#(\d+)\s", text, re.MULTILINE)
    sanitizer = len(SANITIZER.findall(text))
    disagreements = min(1, text.count(DISAGREEMENT))  # a run stops at its first finding
    interrupted = "libFuzzer: run interrupted" in text  # Ctrl-C: stopped early, not a finding
    crashes = 0 if rc == 0 or interrupted else max(0, 1 - sanitizer - disagreements)  # anything else fatal
    return {
        "target": target,
        "executions": int(executed[-1]) if executed else 0,
        "seconds": round(elapsed, 1),
        "crashes": crashes,
        "disagreements": disagreements,
        "sanitizer_reports": sanitizer,
        "exit_status": 0 if interrupted and not (sanitizer or disagreements) else rc,
        "interrupted": interrupted,
        "log": os.path.relpath(log_path, ROOT),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=list(TARGETS), help=f"any of {', '.join(TARGETS)}")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "600")))
    runs = os.environ.get("FUZZ_RUNS")
    parser.add_argument(
        "--runs",
        type=int,
        default=int(runs) if runs else None,
        help="stop a target sooner, after this many inputs",
    )
    parser.add_argument("--max-len", type=int, default=4096)
    parser.add_argument("--no-build", action="store_true", help="reuse build/fuzz/lib as it is")
    parser.add_argument("--replay", nargs=2, metavar=("TARGET", "FILE"), help="run one saved input")
    args = parser.parse_args(argv)
    if not args.no_build:
        build()
    if args.replay:
        target, path = args.replay
        env = target_env(ASAN_OPTIONS)
        return subprocess.run([sys.executable, script(target), path], cwd=ROOT, env=env).returncode
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; choose from {', '.join(TARGETS)}")
    seeds = [sys.executable, os.path.join(ROOT, "fuzz", "seeds.py"), os.path.join(BUILD, "corpus")]
    subprocess.run(seeds + args.targets, cwd=ROOT, env=dict(os.environ, PYTHONPATH=LIB), check=True)
    results = []
    for target in args.targets:
        results.append(run_target(target, args.seconds, args.runs, args.max_len))
        os.makedirs(os.path.join(BUILD, "results"), exist_ok=True)
        with open(os.path.join(BUILD, "results", f"{target}.json"), "w") as f:
            json.dump(results[-1], f, indent=1)
    header = (
        f"{'target':10} {'executions':>12} {'seconds':>8} {'crashes':>8} {'disagree':>9} {'sanitizer':>10}"
    )
    print(header)
    for r in results:
        print(
            f"{r['target']:10} {r['executions']:>12,} {r['seconds']:>8} {r['crashes']:>8} "
            f"{r['disagreements']:>9} {r['sanitizer_reports']:>10}"
        )
    bad = [
        r for r in results if r["exit_status"] or r["crashes"] or r["disagreements"] or r["sanitizer_reports"]
    ]
    for r in bad:
        print(
            f"FINDING in {r['target']}: see {r['log']} and build/fuzz/findings/{r['target']}/",
            file=sys.stderr,
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
