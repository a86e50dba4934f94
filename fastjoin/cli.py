"""Command line: ``fastjoin transform`` (one flag per Transformer option), ``fastjoin run-job``,
``fastjoin validate`` and ``fastjoin preview`` (CreateTransformJob requests), ``fastjoin demo``.

Errors print one located line on stderr (a traceback only with ``--debug``); the exit code
names the error class: 2 configuration, 3 input data, 4 model, 5 output, 6 storage.
``run-job`` exits 1 when the job ends ``Failed`` (2 or 4 when it is rejected before it starts).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from typing import Optional, Sequence, cast

from fastjoin.errors import FastjoinError, plural
from fastjoin.options import TransformOptions, add_arguments, from_args

_EXTENSIONS = TransformOptions.extension_names()  # run-job's and preview's option flags
# serve's option flags, named as in transform
_SERVE_OPTIONS = ("input_filter", "join_source", "output_filter", "allow_pickle", "engine")
_MODEL_HELP = (
    "model file, model.tar.gz or directory, or a model container's URL, http://host:port "
    "(default: the request's ModelName, read as a path)"
)

EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM (what timeout, Docker, Kubernetes and SageMaker send), raised in the main thread
    like Ctrl-C so that the same unwinding removes temporaries and aborts uploads."""


def _raise_terminated(signum, frame) -> None:
    # once: a second SIGTERM must not cut short the clean-up (an upload being aborted)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


def _add_run_args(p) -> None:
    """Resume, the S3 endpoint and the cluster: the same flags for transform and run-job."""
    p.add_argument("--resume", action="store_true", help="skip objects whose .out already exists")
    _add_endpoint_arg(p)
    _add_cluster_args(p)


