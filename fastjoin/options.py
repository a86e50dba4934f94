"""The one options model: every transform option's name (SDK, API request, command line),
default, choices, help and validation, defined once.

:class:`TransformOptions` is what the :class:`~fastjoin.transformer.Transformer`,
:func:`~fastjoin.job.run_job`, :func:`~fastjoin.job.parse_request`, the preview and the CLI
all take: the Transformer's keyword arguments are its fields, a ``CreateTransformJob`` request
maps onto it through each field's ``api`` path (:meth:`TransformOptions.from_request`), the
CLI's flags are generated from it (:func:`add_arguments`, :func:`from_args`), and
:meth:`TransformOptions.problems` is the one validation. Options a request cannot express
(``api`` None) are fastjoin's extensions: ``run-job`` and ``preview`` take them as flags.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, cast, overload

from fastjoin.deadletter import ON_ERROR, ErrorPolicy, MaxErrors, parse_max_errors, python_spelling
from fastjoin.errors import ConfigError
from fastjoin.frames import KINDS
from fastjoin.framing import DEFAULT_MAX_RECORD_BYTES
from fastjoin.jsonpath import DIALECTS
from fastjoin.model_files import DEFAULT_MAX_MODEL_BYTES, model_size_problem
from fastjoin.predictor import ENGINES, engine_problem
from fastjoin.records.base import ONE_MB, OUTPUT_KEY

__all__ = [
    "TransformOptions",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_MAX_MODEL_BYTES",
    "add_arguments",
    "from_args",
    "shown_default",
    "media_type",
    "join_problems",
    "parse_size",
]

DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024  # ~19k seed-shaped rows: many rows per predict call, bounded memory
# a Dask block: its scheduling and reading cost little beside its work (~0.1 s per MiB of the
# seed job on one core), and a few files still spread over many workers
DEFAULT_BLOCK_SIZE = 32 * 1024 * 1024
CONTENT_TYPES = ("text/csv", "application/jsonlines", "application/json")
SPLIT_TYPES = ("Line", "None", "RecordIO", "TFRecord")
ASSEMBLE_TYPES = ("Line", "None")
FRAMED = KINDS  # binary framing (fastjoin.frames): records fastjoin does not read
STRATEGIES = ("MultiRecord", "SingleRecord")
JOIN_SOURCES = ("Input", "None")
KEY_ORDERS = ("sorted", "input")
NUMBER_MODES = ("preserve", "reencode")
_MEDIA_ALIASES = {"csv": "text/csv"}


@overload
def media_type(value: str) -> str: ...
@overload
def media_type(value: None) -> None: ...
def media_type(value: Optional[str]) -> Optional[str]:
    """``text/csv; charset=utf-8`` → ``text/csv``."""
    return None if value is None else value.split(";", 1)[0].strip().lower()


_UNITS = {
    "": 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
}


def parse_size(text: str) -> int:
    """``"500MB"`` → 500,000,000; ``"1GiB"`` → 1,073,741,824; ``"4096"`` → 4096 bytes."""
    number = text.strip().rstrip("bBiIkKmMgG")
    unit = text.strip()[len(number) :].upper()
    try:
        value = float(number)
        # under 2**62 (1e400 is inf, and int() of it raised) and at least a byte (0.5 is 0)
        size = int(value * _UNITS[unit]) if unit in _UNITS and 0 < value < 2**62 else 0
        if size < 1:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: a number of bytes with an optional unit (KB, MB, GB, KiB, MiB, GiB)"
        ) from None
    return size


def _max_errors_arg(text: str) -> MaxErrors:
    try:
        return parse_max_errors(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def option(
    default: Any,
    help: str,
    *,
    api: Optional[str] = None,
    api_default: Any = dataclasses.MISSING,
    choices: Optional[tuple] = None,
    flag: Optional[str] = None,
    cli_type: Optional[Callable[[str], Any]] = None,
    metavar: Optional[str] = None,
    shown: Optional[str] = None,
) -> Any:
    """A field of :class:`TransformOptions` with everything said about it once: its default
    (the SDK's), what it does (``help``: the flag's help, which :func:`add_arguments` ends
    with the default), its ``api`` path in a CreateTransformJob request and the default
    SageMaker gives it there, its choices, and its command-line flag (default
    ``--name-with-dashes``). ``shown``: the default in words, where ``None`` means "derived"
    and :meth:`TransformOptions.resolved` does not fill it in (``the content type``)."""
    metadata = dict(
        help=help,
        api=api,
        api_default=default if api_default is dataclasses.MISSING else api_default,
        choices=choices,
        flag=flag,
        cli_type=cli_type,
        metavar=metavar,
        shown=shown,
    )
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class TransformOptions:
    """Every option of a transform, with the SageMaker Python SDK's names and defaults.

    ``None`` for ``accept``, ``assemble_with``, ``strategy``, ``max_payload`` and the filters
    means "as SageMaker defaults it" (the content type, the split type, MultiRecord, 6 MB,
    ``$``); :meth:`resolved` fills them in.
    """

    content_type: str = option(
        "text/csv",
        "the input's media type: text/csv, application/jsonlines or application/json",
        api="TransformInput.ContentType",
        api_default=None,
    )
    accept: Optional[str] = option(
        None, "the output's media type", api="TransformOutput.Accept", shown="the content type"
    )
    split_type: Optional[str] = option(
        "Line",
        "Line: split each input object into records at its line ends; None: each object is one "
        "record; RecordIO, TFRecord: at its frames (records sent to a container model as they are)",
        api="TransformInput.SplitType",
        api_default="None",
        choices=SPLIT_TYPES,
    )
    assemble_with: Optional[str] = option(
        None,
        "Line: write output records one per line; None: write them one after the other",
        api="TransformOutput.AssembleWith",
        api_default="None",
        choices=ASSEMBLE_TYPES,
        shown="the split type",
    )
    input_filter: Optional[str] = option(
        None,
        "JSONPath selecting the model's input from each record, e.g. '$[1:]'",
        api="DataProcessing.InputFilter",
        metavar="JSONPATH",
        shown="$, the whole record",
    )
    join_source: Optional[str] = option(
        None,
        "Input: join each prediction to its input record; None: the prediction alone",
        api="DataProcessing.JoinSource",
        api_default="None",
        choices=JOIN_SOURCES,
    )
    output_filter: Optional[str] = option(
        None,
        "JSONPath selecting what is written from the (joined) output, e.g. '$[0,-1]'",
        api="DataProcessing.OutputFilter",
        metavar="JSONPATH",
        shown="$, all of it",
    )
    strategy: Optional[str] = option(
        None,
        "MultiRecord: send a container model as many records per request as --max-payload "
        "allows; SingleRecord: one record per request",
        api="BatchStrategy",
        api_default="MultiRecord",
        choices=STRATEGIES,
    )
    max_payload: Optional[int] = option(
        None,
        "the largest request to a container model, in MB from 0 to 100",
        api="MaxPayloadInMB",
        api_default=6,
        cli_type=int,
        metavar="MB",
    )
    max_concurrent: Optional[int] = option(
        None,
        "requests in flight to a container model at a time",
        api="MaxConcurrentTransforms",
        cli_type=int,
        metavar="N",
        shown="1",
    )
    invocations_timeout: Optional[int] = option(
        None,
        "seconds a container model may take to answer one request",
        api="ModelClientConfig.InvocationsTimeoutInSeconds",
        api_default=600,
        cli_type=int,
        metavar="S",
        shown="no limit",
    )
    invocations_retries: int = option(
        0,
        "retries of a failed request to a container model",
        api="ModelClientConfig.InvocationsMaxRetries",
        api_default=3,
        cli_type=int,
        metavar="N",
    )
    dialect: str = option(
        "extended",
        "extended: also several ranges in one bracket, any quoted name, headers, blank lines "
        "skipped; sagemaker: exactly what SageMaker accepts, with its error texts",
        choices=DIALECTS,
    )
    header: bool = option(False, "the first line of each CSV object is a header (extended dialect)")
    threads: Optional[int] = option(
        None, "prediction threads", cli_type=int, metavar="N", shown="all cores this process may use"
    )
    chunk_size: int = option(
        DEFAULT_CHUNK_SIZE,
        "bytes read and processed at a time (memory is bounded by it), e.g. 16MiB",
        cli_type=parse_size,
        metavar="SIZE",
    )
    block_size: int = option(
        DEFAULT_BLOCK_SIZE,
        "bytes of an object per block on a Dask cluster (--workers, --scheduler): larger objects "
        "are split by byte ranges across workers, e.g. 64MiB",
        cli_type=parse_size,
        metavar="SIZE",
    )
    prediction_name: str = option(
        OUTPUT_KEY,
        "the prediction's header column and joined JSON key",
        metavar="NAME",
    )
    allow_pickle: bool = option(False, "load pickled models (a pickle runs code from the file)")
    on_error: str = option(
        "fail",
        "fail: a bad record fails its object, as on SageMaker; skip (extended dialect): leave it "
        "out and write it to <name>.out.errors.jsonl",
        choices=ON_ERROR,
    )
    max_errors: MaxErrors = option(
        None,
        "with --on-error skip: fail an object past N bad records, or past a share of its "
        "records given as a fraction, 0.01, or a percentage, 1%",
        cli_type=_max_errors_arg,
        metavar="N|F|P%",
        shown="no limit",
    )
    json_key_order: str = option(
        "sorted",
        "sorted: write the keys of JSON output sorted; input (extended dialect): in the order read",
        choices=KEY_ORDERS,
    )
    json_numbers: str = option(
        "preserve",
        "preserve: numbers copied from the input keep their text; reencode: orjson's shortest text",
        choices=NUMBER_MODES,
    )
    engine: str = option(
        "auto",
        "auto: fastjoin's compiled trees when the model allows, else libxgboost; compiled: an "
        "error if the model needs libxgboost; xgboost: always libxgboost. All three predict "
        "the same bits",
        choices=ENGINES,
    )
    max_record_bytes: int = option(
        DEFAULT_MAX_RECORD_BYTES,
        "longest line (record) read, e.g. 500MB or 1GiB; a longer one fails its object",
        flag="--max-record-size",
        cli_type=parse_size,
        metavar="SIZE",
    )
    max_model_bytes: int = option(
        DEFAULT_MAX_MODEL_BYTES,
        "largest model read, e.g. 4GiB: a larger model file or model.tar.gz member is refused",
        flag="--max-model-size",
        cli_type=parse_size,
        metavar="SIZE",
    )

    # -- what they mean -----------------------------------------------------------------------

    @property
    def media(self) -> Optional[str]:
        """The content type's media type when fastjoin reads it, else None."""
        media = media_type(self.content_type)
        media = _MEDIA_ALIASES.get(media or "", media)
        return media if media in CONTENT_TYPES else None

    @property
    def is_json(self) -> bool:
        return self.media in ("application/jsonlines", "application/json")

    @property
    def passes_through(self) -> bool:
        """Records fastjoin does not read (a content type other than CSV and JSON, or RecordIO
        and TFRecord frames): sent to a container model as they are, without DataProcessing."""
        return self.media is None or self.split_type in FRAMED

    @property
    def whole_object(self) -> bool:
        """``application/json`` (or a content type passed through) with SplitType None: each
        object is one record, read whole."""
        return self.split_type in (None, "None") and (self.media == "application/json" or self.passes_through)

    def resolved(self) -> "TransformOptions":
        """These options with SageMaker's defaults filled in where ``None`` means "default"."""
        split_type = "None" if self.split_type is None else self.split_type
        return dataclasses.replace(
            self,
            accept=self.content_type if self.accept is None else self.accept,
            split_type=split_type,
            assemble_with=(split_type if split_type in ASSEMBLE_TYPES else "None")
            if self.assemble_with is None
            else self.assemble_with,
            join_source="None" if self.join_source is None else self.join_source,
            strategy="MultiRecord" if self.strategy is None else self.strategy,
            max_payload=6 if self.max_payload is None else self.max_payload,
        )

    def replace(self, **changes: Any) -> "TransformOptions":
        return dataclasses.replace(self, **changes)

    @property
    def policy(self) -> ErrorPolicy:
        return ErrorPolicy(self.on_error, self.max_errors)

    # -- validation ---------------------------------------------------------------------------

    def problems(self, style: str = "sdk") -> list[str]:
        """Every problem with these options, one sentence each (empty when they work). ``style``
        names the options: ``"sdk"`` as Python code does (``on_error='skip'``), ``"cli"`` as
        the command line does (``--on-error skip``)."""
        say = self.spelling(style)
        o = self.resolved()
        problems = []
        if not isinstance(o.content_type, str) or not media_type(o.content_type):
            problems.append(f"{say('content_type')} must be a media type, not {o.content_type!r}")
        for name, choices in (
            ("split_type", SPLIT_TYPES),
            ("assemble_with", ASSEMBLE_TYPES),
            ("strategy", STRATEGIES),
            ("dialect", DIALECTS),
            ("json_key_order", KEY_ORDERS),
            ("json_numbers", NUMBER_MODES),
        ):
            value = getattr(o, name)
            if value not in choices:
                problems.append(f"{say(name)} must be one of {choices}, not {value!r}")
        if o.join_source not in JOIN_SOURCES:
            problems.append(f"{say('join_source')} must be 'Input' or None, not {o.join_source!r}")
        elif self.passes_through:
            problems += _pass_through_problems(o, say)
        elif o.join_source == "Input":
            names = _join_names(say)
            problems += join_problems(
                o.content_type, o.accept, str(o.split_type), str(o.assemble_with), names
            )
        if not (whole_number(o.max_payload) and 0 <= cast(int, o.max_payload) <= 100):
            problems.append(
                f"{say('max_payload')} must be a whole number of MB from 0 to 100, not {o.max_payload!r}"
            )
        extended = say("dialect", "extended")
        if o.header and o.dialect == "sagemaker":
            problems.append(f"{say('header', True)} is an extension: it needs {extended}")
        if o.header and self.is_json:
            problems.append(
                f"{say('header', True)} applies to text/csv only: {self.media} records name their own fields"
            )
        elif o.header and self.passes_through:
            problems.append(f"{say('header', True)} applies to text/csv only")
        if o.json_key_order == "input" and o.dialect == "sagemaker":
            problems.append(f"{say('json_key_order', 'input')} is an extension: it needs {extended}")
        for name in ("threads", "max_concurrent", "invocations_timeout"):
            value = getattr(o, name)
            if value is not None and (not whole_number(value) or value < 1):
                problems.append(f"{say(name)} must be a positive whole number, not {value!r}")
        if not whole_number(o.invocations_retries) or o.invocations_retries < 0:
            problems.append(
                f"{say('invocations_retries')} must be a whole number >= 0, not {o.invocations_retries!r}"
            )
        engine_text = engine_problem(o.engine, say("engine"))
        if engine_text:
            problems.append(engine_text)
        for name in ("max_record_bytes", "chunk_size", "block_size"):
            value = getattr(o, name)
            if not whole_number(value) or value < 1:
                problems.append(f"{say(name)} must be a positive number of bytes, not {value!r}")
        model_size_text = model_size_problem(o.max_model_bytes, say("max_model_bytes"))
        if model_size_text:
            problems.append(model_size_text)
        problems += ErrorPolicy.problems(o.on_error, o.max_errors, o.dialect, say)
        return problems

    def check(self, style: str = "sdk") -> "TransformOptions":
        """These options resolved, or a :class:`ConfigError` listing every problem (worded in
        ``style``, see :meth:`problems`)."""
        problems = self.problems(style)
        if problems:
            raise ConfigError.of("invalid transform options", problems)
        return self.resolved()

    @classmethod
    def flag(cls, name: str) -> str:
        """The command-line flag of the option ``name``: ``--on-error``, ``--max-model-size``."""
        meta = cls._field(name).metadata
        return meta["flag"] or "--" + name.replace("_", "-")

    @classmethod
    def spelling(cls, style: str) -> Callable[..., str]:
        """How messages in ``style`` name an option (``say(name)``) and an option set to a value
        (``say(name, value)``): ``"sdk"`` :func:`~fastjoin.deadletter.python_spelling`
        (``on_error='skip'``, ``header=True``); ``"cli"`` the flag and its argument
        (``--on-error skip``; a switch set to True is its flag alone, ``--header``)."""
        if style == "sdk":
            return python_spelling
        if style != "cli":
            raise ValueError(f"style must be 'sdk' or 'cli', not {style!r}")

        def cli_spelling(name: str, *value: Any) -> str:
            flag = cls.flag(name)
            if not value or (value[0] is True and cls._field(name).type in (bool, "bool")):
                return flag
            return f"{flag} {value[0]}"

        return cli_spelling

    # -- what they build ----------------------------------------------------------------------

    def plan(self):
        """The record format and its compiled plan (options already checked)."""
        from fastjoin.jsonpath import compile_path
        from fastjoin.records import format_for

        o = self.resolved()
        if self.passes_through:
            from fastjoin.records import passthrough

            fmt: Any = passthrough.FORMAT
        else:
            fmt = format_for(self.media)
        assert fmt is not None, "plan() of unchecked options"
        media = self.media or "text/csv"  # passed through, the filters are $: any type compiles them alike
        fields: dict[str, Any] = dict(
            input_filter=compile_path(
                o.input_filter, role="InputFilter", dialect=o.dialect, content_type=media
            ),
            output_filter=compile_path(
                o.output_filter, role="OutputFilter", dialect=o.dialect, content_type=media
            ),
            join=o.join_source == "Input",
            allow_blank=o.dialect == "extended",
            prediction_name=o.prediction_name,
            content_type=o.content_type,
            accept=o.accept,
            single_record=o.strategy == "SingleRecord",
            max_payload_bytes=cast(int, o.max_payload) * ONE_MB,
            skip_errors=o.on_error == "skip",
            whole_object=self.whole_object,
            terminator=b"\n"
            if o.assemble_with == "Line" or not (self.is_json or self.passes_through)
            else b"",
        )
        if self.passes_through:
            fields.update(split=o.split_type)
        if self.is_json:
            fields.update(key_order=o.json_key_order, numbers=o.json_numbers)
        return fmt, fmt.make_plan(**fields)

    # -- where they come from -----------------------------------------------------------------

    @classmethod
    def fields(cls) -> Iterator[dataclasses.Field]:
        return iter(dataclasses.fields(cls))

    @classmethod
    def extension_names(cls) -> tuple[str, ...]:
        """Options a CreateTransformJob request cannot express (``run-job`` takes them as flags)."""
        return tuple(f.name for f in cls.fields() if f.metadata["api"] is None)

    @classmethod
    def from_request(cls, request: dict, **extensions: Any) -> "TransformOptions":
        """The options a (validated) CreateTransformJob request says, SageMaker's defaults for
        what it leaves out, plus fastjoin's ``extensions``."""
        values: dict[str, Any] = {}
        for f in cls.fields():
            path = f.metadata["api"]
            if path is not None:
                value = member(request, path)
                values[f.name] = f.metadata["api_default"] if value is None else value
        if values["content_type"] is None:
            values["content_type"] = "text/csv"
        return cls(**values, **extensions)

    @classmethod
    def api_path(cls, name: str) -> Optional[str]:
        return cls._field(name).metadata["api"]

    @classmethod
    def _field(cls, name: str) -> dataclasses.Field:
        found = next((f for f in cls.fields() if f.name == name), None)
        if found is None:
            raise KeyError(f"{name!r} is not a transform option")
        return found


