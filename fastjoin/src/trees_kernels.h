/* fastjoin/src/trees_kernels.h: the kernels of fastjoin._trees (see _trees.pyx for what makes
   them bit-identical to XGBoost), declared to Cython in fastjoin/_trees.pxd: XGBoost's output
   transforms, the complete-layout block kernels (scalar, AVX2, AVX-512, each with a variant for
   blocks holding a NaN) and the node-layout walk.

   Included by the one C file Cython generates from _trees.pyx, after Python.h, so every
   function is static (inline only where it was written so: the qualifiers decide GCC's
   inlining, and with it the speed). The AVX2/AVX-512 kernels and their runtime dispatch
   (__attribute__((target)), __builtin_cpu_supports, __builtin_cpu_is) need GCC or Clang on
   x86-64; elsewhere only the scalar kernels are compiled. */
#ifndef FASTJOIN_TREES_KERNELS_H
#define FASTJOIN_TREES_KERNELS_H

#include <Python.h> /* Py_ssize_t */
#include <stdint.h>

#include "fj_assert.h"

#include <math.h>
#define FJ_BLOCK 64
#define FJ_BLOCK_SHIFT 6  /* log2(FJ_BLOCK) */

/* the transform codes shared with fastjoin/trees.py */
enum { FJ_IDENTITY = 0, FJ_SIGMOID = 1, FJ_EXP = 2, FJ_SOFTMAX = 3, FJ_ARGMAX = 4 };

/* XGBoost's float Sigmoid: the exponent clamped to avoid overflow, an epsilon that
   cannot change a sum >= 1, all in float32. */
static inline float fj_sigmoid(float x) {
    float e = -x;
    if (88.7f < e) e = 88.7f;
    float denom = (expf(e) + 1.0f) + 1e-16f;  /* as XGBoost: (expf + 1) + eps */
    return 1.0f / denom;
}

/* XGBoost's ProbToMargin, in float32: the logistic link bounds the base score to
   [kRtEps, 1 - kRtEps] (kRtEps = 1e-6f; Min/Max as XGBoost writes them, so a NaN passes)
   before -logf(1/p - 1); the log link is logf; the others keep the score. */
static float fj_base_margin(float score, int transform) {
    const float eps = 1e-6f;
    if (transform == FJ_SIGMOID) {
        float p = score < eps ? eps : score;
        p = p > 1.0f - eps ? 1.0f - eps : p;
        return -logf(1.0f / p - 1.0f);
    }
    return transform == FJ_EXP ? logf(score) : score;
}

/* margins: n rows of k values; out: n rows of k values (k = 1 unless SOFTMAX), or n
   values (ARGMAX). SOFTMAX is XGBoost's: the max by fmaxf, exponentials summed in a
   double, each divided by that sum as a float. ARGMAX: the first largest. */
static void fj_transform(const float *m, Py_ssize_t n, Py_ssize_t k, int transform,
                         float *out) {
    Py_ssize_t r, j;
    FJ_ASSERT(n > 0 && k > 0 && FJ_IDENTITY <= transform && transform <= FJ_ARGMAX);
    if (transform == FJ_SOFTMAX) {
        for (r = 0; r < n; r++) {
            const float *row = m + r * k;
            float *o = out + r * k, wmax = row[0];
            double wsum = 0.0;
            for (j = 1; j < k; j++) wmax = fmaxf(row[j], wmax);
            for (j = 0; j < k; j++) {
                o[j] = expf(row[j] - wmax);
                /* wsum += o[j] as XGBoost's binary adds them: a NaN sum keeps its own
                   NaN (a + leaves the operand order to the compiler) */
                wsum = wsum != wsum ? wsum : wsum + o[j];
            }
            for (j = 0; j < k; j++) o[j] /= (float)wsum;
        }
    } else if (transform == FJ_ARGMAX) {
        for (r = 0; r < n; r++) {
            const float *row = m + r * k;
            Py_ssize_t best = 0;
            for (j = 1; j < k; j++) if (row[j] > row[best]) best = j;
            out[r] = (float)best;
        }
    } else {
        for (r = 0; r < n * k; r++)
            out[r] = transform == FJ_SIGMOID ? fj_sigmoid(m[r])
                     : transform == FJ_EXP ? expf(m[r]) : m[r];
    }
}

