/*
 * Thread-local launch state for numba-cuda-lcs.
 *
 * Three things are published per thread:
 *   - the arguments of the launch in progress (for the whole launch, so that
 *     compilation hooks and pre-launch callbacks can see them),
 *   - the configured launch in progress, for backends whose compilations
 *     find their configuration through it (numba-cuda-mlir's), and
 *   - a "compile frame": the launch configuration a kernel is being compiled
 *     for, plus the launch-config fields that hooks marked during that
 *     compilation.
 *
 * The state lives in a C thread_local struct rather than a Py_tss slot: the
 * launch path swaps the arguments twice per launch, and a plain TLS access is
 * the cheapest thing we can offer there.  Every reference stored here is owned
 * and is always restored by the caller (swap_args / end_launch / end_compile), so a thread
 * never exits with a live reference in its slot.
 *
 * The pure-Python twin is numba_cuda_lcs/_tls_py.py; the tests run against both.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(_MSC_VER)
#define LCS_THREAD_LOCAL __declspec(thread)
#else
#define LCS_THREAD_LOCAL _Thread_local
#endif

typedef struct {
    PyObject *args;     /* owned; NULL when no launch is in progress */
    PyObject *launch;   /* owned; NULL when no launch published itself */
    PyObject *config;   /* owned; NULL when no frame or an eager frame */
    long marks;         /* bitmask of marked fields in the current frame */
    long depth;         /* number of open compile frames */
} lcs_state;

static LCS_THREAD_LOCAL lcs_state tls = {NULL, NULL, NULL, 0, 0};

#define NEW_OR_NONE(o) ((o) != NULL ? Py_NewRef(o) : Py_NewRef(Py_None))

static PyObject *
current_args(PyObject *self, PyObject *unused)
{
    return NEW_OR_NONE(tls.args);
}

static PyObject *
current_config(PyObject *self, PyObject *unused)
{
    return NEW_OR_NONE(tls.config);
}

/* swap_args(new) -> previous.  None clears the slot.  The caller owns the
 * returned previous value and must hand it back to swap_args when the launch
 * ends; this keeps nested launches (a callback that launches) correct. */
static PyObject *
swap_args(PyObject *self, PyObject *new_args)
{
    PyObject *prev = tls.args;
    if (new_args == Py_None) {
        tls.args = NULL;
    }
    else {
        tls.args = Py_NewRef(new_args);
    }
    if (prev == NULL) {
        return Py_NewRef(Py_None);
    }
    return prev;  /* ownership moves to the caller */
}

static PyObject *
current_launch(PyObject *self, PyObject *unused)
{
    return NEW_OR_NONE(tls.launch);
}

/* begin_launch(launch, args) -> token: publishes both for the launch that
 * starts (None clears a slot); the token holds the previous values and must
 * go back to end_launch when the launch ends (nested launches restore).  One
 * call each way, because a numba-cuda-mlir launch of a plain kernel pays for
 * them on every launch. */
static PyObject *
begin_launch(PyObject *self, PyObject *const *argv, Py_ssize_t argc)
{
    if (argc != 2) {
        PyErr_SetString(PyExc_TypeError, "begin_launch(launch, args) takes 2 arguments");
        return NULL;
    }
    PyObject *token = PyTuple_New(2);
    if (token == NULL) {
        return NULL;
    }
    /* The previous values' references move into the token. */
    PyTuple_SET_ITEM(token, 0, tls.launch != NULL ? tls.launch : Py_NewRef(Py_None));
    PyTuple_SET_ITEM(token, 1, tls.args != NULL ? tls.args : Py_NewRef(Py_None));
    tls.launch = (argv[0] == Py_None) ? NULL : Py_NewRef(argv[0]);
    tls.args = (argv[1] == Py_None) ? NULL : Py_NewRef(argv[1]);
    return token;
}

static PyObject *
end_launch(PyObject *self, PyObject *token)
{
    if (!PyTuple_CheckExact(token) || PyTuple_GET_SIZE(token) != 2) {
        PyErr_SetString(PyExc_TypeError, "end_launch() takes the token begin_launch() returned");
        return NULL;
    }
    PyObject *launch = PyTuple_GET_ITEM(token, 0);
    PyObject *args = PyTuple_GET_ITEM(token, 1);
    PyObject *old_launch = tls.launch;
    PyObject *old_args = tls.args;
    tls.launch = (launch == Py_None) ? NULL : Py_NewRef(launch);
    tls.args = (args == Py_None) ? NULL : Py_NewRef(args);
    /* Released last: a destructor may run Python code, which then sees the
     * restored state. */
    Py_XDECREF(old_launch);
    Py_XDECREF(old_args);
    Py_RETURN_NONE;
}