def _pass_through_problems(o: "TransformOptions", say: Callable[..., str]) -> list[str]:
    """What cannot apply to records passed to the model as they are: DataProcessing (SageMaker
    applies it to CSV and JSON only), a header, and skipping, which bisects by lines."""
    what = f"SplitType {o.split_type}" if o.split_type in FRAMED else f"content type {o.content_type}"
    why = f"{what} records pass to the model as they are (DataProcessing applies to CSV and JSON only, as on SageMaker)"
    problems = [
        f"{say(name)} {getattr(o, name)!r} needs records fastjoin reads: {why}"
        for name in ("input_filter", "output_filter")
        if getattr(o, name) not in (None, "$")
    ]
    if o.join_source == "Input":
        problems.append(f"{say('join_source', 'Input')} needs records fastjoin reads: {why}")
    if o.on_error == "skip" and o.split_type != "Line":
        problems.append(
            f"{say('on_error', 'skip')} bisects refused mini-batches by line: with "
            f"{say('split_type', o.split_type)} a refused record fails its object"
        )
    return problems


def whole_number(value) -> bool:
    """An int that is not a bool (JSON's 3, not 3.0 or true)."""
    return isinstance(value, int) and not isinstance(value, bool)


def member(request, path: str, default=None):
    """The member of a request at a dotted ``path`` (``TransformInput.SplitType``), or
    ``default`` when it is not there."""
    value = request
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def _join_names(say: Callable[..., str]) -> tuple:
    """:func:`join_problems`' ``names`` in a spelling (``say``, :meth:`TransformOptions.spelling`)."""
    eq = "=" if say is python_spelling else " "
    return (
        say("join_source", "Input"),
        *map(say, ("content_type", "accept", "split_type", "assemble_with")),
        eq,
    )