/* Complete layout: tree t has depth[t] levels of internal nodes at node_off[t] (feat,
   thr, nan_mask: -1 where a NaN goes right, else 0; the arrays have FJ_PAD spare
   entries at the end) and 2^depth[t]
   leaves at leaf_off[t]. Each kernel adds the trees' leaves for rows [0, nb) of a block
   to acc. */
#define FJ_PAD 32

/* one step down the tree for row r: XGBoost's !(x < t) goes right (also when t is NaN),
   a NaN x takes the node's default; branch-free, since the direction is a coin toss */
#define FJ_LANES 8  /* rows walked together by the scalar kernel */
#define FJ_STEP(i, r) do { \
        float v_ = cols[f[i] * FJ_BLOCK + (r)]; \
        int32_t nan_ = v_ != v_; \
        (i) = 2 * (i) + 1 + ((!(v_ < th[i]) & !nan_) | (nan_ & nm[i])); \
    } while (0)

/* sum + leaf as XGBoost's binary adds them: when both are NaN the leaf's NaN survives
   (quietened), so a NaN leaf replaces the sum. The operand order of a C + does not
   decide it (compilers swap operands), so the NaN leaf is chosen explicitly. */
static inline float fj_add_leaf(float sum, float leaf) {
    return (leaf != leaf ? leaf : sum) + leaf;
}

