"""The SageMaker Python SDK's local mode as a batch-transform agent, for the container benchmark:
what ``_LocalTransformJob`` does against a running container (``reference/serving.md``
§1.11), written from that description, plus the DataProcessing it leaves out done by hand, as
a local-mode user must.

* Requests one at a time (local mode forces ``MaxConcurrentTransforms=1``), each on a new
  connection.
* The file read in text mode, line by line with each line's ``\\n``; mini-batches packed
  while ``sys.getsizeof`` of the joined string stays within ``MaxPayloadInMB``.
* No status check (an error page would land in the output; the benchmark checks the output).
* The seed job's DataProcessing by hand: the id cut off each line before it is sent
  (``$[1:]``), and ``<id>,<prediction>`` written from the response (``Input`` + ``$[0,-1]``).

Usage: ``python peer_local_mode.py URL INPUT OUTPUT [sdk|linear]``.
"""

from __future__ import annotations

import http.client
import sys
import urllib.parse

MB = 1024 * 1024


def invoke(url: str, body: bytes, content_type: str = "text/csv", accept: str = "text/csv") -> bytes:
    """``POST /invocations`` on a connection of its own."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port)
    try:
        connection.request("POST", "/invocations", body, {"Content-Type": content_type, "Accept": accept})
        return connection.getresponse().read()
    finally:
        connection.close()


def batches(lines, max_payload: int, packing: str = "sdk"):
    """Local mode's MultiRecord packing: lines joined while ``sys.getsizeof`` of the joined
    string stays under ``max_payload``. ``sdk``: as the SDK does it, building the joined
    string anew for each line it measures (quadratic in the lines per batch: seconds per 6 MB
    batch of seed rows); ``linear``: the same batches, the size kept as a count."""
    empty = sys.getsizeof("")
    buffer, size = "", empty
    for line in lines:
        if packing == "sdk":
            fits = sys.getsizeof(buffer + line) < max_payload
        else:
            fits = size + len(line) < max_payload  # ASCII text: one byte a character, as getsizeof counts
        if fits:
            buffer += line
            size += len(line)
        else:
            yield buffer
            buffer, size = line, empty + len(line)
    if buffer:
        yield buffer


def transform_file(url: str, source: str, output: str, max_payload_mb: int = 6, packing: str = "sdk") -> int:
    """The seed job on ``source`` through the container at ``url``; records written."""
    written = 0
    with open(source) as f, open(output, "w") as out:
        for batch in batches(f, max_payload_mb * MB, packing):
            ids, features = zip(
                *(line.split(",", 1) for line in batch.splitlines(keepends=True))
            )  # $[1:] by hand
            response = invoke(url, "".join(features).encode()).decode()
            predictions = response.splitlines()
            out.writelines(f"{i},{p}\n" for i, p in zip(ids, predictions))  # Input + $[0,-1] by hand
            written += len(predictions)
    return written


if __name__ == "__main__":
    url, source, output = sys.argv[1:4]
    print(transform_file(url, source, output, packing=(sys.argv[4:] or ["sdk"])[0]))
