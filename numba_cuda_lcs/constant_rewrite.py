"""Launch constants in kernel IR: the compiler-neutral rewrite.

Replaces each ``numba_cuda_lcs.launch.<accessor>()`` call in a function's IR
with the value for the launch being compiled (an ``ir.Const``), and marks the
accessor's field.  It runs before type inference, once per compilation, so
the values are constants that can size shared and local arrays -- never a
typing result, which numba caches across compilations (a template returning
a literal for the current block size went stale on a GPU).

numba-cuda and numba-cuda-mlir share numba's IR classes but not the module
that defines them, so the IR module is a parameter; each backend wraps
:class:`ConstantRewrite` in its compiler's rewrite or planner hook.
"""

from . import launch as _launch
from . import launchconfig as _launchconfig
from . import marks
from .errors import LaunchConfigUnavailableError, LaunchConstantUsageError

# Globals are followed through at most this many attribute hops
# (``numba_cuda_lcs.launch.blockdim`` is two).
_MAX_ATTRIBUTE_CHAIN = 8

_ACCESSOR_IDS = frozenset(map(id, _launch.ACCESSORS))


def _is_accessor(obj):
    # By identity: a global may be unhashable (a numpy array used as a
    # constant), so no "in dict" test.
    return id(obj) in _ACCESSOR_IDS and any(obj is a for a in _launch.ACCESSORS)


def _where(func_ir, loc):
    name = func_ir.func_id.func_qualname
    line = getattr(loc, "line", None)
    return f"{name!r}" + (f" (line {line})" if line else "")


