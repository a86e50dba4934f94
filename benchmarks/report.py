#!/usr/bin/env python3
"""Turn pytest-benchmark's saved JSON into the Markdown benchmark table.

    python benchmarks/report.py bench-results.json [-o benchmarks/RESULTS.md]

Reads the file written by ``pytest benchmarks --benchmark-json=FILE`` and prints (or writes
with ``-o``) one table per benchmark group (end to end, then each stage): median seconds,
rows/s, MB/s of input, and ratios to fastjoin and to predict-only, under a header stating the
machine, the versions, the date and the thread counts; first the issue-3 targets (each
ratio, rate, time and memory against its target: met, or by how much not), then the tables,
then where fastjoin's time goes (its per-chunk stage times scaled to the whole file, against
its end-to-end time). The targets table is printed to stdout as well.

``--readme README.md`` also rewrites the part of README.md between ``<!-- bench:begin -->``
and ``<!-- bench:end -->``: a summary generated from the same JSON.

Needs only the standard library.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from datetime import datetime

REPRODUCE = [
    "make bench{bench_args}   # = the four commands below",
    ".venv/bin/pip install -e '.[xgboost-cpu,bench]'   # pytest-benchmark, pandas, pyarrow, polars",
    "# the one-chunk stage benchmarks in a process of their own, then the rest",
    ".venv/bin/python -m pytest benchmarks/bench_stages.py --benchmark-only "
    "--benchmark-json=bench-stages.json --rows {rows}{threads}",
    ".venv/bin/python -m pytest benchmarks --ignore=benchmarks/bench_stages.py --benchmark-only "
    "--benchmark-json=bench-results.json --rows {rows}{threads}",
    ".venv/bin/python benchmarks/report.py bench-results.json bench-stages.json "
    "-o benchmarks/RESULTS.md --readme README.md",
]
# Groups in the order they are shown; a group may end in ", N threads" (see conftest.run).
GROUP_ORDER = [
    "end-to-end",
    "wide",
    "json lines",
    "json lines (named keys)",
    "structure",
    "whole process",
    "start-up",
    "memory",
]
STAGE_ORDER = ["tokenize", "gather", "parse", "predict", "format", "splice", "scan"]
KIND_ORDER = {"fastjoin": 0, "variant": 1, "floor": 2, "peer": 3}


def _split_group(group: str) -> tuple[str, int | None]:
    """``"end-to-end, 2 threads"`` → ``("end-to-end", 2)``; no suffix → ``(group, None)``."""
    base, sep, tail = group.rpartition(", ")
    if sep and tail.split(" ")[0].isdigit() and tail.split(" ")[-1] in ("thread", "threads"):
        return base, int(tail.split(" ")[0])
    return group, None


def _group_key(group: str):
    base, n = _split_group(group)
    if base in GROUP_ORDER:
        return (0, GROUP_ORDER.index(base), n or 0, group)
    for i, stage in enumerate(STAGE_ORDER):
        if group.startswith(f"stage: {stage}"):
            return (1, i, 0, group)
    return (2, 0, 0, group)


def _e2e_group(groups: dict, threads) -> list[dict]:
    """The end-to-end group at ``threads`` threads (older JSON: the one ``end-to-end``)."""
    for name in (f"end-to-end, {threads} thread{'s' if threads != 1 else ''}", "end-to-end"):
        if name in groups:
            return groups[name]
    return []


def _rate(x: float) -> str:
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.2f} {unit}"
    return f"{x:.0f}"


def _seconds(s: float) -> str:
    return f"{s:.3f}" if s >= 0.1 else f"{s:.4f}" if s >= 0.001 else f"{s:.6f}"


def _ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"


def _first_upper(text: str) -> str:
    """``scan (JSON Lines)`` → ``Scan (JSON Lines)`` (str.capitalize would lower the rest)."""
    return text[:1].upper() + text[1:]


def _label(b: dict) -> str:
    return b.get("extra_info", {}).get("label") or b["name"]


def _find(rows: list[dict], kind: str) -> dict | None:
    hits = [b for b in rows if b.get("extra_info", {}).get("kind") == kind]
    return hits[0] if hits else None


def render(data: dict, source: str = "bench-results.json") -> str:
    info = data.get("machine_info", {})
    fb = info.get("fastjoin_bench", {})
    cpu = info.get("cpu", {})
    versions = fb.get("versions", {})
    benches = [b for b in data.get("benchmarks", []) if b.get("stats")]
    if not benches:
        raise SystemExit(f"{source}: no benchmark results (was it run with --benchmark-disable?)")
    groups: dict[str, list[dict]] = {}
    for b in benches:
        groups.setdefault(b.get("group") or "ungrouped", []).append(b)

    rows = fb.get("rows")
    threads = fb.get("threads")
    e2e = _e2e_group(groups, threads)
    fj_e2e = _find(e2e, "fastjoin")
    size = (fj_e2e or (e2e[0] if e2e else {})).get("extra_info", {}).get("bytes")

    when = data.get("datetime", "")
    try:
        when = datetime.fromisoformat(when.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        pass
    commit = data.get("commit_info", {})
    cid = commit.get("id")
    commit_text = f"{cid[:12]}{' (uncommitted changes)' if commit.get('dirty') else ''}" if cid else "unknown"

    out = ["# fastjoin benchmarks", ""]
    out.append(
        "The seed job (InputFilter `$[1:]`, JoinSource `Input`, OutputFilter `$[0,-1]`, "
        "XGBoost `binary:logistic`, 100 trees of depth 5) on a generated CSV of "
        + (f"{rows:,} rows" if rows else "?? rows")
        + (
            f" ({size / 1e6:.1f} MB: an 8-digit id + 30 features with 4 significant digits, no header)"
            if size
            else ""
        )
        + ", by fastjoin and by the peers a user would otherwise write, in one pytest "
        "session on the same data. Medians of the rounds shown; model loading and "
        "imports are outside the job timings (the whole-process, start-up and memory "
        "groups time fresh processes instead); the page cache is warm."
    )
    out.append("")
    out.append(f"- **Date:** {when}")
    out.append(
        f"- **Machine:** {fb.get('cpu_model') or cpu.get('brand_raw', '?')}, "
        f"{cpu.get('count', '?')} logical cores ({fb.get('cores_available', '?')} "
        f"available to the process), {info.get('system', '')} {info.get('release', '')}"
    )
    out.append(f"- **Threads:** {_threads_text(fb)}; fastjoin, XGBoost, pandas, pyarrow and polars alike")
    out.append(
        f"- **Versions:** Python {info.get('python_version', '?')}, "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if v)
        + f"; fastjoin core `{fb.get('core', '?')}`"
    )
    if fb.get("other_cpu_s") is not None:
        out.append(
            f"- **Other work on the machine:** {fb['other_cpu_s']} CPU seconds used by other "
            f"processes during the {fb.get('run_wall_s')} s run (load average "
            f"{fb.get('loadavg_start')} when it started)"
        )
    out.append(f"- **Commit:** {commit_text}")
    out.append("")
    out.append("Reproduce (from the repository root):")
    out.append("")
    out.append("```sh")
    out.extend(_reproduce(fb))
    out.append("```")
    out.append("")
    out.extend(_targets_section(data, heading="## Targets (issue 3)"))
    out.append("")
    out.append(
        "× fastjoin and × predict-only are this row's median time divided by that row's "
        "(above 1: slower). MB/s and rows/s count input bytes and rows. fastjoin writes "
        "predictions as SageMaker's container does (`0.9899773597717285`), the peers "
        "numpy's shorter float32 text (`0.98997736`); every output was checked (fastjoin "
        "byte for byte, peers by value). Timings on a shared 2-core VM move 10–20% from run "
        "to run, so ratios within about 1.2× are not a ranking."
    )

    for group in sorted(groups, key=_group_key):
        if all(b.get("extra_info", {}).get("kind") == "breakdown" for b in groups[group]):
            continue  # rendered in "Where fastjoin's time goes"
        if group.startswith("serving"):
            continue  # rendered in "Serving"
        members = sorted(
            groups[group],
            key=lambda b: (KIND_ORDER.get(b.get("extra_info", {}).get("kind"), 9), b["stats"]["median"]),
        )
        ref = _find(members, "fastjoin")
        floor = _find(members, "floor")
        base, n = _split_group(group)
        is_e2e = base in ("end-to-end", "wide", "json lines", "json lines (named keys)")
        out.append("")
        if base == "memory":
            out.extend(_memory_table(group, members))
            continue
        if base in GROUP_ORDER:
            out.append(
                f"## {GROUP_TITLES.get(base, base).format(rows=rows or 0, wide_rows=fb.get('wide_rows') or 0)}"
                + (f", {n} thread{'s' if n != 1 else ''}" if n else "")
            )
        else:
            first = members[0].get("extra_info", {})
            out.append(
                f"## {_first_upper(group[len('stage: ') :]) if group.startswith('stage: ') else group}"
                + (
                    f" — {first['rows']:,} records, {first.get('bytes', 0) / 2**20:.1f} MiB, "
                    f"{first['batch']:,} a call"
                    if first.get("rows") and first.get("batch")  # bench_jsonl's scan
                    else f" — one chunk: {first.get('rows', 0):,} rows, {first.get('bytes', 0) / 2**20:.1f} MiB"
                    if first.get("rows")
                    else ""
                )
            )
        out.append("")
        head = "| pipeline | median s | min s | rounds | rows/s | MB/s | × fastjoin |"
        rule = "|---|---:|---:|---:|---:|---:|---:|"
        if is_e2e:
            head += " × predict-only |"
            rule += "---:|"
        out.append(head)
        out.append(rule)
        for b in members:
            ei = b.get("extra_info", {})
            med = b["stats"]["median"]
            cells = [
                _label(b) if ei.get("kind") != "fastjoin" else f"**{_label(b)}**",
                _seconds(med),
                _seconds(b["stats"]["min"]),
                str(b["stats"].get("rounds", "")),
                _rate(ei["rows"] / med) if ei.get("rows") else "—",
                f"{ei['bytes'] / med / 1e6:.0f}" if ei.get("bytes") else "—",
                _ratio(med / ref["stats"]["median"] if ref else None),
            ]
            if is_e2e:
                cells.append(_ratio(med / floor["stats"]["median"] if floor else None))
            out.append("| " + " | ".join(cells) + " |")

    breakdown = _breakdown(groups, rows, threads)
    if breakdown:
        out.append("")
        out.extend(breakdown)
    serving = serving_table(groups)
    if serving:
        out += ["", "## Serving (bench_serve.py)", ""] + serving
    out.append("")
    return "\n".join(out)


STAGE_NAMES = {
    "tokenize": "tokenize",
    "gather_float32": "gather",
    "predict": "predict",
    "format_floats": "format",
    "splice": "splice",
}


def _breakdown(groups, rows, threads=None) -> list[str]:
    """fastjoin's time by stage: measured inside the pipeline (cold chunks, pipeline order)
    when the instrumented run is present, beside each stage alone on a hot chunk, scaled to
    the whole file; the rest is Python between the stages and file I/O."""
    e2e = _e2e_group(groups, threads)
    fj = _find(e2e, "fastjoin")
    in_memory = next((b for b in e2e if "transform_bytes" in _label(b)), None)
    inside = next(
        (b for g in groups.values() for b in g if b.get("extra_info", {}).get("stage_seconds")), None
    )
    if not fj or not rows:
        return []
    total = fj["stats"]["median"]
    lines = ["## Where fastjoin's time goes", ""]
    stage_s = (inside or {}).get("extra_info", {}).get("stage_seconds", {})
    if inside:
        base = inside["extra_info"]["total_seconds"]
        lines.append(
            f"An in-memory run (`transform_bytes`, {rows:,} rows) with each stage timed where the "
            f"pipeline calls it, summed over the file: the round with the median total, "
            f"{base:.3f} s. *Alone*: the stage's median on one hot 4 MiB chunk (tables above), "
            "scaled to the file. The stages run one after another; only predict uses more than "
            "one thread."
        )
    else:
        base = total
        lines.append(
            f"Each stage's median on one hot 4 MiB chunk (tables above), scaled to "
            f"{rows:,} rows, against `Transformer.transform`'s {total:.3f} s."
        )
    lines += ["", "| stage | in the pipeline s | share | alone, scaled s |", "|---|---:|---:|---:|"]
    used = 0.0
    for key, short in STAGE_NAMES.items():
        group = next((g for g in groups if g.startswith(f"stage: {short}")), None)
        ref = _find(groups.get(group, []), "fastjoin") if group else None
        alone = (
            ref["stats"]["median"] * rows / ref["extra_info"]["rows"]
            if ref and ref.get("extra_info", {}).get("rows")
            else None
        )
        measured = stage_s.get(key)
        if measured is None and alone is None:
            continue
        used += measured or 0.0
        share = measured if measured is not None else alone
        lines.append(
            f"| {key} | {'—' if measured is None else f'{measured:.3f}'} | "
            f"{share / base:.0%} | {'—' if alone is None else f'{alone:.3f}'} |"
        )
    if inside:
        glue = base - used
        lines.append(
            f"| Python between the stages (chunking, filters, joins) | {glue:.3f} | {glue / base:.0%} | — |"
        )
    if in_memory:
        io_s = total - in_memory["stats"]["median"]
        lines += [
            "",
            f"File read and write add {io_s:.3f} s ({io_s / total:.0%} of "
            f"`transform`'s {total:.3f} s): `transform` − `transform_bytes` medians.",
        ]
    return lines


# --------------------------------------------------------------------------- issue 3's targets

GROUP_TITLES = {
    "end-to-end": "End to end (file → file)",
    "wide": "Wide data (id + 300 features, {wide_rows:,} rows, file → file)",
    "json lines": (
        "JSON Lines (`$.features` / `Input` / `$['id','SageMakerOutput']`, {rows:,} "
        'records `{{"id":…,"features":[30 numbers]}}`, file → file)'
    ),
    "json lines (named keys)": (
        "JSON Lines, named keys (`$['f00',…,'f29']` / `Input` / `$['id','SageMakerOutput']`, {rows:,} "
        'records `{{"f00":…,…,"f29":…,"id":…}}`, file → file)'
    ),
    "structure": "Structure: workers vs parse-then-predict ({rows:,} rows)",
    "whole process": "Whole process: interpreter, imports, model load, job ({rows:,} rows)",
    "start-up": "Start-up: the 569-row seed file, whole process",
    "memory": "Job memory",
}
# Why a target is not met and what would close it, shown beside it in the targets table:
# keyed by the target's id (the first element of each entry in targets()); edit when a
# measurement says so.
TARGET_NOTES: dict[str, str] = {
    "polars": "polars' own time moved between 0.97 s and 1.50 s across quiet runs on this VM",
    "memory-flat": (
        "the job's peak depends on how many chunks' parse arrays are alive at one "
        "moment (at most threads + 1), which varies a few MB between runs"
    ),
    "parse": (
        "measured in a process of its own; on this VM the same loop takes 4.3 ms or about "
        "6.3 ms per chunk depending on the memory its arrays are given, which varies "
        "between processes; most runs measure 780–800 MB/s"
    ),
    "format": "the same memory effect as parsing; most runs measure 13.3–13.6 M/s",
}
E2E_KEYS = [
    "fastjoin",
    "fastjoin-xgboost",
    "transform_bytes",
    "predict-only",
    "predict-compiled",
    "polars",
    "pyarrow",
    "pandas",
    "pandas-pyarrow",
    "numpy",
]


def _groups(data: dict) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for b in data.get("benchmarks", []):
        if b.get("stats"):
            groups.setdefault(b.get("group") or "ungrouped", []).append(b)
    return groups


def _by_key(groups: dict, key: str, base: str, threads: int | None = None) -> dict | None:
    """The benchmark with ``extra_info.key == key`` in group ``base`` (at ``threads``, when
    given); a ``stage: ...`` base is a prefix (``stage: gather``)."""
    for group, members in groups.items():
        b, n = _split_group(group)
        if base.startswith("stage: "):
            if not group.startswith(base):
                continue
        elif b != base or (threads is not None and n != threads):
            continue
        for m in members:
            if m.get("extra_info", {}).get("key") == key:
                return m
    return None


def _med(b: dict | None) -> float | None:
    return b["stats"]["median"] if b else None


def _pct(x: float) -> str:
    return f"{x:.0%}" if abs(x) >= 0.01 else f"{x:.1%}"


def _plural(n) -> str:
    return f"{n} thread{'s' if n != 1 else ''}"


def targets(data: dict) -> list[tuple[str, str, str, str, str, bool | None]]:
    """Issue 3's targets against this run: ``(id, what, required, measured, status, met)``;
    ``met`` is None where the run lacks the measurement."""
    groups = _groups(data)
    fb = data.get("machine_info", {}).get("fastjoin_bench", {})
    top = fb.get("threads")
    counts = fb.get("thread_counts") or ([top] if top else [])
    rows, wide_rows = fb.get("rows") or 0, fb.get("wide_rows") or 0
    out = []

    def missing(tid, what, required, why):
        out.append((tid, what, required, "—", f"not measured: {why}", None))

    def verdict(tid, what, required, measured, met, distance):
        note = TARGET_NOTES.get(tid)
        status = "met" if met else f"**not met**: {distance}" + (f" ({note})" if note else "")
        out.append((tid, what, required, measured, status, met))

    def faster(tid, base, peer, n, need, what):
        required = f"≥ {need:g}×"
        if n is not None and n not in counts:
            return missing(tid, what, required, f"run with --threads including {n}")
        fj, pb = _by_key(groups, "fastjoin", base, n), _by_key(groups, peer, base, n)
        if not fj or not pb:
            return missing(tid, what, required, f"no {'fastjoin' if not fj else peer} result")
        r = _med(pb) / _med(fj)
        verdict(
            tid,
            what,
            required,
            f"{r:.2f}× ({peer} {_med(pb):.3f} s / fastjoin {_med(fj):.3f} s)",
            r >= need,
            f"fastjoin needs {_pct(1 - r / need)} less time",
        )

    def at_most(tid, what, value, limit, unit, measured):
        required = f"≤ {limit:g}{unit}"
        if value is None:
            return missing(tid, what, required, "no result")
        verdict(
            tid,
            what,
            required,
            measured,
            value <= limit,
            f"{_pct(value / limit - 1)} over" if limit else "over",
        )

    def at_least(tid, what, value, need, unit, measured):
        required = f"≥ {need:g}{unit}"
        if value is None:
            return missing(tid, what, required, "no result")
        verdict(tid, what, required, measured, value >= need, f"{_pct(need / value - 1)} short")

    # job time, same data, same thread count
    t = top
    fj, po = _by_key(groups, "fastjoin", "end-to-end", t), _by_key(groups, "predict-only", "end-to-end", t)
    pc = _by_key(groups, "predict-compiled", "end-to-end", t)
    r = _med(fj) / _med(po) if fj and po else None
    at_most(
        "floor",
        f"Job time ≤ 1.2× predict-only (`inplace_predict`), {_plural(t)}",
        r,
        1.2,
        "×",
        f"{r:.2f}× (fastjoin {_med(fj):.3f} s / predict-only {_med(po):.3f} s"
        + (f"; fastjoin's compiled predictor alone: {_med(pc):.3f} s" if pc else "")
        + ")"
        if r
        else "",
    )
    faster("polars", "end-to-end", "polars", t, 1.4, f"Job time vs polars, {_plural(t)}")
    faster("pandas", "end-to-end", "pandas", t, 2.5, f"Job time vs pandas, {_plural(t)}")
    faster("polars-1t", "end-to-end", "polars", 1, 1.5, "Job time vs polars, 1 thread")
    faster("pandas-1t", "end-to-end", "pandas", 1, 2.0, "Job time vs pandas, 1 thread")
    # whole process
    faster(
        "whole", "whole process", "polars", None, 2.0, f"Whole process vs polars' whole process, {_plural(t)}"
    )
    # start-up
    su, ix = _by_key(groups, "fastjoin", "start-up"), _by_key(groups, "import-xgboost", "start-up")
    at_most(
        "startup",
        "Start-up: `fastjoin transform`, 569-row seed file, whole process",
        _med(su),
        0.6,
        " s",
        f"{_med(su):.3f} s" + (f" (`import xgboost` alone: {_med(ix):.3f} s)" if ix else "") if su else "",
    )
    # memory
    m1, m5 = _by_key(groups, "memory-1x", "memory"), _by_key(groups, "memory-5x", "memory")
    for tid, b, n in (("memory", m1, rows), ("memory-5x", m5, 5 * rows)):
        ei = (b or {}).get("extra_info", {})
        mb = ei.get("job_MB")
        at_most(
            tid,
            f"Job memory (peak RSS − RSS after model load), {n:,} rows",
            mb,
            100,
            " MB",
            f"{mb:.0f} MB (peak {ei.get('peak_MB', 0):.0f} − {ei.get('rss_after_load_MB', 0):.0f}"
            f" MB after load)"
            if mb is not None
            else "",
        )

    def flat(tid, one, five, what, within):
        """The job's memory on five copies of the file against one, within ``within``."""
        a, b5 = ((x or {}).get("extra_info", {}).get("job_MB") for x in (one, five))
        if a is None or b5 is None:
            return missing(tid, what, f"within ±{within:.0%}", "no result")
        d = b5 / a - 1
        verdict(
            tid,
            what,
            f"within ±{within:.0%}",
            f"{d:+.1%} ({b5:.0f} MB vs {a:.0f} MB)",
            abs(d) <= within,
            f"{_pct(abs(d) - within)} beyond the ±{within:.0%}",
        )

    flat("memory-flat", m1, m5, f"Job memory, {5 * rows:,} rows vs {rows:,} rows", 0.15)
    j1, j5 = _by_key(groups, "jsonl-memory-1x", "memory"), _by_key(groups, "jsonl-memory-5x", "memory")
    flat(
        "jsonl-memory-flat",
        j1,
        j5,
        f"JSON Lines job memory, {5 * rows:,} records vs {rows:,} (issue 15)",
        0.10,
    )
    # JSON Lines on both shapes (issue 15): against polars, and two threads against one
    for base, shape in (("json lines", "`$.features`"), ("json lines (named keys)", "named keys")):
        faster(
            f"jsonl-polars-{shape}",
            base,
            "polars",
            t,
            2.0,
            f"JSON Lines ({shape}) vs polars, {_plural(t)} (issue 15)",
        )
        what = f"JSON Lines ({shape}): {_plural(t)} vs 1 thread (issue 15)"
        one, many = _by_key(groups, "fastjoin", base, 1), _by_key(groups, "fastjoin", base, t)
        r = _med(one) / _med(many) if t != 1 and one and many else None
        measured = f"{r:.2f}× (1 thread {_med(one):.3f} s / {_plural(t)} {_med(many):.3f} s)" if r else ""
        at_least(f"jsonl-threads-{shape}", what, r, 1.7, "×", measured)
    # stages (one thread each)
    s = _by_key(groups, "scan", "stage: scan")
    v = (s or {}).get("extra_info", {}).get("MB_per_s")
    at_least(
        "scan",
        "JSON Lines scan (`scan_jsonl`, `$.features`, one core), MB/s of records (issue 15)",
        v,
        500,
        " MB/s",
        f"{v:.0f} MB/s" if v else "",
    )
    g = _by_key(groups, "gather", "stage: gather")
    v = (g or {}).get("extra_info", {}).get("feature_MB_per_s")
    at_least(
        "parse",
        "Number parsing (`gather_float32`, one core), MB/s of feature text",
        v,
        600,
        " MB/s",
        f"{v:.0f} MB/s" if v else "",
    )
    f = _by_key(groups, "format", "stage: format")
    v = f["extra_info"]["rows"] / _med(f) / 1e6 if f and f.get("extra_info", {}).get("rows") else None
    at_least(
        "format",
        "Prediction formatting (`format_floats`, one core), M values/s",
        v,
        10,
        " M/s",
        f"{v:.1f} M/s" if v else "",
    )
    # wide
    faster(
        "wide",
        "wide",
        "polars",
        t,
        2.0,
        f"Wide data ({wide_rows:,} rows × 300 features) vs polars, {_plural(t)}",
    )
    return out


