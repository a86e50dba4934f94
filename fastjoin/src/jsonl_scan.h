/* fastjoin/src/jsonl_scan.h: the structural scan of one JSON Lines record, declared to Cython
   in fastjoin/_core.pxd and driven a batch at a time by _core.scan_jsonl.

   One pass over the line validates it and finds what the job needs: the numbers the input
   filter selects (parsed here when they have the common short shape, else their text, which
   _core parses) and the byte spans of the members the output copies.
   The scan is conservative: it accepts only a subset of what orjson accepts (no escaped
   surrogates, no escaped keys, numbers far from double's range, depth <= FJ_JSON_DEPTH), and
   answers FJ_JSON_FALLBACK for everything else, valid or not; the caller then runs orjson on
   those bytes, which decides (and words) any error. So the scan never rejects and never
   accepts differently from orjson.

   Included by the one C file Cython generates from _core.pyx, after Python.h. */
#ifndef FASTJOIN_JSONL_SCAN_H
#define FASTJOIN_JSONL_SCAN_H

#include <Python.h> /* Py_ssize_t */
#include <math.h>   /* NAN */
#include <stdint.h>
#include <string.h>

#include "csv_simd.h" /* fj_swar8_value */
#include "fj_assert.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define FJ_JSON_OK 0
#define FJ_JSON_FALLBACK 1
#define FJ_JSON_DEPTH 64      /* deeper values are left to orjson (it reads 1024 levels) */
#define FJ_JSON_INT_DIGITS 100 /* with at most 2 exponent digits: far inside double's range */
#define FJ_JSON_PARSED (-1)    /* a feature's span length when the scan wrote its value */

/* What to find in each record. names[name_spans[2j] : +name_spans[2j+1]] is name j (UTF-8,
   unescaped): with `array`, one name selects an array of numbers under that top-level key and
   no name selects the record itself (an array); without it, the values of the named
   top-level keys, in order. The output: n_out < 0 keeps every top-level member, sorted by key
   (no key repeated), the prediction inserted where its name sorts; n_out >= 0 keeps the members
   out_names (in that order), where the one equal to pred_name is the prediction. */
typedef struct {
    const unsigned char *names;
    const int64_t *name_spans;
    Py_ssize_t n_names;
    int array;
    Py_ssize_t width; /* numbers per record */
    const unsigned char *out_names;
    const int64_t *out_spans;
    Py_ssize_t n_out;
    const unsigned char *pred_name;
    Py_ssize_t pred_len;
} fj_json_query;

typedef struct {
    const unsigned char *p;
    Py_ssize_t i, end;
    Py_ssize_t limit;  /* bytes readable from p (the buffer's size; end <= limit) */
    int compact;       /* cleared when the value scanned is not in the form fastjoin writes */
    Py_ssize_t n_text; /* features left as text for the caller to parse */
} fj_json_cursor;

static inline int fj_json_is_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skips JSON whitespace; any inside a kept value makes it not compact. */
static inline void fj_json_ws(fj_json_cursor *c, int inside) {
    Py_ssize_t i = c->i;
    while (i < c->end && fj_json_is_ws(c->p[i]))
        i++;
    if (inside && i != c->i)
        c->compact = 0;
    c->i = i;
}

