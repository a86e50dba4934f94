"""``model="http://..."``: fastjoin as the Batch Transform agent of a model container.

Against ``fastjoin serve`` in a real process (the seed job through HTTP writes the bytes the
in-process job writes), and against :class:`Faulty`, a container of these tests' own on
127.0.0.1 that misbehaves on purpose: slow answers, 5xx that pass or never do, 413, a 400 on
one record, wrong record counts, dropped connections, a missing or malformed
``/execution-parameters``, a ``/ping`` that never turns healthy. The client is the real one
(urllib3 over real sockets); the expected bytes come from the same container run in-process
as a callable.
"""

from __future__ import annotations

import json
import pickle
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

import pytest
from helpers import cli, transform_request

import fastjoin
from fastjoin.container.http import HttpContainer
from fastjoin.container.policy import ContainerError, ContainerRefused
from fastjoin.errors import ModelError, OutputError

pytest.importorskip("urllib3", reason="a model URL needs urllib3 (pip install -e '.[http]')")

DATA = b"".join(b"%d,%d,x%d\n" % (i, i * 7, i) for i in range(300))
SEED_JOB = dict(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")


def first_field(body: bytes, content_type: str = "text/csv", accept: str = "text/csv") -> bytes:
    """The container's model: each record's first field, one line per record."""
    return b"".join(line.split(b",")[0] + b"\n" for line in body.splitlines())


def expected(data: bytes = DATA, **options) -> bytes:
    """What the container writes run in-process, as a callable."""
    return fastjoin.Transformer(first_field, **options).transform_bytes(data)


Answer = Callable[[bytes, int], Optional[tuple[int, bytes]]]


class Faulty:
    """A model container on 127.0.0.1, served from threads of this process. ``answer(body,
    n)`` answers the ``n``-th ``POST /invocations`` (0-based) with ``(status, body)``, or
    None to drop the connection without a word; ``ping(n)`` gives the status of the
    ``n``-th ``GET /ping``; ``params`` is the ``/execution-parameters`` body (None: 404).
    It counts requests, TCP connections and the most requests in flight at once."""

    def __init__(
        self, answer: Optional[Answer] = None, *, ping=lambda n: 200, params: Optional[bytes] = None
    ):
        self.answer = answer or (lambda body, n: (200, first_field(body)))
        self.ping = ping
        self.params = params
        self.bodies: list[bytes] = []
        self.pings = 0
        self.connections = 0
        self.in_flight = self.most_in_flight = 0
        self.release = threading.Event()  # lets a deliberately stuck answer go at the end
        self.lock = threading.Lock()
        faulty = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def setup(self):
                super().setup()
                with faulty.lock:
                    faulty.connections += 1

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/ping":
                    with faulty.lock:
                        n, faulty.pings = faulty.pings, faulty.pings + 1
                    self.reply(faulty.ping(n), b"")
                elif self.path == "/execution-parameters" and faulty.params is not None:
                    self.reply(200, faulty.params, "application/json")
                else:
                    self.reply(404, b"{}")

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with faulty.lock:
                    n = len(faulty.bodies)
                    faulty.bodies.append(body)
                    faulty.in_flight += 1
                    faulty.most_in_flight = max(faulty.most_in_flight, faulty.in_flight)
                try:
                    answer = faulty.answer(body, n)
                finally:
                    with faulty.lock:
                        faulty.in_flight -= 1
                if answer is None:  # drop the connection: no status line, nothing
                    self.close_connection = True
                    return
                self.reply(*answer)

            def reply(self, status: int, body: bytes, content_type: str = "text/csv"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that gave up on a stuck answer: nothing to report

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "Faulty":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def fail_first(times: int, status: int, then: Answer = lambda body, n: (200, first_field(body))) -> Answer:
    return lambda body, n: (status, b"boom") if n < times else then(body, n)


# -------------------------------------------------------------------------- fastjoin serve


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    pytest.importorskip("xgboost", reason="the seed model is trained with xgboost")
    from fastjoin.demo import make_seed_files

    return make_seed_files(tmp_path_factory.mktemp("seed"))


@pytest.fixture(scope="module")
def served(seed):
    """``fastjoin serve`` with the seed model, as Batch Transform starts it (SAGEMAKER_BATCH)."""
    pytest.importorskip("uvicorn", reason="fastjoin serve needs uvicorn (pip install -e '.[serve]')")
    from test_serve import server

    model, _ = seed
    with server("--model", model, env={"SAGEMAKER_BATCH": "true"}, workers=2) as (_, url):
        yield url


@pytest.mark.requires_xgboost
def test_the_seed_job_through_fastjoin_serve_writes_the_in_process_bytes(seed, served, tmp_path):
    model, batch = seed
    local = fastjoin.Transformer(str(model), **SEED_JOB)
    remote = fastjoin.Transformer(served, **SEED_JOB)
    # the container's /execution-parameters: its 2 workers, MULTI_RECORD, 6 MB
    assert (remote.model.policy.concurrency, remote.plan.single_record, remote.plan.max_payload_bytes) == (
        2,
        False,
        6 << 20,
    )
    assert remote.model.engine == "container" and remote.model.fallback_note is None
    data = batch.read_bytes() * 20  # 11,380 records
    assert remote.transform_bytes(data, source="batch.csv") == local.transform_bytes(data)
    # the request's values come first
    single = fastjoin.Transformer(served, strategy="SingleRecord", max_concurrent=3, **SEED_JOB)
    assert (single.model.policy.concurrency, single.plan.single_record) == (3, True)
    head = b"".join(batch.read_bytes().splitlines(keepends=True)[:30])
    assert single.transform_bytes(head) == local.transform_bytes(head)
    # files, as a job writes them
    result = remote.transform(str(batch), str(tmp_path / "out"))
    result.raise_for_errors()
    assert (tmp_path / "out" / "batch.csv.out").read_bytes() == local.transform_bytes(batch.read_bytes())


@pytest.mark.requires_xgboost
def test_a_create_transform_job_request_runs_against_a_url(seed, served, tmp_path):
    model, batch = seed
    request = transform_request(
        batch,
        tmp_path / "out",
        TransformInput={"SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line", "Accept": "text/csv"},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
        ModelClientConfig={"InvocationsTimeoutInSeconds": 60, "InvocationsMaxRetries": 1},
    )
    described = fastjoin.run_job(request, model=served, progress=False)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert described["fastjoin"]["engine"] == "container"
    # what the request leaves out, the container's /execution-parameters says (its 2 workers)
    assert described["fastjoin"]["execution_parameters"] == {
        "MaxConcurrentTransforms": 2,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": 6,
    }
    want = fastjoin.Transformer(str(model), **SEED_JOB).transform_bytes(batch.read_bytes())
    assert (tmp_path / "out" / "batch.csv.out").read_bytes() == want
    # the command line: run-job and transform
    request["TransformOutput"]["S3OutputPath"] = str(tmp_path / "cli")
    (tmp_path / "request.json").write_text(json.dumps(request))
    done = cli("run-job", tmp_path / "request.json", "--model", served, "--quiet")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cli" / "batch.csv.out").read_bytes() == want
    done = cli(
        "transform", "--model", served, "--input", batch, "--output", tmp_path / "t",
        "--input-filter", "$[1:]", "--join-source", "Input", "--output-filter", "$[0,-1]", "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "t" / "batch.csv.out").read_bytes() == want


# ------------------------------------------------------------------ /ping, /execution-parameters


def test_ping_that_never_turns_healthy_names_the_url():
    with Faulty(ping=lambda n: 503) as box:
        with pytest.raises(ModelError) as info:
            fastjoin.Transformer(HttpContainer(box.url, ping_timeout=0.3))
        assert str(info.value).startswith(
            f"{box.url}: the container did not answer GET /ping with 200 within 0.3 s"
        )
        assert "(last: status 503)" in str(info.value)
        assert box.pings >= 1 and box.bodies == []


def test_ping_waits_for_a_container_that_turns_healthy():
    with Faulty(ping=lambda n: 503 if n < 3 else 200) as box:
        t = fastjoin.Transformer(box.url)
        assert box.pings == 4
        assert t.transform_bytes(DATA) == expected()


def test_nothing_listening_is_a_model_error():
    with Faulty() as box:
        url = box.url
    with pytest.raises(
        ModelError,
        match=r"did not answer GET /ping with 200 within 0.2 s .last: ConnectionRefusedError: .Errno 111. Connection refused\)$",
    ):
        fastjoin.Transformer(HttpContainer(url, ping_timeout=0.2))


def test_execution_parameters_come_after_the_request_and_before_the_defaults():
    params = b'{"MaxConcurrentTransforms": 3, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 1}'
    with Faulty(params=params) as box:
        t = fastjoin.Transformer(box.url)
        assert (t.model.policy.concurrency, t.plan.single_record, t.plan.max_payload_bytes) == (
            3,
            True,
            1 << 20,
        )
        head = b"".join(DATA.splitlines(keepends=True)[:25])
        assert t.transform_bytes(head) == expected(head)
        assert len(box.bodies) == 25  # SingleRecord: one request per record
        ours = fastjoin.Transformer(box.url, max_concurrent=2, strategy="MultiRecord", max_payload=4)
        assert (ours.model.policy.concurrency, ours.plan.single_record, ours.plan.max_payload_bytes) == (
            2,
            False,
            4 << 20,
        )


def test_a_container_without_execution_parameters_gets_one_request_at_a_time():
    with Faulty() as box:
        t = fastjoin.Transformer(box.url, chunk_size=256)
        assert (t.model.policy.concurrency, t.plan.single_record, t.plan.max_payload_bytes) == (
            1,
            False,
            6 << 20,
        )
        assert t.model.fallback_note is None
        assert t.transform_bytes(DATA) == expected(chunk_size=256)
        assert box.most_in_flight == 1


@pytest.mark.parametrize(
    "params, note, used",
    [
        (b"{not json", "is not a JSON object (Expecting property name", {}),
        (b"[1, 2]", "is not a JSON object (a JSON list, not an object)", {}),
        (
            b'{"MaxConcurrentTransforms": "many", "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 101}',
            "MaxConcurrentTransforms 'many' is not a positive whole number; MaxPayloadInMB 101 is not a whole number from 0 to 100",
            {"strategy": "MultiRecord"},
        ),
    ],
)
def test_malformed_execution_parameters_are_noted_and_the_defaults_used(params, note, used):
    with Faulty(params=params) as box:
        t = fastjoin.Transformer(box.url)
        assert t.model.execution_parameters == used
        assert t.model.fallback_note.startswith(f"{box.url}/execution-parameters")
        assert note in t.model.fallback_note
        assert (t.model.policy.concurrency, t.plan.max_payload_bytes) == (1, 6 << 20)
        assert t.transform_bytes(DATA) == expected()


# -------------------------------------------------------------------- requests in flight


def test_max_concurrent_transforms_requests_in_flight_and_the_output_in_input_order():
    gate = threading.Barrier(3, timeout=30)  # the first three requests answer only together

    def together(body, n):
        if n < 3:
            gate.wait()  # a broken barrier (fewer in flight) is a 500: the job fails
        return 200, first_field(body)

    with Faulty(together, params=b'{"MaxConcurrentTransforms": 3}') as box:
        t = fastjoin.Transformer(box.url, chunk_size=100)
        assert t.transform_bytes(DATA) == expected(chunk_size=100)
        assert box.most_in_flight == 3  # never more, though twice as many chunks are worked on
        assert t.workers == 6 and len(box.bodies) > 20


def test_connections_are_kept_alive():
    with Faulty() as box:
        t = fastjoin.Transformer(box.url, chunk_size=100)
        assert t.transform_bytes(DATA) == expected(chunk_size=100)
        assert len(box.bodies) > 20
        assert box.connections == 1  # /ping, /execution-parameters and every request on one


# --------------------------------------------------------------------- failures and retries


def test_a_slow_answer_times_out_as_unable_to_get_response(tmp_path):
    def stuck(body, n):
        box.release.wait(60)
        return 200, first_field(body)

    with Faulty(stuck) as box:
        t = fastjoin.Transformer(box.url, invocations_timeout=1, invocations_retries=1)
        with pytest.raises(ContainerError) as info:
            t.transform_bytes(DATA[:50], source="in.csv")
        assert str(info.value).startswith(
            "in.csv:1:1: Unable to get response from algorithm: no answer within "
            "InvocationsTimeoutInSeconds (1 s) (2 attempts) (mini-batch of 7 records, lines 1-7)"
        )
        assert len(box.bodies) == 2


def test_5xx_is_retried_until_it_passes():
    with Faulty(fail_first(2, 500)) as box:
        t = fastjoin.Transformer(box.url, invocations_retries=2)
        assert t.transform_bytes(DATA) == expected()
        assert len(box.bodies) == 3 and box.bodies[0] == box.bodies[2]


def test_5xx_that_never_passes_fails_the_object_as_sagemaker_says_it(tmp_path):
    (tmp_path / "in.csv").write_bytes(DATA)
    with Faulty(fail_first(10**9, 503)) as box:
        t = fastjoin.Transformer(box.url, invocations_retries=3, chunk_size=1000)
        result = t.transform(str(tmp_path / "in.csv"), str(tmp_path / "out"))
        error = result.files[0].error
        assert isinstance(error, ContainerError) and error.exit_code == 4
        source = str(tmp_path / "in.csv")
        records = DATA[:1000].count(b"\n")  # the first chunk's
        assert str(error) == (
            f"{source}:1:1: Bad HTTP status received from algorithm: 503. Message: boom (4 attempts) "
            f"(mini-batch of {records} records, lines 1-{records})"
        )
        assert box.bodies.count(box.bodies[0]) == 4  # the first chunk's (another may be under way)
        assert not (tmp_path / "out" / "in.csv.out").exists()  # nothing partial under the final name


def test_a_4xx_fails_at_once_without_retries():
    with Faulty(fail_first(10**9, 413)) as box:
        t = fastjoin.Transformer(box.url, invocations_retries=3)
        with pytest.raises(ContainerRefused) as info:
            t.transform_bytes(b"1,2\n3,4\n", source="in.csv")
        assert str(info.value) == (
            "in.csv:1:1: ClientError: 413. Message: boom (mini-batch of 2 records, lines 1-2)\n  1,2"
        )
        assert len(box.bodies) == 1


def test_a_dropped_connection_is_retried():
    with Faulty(lambda body, n: None if n == 0 else (200, first_field(body))) as box:
        assert fastjoin.Transformer(box.url, invocations_retries=1).transform_bytes(DATA) == expected()
    with Faulty(lambda body, n: None) as box:
        with pytest.raises(
            ContainerError, match=r"^<bytes>:1:1: Unable to get response from algorithm: .*RemoteDisconnected"
        ):
            fastjoin.Transformer(box.url).transform_bytes(DATA)


def test_a_wrong_record_count_names_both_counts():
    with Faulty(
        lambda body, n: (200, first_field(body)[: -len(body.splitlines()[-1].split(b",")[0]) - 1])
    ) as box:
        with pytest.raises(OutputError, match="the model returned 2 lines for 3 records"):
            fastjoin.Transformer(box.url).transform_bytes(b"1,a\n2,b\n3,c\n")


def test_the_failing_mini_batch_is_named_by_its_first_and_last_line(tmp_path):
    data = b"".join(b"%d,%s\n" % (i, b"bad" if i == 250 else b"ok") for i in range(300))

    def refuse_bad(body, n):
        return (400, b"cannot read 'bad'") if b"bad" in body else (200, first_field(body))

    with Faulty(refuse_bad) as box:
        t = fastjoin.Transformer(box.url, chunk_size=500, max_concurrent=2)
        with pytest.raises(ContainerRefused) as info:
            t.transform_bytes(data, source="in.csv")
        first = info.value.location.line
        assert str(info.value).startswith(
            f"in.csv:{first}:1: ClientError: 400. Message: cannot read 'bad' (mini-batch of "
        )
        lines = str(info.value).split("lines ")[1].split(")")[0]
        low, high = map(int, lines.split("-"))
        assert low == first <= 251 <= high  # the bad record is line 251


# -------------------------------------------------------------------- on_error="skip"


def test_skip_bisects_a_refused_mini_batch_down_to_the_bad_records(tmp_path):
    bad = {37, 38, 200}
    data = b"".join(b"%d,%s\n" % (i, b"bad" if i in bad else b"ok") for i in range(300))
    (tmp_path / "in.csv").write_bytes(data)

    def refuse_bad(body, n):
        return (400, b"cannot read 'bad'") if b"bad" in body else (200, first_field(body))

    with Faulty(refuse_bad) as box:
        t = fastjoin.Transformer(box.url, on_error="skip", join_source="Input")
        result = t.transform(str(tmp_path / "in.csv"), str(tmp_path / "out"))
        result.raise_for_errors()
        good = b"".join(line for i, line in enumerate(data.splitlines(keepends=True)) if i not in bad)
        assert (tmp_path / "out" / "in.csv.out").read_bytes() == expected(good, join_source="Input")
        letters = [
            json.loads(line)
            for line in (tmp_path / "out" / "in.csv.out.errors.jsonl").read_text().splitlines()
        ]
        assert [(d["line"], d["record"]) for d in letters] == [
            (38, "37,bad"),
            (39, "38,bad"),
            (201, "200,bad"),
        ]
        assert {d["reason"] for d in letters} == {"ClientError: 400. Message: cannot read 'bad'"}
        assert result.files[0].errors == 3
        assert len(box.bodies) < 60  # bisected: not a request per record


def test_skip_with_413_halves_batches_until_they_fit():
    data = b"".join(b"%d,%s\n" % (i, b"y" * (400 if i == 5 else 10)) for i in range(40))

    def small_only(body, n):
        return (413, b"Request Entity Too Large") if len(body) > 300 else (200, first_field(body))

    with Faulty(small_only) as box:
        errors: list = []
        out = fastjoin.Transformer(box.url, on_error="skip").transform_bytes(data, errors=errors)
        good = b"".join(line for i, line in enumerate(data.splitlines(keepends=True)) if i != 5)
        assert out == expected(good)
        assert [(e.line, e.reason) for e in errors] == [
            (6, "ClientError: 413. Message: Request Entity Too Large")
        ]
        assert box.bodies


def test_skip_still_fails_the_object_when_the_first_record_is_refused():
    with Faulty(lambda body, n: (400, b"no")) as box:
        with pytest.raises(ContainerRefused, match="ClientError: 400. Message: no"):
            fastjoin.Transformer(box.url, on_error="skip").transform_bytes(DATA)


def test_json_lines_through_http():
    data = b"".join(b'{"id": %d, "f": [%d, 2]}\n' % (i, i) for i in range(100))

    def echo_f(body, n):
        return 200, b"".join(json.dumps(json.loads(line)[0]).encode() + b"\n" for line in body.splitlines())

    with Faulty(echo_f) as box:
        t = fastjoin.Transformer(
            box.url, content_type="application/jsonlines", input_filter="$.f", join_source="Input"
        )
        out = t.transform_bytes(data)
        assert out.splitlines()[3] == b'{"SageMakerOutput":3,"f":[3,2],"id":3}'


def test_a_url_that_is_not_http_is_a_config_error():
    with pytest.raises(fastjoin.ConfigError, match="is not a model container's URL"):
        HttpContainer("http://")


def test_without_urllib3_a_url_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "urllib3", None)  # import urllib3 now raises ImportError
    with pytest.raises(fastjoin.ConfigError, match=r'pip install "fastjoin\[http\]"'):
        fastjoin.Transformer("http://127.0.0.1:9")


# ------------------------------------------------------------ records fastjoin does not read


def byte_count(body, n):
    return 200, b"%d bytes" % len(body)


def test_other_content_types_pass_through_whole(tmp_path):
    (tmp_path / "in").mkdir()
    images = {"a.jpg": b"\xff\xd8\xff\xe0\n\x00JFIF" * 50, "b.jpg": b"\xef\xbb\xbf\r\n\x00" * 9}
    for name, data in images.items():
        (tmp_path / "in" / name).write_bytes(data)
    with Faulty(byte_count) as box:
        t = fastjoin.Transformer(box.url, content_type="image/jpeg", split_type="None")
        t.transform(str(tmp_path / "in"), str(tmp_path / "out")).raise_for_errors()
        assert sorted(box.bodies) == sorted(images.values())  # untouched: a BOM and CRLF too
        for name, data in images.items():
            assert (tmp_path / "out" / f"{name}.out").read_bytes() == b"%d bytes" % len(data)


@pytest.mark.parametrize("kind", ["RecordIO", "TFRecord"])
def test_framed_records_pass_through_with_their_framing(kind):
    from fastjoin import frames

    encode = frames.recordio_frame if kind == "RecordIO" else frames.tfrecord_frame
    framed = [encode(b"record %d " % i * (i + 1)) for i in range(30)]
    data = b"".join(framed)
    with Faulty(byte_count) as box:
        one = dict(content_type="application/x-recordio-protobuf", split_type=kind, assemble_with="Line")
        out = fastjoin.Transformer(box.url, strategy="SingleRecord", **one).transform_bytes(data)
        assert box.bodies == framed
        assert out == b"".join(b"%d bytes\n" % len(f) for f in framed)
        del box.bodies[:]
        out = fastjoin.Transformer(box.url, **one, chunk_size=500).transform_bytes(data)
        assert len(box.bodies) > 1 and sum(map(len, box.bodies)) == len(data)
        sent = sorted(record for body in box.bodies for record in frames.decode(kind, body))  # whole records
        assert sent == sorted(frames.decode(kind, data))


def test_a_bad_tfrecord_crc_fails_its_object(tmp_path):
    from fastjoin import frames

    data = bytearray(b"".join(frames.tfrecord_frame(b"x" * 10) for _ in range(5)))
    data[-6] ^= 1  # the last record's data
    (tmp_path / "in.tfrecord").write_bytes(data)
    with Faulty(byte_count) as box:
        t = fastjoin.Transformer(box.url, content_type="application/x-tfrecord", split_type="TFRecord")
        result = t.transform(str(tmp_path / "in.tfrecord"), str(tmp_path / "out"))
        assert str(result.files[0].error) == (
            f"{tmp_path / 'in.tfrecord'}: byte 104: TFRecord data CRC mismatch (10 bytes of data)"
        )
        assert not (tmp_path / "out" / "in.tfrecord.out").exists()


def test_data_processing_is_refused_where_sagemaker_refuses_it():
    with pytest.raises(fastjoin.ConfigError) as info:
        fastjoin.Transformer(
            "http://127.0.0.1:9", content_type="image/png", input_filter="$[1:]", join_source="Input"
        )
    assert info.value.problems == [
        "input_filter '$[1:]' needs records fastjoin reads: content type image/png records pass to the "
        "model as they are (DataProcessing applies to CSV and JSON only, as on SageMaker)",
        "join_source='Input' needs records fastjoin reads: content type image/png records pass to the "
        "model as they are (DataProcessing applies to CSV and JSON only, as on SageMaker)",
    ]
    with pytest.raises(fastjoin.ConfigError, match="on_error='skip' bisects refused mini-batches by line"):
        fastjoin.Transformer("http://127.0.0.1:9", split_type="RecordIO", on_error="skip")


def test_an_in_process_model_does_not_read_what_passes_through():
    pytest.importorskip("xgboost")
    import numpy as np
    import xgboost as xgb

    X = np.random.default_rng(1).random((20, 3)).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, X[:, 0] > 0.5), 2)
    with pytest.raises(
        fastjoin.ConfigError, match="an XGBoost model in process reads text/csv and JSON only"
    ):
        fastjoin.Transformer(booster, content_type="image/png")


def test_lines_of_another_type_pass_through_and_skip_bisects_them():
    data = b"".join(b"1 %d:0.5 %s\n" % (i, b"bad" if i == 7 else b"") for i in range(20))

    def one_per_line(body, n):
        return (400, b"no") if b"bad" in body else (200, b"".join(b"ok\n" for _ in body.splitlines()))

    with Faulty(one_per_line) as box:
        errors: list = []
        t = fastjoin.Transformer(box.url, content_type="text/libsvm", on_error="skip")
        assert t.transform_bytes(data, errors=errors) == b"ok\n" * 19
        assert [(e.line, e.reason) for e in errors] == [(8, "ClientError: 400. Message: no")]


def test_container_models_pickle_for_another_process():
    with Faulty() as box:
        model = fastjoin.Transformer(box.url, max_concurrent=3).model
        again = pickle.loads(pickle.dumps(model))  # no sockets, no semaphore: each process its own
        assert (again.policy.concurrency, again.limit, again.model.url) == (3, True, box.url)
        assert again.invoke(b"1,2\n", "text/csv", "text/csv") == b"1\n"
        assert box.connections == 2