static void fj_block_scalar(const float *cols, int nb, const int32_t *feat,
                            const float *thr, const int32_t *nan_mask,
                            const float *leaf, const int64_t *node_off,
                            const int64_t *leaf_off, const int32_t *depth,
                            Py_ssize_t n_trees, float *acc) {
    Py_ssize_t t;
    int k, d, r, j;
    FJ_ASSERT(0 < nb && nb <= FJ_BLOCK);
    for (t = 0; t < n_trees; t++) {
        const int32_t *f = feat + node_off[t];
        const float *th = thr + node_off[t];
        const int32_t *nm = nan_mask + node_off[t];
        d = depth[t];
        FJ_ASSERT(0 <= d && d < 31);
        const float *lf = leaf + leaf_off[t] - ((1 << d) - 1);
        /* eight rows at a time, in lockstep: each row's walk is a chain of dependent
           loads, and eight independent chains keep the CPU busy */
        for (r = 0; r + FJ_LANES <= nb; r += FJ_LANES) {
            int32_t i[FJ_LANES] = {0};
            for (k = 0; k < d; k++)
                for (j = 0; j < FJ_LANES; j++) FJ_STEP(i[j], r + j);
            for (j = 0; j < FJ_LANES; j++) acc[r + j] = fj_add_leaf(acc[r + j], lf[i[j]]);
        }
        for (; r < nb; r++) {
            int32_t i = 0;
            for (k = 0; k < d; k++) FJ_STEP(i, r);
            acc[r] = fj_add_leaf(acc[r], lf[i]);
        }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define FJ_HAVE_AVX2 1
#include <immintrin.h>

/* Eight rows per vector. The block comes transposed, cols[feature * FJ_BLOCK + row], so
   that the first three levels, where a vector's rows meet at most four nodes, read their
   features with plain loads (gathers are the slow part); deeper levels gather. Node
   fields are looked up in registers for levels 0-4 (nodes 0-30, by permutes) and
   gathered below that. nans: the block has a NaN, so each step also looks up the node's
   default direction (nan_mask: -1 right, 0 left) for the lanes whose value is NaN; a
   constant in each caller, so the compiler builds a variant without that work. */
__attribute__((target("avx2"), always_inline))
static inline void fj_block_avx2_impl(const float *cols, const int32_t *feat,
                                      const float *thr, const int32_t *nan_mask,
                                      const float *leaf, const int64_t *node_off,
                                      const int64_t *leaf_off, const int32_t *depth,
                                      Py_ssize_t n_trees, float *acc, const int nans) {
    enum { G = FJ_BLOCK / 8 };
    __m256 sum[G];
    __m256i rowoff[G], idx[G];
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    Py_ssize_t t;
    int g, k, d;
    for (g = 0; g < G; g++) {
        sum[g] = _mm256_loadu_ps(acc + 8 * g);
        rowoff[g] = _mm256_add_epi32(lanes, _mm256_set1_epi32(8 * g));
    }
    for (t = 0; t < n_trees; t++) {
        const int32_t *f = feat + node_off[t];
        const float *th = thr + node_off[t];
        const int32_t *nm = nan_mask + node_off[t];
        d = depth[t];
        const float *lf = leaf + leaf_off[t];
        const __m256i first_leaf = _mm256_set1_epi32((1 << d) - 1);
        const __m256 t0 = _mm256_loadu_ps(th);
        const __m256i n0 = nans ? _mm256_loadu_si256((const __m256i *)nm) : _mm256_setzero_si256();
        for (g = 0; g < G; g++) idx[g] = _mm256_setzero_si256();
        for (k = 0; k < d; k++) {
            __m256i fa = _mm256_setzero_si256(), fb = fa, shift = fa, na = n0, nb = n0;
            __m256 ta = t0, tb = t0;
            if (k == 3) {
                fa = fb = _mm256_loadu_si256((const __m256i *)(f + 7));
                ta = tb = _mm256_loadu_ps(th + 7);
                if (nans) na = nb = _mm256_loadu_si256((const __m256i *)(nm + 7));
                shift = _mm256_set1_epi32(7);
            } else if (k == 4) {
                fa = _mm256_loadu_si256((const __m256i *)(f + 15));
                fb = _mm256_loadu_si256((const __m256i *)(f + 23));
                ta = _mm256_loadu_ps(th + 15);
                tb = _mm256_loadu_ps(th + 23);
                if (nans) {
                    na = _mm256_loadu_si256((const __m256i *)(nm + 15));
                    nb = _mm256_loadu_si256((const __m256i *)(nm + 23));
                }
                shift = _mm256_set1_epi32(15);
            }
            for (g = 0; g < G; g++) {
                __m256 v, ti, ni = _mm256_setzero_ps();
                if (k < 3) {
                    /* nodes 2^k - 1 .. 2^(k+1) - 2: one load per node, blended by the
                       index bits below the level's first node */
                    const float *c = cols + 8 * g;
                    __m256i sel = _mm256_sub_epi32(idx[g], _mm256_set1_epi32((1 << k) - 1));
                    __m256 bit0 = _mm256_castsi256_ps(_mm256_slli_epi32(sel, 31));
                    ti = _mm256_permutevar8x32_ps(t0, idx[g]);
                    if (nans)
                        ni = _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(n0, idx[g]));
                    if (k == 0) {
                        v = _mm256_loadu_ps(c + f[0] * FJ_BLOCK);
                    } else if (k == 1) {
                        v = _mm256_blendv_ps(_mm256_loadu_ps(c + f[1] * FJ_BLOCK),
                                             _mm256_loadu_ps(c + f[2] * FJ_BLOCK), bit0);
                    } else {
                        __m256 bit1 = _mm256_castsi256_ps(_mm256_slli_epi32(sel, 30));
                        __m256 lo = _mm256_blendv_ps(_mm256_loadu_ps(c + f[3] * FJ_BLOCK),
                                                     _mm256_loadu_ps(c + f[4] * FJ_BLOCK), bit0);
                        __m256 hi = _mm256_blendv_ps(_mm256_loadu_ps(c + f[5] * FJ_BLOCK),
                                                     _mm256_loadu_ps(c + f[6] * FJ_BLOCK), bit0);
                        v = _mm256_blendv_ps(lo, hi, bit1);
                    }
                } else {
                    __m256i fi;
                    if (k < 5) {
                        __m256i sel = _mm256_sub_epi32(idx[g], shift);
                        __m256 high = _mm256_castsi256_ps(_mm256_slli_epi32(sel, 28));
                        fi = _mm256_castps_si256(_mm256_blendv_ps(
                            _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(fa, sel)),
                            _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(fb, sel)), high));
                        ti = _mm256_blendv_ps(_mm256_permutevar8x32_ps(ta, sel),
                                              _mm256_permutevar8x32_ps(tb, sel), high);
                        if (nans)
                            ni = _mm256_blendv_ps(
                                _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(na, sel)),
                                _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(nb, sel)), high);
                    } else {
                        fi = _mm256_i32gather_epi32((const int *)f, idx[g], 4);
                        ti = _mm256_i32gather_ps(th, idx[g], 4);
                        if (nans)
                            ni = _mm256_castsi256_ps(_mm256_i32gather_epi32((const int *)nm, idx[g], 4));
                    }
                    v = _mm256_i32gather_ps(cols, _mm256_add_epi32(
                        _mm256_slli_epi32(fi, FJ_BLOCK_SHIFT), rowoff[g]), 4);
                }
                /* !(x < t), as XGBoost (true for a NaN t); a NaN x takes the default */
                __m256 go = _mm256_cmp_ps(v, ti, _CMP_NLT_UQ);
                if (nans) go = _mm256_blendv_ps(go, ni, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                __m256i right = _mm256_castps_si256(go);
                /* 2i + 1 + right, with right as 0 / -1 */
                idx[g] = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(idx[g], idx[g]), one), right);
            }
        }
        for (g = 0; g < G; g++) {
            __m256 value = _mm256_i32gather_ps(lf, _mm256_sub_epi32(idx[g], first_leaf), 4);
            /* fj_add_leaf: a NaN leaf's own NaN wins */
            __m256 base = _mm256_blendv_ps(sum[g], value, _mm256_cmp_ps(value, value, _CMP_UNORD_Q));
            sum[g] = _mm256_add_ps(base, value);
        }
    }
    for (g = 0; g < G; g++) _mm256_storeu_ps(acc + 8 * g, sum[g]);
}