static inline int fj_json_hex(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* One UTF-8 sequence starting with lead byte p[i] >= 0x80 (Unicode's well-formed table: no
   overlongs, no surrogates, nothing above U+10FFFF); its length, or 0 when ill-formed. */
static inline Py_ssize_t fj_json_utf8(const unsigned char *p, Py_ssize_t i, Py_ssize_t end) {
    unsigned char b0 = p[i], lo = 0x80, hi = 0xBF;
    Py_ssize_t n, k;
    if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (end - i < n) return 0;
    if (p[i + 1] < lo || p[i + 1] > hi) return 0;
    for (k = 2; k < n; k++)
        if ((p[i + k] & 0xC0) != 0x80) return 0;
    return n;
}

/* A string at p[i] == '"'; *escaped set when it holds a backslash (not copied as is). */
static int fj_json_string(fj_json_cursor *c, int *escaped) {
    const unsigned char *p = c->p;
    Py_ssize_t i = c->i + 1, end = c->end, n;
    int k, h, code;
    FJ_ASSERT(c->i < end && p[c->i] == '"');
    *escaped = 0;
    while (i < end) {
        unsigned char b = p[i];
        if (b == '"') {
            c->i = i + 1;
            return FJ_JSON_OK;
        }
        if (b < 0x20) return FJ_JSON_FALLBACK; /* a control character (orjson's error) */
        if (b == '\\') {
            *escaped = 1;
            if (i + 1 >= end) return FJ_JSON_FALLBACK;
            b = p[i + 1];
            if (b == 'u') {
                if (end - i < 6) return FJ_JSON_FALLBACK;
                code = 0;
                for (k = 2; k < 6; k++) {
                    h = fj_json_hex(p[i + k]);
                    if (h < 0) return FJ_JSON_FALLBACK;
                    code = code * 16 + h;
                }
                if (code >= 0xD800 && code <= 0xDFFF) return FJ_JSON_FALLBACK; /* surrogates: orjson */
                i += 6;
            } else if (b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' || b == 'n' ||
                       b == 'r' || b == 't') {
                i += 2;
            } else
                return FJ_JSON_FALLBACK;
        } else if (b >= 0x80) {
            n = fj_json_utf8(p, i, end);
            if (n == 0) return FJ_JSON_FALLBACK;
            i += n;
        } else
            i++;
    }
    return FJ_JSON_FALLBACK; /* unterminated */
}

static inline int fj_json_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* A number (RFC 8259 grammar) at p[i]; one far from double's range is left to orjson, which
   refuses those that overflow. */
static int fj_json_number(fj_json_cursor *c) {
    const unsigned char *p = c->p;
    Py_ssize_t i = c->i, end = c->end, first;
    if (i < end && p[i] == '-') i++;
    first = i;
    if (i >= end || !fj_json_digit(p[i])) return FJ_JSON_FALLBACK;
    if (p[i] == '0')
        i++;
    else
        while (i < end && fj_json_digit(p[i])) i++;
    if (i - first > FJ_JSON_INT_DIGITS) return FJ_JSON_FALLBACK;
    if (i < end && p[i] == '.') {
        i++;
        if (i >= end || !fj_json_digit(p[i])) return FJ_JSON_FALLBACK;
        while (i < end && fj_json_digit(p[i])) i++;
    }
    if (i < end && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < end && (p[i] == '+' || p[i] == '-')) i++;
        first = i;
        while (i < end && fj_json_digit(p[i])) i++;
        if (i == first || i - first > 2) return FJ_JSON_FALLBACK;
    }
    c->i = i;
    return FJ_JSON_OK;
}

static inline int fj_json_word(fj_json_cursor *c, const char *w, Py_ssize_t n) {
    if (c->end - c->i < n || memcmp(c->p + c->i, w, n) != 0) return FJ_JSON_FALLBACK;
    c->i += n;
    return FJ_JSON_OK;
}

/* Any value at p[i] (whitespace already skipped). A nested object is never compact: its keys
   would have to be sorted and unique, which this scan does not check. */
static int fj_json_value(fj_json_cursor *c, int depth) {
    int escaped;
    if (c->i >= c->end) return FJ_JSON_FALLBACK;
    switch (c->p[c->i]) {
    case '"':
        if (fj_json_string(c, &escaped)) return FJ_JSON_FALLBACK;
        if (escaped) c->compact = 0;
        return FJ_JSON_OK;
    case 't': return fj_json_word(c, "true", 4);
    case 'f': return fj_json_word(c, "false", 5);
    case 'n': return fj_json_word(c, "null", 4);
    case '[':
    case '{': {
        unsigned char close = c->p[c->i] == '[' ? ']' : '}';
        if (depth >= FJ_JSON_DEPTH) return FJ_JSON_FALLBACK;
        if (close == '}') c->compact = 0;
        c->i++;
        fj_json_ws(c, 1);
        if (c->i < c->end && c->p[c->i] == close) {
            c->i++;
            return FJ_JSON_OK;
        }
        for (;;) {
            if (close == '}') {
                if (c->i >= c->end || c->p[c->i] != '"' || fj_json_string(c, &escaped))
                    return FJ_JSON_FALLBACK;
                fj_json_ws(c, 1);
                if (c->i >= c->end || c->p[c->i] != ':') return FJ_JSON_FALLBACK;
                c->i++;
                fj_json_ws(c, 1);
            }
            if (fj_json_value(c, depth + 1)) return FJ_JSON_FALLBACK;
            fj_json_ws(c, 1);
            if (c->i >= c->end) return FJ_JSON_FALLBACK;
            if (c->p[c->i] == close) {
                c->i++;
                return FJ_JSON_OK;
            }
            if (c->p[c->i] != ',') return FJ_JSON_FALLBACK;
            c->i++;
            fj_json_ws(c, 1);
        }
    }
    default:
        return fj_json_number(c);
    }
}

