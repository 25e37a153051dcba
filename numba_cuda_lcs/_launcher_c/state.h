/*
 * state.h -- the module state: every global of the C launcher in one
 * struct (msgspec's MsgspecState is the model), reached the same way from
 * every part: the single instance `LCS`.
 *
 * Why one static instance and not per-interpreter state (PyModule_GetState):
 * the launch fast path (LaunchSite's tp_call, sites.c) starts from a
 * configured-launch object, not from the module, so reaching per-module
 * state would cost a type -> module lookup (PyType_GetModuleByDef) on every
 * launch, where a static instance is one PC-relative load, exactly what the
 * ~35 `static` globals cost before.  The module is single-phase init and
 * does not support subinterpreters anyway (its types are static, and the
 * driver's entry points are per process).  Reference-holding fields are
 * set once (interned names, lazily imported types) or replaced under the
 * GIL by the configure_* functions.
 */
#ifndef LCS_STATE_H
#define LCS_STATE_H

#include "attr_memo.h"
#include "common.h"
#include "cuda_driver.h"

/* *************************************************************************
 * The state                                                               *
 * ************************************************************************* */

/* The CuPy reader's attributes, read through their descriptors
 * (attr_memo.h): cupy.ndarray's, and its data's ptr (a MemoryPointer). */
typedef struct {
    attr_memo dtype, data, ndim, size, shape, c_contiguous, strides, data_ptr;
} lcs_cupy_attrs;

/* Forget every memo (configure_cupy): the list of the fields above. */
static inline void
lcs_cupy_attrs_clear(lcs_cupy_attrs *a)
{
    attr_memo *memos[] = {&a->dtype, &a->data,         &a->ndim,    &a->size,
                          &a->shape, &a->c_contiguous, &a->strides, &a->data_ptr};
    for (size_t i = 0; i < sizeof(memos) / sizeof(memos[0]); i++)
        attr_memo_clear(memos[i]);
}

typedef struct {
    /* -- interned attribute names (module init): every launch reads them -- */
    PyObject *str_cuda_memory;      /* __cuda_memory__ */
    PyObject *str_shim;             /* _strided_memory_view_shim */
    PyObject *str_dlpack;           /* __dlpack__ */
    PyObject *str_cai;              /* __cuda_array_interface__ */
    PyObject *str_ptr;              /* ptr */
    PyObject *str_size;             /* size */
    PyObject *str_dtype;            /* dtype */
    PyObject *str_itemsize;         /* itemsize */
    PyObject *str_shape;            /* shape */
    PyObject *str_ndim;             /* ndim */
    PyObject *str_layout;           /* _layout */
    PyObject *str_strides_in_bytes; /* strides_in_bytes */
    PyObject *str_is_c;             /* is_contiguous_c */
    PyObject *str_is_f;             /* is_contiguous_f */
    PyObject *str_numba_type;       /* _numba_type_ */
    PyObject *str_dispatcher;       /* dispatcher */
    PyObject *str_call;             /* call */
    PyObject *str_callbacks;        /* pre_launch_callbacks */
    PyObject *str_data;             /* data */
    PyObject *str_c_contiguous;     /* _c_contiguous */
    PyObject *str_strides;          /* strides */
    PyObject *str_exchange_api;     /* __dlpack_c_exchange_api__ */
    PyObject *str_slow_call;        /* _lcs_slow_call */
    PyObject *str_site_error;       /* _lcs_launch_error */
    PyObject *str_interface_sync;   /* CUDA_ARRAY_INTERFACE_SYNC */

    /* -- types imported lazily (numpy, ctypes, cuda.core are heavy) -- */
    PyObject *ndarray_type;    /* numpy.ndarray */
    PyObject *smv_type;        /* cuda.core.utils.StridedMemoryView */
    PyObject *np_scalar_bases; /* (numpy.number, numpy.bool_) */
    PyObject *scalar_types;    /* the numpy and ctypes scalar classes cuda.core
                                  stores at their own width; set last: it
                                  marks the types as loaded */

    /* -- the CUDA driver (cuda_driver.h), loaded on the first launch -- */
    lcs_driver driver;
    /* The driver refused a launch: a RuntimeError subclass, so callers can
       tell it from errors raised while marshalling (the fallbacks'). */
    PyObject *LaunchError;

    /* -- launch sites (configure_sites, invalidate) -- */
    /* The invalidation counter: bumped by invalidate() and the configure_*
       functions; a site entry made in another generation never matches. */
    unsigned long long generation;
    PyObject *typed_classes;     /* a tuple: the classes (one per compiler)
                                    whose instances are typed by their
                                    _numba_type_; NULL when none */
    PyObject *site_launch_error; /* what a refused fast-path launch raises */
    PyObject *twin_site_call;    /* while the twin is bound: its site_call */

    /* -- the CuPy reader (configure_cupy) -- */
    PyObject *cupy_class;          /* cupy.ndarray */
    PyObject *cupy_current_stream; /* cupy.cuda.get_current_stream */
    /* The interface's stream for CuPy's stream pointer 0: 1 (legacy default
       stream), or 2 when CuPy runs with per-thread default streams; learnt
       from an interface dict, 0 until then. */
    long long cupy_null_stream;
    lcs_cupy_attrs cupy_attrs;

    /* -- K_MEMREF plans (configure_interface_sync) -- */
    /* numba-cuda-mlir's config module: its CUDA_ARRAY_INTERFACE_SYNC, which
       numba-cuda-mlir reads at every launch, is read at launches of arrays
       other than its own (marshal); NULL: the plan's value stands. */
    PyObject *interface_sync_source;
    /* The class whose instances (subclasses too) numba-cuda-mlir never
       synchronises for (its DeviceNDArrayBase); NULL: the typed classes. */
    PyObject *memref_own_class;
} lcs_state;

/* The one instance (state.c). */
extern LCS_HIDDEN lcs_state LCS;

/* Whether instances of *tp* are typed by their _numba_type_ (one of the
 * configured classes: a pointer compare each, at most one per compiler). */
static inline int
lcs_is_typed_class(PyTypeObject *tp)
{
    PyObject *classes = LCS.typed_classes;
    if (classes == NULL) return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(classes); i++)
        if (PyTuple_GET_ITEM(classes, i) == (PyObject *)tp) return 1;
    return 0;
}

/* *************************************************************************
 * Setting it up                                                           *
 * ************************************************************************* */

/* Intern the attribute names and create LaunchError (module init); 0, or
 * -1 with an error set. */
LCS_HIDDEN int lcs_state_init(void);

/* Import the lazily imported types; 0, or -1 with an error set. */
LCS_HIDDEN int lcs_load_types_slow(void);

/* CuPy's current stream pointer (get_current_stream().ptr; 0 is its
 * default stream), or -1 when it cannot be read (no error set). */
LCS_HIDDEN Py_ssize_t lcs_cupy_stream_ptr(void);

/* CuPy's current stream as its array interface names it (0: unknown; its
 * default stream is the learnt cupy_null_stream). */
LCS_HIDDEN long long lcs_cupy_interface_stream(void);

/* Learn CuPy's name for its stream 0 (cupy_null_stream) from a CuPy
 * array's interface dict *cai*, when CuPy's current stream is that one. */
LCS_HIDDEN void lcs_cupy_learn_null_stream(PyObject *cai);

/* The types, imported on first use: one load and a test once they are. */
static inline int
lcs_load_types(void)
{
    return LCS.scalar_types != NULL ? 0 : lcs_load_types_slow();
}

#endif /* LCS_STATE_H */
