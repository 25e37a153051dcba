"""Backends: one subpackage per compiler.

Everything that touches a compiler's internals lives in that compiler's
backend subpackage, and every internal it reads is listed in its
``manifest.py``.  A backend supplies only what differs between compilers;
what they share (the specialization limit and eviction, the routing bound,
the inspection rows, the disk-cache layer, version checks, the compile
frame) lives once in the compiler-neutral core.  The contract a backend
satisfies is :class:`numba_cuda_lcs.contract.Backend` (a test checks both).

A backend is imported by name (:mod:`numba_cuda_lcs.activation`) only after
its compiler's trigger module has been imported, so importing
``numba_cuda_lcs`` never imports a compiler the program does not use.
"""