/* 10**k as integers and as (exact) doubles, k <= 8: the fast number path's scales; the masks
   that keep the top k bytes of a word; a sign as a factor (multiplying by -1 is exact). */
static const uint64_t fj_json_pow10_int[9] = {1,      10,      100,      1000,     10000,
                                              100000, 1000000, 10000000, 100000000};
static const double fj_json_pow10[9] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
static const uint64_t fj_json_top_bytes[9] = {
    0,
    0xFF00000000000000ULL, 0xFFFF000000000000ULL, 0xFFFFFF0000000000ULL, 0xFFFFFFFF00000000ULL,
    0xFFFFFFFFFF000000ULL, 0xFFFFFFFFFFFF0000ULL, 0xFFFFFFFFFFFFFF00ULL, 0xFFFFFFFFFFFFFFFFULL};
static const double fj_json_sign[2] = {1.0, -1.0};

/* The value of the n <= 8 ASCII digits in the top bytes of w (0 for none): the others are
   masked to zero, which reads as leading zeros; then csv_simd.h's fj_swar8_value. No branch depends on n: a number's length is what varies from one to the
   next, and a mispredicted branch costs more than all of this. */
static inline uint64_t fj_json_swar8(uint64_t w, unsigned n) {
    uint64_t keep = fj_json_top_bytes[n];
    FJ_ASSERT(n <= 8);
    /* mask before subtracting: a byte below '0' outside the digits would borrow into them */
    return fj_swar8_value((w & keep) - (0x3030303030303030ULL & keep));
}

/* The eight bytes ending just before s[0] (8 bytes readable before s). */
static inline uint64_t fj_json_word_before(const unsigned char *s) {
    uint64_t w;
    memcpy(&w, s - 8, 8);
    return w;
}

/* The shape nearly every feature has, [-]digits[.digits] with at most 8 digits before the
   dot and 8 after, validated and parsed in one step: its 16 bytes classified at once (SSE2),
   the digits converted eight at a time, and one branch on the outcome, where the byte scan
   and the parser behind it take a branch per byte (mispredicted where each number ends) and
   read the text twice. Measured on the benchmark's features, this path is bounded by the
   instructions it issues, so the checks are folded into one word rather than branched on.

   The value is _core's _parse_f32's for that text: the same division of two exact doubles
   (mant <= 2**53, 10**dec), then float32; the integer -0 is 0 (orjson reads an int). Returns
   the number's length (p[i:i+len] inside the record) with *out set, or 0 when the text has
   any other shape or is invalid, or the buffer has fewer than 8 bytes before i or 18 from it:
   fj_json_number and _parse_f32 then decide, as without this path. */