def _targets_table(data: dict) -> list[str]:
    rows = targets(data)
    lines = ["| target | required | measured | status |", "|---|---:|---|---|"]
    lines += [f"| {what} | {req} | {meas} | {status} |" for _, what, req, meas, status, _ in rows]
    met = sum(1 for *_, m in rows if m)
    measured = sum(1 for *_, m in rows if m is not None)
    lines += ["", f"{met} of {len(rows)} targets met ({len(rows) - measured} not measured)."]
    return lines


def _targets_section(data: dict, heading: str) -> list[str]:
    return [
        heading,
        "",
        "Each ratio is the peer's median time divided by fastjoin's, from the tables below "
        "(job times exclude imports and model loading; the whole process includes them). "
        "MB = 10⁶ bytes.",
        "",
    ] + _targets_table(data)


def _memory_table(group: str, members: list[dict]) -> list[str]:
    n = _split_group(group)[1]
    lines = [
        f"## Job memory{f', {_plural(n)}' if n else ''}",
        "",
        "Each run in a fresh process: RSS after the model is loaded, then the peak is reset "
        "(`/proc/self/clear_refs`), the job runs, and the peak (`VmHWM`) is read. Job "
        "memory = peak − RSS after load; medians of the rounds.",
        "",
        "| input | rows | RSS after load MB | peak MB | job MB | job s | rounds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for b in sorted(members, key=lambda b: b.get("extra_info", {}).get("rows", 0)):
        ei = b.get("extra_info", {})
        lines.append(
            f"| {_label(b)} | {ei.get('rows', 0):,} | {ei.get('rss_after_load_MB', 0):.0f} | "
            f"{ei.get('peak_MB', 0):.0f} | **{ei.get('job_MB', 0):.0f}** | "
            f"{ei.get('job_seconds', 0):.3f} | {b['stats'].get('rounds', '')} |"
        )
    return lines


def _threads_text(fb: dict) -> str:
    counts = fb.get("thread_counts")
    if not counts or len(counts) == 1:
        return str(fb.get("threads"))
    return f"{', '.join(map(str, counts))} (end-to-end and wide at each, the rest at {fb.get('threads')})"


def _reproduce(fb: dict) -> list[str]:
    rows = fb.get("rows") or 1_000_000
    cores = fb.get("cores_available")
    extra = []
    counts = fb.get("thread_counts")
    if counts and cores and list(counts) != sorted({1, cores}):
        extra.append(f"--threads {','.join(map(str, counts))}")
    if fb.get("wide_rows") and fb["wide_rows"] != 100_000:
        extra.append(f"--wide-rows {fb['wide_rows']}")
    extra_text = "".join(" " + e for e in extra)
    bench_args = [f"--rows {rows}"] * (rows != 1_000_000) + extra
    return [
        line.format(
            rows=rows,
            threads=extra_text,
            bench_args=f" BENCH_ARGS='{' '.join(bench_args)}'" if bench_args else "",
        )
        for line in REPRODUCE
    ]


# --------------------------------------------------------------------------- README section

README_BEGIN, README_END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _per_thread_table(groups: dict, base: str, counts: list[int]) -> list[str]:
    """One row per pipeline, a median and a × fastjoin column per thread count."""
    by_n = {n: [b for g, m in groups.items() if _split_group(g) == (base, n) for b in m] for n in counts}
    keys: list[str] = []
    labels: dict[str, str] = {}
    for n in counts:
        for b in by_n[n]:
            ei = b.get("extra_info", {})
            k = ei.get("key") or _label(b)
            if k not in labels:
                keys.append(k)
                labels[k] = f"**{_label(b)}**" if ei.get("kind") == "fastjoin" else _label(b)
    if not keys:
        return []
    keys.sort(key=lambda k: E2E_KEYS.index(k) if k in E2E_KEYS else len(E2E_KEYS))
    head = "| pipeline |" + "".join(f" {_plural(n)}: s | × fastjoin |" for n in counts)
    lines = [head, "|---|" + "---:|---:|" * len(counts)]
    for k in keys:
        cells = [labels[k]]
        for n in counts:
            b = next((b for b in by_n[n] if (b.get("extra_info", {}).get("key") or _label(b)) == k), None)
            ref = _find(by_n[n], "fastjoin")
            cells += [_seconds(_med(b)), _ratio(_med(b) / _med(ref) if ref else None)] if b else ["—", "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_readme(data: dict) -> str:
    """The README's benchmark section (between the markers), from the same JSON."""
    info = data.get("machine_info", {})
    fb = info.get("fastjoin_bench", {})
    versions = fb.get("versions", {})
    groups = _groups(data)
    rows, top = fb.get("rows") or 0, fb.get("threads")
    counts = fb.get("thread_counts") or ([top] if top else [])
    fj = _find(_e2e_group(groups, top), "fastjoin")
    size = (fj or {}).get("extra_info", {}).get("bytes")
    when = data.get("datetime", "")[:10]
    cpu = fb.get("cpu_model") or info.get("cpu", {}).get("brand_raw", "?")
    out = [
        README_BEGIN,
        "<!-- generated by `benchmarks/report.py --readme` from bench-results.json and bench-stages.json (`make bench`): "
        "edit the generator, not this text -->",
        "",
    ]
    out.append(
        "Measured with pytest-benchmark, every pipeline in one session on the same generated data "
        f"({rows:,} rows: an 8-digit id + 30 features"
        + (f", {size / 1e6:.0f} MB" if size else "")
        + "; XGBoost `binary:logistic`, 100 trees of depth 5; `$[1:]` / `Input` / `$[0,-1]`), "
        f"at {' and '.join(map(str, counts))} threads, on {cpu} "
        f"({fb.get('cores_available', '?')} cores available), {when}, Python "
        f"{info.get('python_version', '?')}, "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if v and k != "fastjoin")
        + ". Medians of 3–7 rounds; job times exclude imports and model loading. Every output was "
        "checked (fastjoin byte for byte; peers by value, since they print numpy's shorter "
        "float32 text)."
    )
    if fb.get("other_cpu_s") is not None:
        out[-1] += (
            f" Other processes used {fb['other_cpu_s']} CPU seconds during the {fb.get('run_wall_s')} s run."
        )
    out[-1] = textwrap.fill(out[-1], 100, break_long_words=False, break_on_hyphens=False)
    out += ["", "### Targets (issue 3)", ""] + _targets_table(data)
    e2e = _per_thread_table(groups, "end-to-end", counts)
    if e2e:
        out += ["", "### End to end (file → file)", ""] + e2e
    wide = _per_thread_table(groups, "wide", counts)
    if wide:
        out += ["", f"### Wide data (id + 300 features, {fb.get('wide_rows') or 0:,} rows)", ""] + wide
    jsonl = _per_thread_table(groups, "json lines", counts)
    if jsonl:
        out += [
            "",
            f"### JSON Lines (`$.features` / `Input` / `$['id','SageMakerOutput']`, {rows:,} records)",
            "",
        ] + jsonl
    keyed = _per_thread_table(groups, "json lines (named keys)", counts)
    if keyed:
        out += [
            "",
            f"### JSON Lines, named keys (`$['f00',…,'f29']` / `Input` / `$['id','SageMakerOutput']`, {rows:,} records)",
            "",
        ] + keyed

    def wrap(text: str) -> str:
        return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)

    out += (
        [
            "",
            wrap(
                "Full tables (stages, structure, whole process, start-up, memory), the stage "
                "breakdown and machine details: [`benchmarks/RESULTS.md`]"
                "(benchmarks/RESULTS.md). Reproduce:"
            ),
            "",
            "```sh",
        ]
        + _reproduce(fb)
        + [
            "```",
            "",
            wrap(
                "Timings on a shared 2-core VM move 10–20% from run to run: ratios "
                "within about 1.2× are not a ranking."
            ),
            README_END,
        ]
    )
    return "\n".join(out)


