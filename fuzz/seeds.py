"""Write each fuzz target's seed corpus: small inputs in the target's own format that reach
its main paths, so the fuzzer starts deep instead of rediscovering CSV or JSON from nothing.

    python fuzz/seeds.py OUT_DIR [TARGET ...]   (fuzz/run.py calls it)

Seeds are files named seed-<n>; writing them again is harmless. Nothing here is committed as
binary: the seeds are generated from the lists below.
"""

from __future__ import annotations

import os
import struct
import sys

# -- core: 8 header bytes (flags, window, rows, columns, selection), then CSV ----------------

CSV_BODIES = [
    b"1,2,3\n4,5,6\n",
    b'0.5,1e-3,-2.25\r\n"7"," 8 ",nan\n',
    b'a,"b ""q"" c",3\n\n4,,-inf\n',
    b"-0,1.0000001,3.4028235e38\n1e-45,.5,5.\n",
    b"12345678,-1234567.,0.000001\n+1,1E+2,Infinity\n",
    b"1.23456789012345678901234567890,9999999999999999999999,1e400\n",
    b'"unterminated,1\n',
    b'x"bare,2\n',
    b'"a"b,3\n',
    b"1,2\n\r\n3,4",
    b"  1\t, \t2 ,3  \n",
    b"0x10,1_000,\xff\n",
]
HEADERS = [bytes([1, 0, 0, 0, 255, 3, 0b100100, 0x1D]), bytes([6, 10, 20, 30, 200, 0x82, 0b111001, 0xFF])]


def core_seeds():
    for body in CSV_BODIES:
        for header in HEADERS:
            yield header + body
    yield HEADERS[0] + struct.pack("<8f", 0.1, -0.0, 1e-7, 3e38, 1e16, 1e-5, 2.5e-45, 65504.0)


# -- jsonpath: a dialect byte, then the expression; the rest after a NUL is a JSON value ------

EXPRESSIONS = [
    "$",
    "$.a",
    "$.a.b[0]",
    "$['id','SageMakerOutput']",
    "$[1:3]",
    "$[-1,0,2:]",
    "$[:]",
    "$.*",
    "$[*].x",
    "$.features[0,-1]",
    "$['we\\'ird','b']",
    "$.a.['c','b']",
    "$[ 1 : 2 , 3 ]",
    "$..a",
    "$[?(@.a)]",
    "$[1:2:3]",
    "$.é_1-x",
]
VALUES = [
    b'{"a":{"b":[1,2,3]},"id":7,"SageMakerOutput":{"x":1},"features":[0.5,1,2]}',
    b"[[1,2],[3,4],[5,6],[7]]",
    b'{"x":null,"y":true,"z":"s","we\'ird":1,"b":[{"x":1},{"x":2}]}',
    b"[]",
    b"{}",
    b"3",
]


def jsonpath_seeds():
    for i, expression in enumerate(EXPRESSIONS):
        yield bytes([i % 2]) + expression.encode() + b"\0" + VALUES[i % len(VALUES)]


# -- jsonl: a plan byte, an input-filter byte, an output-filter byte, then JSON Lines --------

JSONL_BODIES = [
    b'{"id":1,"features":[0.5,1.5,2.0]}\n{"id":2,"features":[1,2,3]}\n',
    b'{"id":"a","features":{"x":1,"y":2.50,"z":null}}\n\n{"id":"b","features":{"x":-0,"y":1e5,"z":3}}\n',
    b"[1,2,3]\n[4.0,5,6]\r\n",
    b'{"features":[1,true,3]}\n',
    b'{"id":1,"features":[1,2]}\n',
    b'{"id":1,"features":[1,2,3],"SageMakerOutput":"old"}\n{"id":2}\n',
    b'{"id":12345678901234567890123,"features":[1e400,-1e-400,0.1]}\n',
    b'{"bad json\n',
    b'{"s":"\\u00e9\\ud83d\\ude00","features":[1,2,3]}\n',
    b"  \n7\n",
]


def jsonl_seeds():
    for i, body in enumerate(JSONL_BODIES):
        yield bytes([i * 37 % 256, i % 8, i * 3 % 8]) + body


# -- trees: a byte stream decoded into a forest, its objective and base score, and rows -------


def trees_seeds():
    yield bytes(range(64))
    yield bytes([0, 0, 1, 2]) + struct.pack("<4f", 0.5, -0.0, 1.0, -1.0) + bytes(range(0, 255, 7))
    yield bytes([1, 2, 3, 3]) + struct.pack("<6f", 0.0, 1e-45, 3.4028235e38, float("inf"), 0.25, 1.5)
    yield bytes([2, 5, 2, 4]) + struct.pack("<6f", float("nan"), -1e-38, 0.1, 2.0, -3.0, 1e30) * 3
    yield bytes([3, 1, 4, 1, 5, 9, 2, 6]) * 12


def jsonl_scan_seeds():
    for i, body in enumerate(JSONL_BODIES):
        yield bytes([i]) + body
    for body in JSONL_SCAN_BODIES:  # every query and width (fuzz_jsonl_scan.py's first byte)
        for choice in range(18):
            yield bytes([choice]) + body


# -- jsonl_scan: one query byte, then JSON Lines (the shapes the scan covers, and near misses)

JSONL_SCAN_BODIES = [
    b'{"features":[1.5,-0,null],"id":7}\n{"features":[1e5,0.1,2],"id":"x"}',
    b'{"a":1,"b":null,"id":[1,2]}\n{"b":2,"a":-0.0,"id":"\xc3\xa9"}',
    b"[1,2,3]\n[1, 2, 3]\n[null,1e-400,1e400]",
    b'{"features":[1,2],"id":"\\ud800"}\n{"features":[1,2],"f\\u0065atures":[3,4]}',
    b'{"SageMakerOutput":1,"features":[1,2]}\n{"features":[[1],2]} x',
]

SEEDS = {
    "core": core_seeds,
    "jsonpath": jsonpath_seeds,
    "jsonl": jsonl_seeds,
    "jsonl_scan": jsonl_scan_seeds,
    "trees": trees_seeds,
}


def main(argv) -> None:
    out, targets = argv[0], argv[1:] or list(SEEDS)
    for target in targets:
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for n, seed in enumerate(SEEDS[target]()):
            with open(os.path.join(folder, f"seed-{n}"), "wb") as f:
                f.write(seed)


if __name__ == "__main__":
    main(sys.argv[1:])
