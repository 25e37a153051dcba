"""The twin's module state (twin of ``_launcher_c/state.h``): what the C
module keeps in its one ``lcs_state`` struct and the twin needs, in one
object, :data:`STATE`, that its parts read and the configure_* functions
and ``invalidate`` set."""


class _State:
    __slots__ = (
        "generation",
        "typed_classes",
        "site_launch_error",
        "cupy_class",
        "cupy_current_stream",
        "cupy_null_stream",
        "interface_sync_source",
        "memref_own_class",
    )

    def __init__(self):
        # The invalidation counter: bumped by invalidate() and the
        # configure_* functions; a site entry made in another generation
        # never matches.
        self.generation = 1
        self.typed_classes = ()  # classes whose instances are typed by _numba_type_
        self.site_launch_error = None  # what a refused fast-path launch raises
        self.cupy_class = None  # configure_cupy: cupy.ndarray
        self.cupy_current_stream = None  # configure_cupy: get_current_stream
        # The interface's stream for CuPy's stream 0 (1 or 2), once seen.
        self.cupy_null_stream = 0
        # configure_interface_sync: numba-cuda-mlir's config module, whose
        # CUDA_ARRAY_INTERFACE_SYNC K_MEMREF launches of arrays other than
        # its own read (None: the plan's value stands).
        self.interface_sync_source = None
        # ... and the class whose instances (subclasses too) numba-cuda-mlir
        # never synchronises for (None: the typed classes).
        self.memref_own_class = None


#: The one instance.
STATE = _State()


def cupy_stream_ptr():
    """CuPy's current stream pointer (0: its default stream), or -1 when it
    cannot be read (state.h: lcs_cupy_stream_ptr)."""
    try:
        p = STATE.cupy_current_stream().ptr
    except Exception:
        return -1
    return p if isinstance(p, int) and p >= 0 else -1


def cupy_interface_stream():
    """CuPy's current stream as its array interface names it (0: unknown;
    state.h: lcs_cupy_interface_stream)."""
    p = cupy_stream_ptr()
    return STATE.cupy_null_stream if p == 0 else p if p > 0 else 0


def cupy_learn_null_stream(cai):
    """Learn CuPy's name for its stream 0 (1 or 2) from a CuPy array's
    interface dict *cai*, when CuPy's current stream is that one (state.h:
    lcs_cupy_learn_null_stream)."""
    if STATE.cupy_null_stream:  # fixed for the process once known
        return
    stream = cai.get("stream")
    if type(stream) is int and stream in (1, 2) and cupy_stream_ptr() == 0:
        STATE.cupy_null_stream = stream