#define FJ_AVX2_ARGS const float *cols, const int32_t *feat, const float *thr, \
    const int32_t *nan_mask, const float *leaf, const int64_t *node_off, \
    const int64_t *leaf_off, const int32_t *depth, Py_ssize_t n_trees, float *acc
__attribute__((target("avx2")))
static void fj_block_avx2(FJ_AVX2_ARGS) {
    fj_block_avx2_impl(cols, feat, thr, nan_mask, leaf, node_off, leaf_off, depth, n_trees,
                       acc, 0);
}
__attribute__((target("avx2")))
static void fj_block_avx2_nans(FJ_AVX2_ARGS) {
    fj_block_avx2_impl(cols, feat, thr, nan_mask, leaf, node_off, leaf_off, depth, n_trees,
                       acc, 1);
}
#endif

#if defined(FJ_HAVE_AVX2)
#define FJ_HAVE_AVX512 1
/* Sixteen rows per vector (AVX-512F): as the AVX2 kernel, with wider tables: levels 0-3
   (nodes 0-14) and 4 (nodes 15-30) look nodes up with one permute each, and the 32
   leaves of a tree of depth <= 5 with one two-register permute instead of a gather. */
__attribute__((target("avx512f"), always_inline))
static inline void fj_block_avx512_impl(const float *cols, const int32_t *feat,
                                        const float *thr, const int32_t *nan_mask,
                                        const float *leaf, const int64_t *node_off,
                                        const int64_t *leaf_off, const int32_t *depth,
                                        Py_ssize_t n_trees, float *acc, const int nans) {
    enum { G = FJ_BLOCK / 16 };
    __m512 sum[G];
    __m512i rowoff[G], idx[G];
    const __m512i one = _mm512_set1_epi32(1), two = _mm512_set1_epi32(2);
    const __m512i ones = _mm512_set1_epi32(-1);
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                            14, 15);
    Py_ssize_t t;
    int g, k, d;
    for (g = 0; g < G; g++) {
        sum[g] = _mm512_loadu_ps(acc + 16 * g);
        rowoff[g] = _mm512_add_epi32(lanes, _mm512_set1_epi32(16 * g));
    }
    for (t = 0; t < n_trees; t++) {
        const int32_t *f = feat + node_off[t];
        const float *th = thr + node_off[t];
        const int32_t *nm = nan_mask + node_off[t];
        d = depth[t];
        const float *lf = leaf + leaf_off[t];
        const __m512i first_leaf = _mm512_set1_epi32((1 << d) - 1);
        const __m512 t0 = _mm512_loadu_ps(th);
        const __m512i f0 = _mm512_loadu_si512((const void *)f);
        const __m512i n0 = nans ? _mm512_loadu_si512((const void *)nm) : _mm512_setzero_si512();
        __m512 t1 = t0;
        __m512i f1 = f0, n1 = n0;
        if (d > 4) {
            t1 = _mm512_loadu_ps(th + 15);
            f1 = _mm512_loadu_si512((const void *)(f + 15));
            if (nans) n1 = _mm512_loadu_si512((const void *)(nm + 15));
        }
        for (g = 0; g < G; g++) idx[g] = _mm512_setzero_si512();
        for (k = 0; k < d; k++) {
            for (g = 0; g < G; g++) {
                __m512 v, ti;
                __m512i ni = _mm512_setzero_si512();
                if (k < 3) {
                    const float *c = cols + 16 * g;
                    __m512i sel = _mm512_sub_epi32(idx[g], _mm512_set1_epi32((1 << k) - 1));
                    __mmask16 bit0 = _mm512_test_epi32_mask(sel, one);
                    ti = _mm512_permutexvar_ps(idx[g], t0);
                    if (nans) ni = _mm512_permutexvar_epi32(idx[g], n0);
                    if (k == 0) {
                        v = _mm512_loadu_ps(c + f[0] * FJ_BLOCK);
                    } else if (k == 1) {
                        v = _mm512_mask_blend_ps(bit0, _mm512_loadu_ps(c + f[1] * FJ_BLOCK),
                                                 _mm512_loadu_ps(c + f[2] * FJ_BLOCK));
                    } else {
                        __mmask16 bit1 = _mm512_test_epi32_mask(sel, two);
                        __m512 lo = _mm512_mask_blend_ps(bit0, _mm512_loadu_ps(c + f[3] * FJ_BLOCK),
                                                         _mm512_loadu_ps(c + f[4] * FJ_BLOCK));
                        __m512 hi = _mm512_mask_blend_ps(bit0, _mm512_loadu_ps(c + f[5] * FJ_BLOCK),
                                                         _mm512_loadu_ps(c + f[6] * FJ_BLOCK));
                        v = _mm512_mask_blend_ps(bit1, lo, hi);
                    }
                } else {
                    __m512i fi;
                    if (k < 5) {
                        __m512i sel = k == 3 ? idx[g] : _mm512_sub_epi32(idx[g], _mm512_set1_epi32(15));
                        fi = _mm512_permutexvar_epi32(sel, k == 3 ? f0 : f1);
                        ti = _mm512_permutexvar_ps(sel, k == 3 ? t0 : t1);
                        if (nans) ni = _mm512_permutexvar_epi32(sel, k == 3 ? n0 : n1);
                    } else {
                        fi = _mm512_i32gather_epi32(idx[g], (const void *)f, 4);
                        ti = _mm512_i32gather_ps(idx[g], (const void *)th, 4);
                        if (nans) ni = _mm512_i32gather_epi32(idx[g], (const void *)nm, 4);
                    }
                    v = _mm512_i32gather_ps(_mm512_add_epi32(
                        _mm512_slli_epi32(fi, FJ_BLOCK_SHIFT), rowoff[g]), (const void *)cols, 4);
                }
                /* !(x < t), as XGBoost (true for a NaN t); a NaN x takes the default */
                __mmask16 go = _mm512_cmp_ps_mask(v, ti, _CMP_NLT_UQ);
                if (nans) {
                    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                    go = (__mmask16)((go & ~nan) | (nan & _mm512_test_epi32_mask(ni, ones)));
                }
                __m512i next = _mm512_add_epi32(_mm512_add_epi32(idx[g], idx[g]), one);
                idx[g] = _mm512_mask_add_epi32(next, go, next, one);
            }
        }
        for (g = 0; g < G; g++) {
            __m512i li = _mm512_sub_epi32(idx[g], first_leaf);
            __m512 value = d <= 5
                ? _mm512_permutex2var_ps(_mm512_loadu_ps(lf), li, _mm512_loadu_ps(lf + 16))
                : _mm512_i32gather_ps(li, (const void *)lf, 4);
            /* fj_add_leaf: a NaN leaf's own NaN wins */
            __m512 base = _mm512_mask_mov_ps(sum[g], _mm512_cmp_ps_mask(value, value, _CMP_UNORD_Q), value);
            sum[g] = _mm512_add_ps(base, value);
        }
    }
    for (g = 0; g < G; g++) _mm512_storeu_ps(acc + 16 * g, sum[g]);
}

