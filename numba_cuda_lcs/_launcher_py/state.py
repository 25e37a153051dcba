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


#: The one instance.
STATE = _State()
