# cython: language_level=3
"""Compiled core of fastjoin: CSV tokenising, float32 gathering, prediction formatting, splicing.

Pure functions of (buffer, index vectors, predictions): no files, no options, no messages.
Each function reports a status code and a byte offset; fastjoin.errors builds the exception.
The contract is fastjoin/_core.pyi; fastjoin/_reference.py is the spec-driven twin.
The C helpers are in fastjoin/src/csv_simd.h, declared with the status codes in _core.pxd.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free
from cpython.ref cimport PyObject
from libc.math cimport NAN, INFINITY, copysign, isnan, isinf
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memchr, memcpy, strlen

import numpy as np

cdef extern from "Python.h":
    # overflow_exception NULL: overflow gives ±inf instead of raising
    double PyOS_string_to_double(const char *s, char **endptr, PyObject *overflow_exception) except? -1.0
    char* PyOS_double_to_string(double val, char format_code, int precision, int flags, int *ptype) except NULL
    int Py_DTSF_ADD_DOT_0

# the status codes (declared in _core.pxd)
OK = FJ_OK
ERR_BARE_QUOTE = FJ_ERR_BARE_QUOTE
ERR_UNTERMINATED_QUOTE = FJ_ERR_UNTERMINATED_QUOTE
ERR_AFTER_QUOTE = FJ_ERR_AFTER_QUOTE
ERR_BLANK_LINE = FJ_ERR_BLANK_LINE
ERR_NUMBER = FJ_ERR_NUMBER

cdef enum:
    FMT_MAX = 32          # longest repr of a float32 widened to double is 24 bytes

cdef const unsigned char EMPTY[1]
cdef float NOFLOAT[1]


cdef inline const unsigned char* _ptr(const unsigned char[::1] buf) noexcept:
    # An empty buffer has no element 0; any non-NULL pointer is fine since nothing is read.
    return &buf[0] if buf.shape[0] > 0 else EMPTY


cdef int _check_rows(Py_ssize_t row_start, Py_ssize_t row_stop, Py_ssize_t n_rows) except -1:
    # The loops trust their indexes; a bad row range must fail here, not read out of bounds.
    if not 0 <= row_start <= row_stop <= n_rows:
        raise ValueError(f"bad row range [{row_start}, {row_stop}) for {n_rows} rows")
    return 0


# ----------------------------------------------------------------------------- tokenize

def tokenize(const unsigned char[::1] buf, Py_ssize_t start, Py_ssize_t end, bint allow_blank):
    """Split buf[start:end] into CSV records (lines) and fields; see _core.pyi."""
    if start < 0 or end > buf.shape[0] or start > end:
        raise ValueError(f"bad range [{start}, {end}) for a buffer of {buf.shape[0]} bytes")
    cdef const unsigned char* p = _ptr(buf)
    cdef Py_ssize_t i, n_sep = 0, n_lines = 1
    with nogil:  # cannot fail: counts separators for exact upper bounds of the outputs
        for i in range(start, end):
            if p[i] == b',':
                n_sep += 1
            elif p[i] == b'\n':
                n_lines += 1
    fields = np.empty((n_sep + n_lines + 1, 2), dtype=np.int64)  # +1: the speculative write
    rows = np.empty(n_lines + 1, dtype=np.int64)
    cdef int64_t[:, ::1] f = fields
    cdef int64_t[::1] r = rows
    cdef Py_ssize_t n_rows = 0, n_fields = 0, blank = 0, err = -1
    cdef int status
    with nogil:  # malformed CSV is reported as (status, err) for the line it occurs in
        status = _tokenize(p, start, end, allow_blank, &f[0, 0], &r[0],
                           &n_rows, &n_fields, &blank, &err)
    return fields[:n_fields], rows[:n_rows + 1], blank, status, err


cdef int _tokenize(const unsigned char* buf, Py_ssize_t start, Py_ssize_t end, bint allow_blank,
                   int64_t* fields, int64_t* rows, Py_ssize_t* n_rows_out,
                   Py_ssize_t* n_fields_out, Py_ssize_t* blank_out, Py_ssize_t* err_out) noexcept nogil:
    cdef Py_ssize_t pos = start, line_end, next_line, content_end, fs, q
    cdef Py_ssize_t nr = 0, nf = 0, blank = 0
    cdef const unsigned char* hit
    cdef int status = FJ_OK
    rows[0] = 0
    while pos < end:
        hit = <const unsigned char*>memchr(buf + pos, b'\n', end - pos)
        if hit != NULL:
            line_end = hit - buf
            next_line = line_end + 1
        else:
            line_end = end
            next_line = end
        content_end = line_end
        if content_end > pos and buf[content_end - 1] == b'\r':
            content_end -= 1
        if content_end == pos:
            if not allow_blank:
                status = FJ_ERR_BLANK_LINE
                err_out[0] = pos
                break
            blank += 1
            pos = next_line
            continue
        if memchr(buf + pos, b'"', content_end - pos) == NULL:
            nf = fj_split_plain(buf, pos, content_end, fields, nf)
            nr += 1
            rows[nr] = nf
            pos = next_line
            continue
        q = pos
        while True:  # one field per iteration; q is at the field's first byte
            fs = q
            if q < content_end and buf[q] == b'"':
                q += 1
                while True:
                    hit = <const unsigned char*>memchr(buf + q, b'"', content_end - q)
                    if hit == NULL:
                        status = FJ_ERR_UNTERMINATED_QUOTE
                        err_out[0] = fs
                        break
                    q = hit - buf + 1
                    if q < content_end and buf[q] == b'"':
                        q += 1  # doubled quote inside the field
                        continue
                    break
                if status != FJ_OK:
                    break
                if q < content_end and buf[q] != b',':
                    status = FJ_ERR_AFTER_QUOTE
                    err_out[0] = q
                    break
            else:
                while q < content_end and buf[q] != b',':
                    if buf[q] == b'"':
                        status = FJ_ERR_BARE_QUOTE
                        err_out[0] = q
                        break
                    q += 1
                if status != FJ_OK:
                    break
            fields[2 * nf] = fs
            fields[2 * nf + 1] = q - fs
            nf += 1
            if q < content_end:
                q += 1  # the comma; a comma at the end of the line leaves one empty field
                continue
            break
        if status != FJ_OK:
            nf = rows[nr]  # drop the bad line's fields
            break
        nr += 1
        rows[nr] = nf
        pos = next_line
    n_rows_out[0] = nr
    n_fields_out[0] = nf
    blank_out[0] = blank
    return status


# ----------------------------------------------------------------------------- numbers

cdef double POW10[23]
cdef fj_u128 POW5[56]
cdef fj_u128 POW10_128[39]


cdef void _init_tables() noexcept:
    cdef int i
    POW10[0] = 1.0
    for i in range(1, 23):
        POW10[i] = POW10[i - 1] * 10.0  # exact: 10**22 < 2**53 * 2**22 fits a double exactly
    POW5[0] = 1
    for i in range(1, 56):
        POW5[i] = POW5[i - 1] * 5
    POW10_128[0] = 1
    for i in range(1, 39):
        POW10_128[i] = POW10_128[i - 1] * 10

_init_tables()


cdef inline bint _is_space(unsigned char c) noexcept nogil:
    return c == b' ' or c == b'\t'


cdef inline bint _word(const unsigned char* s, Py_ssize_t n, const char* w, Py_ssize_t wn) noexcept nogil:
    # case-insensitive comparison with a lowercase ASCII word
    cdef Py_ssize_t i
    if n != wn:
        return False
    for i in range(n):
        if (s[i] | 0x20) != <unsigned char>w[i]:
            return False
    return True


cdef inline int _parse_f32(const unsigned char* s, Py_ssize_t n, Py_ssize_t avail,
                           float* out) noexcept nogil:
    """Parse one field as a double rounded to float32. Returns 0, or -1 when not a number.
    ``avail`` is how many bytes may be read from ``s`` (at least ``n``).

    Fast path for the common shape ``[-]digits[.digits]`` of at most 19 digits whose value
    is exact in a double (mantissa <= 2**53, at most 22 decimals): one division, correctly
    rounded. Anything else takes the general parser."""
    cdef Py_ssize_t i = 0, first, point, decimals = 0
    cdef uint64_t mant = 0
    cdef unsigned int digit
    cdef double d
    if fj_parse_short(s, n, avail, POW10, &d) == 0:
        out[0] = <float>d
        return 0
    if n > 0 and s[0] == b'-':
        i = 1
    first = i
    while i < n:  # integer digits
        digit = s[i] - c'0'
        if digit > 9:
            break
        mant = mant * 10 + digit
        i += 1
    point = i
    if i < n and s[i] == b'.':
        i += 1
        while i < n:  # decimals
            digit = s[i] - c'0'
            if digit > 9:
                break
            mant = mant * 10 + digit
            i += 1
        decimals = i - point - 1
    if i == n and 0 < (point - first) + decimals <= 19 and mant <= (<uint64_t>1 << 53):
        # 19 digits cannot overflow 64 bits, and 19 decimals <= 22: POW10 is exact
        d = <double>mant / POW10[decimals]
        out[0] = <float>(-d if first else d)
        return 0
    return _parse_f32_general(s, n, out)


cdef int _parse_f32_general(const unsigned char* s, Py_ssize_t n, float* out) noexcept nogil:
    """The whole grammar: quotes, spaces, signs, exponents, nan/inf, long mantissas."""
    cdef Py_ssize_t i = 0, j, digits = 0, mant_digits = 0, int_digits = -1
    cdef uint64_t mant = 0
    cdef bint negative = False, truncated = False
    cdef int64_t exp10 = 0, e = 0
    cdef bint e_neg = False
    cdef double d
    cdef char small[64]
    cdef unsigned char c
    if n >= 2 and s[0] == b'"':
        s += 1
        n -= 2  # tokenize guarantees the closing quote
        for j in range(n):
            if s[j] == b'"':
                return -1  # an escaped quote cannot be part of a number
    while n > 0 and _is_space(s[0]):
        s += 1
        n -= 1
    while n > 0 and _is_space(s[n - 1]):
        n -= 1
    if n == 0:
        out[0] = NAN
        return 0
    if s[0] == b'+' or s[0] == b'-':
        negative = s[0] == b'-'
        i = 1
    if i < n and (s[i] | 0x20) in (b'i', b'n'):
        if _word(s + i, n - i, b"nan", 3):
            out[0] = <float>copysign(NAN, -1.0 if negative else 1.0)
            return 0
        if _word(s + i, n - i, b"inf", 3) or _word(s + i, n - i, b"infinity", 8):
            out[0] = -INFINITY if negative else INFINITY
            return 0
        return -1
    # mantissa: digits [. digits]; keep the first 19 significant digits exactly
    while i < n:
        c = s[i]
        if b'0' <= c <= b'9':
            digits += 1
            if mant_digits < 19:
                if mant != 0 or c != b'0':
                    mant = mant * 10 + (c - c'0')
                    mant_digits += 1
                if int_digits >= 0:
                    exp10 -= 1
            else:
                if c != b'0':
                    truncated = True
                if int_digits < 0:
                    exp10 += 1
        elif c == b'.' and int_digits < 0:
            int_digits = digits
        else:
            break
        i += 1
    if digits == 0:
        return -1
    if i < n:
        if (s[i] | 0x20) != b'e':
            return -1
        i += 1
        if i < n and (s[i] == b'+' or s[i] == b'-'):
            e_neg = s[i] == b'-'
            i += 1
        if i >= n:
            return -1
        while i < n:
            c = s[i]
            if not (b'0' <= c <= b'9'):
                return -1
            if e < 100000:  # far beyond any double; saturate instead of overflowing
                e = e * 10 + (c - c'0')
            i += 1
        exp10 += -e if e_neg else e
    if not truncated and mant <= (<uint64_t>1 << 53) and -22 <= exp10 <= 22:
        # Clinger's fast path: both operands exact, one correctly rounded operation.
        d = <double>mant
        if exp10 < 0:
            d /= POW10[-exp10]
        else:
            d *= POW10[exp10]
        if negative:
            d = -d
    elif mant == 0 and not truncated:
        d = -0.0 if negative else 0.0
    else:
        # Rare: long mantissas or extreme exponents. Python's correctly rounded,
        # locale-independent parser; the text was validated above, so it cannot fail.
        if n < 64:
            memcpy(small, s, n)
            small[n] = 0
            with gil:
                d = PyOS_string_to_double(small, NULL, NULL)
        else:
            with gil:
                d = PyOS_string_to_double(bytes(s[:n]), NULL, NULL)
    out[0] = <float>d
    return 0


def gather_float32(const unsigned char[::1] buf, const int64_t[:, ::1] fields, const int64_t[::1] rows,
                   Py_ssize_t row_start, Py_ssize_t row_stop, const int64_t[::1] cols, float[:, ::1] out):
    """Parse the selected fields of rows [row_start, row_stop) into out; see _core.pyi."""
    cdef Py_ssize_t ncols = cols.shape[0], r, j, k
    _check_rows(row_start, row_stop, rows.shape[0] - 1)
    if row_stop - row_start > out.shape[0] or ncols > out.shape[1]:
        raise ValueError("out is too small for the selected rows and columns")
    cdef const unsigned char* p = _ptr(buf)
    cdef Py_ssize_t err_row = -1, err_col = -1, size = buf.shape[0]
    with nogil:  # a field that is not a number stops the loop with its (row, column)
        for r in range(row_start, row_stop):
            for j in range(ncols):
                k = rows[r] + cols[j]
                if _parse_f32(p + fields[k, 0], fields[k, 1], size - fields[k, 0],
                              &out[r - row_start, j]) != 0:
                    err_row = r
                    err_col = j
                    break
            if err_row >= 0:
                break
    if err_row >= 0:
        return FJ_ERR_NUMBER, err_row, err_col
    return FJ_OK, -1, -1


# ----------------------------------------------------------------------------- formatting

cdef inline int _bitlen64(uint64_t x) noexcept nogil:
    return 64 - __builtin_clzll(x) if x else 0


cdef inline int _bitlen128(fj_u128 x) noexcept nogil:
    cdef uint64_t hi = <uint64_t>(x >> 64)
    if hi:
        return 64 + _bitlen64(hi)
    return _bitlen64(<uint64_t>x)


cdef inline int _ndigits(uint64_t c) noexcept nogil:
    cdef int n = 1
    while c >= 10:
        c //= 10
        n += 1
    return n


cdef int _write_digits(uint64_t c, int x, bint negative, char* out) noexcept nogil:
    """Write digits c (no trailing zeros) with decimal exponent x of its first digit as
    Python's repr does: positional for -4 <= x < 16, else d.ddde±XX."""
    cdef char dig[24]
    cdef int nd = 0, i, pos = 0, ax
    while c:
        dig[nd] = <char>(c'0' + c % 10)
        c //= 10
        nd += 1
    # dig holds the digits reversed
    if negative:
        out[pos] = b'-'
        pos += 1
    if -4 <= x < 16:
        if x < 0:
            out[pos] = b'0'
            out[pos + 1] = b'.'
            pos += 2
            for i in range(-x - 1):
                out[pos] = b'0'
                pos += 1
            for i in range(nd - 1, -1, -1):
                out[pos] = dig[i]
                pos += 1
        else:
            for i in range(x + 1):
                out[pos] = dig[nd - 1 - i] if i < nd else b'0'
                pos += 1
            out[pos] = b'.'
            pos += 1
            if nd > x + 1:
                for i in range(nd - 2 - x, -1, -1):
                    out[pos] = dig[i]
                    pos += 1
            else:
                out[pos] = b'0'
                pos += 1
    else:
        out[pos] = dig[nd - 1]
        pos += 1
        if nd > 1:
            out[pos] = b'.'
            pos += 1
            for i in range(nd - 2, -1, -1):
                out[pos] = dig[i]
                pos += 1
        out[pos] = b'e'
        out[pos + 1] = b'-' if x < 0 else b'+'
        pos += 2
        ax = -x if x < 0 else x
        if ax >= 100:
            out[pos] = <char>(c'0' + ax // 100)
            pos += 1
        out[pos] = <char>(c'0' + (ax // 10) % 10)
        out[pos + 1] = <char>(c'0' + ax % 10)
        pos += 2
    return pos


cdef int _format_f32(float v, char* out) noexcept nogil:
    """repr(float(v)) into out; returns its length, or -1 for the rare values the exact
    128-bit method does not cover (the caller then asks CPython's dtoa)."""
    cdef uint32_t bits
    memcpy(&bits, &v, 4)  # the float's bit pattern, without breaking strict aliasing
    cdef bint negative = (bits >> 31) != 0
    cdef int biased = (bits >> 23) & 0xff
    cdef uint64_t m = bits & 0x7fffff
    cdef int e, b, k, j, j0, nd, t
    cdef fj_u128 n, a, p, r, hf, hl, q
    cdef uint64_t c  # the final digits: at most 17 of them, so 64-bit arithmetic suffices
    cdef bint lo_ok, hi_ok
    if biased == 0xff:
        if m:
            out[0] = b'n'; out[1] = b'a'; out[2] = b'n'
            return 3
        if negative:
            memcpy(out, b"-inf", 4)
            return 4
        memcpy(out, b"inf", 3)
        return 3
    if biased == 0:
        if m == 0:
            if negative:
                memcpy(out, b"-0.0", 4)
                return 4
            memcpy(out, b"0.0", 3)
            return 3
        e = -149
    else:
        m |= 0x800000
        e = biased - 150
    while (m & 1) == 0:  # v = m * 2**e with m odd
        m >>= 1
        e += 1
    b = _bitlen64(m)
    t = b - 1 + e  # floor(log2(v))
    if e >= 0:
        if t >= 53:
            return -1  # |v| >= 2**53: rare, exponent notation from 1e16 on
        # Integers below 2**53 are exact doubles and need every digit: "12.0", "1000.0".
        c = m << e
        nd = 0
        while c % 10 == 0:
            c //= 10
            nd += 1
        return _write_digits(c, _ndigits(c) - 1 + nd, negative, out)
    k = -e
    if k > 55 or b + _bitlen128(POW5[k]) > 128:
        return -1  # |v| below about 5e-7: rare for predictions
    # v = n / 10**k exactly. The doubles next to v are 2**(t-53) away (half that below a
    # power of two); in units of 10**-k that half-gap is 5**k / 2**(54-b). v's double
    # mantissa is even, so a decimal exactly on the boundary still reads back as v.
    n = <fj_u128>m * POW5[k]
    hf = POW5[k] >> (54 - b)
    hl = (POW5[k] >> (55 - b)) if m == 1 else hf
    nd = <int>((_bitlen128(n) - 1) * 0.30102999566398120) + 1
    if nd < 39 and n >= POW10_128[nd]:
        nd += 1
    # 17 significant digits always round-trip a double; find the fewest that do. Dropping j
    # digits is valid when a multiple of 10**j lies within the gap; validity only shrinks
    # as j grows, and no j >= k can be valid (v is not within the gap of an integer).
    j0 = nd - 17 if nd > 17 else 0
    j = j0
    while j + 1 < k:
        a = <fj_u128>m * POW5[k - j - 1]  # n / 2**(j+1) / 5**(j+1) without division
        r = (a & ((<fj_u128>1 << (j + 1)) - 1)) * POW5[j + 1]
        p = POW10_128[j + 1]
        if r <= hl or p - r <= hf:
            j += 1
        else:
            break
    a = <fj_u128>m * POW5[k - j]
    q = a >> j
    r = (a & ((<fj_u128>1 << j) - 1)) * POW5[j]
    p = POW10_128[j]
    lo_ok = r <= hl
    hi_ok = p - r <= hf
    if lo_ok and hi_ok:
        # both in the gap: the nearer one, ties to an even last digit
        if r > p - r or (r == p - r and (q & 1)):
            q += 1
    elif hi_ok:
        q += 1
    c = <uint64_t>q
    while c % 10 == 0:
        c //= 10
        j += 1
    return _write_digits(c, _ndigits(c) - 1 + j - k, negative, out)


def format_floats(const float[::1] values):
    """repr(float(v)) of each value, concatenated, with (offset, length) spans; see _core.pyi."""
    cdef Py_ssize_t n = values.shape[0], i, total = 0, length
    cdef bytearray text = bytearray(n * FMT_MAX + 1)
    spans = np.empty((n, 2), dtype=np.int64)
    cdef int64_t[:, ::1] sp = spans
    cdef char* out = text
    cdef char* slow
    cdef int fast
    cdef double d
    with nogil:  # cannot fail; the rare values outside the exact method take the GIL once each
        for i in range(n):
            fast = _format_f32(values[i], out + total)
            if fast < 0:
                d = values[i]
                with gil:
                    slow = PyOS_double_to_string(d, b'r', 0, Py_DTSF_ADD_DOT_0, NULL)
                    length = strlen(slow)
                    memcpy(out + total, slow, length)
                    PyMem_Free(slow)
                fast = <int>length
            sp[i, 0] = total
            sp[i, 1] = fast
            total += fast
    return PyBytes_FromStringAndSize(out, total), spans


# ----------------------------------------------------------------------------- splice

def splice(const unsigned char[::1] in_buf, const int64_t[:, ::1] in_fields, const int64_t[::1] in_rows,
           const unsigned char[::1] pred_buf, const int64_t[:, ::1] pred_fields,
           const int64_t[::1] pred_rows, Py_ssize_t row_start, Py_ssize_t row_stop,
           const int64_t[::1] sel, Py_ssize_t width, bytes terminator):
    """Assemble output records from input and prediction fields; see _core.pyi."""
    cdef Py_ssize_t nsel = sel.shape[0], r, j, k, total = 0, pos = 0
    cdef Py_ssize_t tlen = len(terminator)
    cdef const unsigned char* ip = _ptr(in_buf)
    cdef const unsigned char* pp = _ptr(pred_buf)
    cdef const char* term = PyBytes_AS_STRING(terminator)
    _check_rows(row_start, row_stop, pred_rows.shape[0] - 1)
    if width > 0:
        _check_rows(row_start, row_stop, in_rows.shape[0] - 1)
    if row_stop == row_start:
        return b""
    with nogil:  # cannot fail: the caller resolved every index against its row's width
        for r in range(row_start, row_stop):
            for j in range(nsel):
                if sel[j] < width:
                    total += in_fields[in_rows[r] + sel[j], 1]
                else:
                    total += pred_fields[pred_rows[r] + sel[j] - width, 1]
        total += (row_stop - row_start) * ((nsel - 1 if nsel > 0 else 0) + tlen)
    result = PyBytes_FromStringAndSize(NULL, total)
    cdef char* out = PyBytes_AS_STRING(result)
    with nogil:
        for r in range(row_start, row_stop):
            for j in range(nsel):
                if j:
                    out[pos] = b','
                    pos += 1
                if sel[j] < width:
                    k = in_rows[r] + sel[j]
                    memcpy(out + pos, ip + in_fields[k, 0], in_fields[k, 1])
                    pos += in_fields[k, 1]
                else:
                    k = pred_rows[r] + sel[j] - width
                    memcpy(out + pos, pp + pred_fields[k, 0], pred_fields[k, 1])
                    pos += pred_fields[k, 1]
            memcpy(out + pos, term, tlen)
            pos += tlen
    return result


# ----------------------------------------------------------------------------- JSON Lines

def _packed(names):
    """Names as one buffer and int64 (offset, length) pairs, for the C scan."""
    spans = np.zeros((max(len(names), 1), 2), dtype=np.int64)
    offset = 0
    for j, name in enumerate(names):
        spans[j, 0] = offset
        spans[j, 1] = len(name)
        offset += len(name)
    return b"".join(names) + b"\0", spans


def scan_jsonl(const unsigned char[::1] buf, const int64_t[::1] starts, const int64_t[::1] ends,
               tuple names, bint array, object out_names, bytes pred_name, float[:, ::1] X):
    """Scan JSON Lines records for their features and kept members; see _core.pyi."""
    cdef Py_ssize_t n = starts.shape[0], width = X.shape[1], r, j, m = 0, cap, nm = 0, nt = 0, size = buf.shape[0]
    cdef Py_ssize_t s, length
    if ends.shape[0] != n or X.shape[0] < n:
        raise ValueError("starts, ends and X must have a row per record")
    if array and len(names) > 1:
        raise ValueError("an array is selected by one name (or none: the record)")
    if not array and len(names) != width:
        raise ValueError("named keys select one feature each")
    cdef const unsigned char* p = _ptr(buf)
    packed, spans = _packed(names)
    out_packed, out_spans = _packed(out_names or ())
    cdef const int64_t[:, ::1] sp = spans
    cdef const int64_t[:, ::1] osp = out_spans
    cdef fj_json_query q
    q.names = <const unsigned char*>PyBytes_AS_STRING(packed)
    q.name_spans = &sp[0, 0]
    q.n_names = len(names)
    q.array = array
    q.width = width
    q.out_names = <const unsigned char*>PyBytes_AS_STRING(out_packed)
    q.out_spans = &osp[0, 0]
    q.n_out = -1 if out_names is None else len(out_names)
    q.pred_name = <const unsigned char*>PyBytes_AS_STRING(pred_name)
    q.pred_len = len(pred_name)
    for r in range(n):
        if not (0 <= starts[r] <= ends[r] <= size):
            raise ValueError("a record span is outside the buffer")
    if q.n_out < 0:  # a member per ':' at most, and the prediction
        cap = n
        if n and ends[n - 1] > starts[0]:
            with nogil:  # cannot fail: counts bytes
                cap += fj_json_count(p, starts[0], ends[n - 1], b':')
    else:
        cap = n * q.n_out
    num = np.zeros(2 * max(width, 1), dtype=np.int64)
    members = np.empty((max(cap, 1), 4), dtype=np.int64)
    rows = np.zeros(n + 1, dtype=np.int64)
    cdef int64_t[::1] nv = num
    cdef int64_t[:, ::1] mv = members
    cdef int64_t[::1] rv = rows
    # X's rows as pointers (a width-0 X has no element to take the address of)
    cdef float* x = &X[0, 0] if n and width else NOFLOAT
    with nogil:  # cannot fail: a record the scan does not cover ends the loop (covered = r)
        for r in range(n):
            if fj_json_scan(p, starts[r], ends[r], size, &q, &nv[0], x + r * width,
                            &mv[m, 0] if m < cap else NULL, cap - m, &nm, &nt) != FJ_JSON_OK:
                break
            for j in range(width if nt else 0):  # the numbers the scan left to the full parser
                length = nv[2 * j + 1]
                if length == FJ_JSON_PARSED:
                    continue
                s = nv[2 * j]
                _parse_f32(p + s, length, size - s, &X[r, j])  # valid JSON numbers parse
            m += nm
            rv[r + 1] = m
        else:
            r = n
    return r, members[:m], rows[:r + 1]


def join_jsonl(const unsigned char[::1] buf, const int64_t[:, ::1] members, const int64_t[::1] rows,
               bytes pred_key, bytes pred_text, const int64_t[:, ::1] pred_spans, bytes terminator):
    """Write JSON objects from kept members and predictions; see _core.pyi."""
    cdef Py_ssize_t n = rows.shape[0] - 1, r, i, total = 0, pos = 0, size = buf.shape[0]
    cdef Py_ssize_t klen = len(pred_key), tlen = len(terminator), plen = len(pred_text)
    cdef const unsigned char* p = _ptr(buf)
    cdef const char* key = PyBytes_AS_STRING(pred_key)
    cdef const char* text = PyBytes_AS_STRING(pred_text)
    cdef const char* term = PyBytes_AS_STRING(terminator)
    if n < 0 or pred_spans.shape[0] < n or (n and rows[n] > members.shape[0]):
        raise ValueError("rows, members and pred_spans do not fit together")
    for r in range(n):
        if not (0 <= pred_spans[r, 0] <= pred_spans[r, 0] + pred_spans[r, 1] <= plen):
            raise ValueError("a prediction span is outside pred_text")
        if rows[r] > rows[r + 1]:
            raise ValueError("rows must not decrease")
    for i in range(rows[n] if n else 0):
        if members[i, 0] != -1 and not (0 <= members[i, 0] and members[i, 0] + members[i, 1] <= size
                                        and 0 <= members[i, 2] and members[i, 2] + members[i, 3] <= size):
            raise ValueError("a member span is outside the buffer")
    with nogil:  # cannot fail: every span was checked above
        for r in range(n):
            total += 2 + tlen + (rows[r + 1] - rows[r])  # braces, terminator, ':' per member
            if rows[r + 1] > rows[r]:
                total += rows[r + 1] - rows[r] - 1  # ','
            for i in range(rows[r], rows[r + 1]):
                if members[i, 0] == -1:
                    total += klen + pred_spans[r, 1]
                else:
                    total += members[i, 1] + members[i, 3]
    result = PyBytes_FromStringAndSize(NULL, total)
    cdef char* out = PyBytes_AS_STRING(result)
    with nogil:
        for r in range(n):
            out[pos] = b'{'
            pos += 1
            for i in range(rows[r], rows[r + 1]):
                if i > rows[r]:
                    out[pos] = b','
                    pos += 1
                if members[i, 0] == -1:
                    memcpy(out + pos, key, klen)
                    pos += klen
                    out[pos] = b':'
                    pos += 1
                    memcpy(out + pos, text + pred_spans[r, 0], pred_spans[r, 1])
                    pos += pred_spans[r, 1]
                else:
                    memcpy(out + pos, p + members[i, 0], members[i, 1])
                    pos += members[i, 1]
                    out[pos] = b':'
                    pos += 1
                    memcpy(out + pos, p + members[i, 2], members[i, 3])
                    pos += members[i, 3]
            out[pos] = b'}'
            pos += 1
            memcpy(out + pos, term, tlen)
            pos += tlen
    return result