__attribute__((target("avx512f")))
static void fj_block_avx512(FJ_AVX2_ARGS) {
    fj_block_avx512_impl(cols, feat, thr, nan_mask, leaf, node_off, leaf_off, depth,
                         n_trees, acc, 0);
}
__attribute__((target("avx512f")))
static void fj_block_avx512_nans(FJ_AVX2_ARGS) {
    fj_block_avx512_impl(cols, feat, thr, nan_mask, leaf, node_off, leaf_off, depth,
                         n_trees, acc, 1);
}
#endif

static int fj_has_nan(const float *p, Py_ssize_t n) {
    Py_ssize_t i;
    int found = 0;
    for (i = 0; i < n; i++) found |= p[i] != p[i];
    return found;
}

/* The used columns of nb rows, column by column: cols[j * FJ_BLOCK + r] =
   base[r * width + used[j]]. Trees address features by their place in used. */
static void fj_transpose(const float *base, int nb, Py_ssize_t width, const int64_t *used,
                         Py_ssize_t n_used, float *cols) {
    Py_ssize_t r, j;
    FJ_ASSERT(0 < nb && nb <= FJ_BLOCK);
    for (j = 0; j < n_used; j++) FJ_ASSERT(0 <= used[j] && used[j] < width);
    for (r = 0; r < nb; r++)
        for (j = 0; j < n_used; j++) cols[j * FJ_BLOCK + r] = base[r * width + used[j]];
}