class ConstantRewrite:
    """Finds and replaces launch accessor calls in one block of *func_ir*.

    ``match(func_ir, block)`` says whether the block has any; ``apply()``
    rewrites it in place and returns it.  *ir* is the compiler's IR module.
    """

    def __init__(self, ir):
        self.ir = ir
        self._func_ir = None
        self._block = None
        self._calls = []  # (assignment, accessor)
        self._loads = []  # assignments loading an accessor object

    def resolve_global(self, func_ir, var):
        """The Python object *var* refers to, if it is a global (or an
        attribute chain on one); None otherwise."""
        ir = self.ir
        for _ in range(_MAX_ATTRIBUTE_CHAIN):
            try:
                definition = func_ir.get_definition(var)
            except Exception:
                return None
            if isinstance(definition, (ir.Global, ir.FreeVar)):
                return definition.value
            if not (isinstance(definition, ir.Expr) and definition.op == "getattr"):
                return None
            base = self.resolve_global(func_ir, definition.value)
            return getattr(base, definition.attr, None) if base is not None else None
        return None

    def match(self, func_ir, block):
        ir = self.ir
        calls, loads = [], []
        for stmt in block.body:
            if not isinstance(stmt, ir.Assign):
                continue
            value = stmt.value
            if isinstance(value, ir.Expr) and value.op == "call":
                accessor = self.resolve_global(func_ir, value.func)
                if _is_accessor(accessor):
                    if value.args or value.kws or getattr(value, "vararg", None):
                        raise LaunchConstantUsageError(
                            f"numba_cuda_lcs.launch.{accessor.__name__}() takes no "
                            f"arguments, but {_where(func_ir, stmt.loc)} passes some: "
                            f"write launch.{accessor.__name__}()"
                        )
                    calls.append((stmt, accessor))
            elif isinstance(value, (ir.Global, ir.FreeVar)) or (
                isinstance(value, ir.Expr) and value.op == "getattr"
            ):
                if _is_accessor(self.resolve_global(func_ir, stmt.target)):
                    loads.append(stmt)
        self._func_ir, self._block = func_ir, block
        self._calls, self._loads = calls, loads
        if loads:
            self._reject_uncalled(func_ir, loads)
        return bool(calls or loads)

    def _reject_uncalled(self, func_ir, loads):
        """An accessor used as a value (``launch.threads_per_block`` without
        parentheses) cannot be typed; say so instead of numba's typing error
        about a ``none`` value."""
        ir = self.ir
        names = {stmt.target.name: stmt for stmt in loads}
        for block in func_ir.blocks.values():
            for stmt in block.body:
                for var in stmt.list_vars():
                    if var.name not in names or stmt in loads:
                        continue
                    if isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Expr):
                        expr = stmt.value
                        if expr.op == "call" and expr.func.name == var.name:
                            continue  # called: fine
                        if expr.op == "getattr" and expr.value.name == var.name:
                            continue  # numba_cuda_lcs.launch.<name>: a chain
                    accessor = self.resolve_global(func_ir, var)
                    name = getattr(accessor, "__name__", "accessor")
                    raise LaunchConstantUsageError(
                        f"numba_cuda_lcs.launch.{name} is used as a value in "
                        f"{_where(func_ir, stmt.loc)}; it is a function: call it, "
                        f"launch.{name}(), to get the constant"
                    )

    def apply(self):
        ir = self.ir
        # The accessor objects themselves cannot be typed: the calls are
        # replaced below, so their loads become dead constants.
        for stmt in self._loads:
            stmt.value = ir.Const(None, stmt.value.loc)
        if not self._calls:
            return self._block
        config = _launchconfig.current_launch_config()
        if config is None:
            stmt, accessor = self._calls[0]
            raise LaunchConfigUnavailableError(
                f"No launch config set for this thread: "
                f"numba_cuda_lcs.launch.{accessor.__name__}() in "
                f"{_where(self._func_ir, stmt.loc)} is a constant of the launch "
                "being compiled, and this compilation has none (an explicit "
                "signature, dispatcher.compile() or compile_ptx). Declare the "
                "kernel without a signature and launch it, kernel[grid, block](...), "
                "or compile inside numba_cuda_lcs.launchconfig.compiling_for(griddim, blockdim)"
            )
        tuples = {}
        for stmt, accessor in self._calls:
            field, value_of = _launch.ACCESSORS[accessor]
            marks.mark(config, field, f"launch.{accessor.__name__}")
            value = value_of(config)
            stmt.value = ir.Const(value, stmt.value.loc)
            if isinstance(value, tuple):
                tuples[stmt.target.name] = value
        if tuples:
            self._reject_tuples_as_sizes(tuples)
        self._fold(tuples)
        return self._block

    def _reject_tuples_as_sizes(self, tuples):
        """``cuda.shared.array(launch.blockdim(), ...)`` or
        ``range(launch.griddim())``: a 3-tuple where an int is needed.  Say
        which accessor gives the int instead of numba's typing error."""
        ir = self.ir
        for stmt in self._block.body:
            if not (isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Expr)):
                continue
            expr = stmt.value
            if expr.op != "call" or not expr.args or expr.args[0].name not in tuples:
                continue
            callee = self.resolve_global(self._func_ir, expr.func)
            if callee is range or getattr(callee, "__name__", None) == "array":
                what = "range()" if callee is range else "an array size"
                raise LaunchConstantUsageError(
                    f"a numba_cuda_lcs.launch dimension is a 3-tuple, used as {what} in "
                    f"{_where(self._func_ir, stmt.loc)}: index it (launch.blockdim()[0]) "
                    "or use launch.threads_per_block() / launch.blocks_per_grid() for "
                    "the total count"
                )

    def _fold(self, tuples):
        """Fold what the constants feed, so it can size an array too:
        ``launch.blockdim()[0]`` (an index into a constant tuple) and integer
        arithmetic on constants (``launch.threads_per_block() * 2``)."""
        ir = self.ir
        known = {}  # variable name -> constant int, in this block
        for stmt in self._block.body:
            if not isinstance(stmt, ir.Assign):
                continue
            value = stmt.value
            if isinstance(value, ir.Const) and type(value.value) is int:
                known[stmt.target.name] = value.value
                continue
            if not isinstance(value, ir.Expr):
                continue
            folded = None
            if value.op in ("getitem", "static_getitem"):
                folded = self._fold_index(value, tuples)
            elif value.op == "binop":
                folded = _fold_binop(value, known)
            if folded is not None:
                stmt.value = ir.Const(folded, value.loc)
                known[stmt.target.name] = folded

    def _fold_index(self, expr, tuples):
        ir = self.ir
        value = tuples.get(expr.value.name)
        if value is None:
            return None
        index = expr.index
        if isinstance(index, ir.Var):
            try:
                definition = self._func_ir.get_definition(index)
            except Exception:
                return None
            if not isinstance(definition, ir.Const):
                return None
            index = definition.value
        if isinstance(index, int) and -len(value) <= index < len(value):
            return value[index]
        return None


def _fold_binop(expr, known):
    """The value of an integer binop on known constants, or None."""
    import operator

    folds = {
        operator.add: operator.add,
        operator.sub: operator.sub,
        operator.mul: operator.mul,
        operator.floordiv: operator.floordiv,
        operator.mod: operator.mod,
        operator.lshift: operator.lshift,
        operator.rshift: operator.rshift,
    }
    fn = folds.get(expr.fn)
    lhs = known.get(getattr(expr.lhs, "name", None))
    rhs = known.get(getattr(expr.rhs, "name", None))
    if fn is None or lhs is None or rhs is None:
        return None
    if fn in (operator.floordiv, operator.mod) and rhs == 0:
        return None  # leave numba's own division-by-zero behaviour
    return fn(lhs, rhs)