def _add_cluster_args(p) -> None:
    """Where the job runs: this process (default), a Dask cluster, or a local one started for it."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786): each "
        "object is split into --block-size byte ranges run by its workers, the output is the "
        'same byte for byte; needs pip install "fastjoin[dask]" (default: run in this process)',
    )
    where.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="start a local Dask cluster of N worker processes (one thread each) for the job "
        "and run on it, as --scheduler does (default: run in this process)",
    )


def _cluster(args):
    """A client of the cluster the flags name (closed after the job), or None."""
    if args.scheduler is None and args.workers is None:
        return contextlib.nullcontext()
    from fastjoin.runners.dask import connect

    return connect(args.scheduler, args.workers)


def _add_endpoint_arg(p) -> None:
    p.add_argument("--endpoint-url", default=None, help="S3 endpoint URL (default: boto3's configuration)")


def _add_debug_arg(p, help: str = "show the traceback of each error") -> None:
    """``--debug`` after the command too. SUPPRESS: a subcommand that is not given it leaves the
    top-level value (``fastjoin --debug transform``) standing instead of resetting it."""
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=help)


def _transform_parser(sub) -> None:
    p = sub.add_parser(
        "transform",
        help="run a batch transform over a file, directory, glob or S3 prefix",
        description="Run SageMaker Batch Transform's pipeline (InputFilter, predict, JoinSource, "
        "OutputFilter) over a file, a directory, a glob or an S3 prefix, and write <name>.out for "
        "each input under --output, as SageMaker would.",
        epilog="Exits 0 when every file was written. Otherwise the exit code is that of the first "
        "failed file's error: 3 input data, 4 model, 5 output or 6 storage; a configuration error "
        "exits 2 before anything runs.",
    )
    p.add_argument(
        "--model",
        required=True,
        help="XGBoost model file, model.tar.gz or model directory, or a model container's URL, http://host:port",
    )
    p.add_argument("--input", required=True, help="input file, directory, glob or s3:// prefix")
    p.add_argument("--output", required=True, help="output directory or s3:// prefix")
    add_arguments(p)  # every Transformer option (fastjoin.options)
    p.add_argument(
        "--compression",
        default=None,
        choices=["None", "Gzip"],
        help="None: read the inputs as they are; Gzip: decompress them (default: None)",
    )
    _add_run_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    _add_debug_arg(p, "show the traceback of each error, an input object's included")
    p.set_defaults(run=_run_transform)


def _demo_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the seed example: XGBoost on the breast-cancer data",
        description="Train an XGBoost binary:logistic model on scikit-learn's copy of the "
        "breast-cancer data, write a batch CSV with an id first, transform it with InputFilter "
        "$[1:], JoinSource Input and OutputFilter $[0,-1], and print the first output rows.",
    )
    p.add_argument(
        "--dir", default="demo-output", help="where to put the model, data and output (default: demo-output)"
    )
    p.add_argument("--rows", type=int, default=5, metavar="N", help="output rows to print (default: 5)")
    _add_debug_arg(p)
    p.set_defaults(run=_run_demo)


def _job_parsers(sub) -> None:
    p = sub.add_parser(
        "run-job",
        help="run a CreateTransformJob request (JSON) locally or on S3",
        description="Run a SageMaker CreateTransformJob request (the JSON boto3 would send) "
        "with fastjoin. S3Uri and S3OutputPath may be s3:// URIs or local paths.",
        epilog="Exits 0 when the job Completed and 1 when it Failed. A request refused before "
        "the job starts exits with the code of its error's class (see fastjoin --help).",
    )
    p.add_argument("request", help="the request: a JSON file")
    p.add_argument("--model", default=None, help=_MODEL_HELP)
    add_arguments(p, _EXTENSIONS)  # the options a request cannot say (fastjoin.options)
    _add_run_args(p)
    p.add_argument(
        "--describe",
        default=None,
        metavar="PATH",
        help="write the describe_transform_job-shaped result as JSON to PATH, '-' for stdout "
        "(default: not written)",
    )
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    noise.add_argument("--verbose", action="store_true", help="one line per object, and warnings")
    _add_debug_arg(p, "show the traceback of each error, a failed object's included")
    p.set_defaults(run=_run_job)

    p = sub.add_parser(
        "validate",
        help="would SageMaker accept this CreateTransformJob request?",
        description="Check a CreateTransformJob request (JSON) against SageMaker's shapes, "
        "limits, documented rules and JSONPath dialect, without running it.",
        epilog="Exits 0 when the request would be accepted and 2 when it would be rejected, "
        "after listing each problem.",
    )
    p.add_argument("request", help="the request: a JSON file")
    p.add_argument(
        "--dialect",
        default="sagemaker",
        choices=["sagemaker", "extended"],
        help="sagemaker: check it as SageMaker does; extended: as fastjoin run-job does (default: sagemaker)",
    )
    _add_debug_arg(p)
    p.set_defaults(run=_run_validate)

    p = sub.add_parser(
        "preview",
        help="show the first records of a job stage by stage (writes nothing)",
        description="Show the first N records of a CreateTransformJob request stage by stage: "
        "the record, the model input after the InputFilter, the model output, the joined record "
        "and what would be written. Nothing is written.",
        epilog="Exits 3 when a record fails at one of the stages, else 0.",
    )
    p.add_argument("request", help="the request: a JSON file")
    p.add_argument("--model", default=None, help=_MODEL_HELP)
    p.add_argument("-n", "--records", type=int, default=5, metavar="N", help="how many records (default: 5)")
    _add_endpoint_arg(p)
    add_arguments(p, _EXTENSIONS)
    p.add_argument("--full", action="store_true", help="do not shorten long records")
    _add_debug_arg(p)
    p.set_defaults(run=_run_preview)


def _serve_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a model as a SageMaker container (GET /ping, POST /invocations)",
        description="Serve a model over HTTP as a SageMaker inference container does: GET /ping, "
        "GET /execution-parameters and POST /invocations (text/csv or application/jsonlines bodies, "
        "answered with the Batch Transform body). Defaults come from the environment SageMaker sets.",
        epilog="Runs until SIGTERM or Ctrl-C; SIGTERM lets the requests in flight finish and exits 0. "
        "Needs uvicorn: pip install 'fastjoin[serve]'.",
    )
    p.add_argument(
        "--model",
        default=None,
        help="model file, model.tar.gz or directory holding xgboost-model, or module:function naming "
        "a container callable f(body, content_type, accept) (default: $SM_MODEL_DIR, else /opt/ml/model)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=None,
        metavar="N",
        help="port to listen on, 0 for a free one (default: $SAGEMAKER_BIND_TO_PORT, else 8080)",
    )
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: 0.0.0.0)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes, each loading the model (one that dies is replaced); 1 serves in this "
        "process (default: $SAGEMAKER_MODEL_SERVER_WORKERS, else the cores)",
    )
    add_arguments(p, _SERVE_OPTIONS)  # named as in fastjoin transform
    _add_debug_arg(p)
    p.set_defaults(run=_run_serve)


def _api_parser(sub) -> None:
    from fastjoin.api import add_arguments

    p = sub.add_parser(
        "api",
        help="a local SageMaker API endpoint that runs transform jobs (boto3, the SageMaker SDK)",
        description="Answer the SageMaker API (CreateModel, CreateTransformJob, DescribeTransformJob, "
        "ListTransformJobs, StopTransformJob...) on 127.0.0.1 and run each transform job with fastjoin. "
        "Point boto3 and the SageMaker SDK at it with AWS_ENDPOINT_URL_SAGEMAKER.",
        epilog="Runs until SIGTERM or Ctrl-C, which stop the running jobs without partial outputs. "
        "Needs uvicorn and boto3: pip install 'fastjoin[api]'.",
    )
    add_arguments(p)
    _add_debug_arg(p)
    p.set_defaults(run=_run_api)


def _run_api(args) -> int:
    from fastjoin.api.server import main as serve_api

    return serve_api(args)


# Help texts are plain text for a terminal (tests/test_cli_help.py): no reST markup, whole
# sentences, ASCII only so that they print under any console encoding. The top-level texts keep
# their line breaks (RawDescriptionHelpFormatter), so they are wrapped here to under 80 columns.
_DESCRIPTION = """\
Run SageMaker Batch Transform's record pipeline (split, InputFilter, predict,
JoinSource, OutputFilter, assemble) on this machine, writing the bytes that
SageMaker would write."""

_EPILOG = """\
Run 'fastjoin COMMAND --help' for the options of one command.