/* which kernels: 0 scalar, 1 up to AVX2, 2 auto (AVX-512 on AMD), 3 AVX-512 wherever the
   CPU has it. Auto keeps Intel on AVX2: before Ice Lake, 512-bit work lowers the core's
   clock for the parsing that shares it; Zen 4 runs AVX-512 at full clock. */
static int fj_vector_level = 2;

/* cols: scratch of n_used * FJ_BLOCK floats */
static void fj_complete(const float *X, Py_ssize_t n, Py_ssize_t width, const int64_t *used,
                        Py_ssize_t n_used, const int32_t *feat, const float *thr,
                        const int32_t *nan_mask,
                        const float *leaf, const int64_t *node_off,
                        const int64_t *leaf_off, const int32_t *depth, Py_ssize_t n_trees,
                        float *out, float *cols) {
    Py_ssize_t r0;
    int nb;
    FJ_ASSERT(n > 0 && n_used > 0);
#ifdef FJ_HAVE_AVX2
    int avx2 = fj_vector_level >= 1 && __builtin_cpu_supports("avx2");
    int avx512 = __builtin_cpu_supports("avx512f")
                 && (fj_vector_level >= 3 || (fj_vector_level == 2 && __builtin_cpu_is("amd")));
#endif
    for (r0 = 0; r0 < n; r0 += FJ_BLOCK) {
        nb = (int)(n - r0 < FJ_BLOCK ? n - r0 : FJ_BLOCK);
        fj_transpose(X + r0 * width, nb, width, used, n_used, cols);
#ifdef FJ_HAVE_AVX2
        if ((avx2 || avx512) && nb == FJ_BLOCK) {
            int nans = fj_has_nan(cols, n_used * FJ_BLOCK);
            (avx512 ? (nans ? fj_block_avx512_nans : fj_block_avx512)
                    : (nans ? fj_block_avx2_nans : fj_block_avx2))(
                cols, feat, thr, nan_mask, leaf, node_off, leaf_off, depth, n_trees, out + r0);
            continue;
        }
#endif
        fj_block_scalar(cols, nb, feat, thr, nan_mask, leaf, node_off, leaf_off,
                        depth, n_trees, out + r0);
    }
}

/* Node layout: XGBoost's arrays, for deep trees. next[i] is node i's left child (the
   right one is next[i] + 1, as XGBoost lays trees out), or i itself for a leaf, whose
   internal[i] is 0: a walk of depth[t] steps stays on the leaf it reaches, so rows of
   different path lengths walk in lockstep, branch-free, and a leaf's value is its thr.
   Adds each tree's leaf to out. */
static void fj_nodes(const float *X, Py_ssize_t n, Py_ssize_t width,
                     const int32_t *feat, const float *thr, const uint8_t *nan_right,
                     const int32_t *next, const uint8_t *internal, const int64_t *root,
                     const int32_t *depth, Py_ssize_t n_trees, float *out) {
    Py_ssize_t r, t;
    int j, k, lanes;
    int32_t i[FJ_LANES];
    for (r = 0; r < n; r += FJ_LANES) {
        lanes = (int)(n - r < FJ_LANES ? n - r : FJ_LANES);
        for (t = 0; t < n_trees; t++) {
            for (j = 0; j < lanes; j++) i[j] = (int32_t)root[t];
            for (k = 0; k < depth[t]; k++) {
                for (j = 0; j < lanes; j++) {
                    int32_t at = i[j];
                    FJ_ASSERT(0 <= feat[at] && feat[at] < width);
                    float v = X[(r + j) * width + feat[at]];
                    int32_t nan = v != v;
                    int32_t right = (!(v < thr[at]) & !nan) | (nan & nan_right[at]);
                    i[j] = next[at] + (right & internal[at]);
                }
            }
            for (j = 0; j < lanes; j++) out[r + j] = fj_add_leaf(out[r + j], thr[i[j]]);
        }
    }
}

#endif /* FASTJOIN_TREES_KERNELS_H */