static inline Py_ssize_t fj_json_fast_number(const unsigned char *p, Py_ssize_t i, Py_ssize_t end,
                                             Py_ssize_t limit, float *out) {
#if defined(__SSE2__)
    unsigned other, dots, neg, first, ints, dot, len, dec, bad;
    uint64_t mant;
    if (i < 8 || i >= end || limit - i < 18) return 0;
    {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i t = _mm_sub_epi8(v, _mm_set1_epi8('0')); /* a digit: 0..9, unsigned */
        unsigned digit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(9)), t));
        dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
        /* two bits past the window stop the scans below (the second after the first is cleared) */
        other = (~digit & 0xFFFFu) | 0x30000u;
    }
    neg = p[i] == '-';
    other &= ~neg; /* a leading '-' is passed over like a digit */
    first = (unsigned)__builtin_ctz(other); /* the integer part's end */
    ints = first - neg;
    dot = (dots >> first) & 1;
    len = dot ? (unsigned)__builtin_ctz(other & ~(1u << first)) : first;
    dec = len - first - dot; /* 0 without a dot */
    /* no digit or too many; a leading zero (invalid); "1." (invalid) or too many decimals; no
       end in sight; an exponent (the byte scan's); past the record. A second dot is left to
       the caller, which finds no separator there and falls back, as after the byte scan. */
    bad = (ints - 1 > 7) | ((p[i + neg] == '0') & (ints > 1)) | (dot & (dec - 1 > 7)) | (len > 15) |
          ((p[i + len] | 0x20) == 'e') | (i + (Py_ssize_t)len > end);
    if (bad) return 0;
    if (ints + dec <= 8) {
        /* all the digits in one word: the eight bytes ending with the number, with the dot
           squeezed out: the bytes below the decimals come from the word one byte earlier */
        uint64_t last = fj_json_top_bytes[dec] | ((uint64_t)dot - 1); /* no dot: all */
        mant = fj_json_swar8((fj_json_word_before(p + i + len) & last) |
                                 (fj_json_word_before(p + i + len - 1) & ~last),
                             ints + dec);
    } else {
        mant = fj_json_swar8(fj_json_word_before(p + i + first), ints) * fj_json_pow10_int[dec] +
               fj_json_swar8(fj_json_word_before(p + i + len), dec);
    }
    if (mant > ((uint64_t)1 << 53)) return 0; /* not exact in a double: the general parser's */
    *out = (float)((double)mant / fj_json_pow10[dec] * fj_json_sign[neg & (dec || mant)]);
    return len;
#else
    (void)p, (void)i, (void)end, (void)limit, (void)out;
    return 0;
#endif
}

/* A feature the fast path did not take: null, or a number scanned byte by byte. Its value
   goes to *x with length FJ_JSON_PARSED at num[1] where it is known here (null: NaN; the
   integer -0: 0, as orjson reads an int), else its span to num[0..1] for _core's parser. */
static inline int fj_json_feature_slow(fj_json_cursor *c, int64_t *num, float *x) {
    Py_ssize_t start = c->i;
    const unsigned char *p = c->p;
    num[0] = start;
    if (start < c->end && p[start] == 'n') {
        if (fj_json_word(c, "null", 4)) return FJ_JSON_FALLBACK;
        *x = NAN; /* null is a missing value */
        num[1] = FJ_JSON_PARSED;
        return FJ_JSON_OK;
    }
    if (start >= c->end || !(p[start] == '-' || fj_json_digit(p[start])))
        return FJ_JSON_FALLBACK; /* anything else is orjson's path (and its FeatureError) */
    if (fj_json_number(c)) return FJ_JSON_FALLBACK;
    if (c->i - start == 2 && p[start] == '-' && p[start + 1] == '0') {
        *x = 0.0f;
        num[1] = FJ_JSON_PARSED;
        return FJ_JSON_OK;
    }
    num[1] = c->i - start;
    c->n_text++;
    return FJ_JSON_OK;
}

/* A feature: a number or null at p[i], its value or its span as fj_json_feature_slow says. */
static inline int fj_json_feature(fj_json_cursor *c, int64_t *num, float *x) {
    Py_ssize_t n = fj_json_fast_number(c->p, c->i, c->end, c->limit, x);
    if (n > 0) {
        num[0] = c->i;
        num[1] = FJ_JSON_PARSED;
        c->i += n;
        return FJ_JSON_OK;
    }
    return fj_json_feature_slow(c, num, x);
}

/* An array of exactly q->width features at p[i] == '[' (whitespace inside: not compact). The
   loop keeps its position in a local, off the cursor: as far as the compiler knows, the
   stores to num and x may alias the cursor, so it would reload the position from memory
   after each of them. Compact text ("1.5,2") goes straight from one number to the next. */
