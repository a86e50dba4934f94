"""Fuzz target: the compiled CSV core (tokenize -> gather_float32 -> format_floats -> splice),
each call against fastjoin._reference on the same arguments.

An input is an 8-byte header of choices and a body of CSV bytes. The body is tokenized in a
window; the records before any error feed gather_float32 with columns the header picks; the
gathered float32 values, plus the body read as raw float32 bit patterns, feed format_floats;
its text is the prediction buffer that splice joins to the input records. Every result must be
identical: arrays (values, dtype, shape), status codes, error offsets, bytes; gathered floats
compared as bit patterns. The compiled core gets exact-size numpy buffers, so a read one
byte past the end is outside the allocation and ASan reports it.
"""

from __future__ import annotations

import sys

import atheris
import harness
import numpy as np

# Coverage comes from the compiled core's own instrumentation; the Python reference is left
# uninstrumented (it mirrors the same branches) so that each input runs about twice as fast.
from fastjoin import _core as core  # noqa: E402
from fastjoin import _reference as ref  # noqa: E402

TARGET = "core"
TERMINATORS = (b"\n", b"", b"\r\n", b";\n")


def exact(data: bytes) -> np.ndarray:
    # Its own allocation of exactly len(data) bytes (numpy's small-block cache reuses blocks
    # of the same size only), so the redzone starts at the buffer's end.
    arr = np.empty(len(data), dtype=np.uint8)
    arr[:] = np.frombuffer(data, dtype=np.uint8)
    return arr


def same_arrays(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def check_tokenize(data, body, start, end, allow_blank):
    got = core.tokenize(exact(body), start, end, allow_blank)
    want = ref.tokenize(body, start, end, allow_blank)
    if not (same_arrays(got[0], want[0]) and same_arrays(got[1], want[1]) and got[2:] == want[2:]):
        harness.disagree(
            TARGET,
            data,
            f"tokenize(body, {start}, {end}, {allow_blank})\ncore:      {got!r}\nreference: {want!r}",
        )
    return want


def check_gather(data, body, fields, rows, row_start, row_stop, cols):
    n = row_stop - row_start
    out_core = np.empty((n, len(cols)), dtype=np.float32)  # exact size: overruns hit the redzone
    out_ref = np.full((n, len(cols)), np.nan, dtype=np.float32)
    got = core.gather_float32(exact(body), fields, rows, row_start, row_stop, cols, out_core)
    want = ref.gather_float32(body, fields, rows, row_start, row_stop, cols, out_ref)
    # rows before an error row are filled; the rest of out is unspecified (_core.pyi)
    filled = n if want[0] == ref.OK else want[1] - row_start
    if got != want or not np.array_equal(out_core[:filled].view(np.uint32), out_ref[:filled].view(np.uint32)):
        harness.disagree(
            TARGET,
            data,
            f"gather_float32(rows [{row_start}, {row_stop}), cols {cols.tolist()})\n"
            f"core:      {got} {out_core[:filled].view(np.uint32).tolist()}\n"
            f"reference: {want} {out_ref[:filled].view(np.uint32).tolist()}",
        )
    return out_ref[:filled]


def check_format(data, values):
    got = core.format_floats(values.copy())
    want = ref.format_floats(values)
    if got[0] != want[0] or not same_arrays(got[1], want[1]):
        harness.disagree(
            TARGET,
            data,
            f"format_floats({values.view(np.uint32).tolist()})\ncore:      {got!r}\nreference: {want!r}",
        )
    return want


def check_splice(data, args):
    in_buf, *rest = args
    got = core.splice(exact(in_buf), *rest)
    want = ref.splice(*args)
    if got != want:
        harness.disagree(TARGET, data, f"splice{args[1:]!r}\ncore:      {got!r}\nreference: {want!r}")


def test_one_input(data: bytes) -> None:
    data = data[: harness.MAX_LEN]
    if len(data) < 8:
        return
    flags, w0, w1, r0, r1, ncols_byte, col_bits, sel_byte = data[:8]
    body = data[8:]
    size = len(body)
    allow_blank = bool(flags & 1)
    start, end = sorted((w0 * size // 255, size - w1 * size // 255))
    # Nothing may read past the window: the buffer ends where it does, so ASan sees such a read.
    body = body[:end]
    fields, rows, _, _, _ = check_tokenize(data, body, start, end, allow_blank)

    n_rows = len(rows) - 1
    values = np.frombuffer(data[8:][: size // 4 * 4], dtype=np.float32)[:64]
    if n_rows:
        widths = np.diff(rows)
        min_width = int(widths.min())
        row_start, row_stop = sorted((r0 * n_rows // 255, r1 * n_rows // 255))
        if flags & 2:
            row_start, row_stop = 0, n_rows
        ncols = ncols_byte % 5  # 0..4 columns, repeats allowed
        cols = np.array([(col_bits >> (2 * j) & 3) % min_width for j in range(ncols)], dtype=np.int64)
        if ncols_byte & 0x80:
            cols = cols[::-1].copy()
        gathered = check_gather(data, body, fields, rows, row_start, row_stop, cols)
        values = np.concatenate([gathered.ravel(), values])
        # the gathered values as the prediction records of rows [row_start, row_start + filled)
        text, spans = check_format(data, np.ascontiguousarray(values, dtype=np.float32))
        filled = len(gathered)
        if ncols and filled:
            pred_rows = np.arange(0, filled * ncols + 1, ncols, dtype=np.int64)
            in_rows = rows[row_start : row_start + filled + 1].copy()
            width = min(sel_byte & 3, min_width)
            nsel = (sel_byte >> 2) & 7
            sel = np.array([(sel_byte * 7 + j * (col_bits | 1)) % (width + ncols) for j in range(nsel)])
            a, b = sorted((r0 % (filled + 1), r1 % (filled + 1)))
            terminator = TERMINATORS[(flags >> 2) & 3]
            if width:
                in_parts = (body, fields, in_rows)
            else:  # width 0: the input is never read (_core.pyi)
                in_parts = (b"", np.zeros((0, 2), np.int64), np.zeros(0, np.int64))
            check_splice(
                data, (*in_parts, text, spans, pred_rows, a, b, sel.astype(np.int64), width, terminator)
            )
    else:
        check_format(data, np.ascontiguousarray(values))


def main() -> None:
    harness.check_build(core)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