def serving_table(groups: dict[str, list[dict]]) -> list[str]:
    """bench_serve.py's groups as one table: fastjoin serve beside the container's stack, the
    ratio (above 1: fastjoin better), and the load generator's ceiling."""
    if not any(g.startswith("serving") for g in groups):
        return []

    def pair(group: str):
        members = groups.get(group, [])
        return _find(members, "fastjoin"), _find(members, "peer")

    def ei(b, key):
        return (b or {}).get("extra_info", {}).get(key)

    def num(x, digits=0):
        return "—" if x is None else f"{x:,.{digits}f}"

    def times(a, b, higher_is_better=True):
        if a is None or b is None or not a or not b:
            return "—"
        return f"{(a / b if higher_is_better else b / a):.1f}×"

    out = [
        "| load | fastjoin serve | XGBoost container's stack | fastjoin's advantage |",
        "|---|---:|---:|---:|",
    ]
    for c in (1, 8, 64):
        f, p = pair(f"serving: one-record CSV, concurrency {c}")
        if not (f or p):
            continue
        out.append(
            f"| one-record CSV, concurrency {c}: requests/s | {num(ei(f, 'rps'))} | {num(ei(p, 'rps'))} "
            f"| {times(ei(f, 'rps'), ei(p, 'rps'))} |"
        )
        out.append(
            f"| … p50 / p99 latency, ms | {num(ei(f, 'p50_ms'), 2)} / {num(ei(f, 'p99_ms'), 2)} "
            f"| {num(ei(p, 'p50_ms'), 2)} / {num(ei(p, 'p99_ms'), 2)} "
            f"| {times(ei(f, 'p99_ms'), ei(p, 'p99_ms'), higher_is_better=False)} (p99) |"
        )
    f, p = pair("serving: 6 MB batches")
    if f or p:
        out.append(
            f"| 6 MB MultiRecord batches, one in flight: MB/s | {num(ei(f, 'MB_per_s'))} "
            f"| {num(ei(p, 'MB_per_s'))} | {times(ei(f, 'MB_per_s'), ei(p, 'MB_per_s'))} |"
        )
        out.append(
            f"| `/ping` p99 while the batches run, ms | {num(ei(f, 'ping_p99_ms'), 1)} "
            f"| {num(ei(p, 'ping_p99_ms'), 1)} | {times(ei(f, 'ping_p99_ms'), ei(p, 'ping_p99_ms'), False)} |"
        )
    f, p = pair("serving: memory")
    if f or p:
        out.append(
            f"| worker memory (RSS after the runs), MB | {num(ei(f, 'worker_MB'))} | {num(ei(p, 'worker_MB'))} "
            f"| {times(ei(f, 'worker_MB'), ei(p, 'worker_MB'), False)} less |"
        )
    ceiling = sorted(
        groups.get("serving: load generator ceiling", []), key=lambda b: ei(b, "concurrency") or 0
    )
    if ceiling:
        shown = ", ".join(f"{num(ei(b, 'rps'))} at concurrency {ei(b, 'concurrency')}" for b in ceiling)
        out += ["", f"Load generator ceiling (a trivial server on the servers' core): {shown} requests/s."]
    return out