/* begin_compile(config) -> token.  Opens a compile frame for *config*
 * (None for a compilation no launch asked for).  The token records the
 * enclosing frame and must be passed to end_compile. */
static PyObject *
begin_compile(PyObject *self, PyObject *config)
{
    PyObject *token = Py_BuildValue(
        "(Oll)", tls.config != NULL ? tls.config : Py_None, tls.marks,
        tls.depth);
    if (token == NULL) {
        return NULL;
    }
    PyObject *prev = tls.config;
    tls.config = (config == Py_None) ? NULL : Py_NewRef(config);
    tls.marks = 0;
    tls.depth += 1;
    Py_XDECREF(prev);
    return token;
}

static PyObject *
end_compile(PyObject *self, PyObject *token)
{
    PyObject *config;
    long marks, depth;
    if (!PyTuple_Check(token) || PyTuple_GET_SIZE(token) != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "end_compile() takes the token begin_compile() returned");
        return NULL;
    }
    config = PyTuple_GET_ITEM(token, 0);
    marks = PyLong_AsLong(PyTuple_GET_ITEM(token, 1));
    if (marks == -1 && PyErr_Occurred()) {
        return NULL;
    }
    depth = PyLong_AsLong(PyTuple_GET_ITEM(token, 2));
    if (depth == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (depth != tls.depth - 1) {
        PyErr_SetString(PyExc_RuntimeError,
                        "end_compile() called out of order: compile frames "
                        "must be closed innermost first");
        return NULL;
    }
    PyObject *prev = tls.config;
    tls.config = (config == Py_None) ? NULL : Py_NewRef(config);
    tls.marks = marks;
    tls.depth = depth;
    Py_XDECREF(prev);
    Py_RETURN_NONE;
}

static PyObject *
in_compile(PyObject *self, PyObject *unused)
{
    return PyBool_FromLong(tls.depth > 0);
}

static PyObject *
compile_marks(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(tls.marks);
}

/* add_marks(mask) -> new mask of the current frame. */
static PyObject *
add_marks(PyObject *self, PyObject *mask_obj)
{
    long mask = PyLong_AsLong(mask_obj);
    if (mask == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (tls.depth <= 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "add_marks() is only valid inside a compile frame");
        return NULL;
    }
    tls.marks |= mask;
    return PyLong_FromLong(tls.marks);
}

static PyMethodDef tls_methods[] = {
    {"current_args", current_args, METH_NOARGS,
     "The arguments of the launch in progress on this thread, or None."},
    {"current_config", current_config, METH_NOARGS,
     "The launch configuration being compiled for on this thread, or None."},
    {"swap_args", swap_args, METH_O,
     "Publish launch arguments (None clears); returns the previous value."},
    {"current_launch", current_launch, METH_NOARGS,
     "The configured launch in progress on this thread, or None."},
    {"begin_launch", (PyCFunction)(void (*)(void))begin_launch, METH_FASTCALL,
     "Publish a launch and its arguments; returns a token for end_launch()."},
    {"end_launch", end_launch, METH_O,
     "Restore what begin_launch() replaced; takes its token."},
    {"begin_compile", begin_compile, METH_O,
     "Open a compile frame for a configuration (or None); returns a token."},
    {"end_compile", end_compile, METH_O,
     "Close the compile frame opened by begin_compile(); takes its token."},
    {"in_compile", in_compile, METH_NOARGS,
     "Whether a compile frame is open on this thread."},
    {"compile_marks", compile_marks, METH_NOARGS,
     "Bitmask of fields marked in the current compile frame (0: none)."},
    {"add_marks", add_marks, METH_O,
     "Add fields to the current compile frame's marks; returns the new mask."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef tls_module = {
    PyModuleDef_HEAD_INIT,
    "numba_cuda_lcs._tls",
    "Thread-local launch state for numba-cuda-lcs (C implementation).",
    -1,
    tls_methods,
};

PyMODINIT_FUNC
PyInit__tls(void)
{
    return PyModule_Create(&tls_module);
}
