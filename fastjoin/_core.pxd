# Declarations of fastjoin._core (the pxd that _core.pyx shares its name with): the C helpers
# in src/csv_simd.h and the status codes the core's functions return.
from libc.stdint cimport int64_t

cdef extern from "src/csv_simd.h" nogil:
    # unsigned __int128 in C. Cython has no 128-bit type and, for an extern typedef, needs
    # only the general kind: the generated C does the arithmetic on all 128 bits. Keep it in
    # C (no conversion to or from a Python object): Cython's idea of its width is wrong.
    ctypedef unsigned long long fj_u128

    # Field starts and lengths of the quote-free line buf[start:end], appended at
    # fields[2*nf...] (one spare slot needed); returns the new field count. Cannot fail.
    Py_ssize_t fj_split_plain(const unsigned char* buf, Py_ssize_t start, Py_ssize_t end,
                              int64_t* fields, Py_ssize_t nf)
    # [-]digits[.digits] of at most 8 characters after the '-' (avail: bytes readable from
    # s): 0 with *out set, or -1 when the field has another shape (the full parser decides).
    int fj_parse_short(const unsigned char* s, Py_ssize_t n, Py_ssize_t avail,
                       const double* pow10, double* out)

    # a GCC/Clang builtin (the header refuses other compilers); undefined for 0
    int __builtin_clzll(unsigned long long)

# The status codes, which _core.pyx exports as OK, ERR_*: the numbers of fastjoin/_status.py,
# Python's one definition, needed here at compile time (tests/test_core.py checks they agree).
cdef enum:
    FJ_OK = 0
    FJ_ERR_BARE_QUOTE = 1
    FJ_ERR_UNTERMINATED_QUOTE = 2
    FJ_ERR_AFTER_QUOTE = 3
    FJ_ERR_BLANK_LINE = 4
    FJ_ERR_NUMBER = 5

cdef extern from "src/jsonl_scan.h" nogil:
    enum:
        FJ_JSON_OK
        FJ_JSON_FALLBACK
        FJ_JSON_PARSED
    ctypedef struct fj_json_query:
        const unsigned char* names
        const int64_t* name_spans
        Py_ssize_t n_names
        int array
        Py_ssize_t width
        const unsigned char* out_names
        const int64_t* out_spans
        Py_ssize_t n_out
        const unsigned char* pred_name
        Py_ssize_t pred_len
    # Scans one JSON Lines record (see the header): FJ_JSON_OK with the features' values in
    # x or, where their span's length is not FJ_JSON_PARSED (n_text of them), their text in
    # num for the caller to parse, and the kept members in mem; or FJ_JSON_FALLBACK for a
    # record orjson must read. Cannot fail otherwise.
    int fj_json_scan(const unsigned char* p, Py_ssize_t start, Py_ssize_t end, Py_ssize_t limit,
                     const fj_json_query* q, int64_t* num, float* x, int64_t* mem,
                     Py_ssize_t mem_cap, Py_ssize_t* n_mem, Py_ssize_t* n_text)
    # How many bytes of p[start:end] equal b. Cannot fail.
    Py_ssize_t fj_json_count(const unsigned char* p, Py_ssize_t start, Py_ssize_t end, unsigned char b)
