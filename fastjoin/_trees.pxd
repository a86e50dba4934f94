# Declarations of fastjoin._trees (the pxd that _trees.pyx shares its name with): the kernels
# in src/trees_kernels.h. None can fail: the wrappers in _trees.pyx and fastjoin.trees check
# every shape and index first, and the kernels trust them.
from libc.stdint cimport int32_t, int64_t, uint8_t

cdef extern from "src/trees_kernels.h" nogil:
    enum:  # the output transforms, exported as IDENTITY ... ARGMAX
        FJ_IDENTITY
        FJ_SIGMOID
        FJ_EXP
        FJ_SOFTMAX
        FJ_ARGMAX
    enum:
        FJ_BLOCK  # rows per block of the complete layout
        FJ_PAD    # spare entries at the end of the node and leaf arrays (exported as PAD)

    # which kernels run: 0 scalar, 1 up to AVX2, 2 auto, 3 AVX-512 (set_vector_kernel)
    int fj_vector_level

    # XGBoost's ProbToMargin for the transform's link, in float32
    float fj_base_margin(float score, int transform)
    # the output transform of n rows of k margins into out (n values for FJ_ARGMAX)
    void fj_transform(const float *m, Py_ssize_t n, Py_ssize_t k, int transform,
                      float *out)
    # complete layout: adds every tree's leaf to out[0:n]; cols is scratch of
    # n_used * FJ_BLOCK floats
    void fj_complete(const float *X, Py_ssize_t n, Py_ssize_t width, const int64_t *used,
                     Py_ssize_t n_used, const int32_t *feat, const float *thr,
                     const int32_t *nan_mask, const float *leaf,
                     const int64_t *node_off,
                     const int64_t *leaf_off, const int32_t *depth, Py_ssize_t n_trees,
                     float *out, float *cols)
    # node layout (XGBoost's arrays): adds every tree's leaf to out[0:n]
    void fj_nodes(const float *X, Py_ssize_t n, Py_ssize_t width, const int32_t *feat,
                  const float *thr, const uint8_t *nan_right, const int32_t *next,
                  const uint8_t *internal, const int64_t *root, const int32_t *depth,
                  Py_ssize_t n_trees, float *out)
