/* fastjoin/src/fj_assert.h: FJ_ASSERT(condition), the kernels' preconditions, checked only in
   the checked build (FASTJOIN_CYTHON_DEBUG=1 makes setup.py define FASTJOIN_DEBUG), where a
   failure prints the condition and aborts. In a release build it compiles to nothing. Not
   assert(): Python's own build flags, which extensions inherit, define NDEBUG. */
#ifndef FASTJOIN_FJ_ASSERT_H
#define FASTJOIN_FJ_ASSERT_H

#ifdef FASTJOIN_DEBUG
#include <stdio.h>
#include <stdlib.h>
#define FJ_ASSERT(cond) do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", __FILE__, __LINE__, \
                    __func__, #cond); \
            abort(); \
        } \
    } while (0)
#else
#define FJ_ASSERT(cond) ((void)0)
#endif

#endif /* FASTJOIN_FJ_ASSERT_H */