static int fj_json_features(fj_json_cursor *c, const fj_json_query *q, int64_t *num, float *x) {
    const unsigned char *p = c->p;
    const Py_ssize_t end = c->end, limit = c->limit, width = q->width;
    Py_ssize_t n = 0, i, len;
    FJ_ASSERT(p[c->i] == '[');
    c->i++;
    fj_json_ws(c, 1);
    if (c->i < end && p[c->i] == ']') {
        c->i++;
        return width == 0 ? FJ_JSON_OK : FJ_JSON_FALLBACK;
    }
    i = c->i;
    for (;;) {
        if (n >= width) return FJ_JSON_FALLBACK;
        len = fj_json_fast_number(p, i, end, limit, x + n);
        if (len > 0) {
            num[2 * n] = i;
            num[2 * n + 1] = FJ_JSON_PARSED;
            i += len;
        } else {
            c->i = i;
            if (fj_json_feature_slow(c, num + 2 * n, x + n)) return FJ_JSON_FALLBACK;
            i = c->i;
        }
        n++;
        if (i + 1 < end && p[i] == ',' && !fj_json_is_ws(p[i + 1])) { /* compact: "1,2" */
            i++;
            continue;
        }
        c->i = i;
        fj_json_ws(c, 1);
        if (c->i >= end) return FJ_JSON_FALLBACK;
        if (p[c->i] == ']') {
            c->i++;
            return n == width ? FJ_JSON_OK : FJ_JSON_FALLBACK;
        }
        if (p[c->i] != ',') return FJ_JSON_FALLBACK;
        c->i++;
        fj_json_ws(c, 1);
        i = c->i;
    }
}

/* The first difference of a[0:n] and b[0:n] (a[k] - b[k]), or 0. Keys are short and mostly
   differ early: a loop here costs less than the call to the library's memcmp. */
static inline int fj_json_diff(const unsigned char *a, const unsigned char *b, Py_ssize_t n) {
    Py_ssize_t k;
    for (k = 0; k < n; k++)
        if (a[k] != b[k]) return (int)a[k] - (int)b[k];
    return 0;
}

/* Index of the name equal to p[s:s+n] among n_names spans (try `hint` first), or -1. */
static inline Py_ssize_t fj_json_lookup(const unsigned char *names, const int64_t *spans,
                                        Py_ssize_t n_names, const unsigned char *s, Py_ssize_t n,
                                        Py_ssize_t hint) {
    Py_ssize_t j;
    if (hint >= 0 && hint < n_names && spans[2 * hint + 1] == n &&
        fj_json_diff(names + spans[2 * hint], s, n) == 0)
        return hint;
    for (j = 0; j < n_names; j++)
        if (spans[2 * j + 1] == n && fj_json_diff(names + spans[2 * j], s, n) == 0) return j;
    return -1;
}

/* memcmp order of two byte strings (shorter first on a common prefix): UTF-8 byte order is
   code point order, the order orjson sorts keys in. */
static inline int fj_json_cmp(const unsigned char *a, Py_ssize_t na, const unsigned char *b,
                              Py_ssize_t nb) {
    int d = fj_json_diff(a, b, na < nb ? na : nb);
    return d ? d : (na > nb) - (na < nb);
}

/* The kept members mem[0..*m) sorted by key (orjson's order: UTF-8 bytes), the prediction
   inserted where its name sorts. A repeated key, or one equal to the prediction's name, is
   left to orjson (it keeps the last value; the join overwrites). Insertion sort: records
   mostly come sorted already, or nearly. */