def update_readme(path: str, section: str) -> None:
    """Replace README's text from the begin marker to the end marker (both included)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start or text.count(README_BEGIN) != 1 or text.count(README_END) != 1:
        raise SystemExit(f"{path}: needs exactly one {README_BEGIN} … {README_END} pair")
    new = text[:start] + section + text[end + len(README_END) :]
    if new != text:
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(new)
        os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "json",
        nargs="+",
        help="pytest-benchmark JSON (from --benchmark-json); several are merged, the "
        "machine and run details coming from the first",
    )
    ap.add_argument("-o", "--output", help="write the Markdown here (default: stdout)")
    ap.add_argument(
        "--readme",
        metavar="README.md",
        help=f"also rewrite this file's benchmark section, from {README_BEGIN} to {README_END}",
    )
    ap.add_argument("--serving", action="store_true", help="print only the serving table (bench_serve.py)")
    args = ap.parse_args(argv)
    data = None
    for path in args.json:
        with open(path) as f:
            part = json.load(f)
        if data is None:
            data = part
        else:
            data["benchmarks"] = data.get("benchmarks", []) + part.get("benchmarks", [])
    if args.serving:
        sys.stdout.write("\n".join(serving_table(_groups(data))) + "\n")
        return 0
    text = render(data, " + ".join(args.json))
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
        sys.stdout.write("\n".join(_targets_section(data, "Targets (issue 3)")) + "\n")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    if args.readme:
        update_readme(args.readme, render_readme(data))
        print(f"updated the benchmark section of {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