SDK_NAMES = _join_names(python_spelling)
API_NAMES = ("JoinSource 'Input'", "ContentType", "Accept", "SplitType", "AssembleWith", " ")


def join_problems(
    content_type: str, accept: Optional[str], split_type: str, assemble_with: str, names: tuple = SDK_NAMES
) -> list[str]:
    """What stops ``JoinSource=Input`` (SageMaker's rules): Accept must equal ContentType,
    AssembleWith must equal SplitType, and CSV and JSON Lines need ``Line``/``Line``.
    ``names`` words the messages with the SDK's option names or the API's field names."""
    join, ct_name, accept_name, split_name, assemble_name, eq = names
    problems = []
    ctype = media_type(content_type)
    if media_type(accept) != ctype:
        problems.append(f"{join} requires {accept_name} ({accept!r}) to equal {ct_name} ({content_type!r})")
    if assemble_with != split_type:
        problems.append(
            f"{join} requires {assemble_name} ({assemble_with!r}) to equal {split_name} ({split_type!r})"
        )
    elif ctype in ("text/csv", "application/jsonlines") and split_type != "Line":
        problems.append(f"{join} on {ctype} requires {split_name}{eq}'Line' and {assemble_name}{eq}'Line'")
    return problems


# -- the command line ---------------------------------------------------------------------------