static int fj_json_sort_members(const unsigned char *p, const fj_json_query *q, int64_t *mem,
                                Py_ssize_t mem_cap, Py_ssize_t *m) {
    Py_ssize_t n = *m, j, k, at = n;
    int64_t t[4];
    int d;
    for (j = 1; j < n; j++) {
        memcpy(t, mem + 4 * j, sizeof t);
        for (k = j; k > 0 && fj_json_cmp(p + mem[4 * (k - 1)] + 1, mem[4 * (k - 1) + 1] - 2, p + t[0] + 1,
                                         t[1] - 2) > 0;
             k--)
            memcpy(mem + 4 * k, mem + 4 * (k - 1), sizeof t);
        memcpy(mem + 4 * k, t, sizeof t);
    }
    for (j = 0; j < n; j++) {
        if (j > 0 && fj_json_cmp(p + mem[4 * (j - 1)] + 1, mem[4 * (j - 1) + 1] - 2, p + mem[4 * j] + 1,
                                 mem[4 * j + 1] - 2) == 0)
            return FJ_JSON_FALLBACK;
        d = fj_json_cmp(q->pred_name, q->pred_len, p + mem[4 * j] + 1, mem[4 * j + 1] - 2);
        if (d == 0) return FJ_JSON_FALLBACK;
        if (d < 0 && at == n) at = j;
    }
    if (n >= mem_cap) return FJ_JSON_FALLBACK;
    memmove(mem + 4 * (at + 1), mem + 4 * at, (size_t)(n - at) * 4 * sizeof(int64_t));
    mem[4 * at] = -1;
    mem[4 * at + 1] = mem[4 * at + 2] = mem[4 * at + 3] = 0;
    *m = n + 1;
    return FJ_JSON_OK;
}

/* How many bytes of p[start:end] equal b: 16 at a time (SSE2), each compare's -1 bytes
   subtracted into byte counters that are summed (psadbw) before they can wrap. */
static inline Py_ssize_t fj_json_count(const unsigned char *p, Py_ssize_t start, Py_ssize_t end,
                                       unsigned char b) {
    Py_ssize_t i = start, n = 0;
#if defined(__SSE2__)
    const __m128i want = _mm_set1_epi8((char)b), zero = _mm_setzero_si128();
    while (end - i >= 16) {
        __m128i acc = zero, sums;
        int k;
        for (k = 0; k < 255 && end - i >= 16; k++, i += 16)
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), want));
        sums = _mm_sad_epu8(acc, zero);
        n += _mm_cvtsi128_si32(sums) + _mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
    }
#endif
    for (; i < end; i++)
        n += p[i] == b;
    return n;
}

/* Scans the record p[start:end] (limit: bytes readable from p, at least end). Fills x (width
   floats: the features' values the scan parsed), num (2 * width: each feature's span, its
   length FJ_JSON_PARSED when x holds the value, else the number's text for the caller to
   parse) and mem (4 per kept member: key start and length with its quotes, value start and
   length; key start -1 for the prediction), at most mem_cap members, *n_mem their count;
   *n_text: how many features num leaves as text. Returns FJ_JSON_OK or FJ_JSON_FALLBACK (the
   record is orjson's to read). */
