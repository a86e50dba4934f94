"""Command line: ``fastjoin transform`` (one flag per Transformer option) and ``fastjoin demo``.

Errors print one located line on stderr (a traceback only with ``--debug``); the exit code
names the error class: 2 configuration, 3 input data, 4 model, 5 output, 6 storage.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Optional, Sequence

from fastjoin.errors import FastjoinError

EXIT_INTERRUPTED = 130


def _transform_parser(sub) -> None:
    p = sub.add_parser("transform", help="run a batch transform over a file, directory or glob",
                       description="Run SageMaker Batch Transform's filter → predict → join → filter "
                                   "pipeline locally. Writes <name>.out per input file under --output.")
    p.add_argument("--model", required=True, help="XGBoost model file, model.tar.gz or model directory")
    p.add_argument("--input", required=True, help="input file, directory or glob")
    p.add_argument("--output", required=True, help="output directory")
    p.add_argument("--content-type", default="text/csv")
    p.add_argument("--accept", default=None, help="default: the content type")
    p.add_argument("--split-type", default="Line", choices=["Line", "None"])
    p.add_argument("--assemble-with", default=None, choices=["Line", "None"], help="default: the split type")
    p.add_argument("--input-filter", default=None, metavar="JSONPATH", help="e.g. '$[1:]' (default $)")
    p.add_argument("--join-source", default=None, choices=["Input", "None"])
    p.add_argument("--output-filter", default=None, metavar="JSONPATH", help="e.g. '$[0,-1]' (default $)")
    p.add_argument("--strategy", default=None, choices=["MultiRecord", "SingleRecord"])
    p.add_argument("--max-payload", default=None, type=int, metavar="MB", help="0..100, default 6")
    p.add_argument("--dialect", default="extended", choices=["extended", "sagemaker"])
    p.add_argument("--header", action="store_true", help="first line of each file is a header (extended)")
    p.add_argument("--threads", default=None, type=int, help="XGBoost threads (default: all cores)")
    p.add_argument("--allow-pickle", action="store_true", help="load pickled models (runs code from the file)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(run=_run_transform)


def _demo_parser(sub) -> None:
    p = sub.add_parser("demo", help="run the seed example: XGBoost on the breast-cancer data",
                       description="Train an XGBoost binary:logistic model on scikit-learn's copy of the "
                                   "breast-cancer data, write a batch CSV with an id first, and run the "
                                   "transform $[1:] / Input / $[0,-1].")
    p.add_argument("--dir", default="demo-output", help="where to put the model, data and output")
    p.add_argument("--rows", type=int, default=5, help="output rows to print")
    p.set_defaults(run=_run_demo)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastjoin", description=__doc__.split("\n")[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    from fastjoin import __version__
    parser.add_argument("--version", action="version", version=f"fastjoin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _transform_parser(sub)
    _demo_parser(sub)
    return parser


def _run_transform(args) -> int:
    from fastjoin.progress import ProgressBar
    from fastjoin.storage import list_inputs
    from fastjoin.transformer import Transformer

    transformer = Transformer(
        args.model, content_type=args.content_type, accept=args.accept, split_type=args.split_type,
        assemble_with=args.assemble_with, input_filter=args.input_filter, join_source=args.join_source,
        output_filter=args.output_filter, strategy=args.strategy, max_payload=args.max_payload,
        dialect=args.dialect, header=args.header, threads=args.threads, allow_pickle=args.allow_pickle)
    total = sum(obj.size for obj in list_inputs(args.input))
    bar = ProgressBar(total, enabled=False if args.quiet else None)
    started = time.perf_counter()
    result = transformer.transform(args.input, args.output, progress=bar)
    bar.close(total, result.records)
    elapsed = time.perf_counter() - started
    for f in result.failed:
        print(f"fastjoin: {f.error}", file=sys.stderr)
    if not args.quiet:
        ok = len(result.files) - len(result.failed)
        print(f"fastjoin: {ok}/{len(result.files)} files, {result.records:,} records in {elapsed:.2f} s"
              f" → {args.output}", file=sys.stderr)
    return result.failed[0].error.exit_code if result.failed else 0


def _run_demo(args) -> int:
    from fastjoin.demo import make_seed_files
    from fastjoin.transformer import Transformer

    print("fastjoin demo: XGBoost binary:logistic on scikit-learn's breast-cancer data (569 rows).")
    print("That copy has no id column, so ids are synthesised (842302, 842303, ...) and written first.")
    model_path, batch_path = make_seed_files(args.dir)
    started = time.perf_counter()
    transformer = Transformer(str(model_path), content_type="text/csv", accept="text/csv",
                              split_type="Line", assemble_with="Line", input_filter="$[1:]",
                              join_source="Input", output_filter="$[0,-1]")
    output_dir = os.path.join(args.dir, "output")
    result = transformer.transform(str(batch_path), output_dir)
    elapsed = time.perf_counter() - started
    result.raise_for_errors()
    out_path = result.files[0].output
    print(f"InputFilter $[1:]  JoinSource Input  OutputFilter $[0,-1]  →  {out_path}")
    with open(out_path, "rb") as f:
        for i, line in enumerate(f):
            if i >= args.rows:
                break
            print("  " + line.decode().rstrip("\n"))
    print(f"{result.records} records transformed in {elapsed * 1000:.0f} ms (model load included)")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except FastjoinError as exc:
        if args.debug:
            raise
        print(f"fastjoin: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fastjoin: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def console() -> None:
    """Entry point of the ``fastjoin`` script."""
    sys.exit(main())


if __name__ == "__main__":
    console()