def add_arguments(parser, names: Optional[tuple[str, ...]] = None) -> None:
    """Add a flag for each option in ``names`` (default: all). Every flag defaults to None
    ("not given"), so what a request or the SDK default says stands unless a flag overrides it;
    its help ends with the default the option then takes (:func:`shown_default`)."""
    for f in TransformOptions.fields():
        if names is not None and f.name not in names:
            continue
        meta = f.metadata
        flag = TransformOptions.flag(f.name)
        help = meta["help"].replace("%", "%%")  # argparse %-formats help texts
        if f.type in (bool, "bool"):  # a switch: off unless given
            parser.add_argument(flag, dest=f.name, action="store_true", default=None, help=help)
            continue
        help += f" (default: {shown_default(f.name)})".replace("%", "%%")
        kwargs: dict[str, Any] = dict(dest=f.name, default=None, help=help)
        if meta["choices"]:
            kwargs["choices"] = list(meta["choices"])
        if meta["cli_type"] is not None:
            kwargs["type"] = meta["cli_type"]
        if meta["metavar"]:
            kwargs["metavar"] = meta["metavar"]
        parser.add_argument(flag, **kwargs)


def shown_default(name: str) -> str:
    """The default of option ``name`` in words, as its flag's help ends: the SDK's (a field's
    ``shown`` text, else its value once :meth:`TransformOptions.resolved`; sizes in binary
    units, ``4MiB``), then SageMaker's for a request member that defaults otherwise
    (``Line; None in a CreateTransformJob request``)."""
    meta = TransformOptions._field(name).metadata
    value = getattr(TransformOptions().resolved(), name)
    shown = meta["shown"]
    if shown is None:
        shown = _size_text(value) if meta["cli_type"] is parse_size else str(value)
    api_default = meta["api_default"]
    if meta["api"] is not None and api_default is not None and str(api_default) != shown:
        shown += f"; {api_default} in a CreateTransformJob request"
    return shown


def _size_text(n: int) -> str:
    """``4MiB``, ``1GiB``: a size as ``--chunk-size`` and the other size flags take it."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def from_args(args: argparse.Namespace, names: Optional[tuple[str, ...]] = None) -> dict[str, Any]:
    """The options given on the command line (flags left out are not in the dict)."""
    out = {}
    for f in TransformOptions.fields():
        if names is not None and f.name not in names:
            continue
        value = getattr(args, f.name, None)
        if value is not None:
            out[f.name] = value
    return out