static int fj_json_scan(const unsigned char *p, Py_ssize_t start, Py_ssize_t end, Py_ssize_t limit,
                        const fj_json_query *q, int64_t *num, float *x, int64_t *mem,
                        Py_ssize_t mem_cap, Py_ssize_t *n_mem, Py_ssize_t *n_text) {
    fj_json_cursor c = {p, start, end, limit, 1, 0};
    Py_ssize_t j, k, m = 0, found = 0, hint = 0, key, key_len, v;
    int escaped;
    int keep_all = q->n_out < 0;
    FJ_ASSERT(0 <= start && start <= end && end <= limit);
    *n_mem = 0;
    fj_json_ws(&c, 0);
    if (c.i >= end) return FJ_JSON_FALLBACK; /* blank: the caller's rule */
    if (q->array && q->n_names == 0) {       /* $ on an array record */
        if (p[c.i] != '[' || q->n_out != 0 || fj_json_features(&c, q, num, x)) return FJ_JSON_FALLBACK;
        fj_json_ws(&c, 0);
        *n_text = c.n_text;
        return c.i == end ? FJ_JSON_OK : FJ_JSON_FALLBACK;
    }
    if (p[c.i] != '{') return FJ_JSON_FALLBACK;
    if (!q->array)
        for (j = 0; j < q->n_names; j++) num[2 * j] = -1; /* not seen yet */
    if (q->n_out > 0) {
        if (q->n_out > mem_cap) return FJ_JSON_FALLBACK;
        for (k = 0; k < q->n_out; k++) mem[4 * k] = -2; /* not seen yet */
    }
    c.i++;
    fj_json_ws(&c, 0);
    if (c.i < end && p[c.i] == '}') return FJ_JSON_FALLBACK; /* {}: no features */
    for (;;) {
        if (c.i >= end || p[c.i] != '"') return FJ_JSON_FALLBACK;
        key = c.i;
        if (fj_json_string(&c, &escaped) || escaped) return FJ_JSON_FALLBACK;
        key_len = c.i - key;
        fj_json_ws(&c, 0);
        if (c.i >= end || p[c.i] != ':') return FJ_JSON_FALLBACK;
        c.i++;
        fj_json_ws(&c, 0);
        if (c.i >= end) return FJ_JSON_FALLBACK;
        v = c.i;
        c.compact = 1;
        j = fj_json_lookup(q->names, q->name_spans, q->n_names, p + key + 1, key_len - 2, hint);
        if (j >= 0) {
            if (q->array) {
                if (found || p[c.i] != '[' || fj_json_features(&c, q, num, x)) return FJ_JSON_FALLBACK;
                found = 1;
            } else {
                if (num[2 * j] != -1 || fj_json_feature(&c, num + 2 * j, x + j)) return FJ_JSON_FALLBACK;
                found++;
                hint = j + 1;
            }
        } else if (fj_json_value(&c, 1))
            return FJ_JSON_FALLBACK;
        if (keep_all) {
            if (!c.compact || m >= mem_cap) return FJ_JSON_FALLBACK;
            mem[4 * m] = key;
            mem[4 * m + 1] = key_len;
            mem[4 * m + 2] = v;
            mem[4 * m + 3] = c.i - v;
            m++;
        } else if (q->n_out > 0) {
            k = fj_json_lookup(q->out_names, q->out_spans, q->n_out, p + key + 1, key_len - 2, -1);
            if (k >= 0) {
                /* a repeated key is orjson's (the last one wins there); the prediction's name
                   in the record is overwritten by it */
                if (mem[4 * k] != -2) return FJ_JSON_FALLBACK;
                if (q->out_spans[2 * k + 1] == q->pred_len &&
                    memcmp(q->out_names + q->out_spans[2 * k], q->pred_name, q->pred_len) == 0)
                    return FJ_JSON_FALLBACK;
                if (!c.compact) return FJ_JSON_FALLBACK;
                mem[4 * k] = key;
                mem[4 * k + 1] = key_len;
                mem[4 * k + 2] = v;
                mem[4 * k + 3] = c.i - v;
            }
        }
        fj_json_ws(&c, 0);
        if (c.i >= end) return FJ_JSON_FALLBACK;
        if (p[c.i] == '}') break;
        if (p[c.i] != ',') return FJ_JSON_FALLBACK;
        c.i++;
        fj_json_ws(&c, 0);
    }
    c.i++;
    fj_json_ws(&c, 0);
    if (c.i != end) return FJ_JSON_FALLBACK; /* trailing bytes */
    if (q->array ? !found : found != q->n_names) return FJ_JSON_FALLBACK; /* a name is missing */
    if (keep_all && fj_json_sort_members(p, q, mem, mem_cap, &m)) return FJ_JSON_FALLBACK;
    for (k = 0; k < q->n_out; k++) {
        if (mem[4 * k] == -2) {
            if (q->out_spans[2 * k + 1] != q->pred_len ||
                memcmp(q->out_names + q->out_spans[2 * k], q->pred_name, q->pred_len) != 0)
                return FJ_JSON_FALLBACK; /* a kept name is missing */
            mem[4 * k] = -1;
            mem[4 * k + 1] = mem[4 * k + 2] = mem[4 * k + 3] = 0;
        }
    }
    *n_mem = keep_all ? m : (q->n_out > 0 ? q->n_out : 0);
    *n_text = c.n_text;
    return FJ_JSON_OK;
}

#endif /* FASTJOIN_JSONL_SCAN_H */
