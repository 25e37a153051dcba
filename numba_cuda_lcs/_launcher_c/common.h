/*
 * common.h -- what every part of the C launcher includes first: Python.h
 * (with PY_SSIZE_T_CLEAN, before any system header) and LCS_HIDDEN, which
 * keeps the functions and data the parts share out of the extension's
 * exported symbols, so that calls and the state between parts are as cheap
 * as they were while everything was `static` in one file (no PLT/GOT hop).
 *
 * The parts (this folder builds the extension numba_cuda_lcs._launcher):
 *   arg_kinds.h      the argument kinds of a plan, defined once
 *   cuda_driver.h/c  CUDA driver declarations and their loader
 *   dlpack_abi.h     the minimal DLPack ABI (the array readers use it)
 *   array_values.h   small readers of array values shared by the parts
 *   attr_memo.h      an attribute read through its remembered descriptor
 *   state.h/c        the module state: one struct holding every global
 *   launcher.h/c     the parameter buffer, plans and the Launcher type
 *   sites.h/c        tokens, array readers, LaunchSite, SiteEntry, HitCounter
 *   module.c         the module's functions, definition and init
 */
#ifndef LCS_COMMON_H
#define LCS_COMMON_H

#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>

#if defined(__GNUC__) || defined(__clang__)
#define LCS_HIDDEN __attribute__((visibility("hidden")))
#else
#define LCS_HIDDEN
#endif

#endif /* LCS_COMMON_H */
