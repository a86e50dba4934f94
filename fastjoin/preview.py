"""Preview a job on its first records: for each, the record, what the model sees after the
input filter, what the model answers, the joined record and what would be written. Nothing is
written anywhere.

Each stage is the real pipeline run on one record with the later steps switched off (the
model input is what a container would receive with ``SingleRecord``), so the preview cannot
drift from what the job does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from fastjoin.errors import FastjoinError
from fastjoin.framing import line_spans
from fastjoin.options import TransformOptions
from fastjoin.pipeline import Pipeline, run_bytes

__all__ = ["PreviewRecord", "preview", "format_preview"]

DEFAULT_RECORDS = 5
_MAX_PREVIEW_BYTES = 64 * 1024 * 1024  # never read more than this looking for records


@dataclass
class PreviewRecord:
    source: str
    line: int
    record: bytes
    model_input: Optional[bytes] = None
    model_output: Optional[bytes] = None
    joined: Optional[bytes] = None  # None when JoinSource is None
    written: Optional[bytes] = None
    error: Optional[str] = None  # the first stage that failed, located


def preview(
    job,
    input=None,
    *,
    model=None,
    n: int = DEFAULT_RECORDS,
    dialect: str = "extended",
    endpoint_url: Optional[str] = None,
    s3=None,
    **options,
) -> list[PreviewRecord]:
    """The first ``n`` records of a job, stage by stage.

    ``job``: a ``CreateTransformJob`` request (dict, JSON text or file; ``model`` and the
    extension ``options`` as for :func:`fastjoin.run_job`), or a
    :class:`~fastjoin.transformer.Transformer` with ``input`` (a local path, glob or ``s3://``
    prefix). Reads only the start of the input objects.
    """
    from fastjoin.storage import Storage
    from fastjoin.transformer import Transformer

    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of records, not {n!r}")
    manifest, compression = False, None
    if isinstance(job, Transformer):
        if input is None:
            raise ValueError("preview(transformer, input): give the input to read")
        transformer = job
    else:
        from fastjoin.job import parse_request

        spec = parse_request(job, dialect=dialect, model_given=model is not None, extensions=options)
        transformer = spec.transformer(model)
        input = spec.input_uri if input is None else input
        manifest, compression = spec.data_type == "ManifestFile", spec.compression
    if s3 is None and endpoint_url is not None:
        s3 = {"endpoint_url": endpoint_url}

    stages = _Stages(transformer.pipeline)
    out: list[PreviewRecord] = []
    with Storage(s3) as store:
        for obj in store.inputs(input, manifest=manifest, compression=compression):
            for line_no, record, header in _first_records(obj, n - len(out), transformer.options):
                out.append(stages.run(obj.name, line_no, record, header))
            if len(out) >= n:
                break
    return out


def _first_records(obj, n: int, options: TransformOptions):
    """``(line number, record bytes, header line or None)`` for the first ``n`` records."""
    header_wanted = options.header
    whole = options.split_type == "None"
    data = bytearray()
    with obj.open() as f:
        while len(data) < _MAX_PREVIEW_BYTES:
            block = f.read(1 << 20)
            if not block:
                break
            data += block
            if not whole and data.count(b"\n") > n + (1 if header_wanted else 0) + 1000:
                break  # enough lines (blank ones included, within reason)
    if whole:
        yield 1, bytes(data), None
        return
    header = None
    found = 0
    starts, ends = line_spans(data, 0, len(data))
    for number, (start, end) in enumerate(zip(starts.tolist(), ends.tolist()), 1):
        text = bytes(data[start:end])
        if header_wanted and header is None:
            header = text
            continue
        if not text:
            continue
        yield number, text, header
        found += 1
        if found >= n:
            return


class _Stages:
    """The job's pipeline, and twins of it that stop after each stage: the same options
    (key order, number text, prediction name...) but for the stage switched off."""

    def __init__(self, pipeline: Pipeline):
        from fastjoin.predictor import ContainerModel

        options = dataclasses.replace(
            pipeline.options, threads=1, strategy="SingleRecord", on_error="fail", max_errors=None
        )
        self.captured: list[bytes] = []
        model = pipeline.model
        self.pipeline = pipeline
        stage = dataclasses.replace(options, join_source=None, output_filter=None)
        self.to_model = Pipeline(stage, ContainerModel(self._capture))
        self.predicted = Pipeline(stage, model)
        self.joined = None
        if pipeline.plan.join:
            self.joined = Pipeline(dataclasses.replace(options, output_filter=None), model)

    def _capture(self, body: bytes, content_type: str, accept: str) -> bytes:
        self.captured.append(body)
        return b"0\n" * max(body.count(b"\n"), 1)

    def run(self, source: str, line: int, record: bytes, header: Optional[bytes]) -> PreviewRecord:
        result = PreviewRecord(source, line, record)
        data = (b"" if header is None else header + b"\n") + record + b"\n"
        try:
            self.captured.clear()
            self._stage(self.to_model, data, source)
            result.model_input = b"".join(self.captured).rstrip(b"\n")
            result.model_output = self._stage(self.predicted, data, source, header)
            if self.joined is not None:
                result.joined = self._stage(self.joined, data, source, header)
            result.written = self._stage(self.pipeline, data, source, header)
        except FastjoinError as exc:
            # each stage saw the record as line 1 (2 after a header): its real line is ``line``
            exc.shift(line - (1 if header is None else 2), 0)
            result.error = str(exc).split("\n", 1)[0]
        return result

    @staticmethod
    def _stage(pipeline: Pipeline, data: bytes, source: str, header: Optional[bytes] = None) -> bytes:
        out = run_bytes(pipeline, data, source)
        if header is not None:
            out = out.split(b"\n", 1)[1] if b"\n" in out else b""
        return out[:-1] if out.endswith(b"\n") else out


def format_preview(records: list[PreviewRecord], *, width: Optional[int] = 120) -> str:
    """The preview as text, one block per record; lines cut at ``width`` (None: never)."""

    def show(value: Optional[bytes]) -> str:
        text = (value or b"").decode("utf-8", "replace")
        if width is not None and len(text) > width:
            text = text[: width - 4] + " ..."
        return text

    blocks = []
    for r in records:
        rows = [f"{r.source}:{r.line}", f"  record        {show(r.record)}"]
        if r.model_input is not None:
            rows.append(f"  model input   {show(r.model_input)}")
        if r.model_output is not None:
            rows.append(f"  model output  {show(r.model_output)}")
        if r.joined is not None:
            rows.append(f"  joined        {show(r.joined)}")
        if r.written is not None:
            rows.append(f"  written       {show(r.written)}")
        if r.error is not None:
            rows.append(f"  error         {r.error}")
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)
