/* fastjoin/src/csv_simd.h: the C helpers of fastjoin._core's CSV loops, declared to Cython in
   fastjoin/_core.pxd: a field splitter for lines without quotes (SSE2 where the target has
   it), a SWAR parser for short numbers, and the 128-bit integer the float formatter uses.

   Included by the one C file Cython generates from _core.pyx, after Python.h, so every
   function is static. GCC or Clang only: unsigned __int128, __builtin_ctz/__builtin_ctzll. */
#ifndef FASTJOIN_CSV_SIMD_H
#define FASTJOIN_CSV_SIMD_H

#include <Python.h> /* Py_ssize_t */
#include <stdint.h>
#include <string.h>

#include "fj_assert.h"

#if !defined(__GNUC__) || !defined(__SIZEOF_INT128__)
#error "fastjoin's compiled core needs GCC or Clang and a target with unsigned __int128"
#endif

/* The float formatter's exact products (mantissa * 5**k, below 2**128). _core.pxd declares it
   to Cython as unsigned long long: Cython has no 128-bit type and needs only the general kind,
   so the arithmetic is C's, on all 128 bits; no fj_u128 may become a Python object. */
typedef unsigned __int128 fj_u128;

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Field starts and lengths of a line without quotes, appended at fields[2*nf...];
   returns the new field count. 16 bytes at a time, one bit per comma (SSE2, part of
   every x86-64), then a branchless scalar tail that writes a candidate start for
   every byte and advances only on a comma; fields needs one spare slot for it. */
static inline Py_ssize_t fj_split_plain(const unsigned char *buf, Py_ssize_t start,
                                        Py_ssize_t end, int64_t *fields, Py_ssize_t nf) {
    Py_ssize_t q = start, first = nf, i;
    FJ_ASSERT(0 <= start && start <= end && nf >= 0);
    fields[2 * nf++] = start;
#if defined(__SSE2__)
    const __m128i comma = _mm_set1_epi8(',');
    for (; q + 16 <= end; q += 16) {
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(buf + q)), comma));
        while (mask) {
            fields[2 * nf++] = q + __builtin_ctz(mask) + 1;
            mask &= mask - 1;
        }
    }
#endif
    for (; q < end; q++) {
        fields[2 * nf] = q + 1;
        nf += buf[q] == ',';
    }
    for (i = first; i < nf - 1; i++)
        fields[2 * i + 1] = fields[2 * i + 2] - fields[2 * i] - 1;
    fields[2 * (nf - 1) + 1] = end - fields[2 * (nf - 1)];
    return nf;
}

/* Eight digit values (0..9) in a little-endian word, the first digit read in the lowest
   byte, as the integer they spell: neighbours combined by 10, then pairs by 100, then halves
   by 10**4, in three multiplies (SWAR). */
static inline uint64_t fj_swar8_value(uint64_t v) {
    v = (v * 10) + (v >> 8);
    return (((v & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
            (((v >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
}

/* A number of at most 8 characters after an optional '-': [-]digits[.digits]. All
   eight bytes are handled at once (SWAR), so the number's length costs no branch
   mispredictions. Returns 0 with *out set, or -1: not this shape, use the full parser.
   avail: bytes readable from s (the field may sit at the end of the buffer). */
static inline int fj_parse_short(const unsigned char *s, Py_ssize_t n, Py_ssize_t avail,
                                 const double *pow10, double *out) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    const uint64_t zeros = 0x3030303030303030ULL, nibbles = 0xF0F0F0F0F0F0F0F0ULL;
    uint64_t x = 0, dot, mask, v;
    int negative = 0, digits, decimals = 0, p;
    FJ_ASSERT(0 <= n && n <= avail);
    if (n > 0 && s[0] == '-') { negative = 1; s++; n--; avail--; }
    if (n < 1 || n > 8) return -1;
    if (avail >= 8) memcpy(&x, s, 8); else memcpy(&x, s, (size_t)n);
    if (n < 8) x &= (((uint64_t)1) << (8 * n)) - 1;
    digits = (int)n;
    dot = x ^ 0x2E2E2E2E2E2E2E2EULL;            /* '.' bytes become zero */
    dot = (dot - ones) & ~dot & highs;            /* lowest set bit: the first '.' */
    if (dot) {
        p = __builtin_ctzll(dot) >> 3;
        x = (x & ((((uint64_t)1) << (8 * p)) - 1)) | (p < 7 ? (x >> (8 * (p + 1))) << (8 * p) : 0);
        digits = (int)n - 1;
        decimals = digits - p;
        if (digits == 0) return -1;
    }
    mask = digits == 8 ? ~(uint64_t)0 : (((uint64_t)1) << (8 * digits)) - 1;
    /* every byte '0'..'9': high nibble 3, and still 3 after adding 6 */
    if ((x & nibbles & mask) != (zeros & mask) ||
        (((x + 0x0606060606060606ULL) & nibbles) & mask) != (zeros & mask))
        return -1;
    v = fj_swar8_value(((x & mask) - (zeros & mask)) << (8 * (8 - digits))); /* leading zeros in front */
    *out = (double)v / pow10[decimals];           /* v < 10**8: exact, one rounding */
    if (negative) *out = -*out;
    return 0;
}

#endif /* FASTJOIN_CSV_SIMD_H */