An error prints one line on stderr saying where it happened; --debug adds the
traceback. Exit codes: 0 success; by the class of the error, 2 configuration or
usage, 3 input data, 4 model, 5 output, 6 storage; 1 when run-job's job ends
Failed; 130 interrupted."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastjoin",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of each error (also after COMMAND)"
    )
    from fastjoin import __version__

    parser.add_argument("--version", action="version", version=f"fastjoin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _transform_parser(sub)
    _job_parsers(sub)
    _demo_parser(sub)
    _serve_parser(sub)
    _api_parser(sub)
    return parser


def _run_transform(args) -> int:
    from fastjoin.progress import ProgressBar
    from fastjoin.transformer import Transformer

    options = TransformOptions(**from_args(args))
    options.check("cli")  # problems named by their flags, before the model is loaded
    transformer = Transformer(args.model, options)
    note = transformer.model.fallback_note
    if note and not args.quiet:
        print(f"fastjoin: note: {note}", file=sys.stderr)
    bar = ProgressBar(enabled=False if args.quiet else None)  # sized by transform() once it lists
    started = time.perf_counter()
    try:
        with _cluster(args) as client:
            result = transformer.transform(
                args.input,
                args.output,
                progress=bar,
                resume=args.resume,
                compression=args.compression,
                s3=args.endpoint_url,
                client=client,
            )
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    for warning in result.warnings:
        print(f"fastjoin: warning: {warning}", file=sys.stderr)
    for f in result.failed:
        assert f.error is not None
        if args.debug:
            traceback.print_exception(f.error, file=sys.stderr)
        print(f"fastjoin: {f.error}", file=sys.stderr)
    if not args.quiet:
        written = [f for f in result.files if f.ok and not f.skipped]
        summary = _summary(
            "file",
            len(result.files),
            len(written),
            len(result.failed),
            len(result.skipped),
            sum(f.records for f in written),
            sum(f.errors for f in written),
        )
        print(f"fastjoin: {summary} in {elapsed:.2f} s → {args.output}", file=sys.stderr)
    return next((f.error.exit_code for f in result.failed if f.error is not None), 0)


def _summary(noun: str, total: int, written: int, failed: int, skipped: int, records: int, bad: int) -> str:
    """What a run wrote: ``3 files written, 1,000 records written``, or with failures
    ``0 of 1 file written, 1 failed, 0 records written``. Records and bad records count only
    the objects written: a failed object's records are in no output."""
    parts = [f"{plural(written, noun, grouped=True)} written"]
    if written != total:
        parts = [f"{written:,} of {plural(total, noun, grouped=True)} written"]
        if failed:
            parts.append(f"{failed:,} failed")
        if skipped:
            parts.append(f"{skipped:,} skipped (output exists)")
    text = ", ".join(parts) + f", {plural(records, 'record', grouped=True)} written"
    if bad:
        text += f", {plural(bad, 'bad record', grouped=True)} skipped (*.out.errors.jsonl)"
    return text


def _run_job(args) -> int:
    from fastjoin.describe import describe_json
    from fastjoin.job import run_job

    TransformOptions(**from_args(args, _EXTENSIONS)).check("cli")  # the flags, named as flags
    failures: list = []
    with _cluster(args) as client:
        described = run_job(
            args.request,
            args.model,
            resume=args.resume,
            endpoint_url=args.endpoint_url,
            progress=False if args.quiet else None,
            failures=failures,
            style="cli",
            client=client,
            **from_args(args, _EXTENSIONS),
        )
    if args.debug:
        for exc in failures:
            traceback.print_exception(exc, file=sys.stderr)
    if args.describe == "-":
        print(describe_json(described, indent=2))
    elif args.describe:
        from pathlib import Path

        from fastjoin.storage import atomic_output

        with atomic_output(Path(args.describe)) as f:
            f.write(describe_json(described, indent=2).encode() + b"\n")
    info = described["fastjoin"]
    err = sys.stderr
    if not args.quiet:
        for warning in info["warnings"]:
            print(f"fastjoin: warning: {warning}", file=err)
    if args.verbose:
        for o in info["objects"]:
            if o["status"] == "Failed":  # its records are in no output
                print(f"fastjoin: {o['status']:9} {o['source']}: {o['failure']}", file=err)
                continue
            extra = f", {o['errors']} bad → {o['dead_letter']}" if o["errors"] else ""
            records = plural(o["records_out"], "record", grouped=True)
            print(f"fastjoin: {o['status']:9} {o['source']}: {records}{extra} → {o['output']}", file=err)
    elif not args.quiet:
        for o in info["objects"]:
            if o["status"] == "Failed":
                print(f"fastjoin: failed: {o['failure']}", file=err)
    if described["TransformJobStatus"] == "Failed" and not info["objects_failed"]:
        print(f"fastjoin: error: {described['FailureReason']}", file=err)
    if not args.quiet:
        completed = [o for o in info["objects"] if o["status"] == "Completed"]
        summary = _summary(
            "object",
            info["objects_total"],
            len(completed),
            info["objects_failed"],
            info["objects_skipped"],
            sum(o["records_out"] for o in completed),
            sum(o["errors"] for o in completed),
        )
        print(
            f"fastjoin: job {described['TransformJobName']} {described['TransformJobStatus']}: "
            f"{summary} in {info['seconds']:.2f} s → {described['TransformOutput']['S3OutputPath']}",
            file=err,
        )
    return 1 if described["TransformJobStatus"] == "Failed" else 0


def _run_validate(args) -> int:
    from fastjoin.request import validate

    result = validate(args.request, dialect=args.dialect)
    who = "SageMaker" if args.dialect == "sagemaker" else "fastjoin run-job"
    for warning in result.warnings:
        print(f"warning: {warning}")
    if result.ok:
        print(f"OK: {who} would accept {args.request}")
        return 0
    print(
        f"{args.request}: {who} would reject this request: {len(result.problems)} "
        f"problem{'s' if len(result.problems) != 1 else ''}"
    )
    for problem in result.problems:
        print(f"- {problem}")
    return 2


def _run_preview(args) -> int:
    from fastjoin.preview import format_preview, preview

    TransformOptions(**from_args(args, _EXTENSIONS)).check("cli")  # the flags, named as flags
    records = preview(
        args.request,
        model=args.model,
        n=args.records,
        endpoint_url=args.endpoint_url,
        **from_args(args, _EXTENSIONS),
    )
    print(
        f"fastjoin preview: the first {len(records)} record{'s' if len(records) != 1 else ''} "
        f"(nothing is written)\n"
    )
    print(format_preview(records, width=None if args.full else 120))
    return 3 if any(r.error for r in records) else 0


def _run_demo(args) -> int:
    from fastjoin.demo import make_seed_files
    from fastjoin.predictor import XGBoostPredictor
    from fastjoin.transformer import Transformer

    print("fastjoin demo: XGBoost binary:logistic on scikit-learn's breast-cancer data (569 rows).")
    print("That copy has no id column, so ids are synthesised (842302, 842303, ...) and written first.")
    model_path, batch_path = make_seed_files(args.dir)
    started = time.perf_counter()
    transformer = Transformer(
        str(model_path),
        content_type="text/csv",
        accept="text/csv",
        split_type="Line",
        assemble_with="Line",
        input_filter="$[1:]",
        join_source="Input",
        output_filter="$[0,-1]",
    )
    output_dir = os.path.join(args.dir, "output")
    result = transformer.transform(str(batch_path), output_dir)
    elapsed = time.perf_counter() - started
    result.raise_for_errors()
    out_path = result.files[0].output
    assert out_path is not None  # raise_for_errors() passed
    print(f"InputFilter $[1:]  JoinSource Input  OutputFilter $[0,-1]  →  {out_path}")
    with open(out_path, "rb") as f:
        for i, line in enumerate(f):
            if i >= args.rows:
                break
            print("  " + line.decode().rstrip("\n"))
    engine = {"compiled": "fastjoin's compiled trees", "xgboost": "libxgboost"}[
        cast(XGBoostPredictor, transformer.model).engine
    ]
    print(
        f"{result.records} records transformed in {elapsed * 1000:.0f} ms (model load included; "
        f"predicted by {engine}, bit-identical to XGBoost's inplace_predict)"
    )
    return 0


def _run_serve(args) -> int:
    from fastjoin.errors import ConfigError

    try:
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigError("fastjoin serve needs uvicorn: pip install 'fastjoin[serve]'") from None
    from fastjoin.serve import create_app, default_model_path
    from fastjoin.serve.environment import port_from_env
    from fastjoin.serve.workers import AppSpec, address, engine_of, listen, model_source, run

    options = from_args(args, _SERVE_OPTIONS)
    TransformOptions(**options).check("cli")  # the flags, named as flags
    port = port_from_env() if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a port number (0..65535)")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers {args.workers} must be at least 1")
    model = args.model or default_model_path()
    app = create_app(model_source(model), workers=args.workers, **options)  # loads before the port opens
    sock = listen(args.host, port)
    line = (
        f"fastjoin: serving {model} on {address(sock)} ({app.workers} worker"
        f"{'s' if app.workers != 1 else ''}, engine {engine_of(app)}, body limit {app.max_payload_bytes} bytes)"
    )
    try:
        run(app, AppSpec.of(app, model, options), sock, on_ready=lambda: print(line, flush=True))
    finally:
        sock.close()
    print("fastjoin: serve stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return args.run(args)
    except FastjoinError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"fastjoin: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print("fastjoin: terminated (SIGTERM); finished outputs are kept, none is partial", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("fastjoin: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def console() -> None:
    """Entry point of the ``fastjoin`` script."""
    sys.exit(main())


if __name__ == "__main__":
    console()
