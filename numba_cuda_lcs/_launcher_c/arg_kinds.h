/*
 * arg_kinds.h -- the argument kinds of a launch plan, defined once.
 *
 * A plan entry's first field says how the launcher marshals that argument
 * (launcher.c); the plan builders pick it (backends/numba_cuda/argplan.py).
 * This list is the only place the numbers are written:
 *
 *   - the C launcher includes it (the enum below) and exports each kind as
 *     a module attribute (module.c: numba_cuda_lcs._launcher.K_ARRAY, ...);
 *   - the pure-Python twin reads this very file at import, from the
 *     package data (_launcher_py/arg_kinds.py), so it works without the C
 *     extension; argplan and the tests import the twin's names;
 *   - tests/launch_path/test_launcher_marshal.py checks that the C module's
 *     attributes equal what the twin read.
 *
 * Keep one X(name, number) per line: the twin parses exactly that form.
 */
#ifndef LCS_ARG_KINDS_H
#define LCS_ARG_KINDS_H

/* *************************************************************************
 * The kinds                                                               *
 * ************************************************************************* */

#define LCS_ARG_KINDS(X)                                                     \
    X(K_FALLBACK, 0) /* the plan's fallback marshals it (the compiler's) */  \
    X(K_ARRAY, 1)    /* device array: array interface, shim or view */       \
    X(K_INT, 2)      /* integer: __index__, masked to the parameter */       \
    X(K_F16, 3)      /* float16 from a Python float */                       \
    X(K_F32, 4)      /* float32 */                                           \
    X(K_F64, 5)      /* float64 */                                           \
    X(K_BOOL, 6)     /* boolean: a Python int stored as intptr_t */          \
    X(K_C64, 7)      /* complex64: two float32 parameters */                 \
    X(K_C128, 8)     /* complex128: two float64 parameters */                \
    X(K_PTR, 9)      /* pointer / record: a Python int */                    \
    X(K_MEMREF, 10)  /* device array as numba-cuda-mlir passes it: data,   \
                        data, 0, shape..., strides in elements */

#define LCS_ARG_KIND_ENUM(name, number) name = number,
enum lcs_arg_kind { LCS_ARG_KINDS(LCS_ARG_KIND_ENUM) LCS_ARG_KIND_COUNT };
#undef LCS_ARG_KIND_ENUM

#endif /* LCS_ARG_KINDS_H */
