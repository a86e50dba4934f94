"""A closed-loop HTTP/1.1 load generator for the serving benchmark, and a trivial server that
shows its ceiling.

``python loadgen.py URL --concurrency N --seconds S [--body FILE] [--header 'K: V']...``:
N keep-alive connections, each sending the same request again as soon as the answer is read,
for S seconds after a warm-up; prints one JSON object (requests, requests/s, body MB/s,
latency percentiles in ms, status counts). Raw asyncio streams on uvloop: a request is one
prepared byte string, an answer is read by its Content-Length, nothing else is parsed, so one
core issues tens of thousands of requests a second (``--serve-trivial PORT`` answers ``ok`` to
anything with the least work a server can do: the ceiling the benchmark reports).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


def _request(url: str, body: bytes, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    method = "POST" if body else "GET"
    lines = [f"{method} {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += headers
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return parts.hostname or "127.0.0.1", parts.port or 80, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length) if length else b""


async def _connection(host, port, request, stop_at, warm_until, latencies, statuses, first):
    reader, writer = await asyncio.open_connection(host, port)
    clock = time.perf_counter
    try:
        while True:
            start = clock()
            if start >= stop_at:
                return
            writer.write(request)
            status, body = await _read_answer(reader)
            end = clock()
            if not first:
                first.append(body)
            if start >= warm_until:
                latencies.append(end - start)
                statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def load(
    url: str, body: bytes, headers: list[str], concurrency: int, seconds: float, warmup: float
) -> dict:
    host, port, request = _request(url, body, headers)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    first: list[bytes] = []
    now = time.perf_counter()
    warm_until, stop_at = now + warmup, now + warmup + seconds
    await asyncio.gather(
        *(
            _connection(host, port, request, stop_at, warm_until, latencies, statuses, first)
            for _ in range(concurrency)
        )
    )
    latencies.sort()
    n = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(n - 1, int(p * n))] * 1e3 if n else float("nan")

    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "requests": n,
        "rps": n / seconds,
        "MB_per_s": n * len(body) / seconds / 1e6,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1e3 if n else float("nan"),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "first_body": first[0].decode("latin-1") if first and len(first[0]) < 4096 else None,
    }


async def _serve_trivial(port: int) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        await reader.readexactly(int(line[15:]))
                writer.write(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print(f"serving on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


def _loop():
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # plain asyncio: slower; the ceiling shows it
        return asyncio.new_event_loop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url", nargs="?")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--body", help="file whose bytes are POSTed (default: GET)")
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--serve-trivial", type=int, metavar="PORT")
    args = p.parse_args(argv)
    loop = _loop()
    if args.serve_trivial is not None:
        loop.run_until_complete(_serve_trivial(args.serve_trivial))
        return 0
    body = open(args.body, "rb").read() if args.body else b""
    result = loop.run_until_complete(
        load(args.url, body, args.header, args.concurrency, args.seconds, args.warmup)
    )
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
