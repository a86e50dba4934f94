"""Preview a job on its first records: for each, the record, what the model sees after the
input filter, what the model answers, the joined record and what would be written. Nothing is
written anywhere.

Each stage is the real pipeline run on one record with the later steps switched off (the
model input is what a container would receive with ``SingleRecord``), so the preview cannot
drift from what the job does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from fastjoin.errors import FastjoinError, InputError

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
    **transformer_options,
) -> list[PreviewRecord]:
    """The first ``n`` records of a job, stage by stage.

    ``job``: a ``CreateTransformJob`` request (dict, JSON text or file; ``model`` as for
    :func:`fastjoin.run_job`), or a :class:`~fastjoin.transformer.Transformer` with ``input``
    (a local path, glob or ``s3://`` prefix). Reads only the start of the input objects.
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
        from fastjoin.job import _is_plain_callable, _RetryingModel, parse_request

        spec = parse_request(
            job, dialect=dialect, model_given=model is not None, transformer_options=transformer_options
        )
        if model is None:
            model = spec.model_name
        elif _is_plain_callable(model):
            model = _RetryingModel(model, spec.retries)
        transformer = Transformer(model, **spec.transformer_options(), **transformer_options)
        input = spec.input_uri if input is None else input
        manifest, compression = spec.data_type == "ManifestFile", spec.compression
    if s3 is None and endpoint_url is not None:
        s3 = {"endpoint_url": endpoint_url}

    stages = _Stages(transformer)
    out: list[PreviewRecord] = []
    with Storage(s3) as store:
        for obj in store.inputs(input, manifest=manifest, compression=compression):
            for line_no, record, header in _first_records(obj, n - len(out), transformer):
                out.append(stages.run(obj.name, line_no, record, header))
            if len(out) >= n:
                break
    return out


def _first_records(obj, n: int, transformer):
    """``(line number, record bytes, header line or None)`` for the first ``n`` records."""
    header_wanted = bool(getattr(transformer, "header", False))
    whole = getattr(transformer, "split_type", "Line") == "None"
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
    for number, line in enumerate(bytes(data).split(b"\n"), 1):
        text = line[:-1] if line.endswith(b"\r") else line
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
    """Twin transformers that stop the pipeline after each stage."""

    def __init__(self, t):
        from fastjoin.transformer import Transformer

        plan = t.plan
        base = dict(
            content_type=t.content_type,
            accept=t.accept,
            split_type=t.split_type,
            assemble_with=t.assemble_with,
            dialect=t.dialect,
            header=t.header,
            threads=1,
            max_payload=t.max_payload,
            prediction_name=getattr(plan, "prediction_name", "SageMakerOutput"),
        )
        input_filter = plan.input_filter.expression
        self.t = t
        self.captured: list[bytes] = []
        self.to_model = Transformer(self._capture, **base, input_filter=input_filter, strategy="SingleRecord")
        self.predicted = Transformer(t.model, **base, input_filter=input_filter, strategy="SingleRecord")
        self.joined = None
        if t.join_source == "Input":
            self.joined = Transformer(
                t.model, **base, input_filter=input_filter, join_source="Input", strategy="SingleRecord"
            )

    def _capture(self, body: bytes, content_type: str, accept: str) -> bytes:
        self.captured.append(body)
        return b"0\n" * max(body.count(b"\n"), 1)

    def run(self, source: str, line: int, record: bytes, header: Optional[bytes]) -> PreviewRecord:
        result = PreviewRecord(source, line, record)
        data = (b"" if header is None else header + b"\n") + record + b"\n"
        try:
            self.captured.clear()
            self._stage(self.to_model, data, source, line)
            result.model_input = b"".join(self.captured).rstrip(b"\n")
            result.model_output = self._stage(self.predicted, data, source, line, header)
            if self.joined is not None:
                result.joined = self._stage(self.joined, data, source, line, header)
            result.written = self._stage(self.t, data, source, line, header)
        except FastjoinError as exc:
            result.error = _relocated(exc, source, line)
        return result

    @staticmethod
    def _stage(t, data: bytes, source: str, line: int, header: Optional[bytes] = None) -> bytes:
        out = t.transform_bytes(data, source=source)
        if header is not None:
            out = out.split(b"\n", 1)[1] if b"\n" in out else b""
        return out[:-1] if out.endswith(b"\n") else out


def _relocated(exc: FastjoinError, source: str, line: int) -> str:
    """The error's text with the record's real line (each stage saw it as line 1 or 2)."""
    if isinstance(exc, InputError) and exc.location is not None:
        return f"{source}:{line}:{exc.location.column}: {exc.message}"
    return str(exc).split("\n", 1)[0]


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
