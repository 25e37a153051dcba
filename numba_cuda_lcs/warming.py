"""Warm the disk cache ahead of time (compiler-neutral).

``numba_cuda_lcs.warm(kernel, signatures, configurations)`` and ``python -m
numba_cuda_lcs warm MODULE:KERNEL --signature ... --block 64,128,256`` compile
the given launch configurations of a ``cache=True`` kernel into its disk
cache, without launching it, so that production processes load on their first
launch.  Each (signature, configuration) is compiled as a launch would --
routed to the specialization of its launch key, loaded when already cached --
through the kernel's backend (``compile_for_launch``); with ``jobs > 1`` in
that many worker processes (``concurrent.futures`` with spawned processes),
which the cache locks (:mod:`numba_cuda_lcs.cache_locks`) keep from compiling
the same entry twice.

``cc`` compiles for a named compute capability: numba-cuda-mlir without a GPU
(a container build, CI); numba-cuda needs a GPU of that compute capability
(its backend's ``compile_target`` says why).  A kernel that marks nothing is
not launch-config sensitive: its one plain entry serves every configuration,
and the report says so.

Bad input raises :class:`~numba_cuda_lcs.errors.WarmError` naming the fix,
before anything is compiled.  An interrupt (Ctrl-C) finishes the
configuration in progress and stops (a second one stops at once); entries are
written whole (temporary file, then rename) or not at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import itertools
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from . import keys as _keys
from . import registry
from .errors import WarmError

COMPILED = "compiled"
CACHED = "cached"  # loaded from the disk cache
SHARED = "shared"  # served by an entry already compiled or loaded here
FAILED = "failed"
SKIPPED = "skipped"  # not reached (interrupted)


@dataclasses.dataclass(frozen=True)
class Configuration:
    griddim: tuple[int, int, int]
    blockdim: tuple[int, int, int]
    sharedmem: int

    def describe(self) -> str:
        def dim(d: tuple[int, ...]) -> str:
            return "x".join(str(v) for v in (d[:1] if d[1:] == (1, 1) else d))

        return f"grid={dim(self.griddim)} block={dim(self.blockdim)} sharedmem={self.sharedmem}"


@dataclasses.dataclass
class Result:
    signature: str
    configuration: Configuration
    status: str
    seconds: float = 0.0
    error: str | None = None


@dataclasses.dataclass
class WarmReport:
    kernel: str
    results: list[Result]
    fields: tuple[str, ...] = ()  # the fields the kernel depends on (empty: plain)
    seconds: float = 0.0
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def compiled(self) -> int:
        return self.count(COMPILED)

    @property
    def cached(self) -> int:
        return self.count(CACHED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    def summary(self) -> str:
        total = len(self.results)
        lines = [
            f"warm {self.kernel}: {total} configuration(s): {self.compiled} compiled, "
            f"{self.cached} already cached, {self.failed} failed"
            + (f", {self.count(SHARED)} served by another's entry" if self.count(SHARED) else "")
            + (f", {self.count(SKIPPED)} not reached (interrupted)" if self.interrupted else "")
            + f" ({self.seconds:.1f} s)"
        ]
        done = [r for r in self.results if r.status in (COMPILED, CACHED, SHARED)]
        if done and not self.fields:
            lines.append(
                f"  {self.kernel} is not launch-config sensitive (its compile marks no "
                "field): one plain entry serves every configuration, compiled or loaded once"
            )
        elif self.fields:
            lines.append(f"  launch-config sensitive: depends on {', '.join(self.fields)}")
        for r in self.results:
            if r.status == FAILED:
                lines.append(f"  failed: ({r.signature}) {r.configuration.describe()}: {r.error}")
        return "\n".join(lines)


# -- input -------------------------------------------------------------------------


def configurations(
    grids: Iterable[Any] = (1,), blocks: Iterable[Any] = (), sharedmems: Iterable[int] = (0,)
) -> list[Configuration]:
    """Every (grid, block, sharedmem) of the three lists, validated: a
    configuration no CUDA device launches raises :class:`WarmError`."""
    if not blocks:
        raise WarmError("no block size given: name at least one (--block 128)")
    found = []
    try:
        for grid, block, shared in itertools.product(grids, blocks, sharedmems):
            found.append(
                Configuration(
                    _keys.normalize_dim(grid, "griddim"),
                    _keys.normalize_dim(block, "blockdim"),
                    _keys.normalize_sharedmem(shared),
                )
            )
    except ValueError as exc:
        raise WarmError(
            f"{exc}: no GPU launches that configuration. Give block sizes of at most "
            f"{_keys.MAX_THREADS_PER_BLOCK} threads, grid and shared-memory sizes within "
            "the device limits."
        ) from None
    return list(dict.fromkeys(found))


def parse_signature_with(
    text: Any, normalize_signature: Any, none_type: Any, compiler: str
) -> tuple[Any, ...]:
    """The argument types of *text* (``"float32[::1], int64"``,
    ``"void(float32[::1])"``) or of a tuple of types, read by the compiler's
    *normalize_signature*; :class:`WarmError` naming the fix when it cannot
    be read or returns something (each backend's ``parse_signature``)."""
    try:
        argtypes, return_type = normalize_signature(text)
    except Exception as exc:
        argtypes = None
        if isinstance(text, str):
            # One argument type ("float32[::1]") is not a tuple yet.
            with contextlib.suppress(Exception):
                argtypes, return_type = normalize_signature(f"({text},)")
        if argtypes is not None:
            return tuple(argtypes)  # no return type
        raise WarmError(
            f"cannot parse the signature {text!r} ({type(exc).__name__}: {exc}). Write the "
            f"argument types as {compiler} does, e.g. 'float32[::1], int64' or "
            "'void(float32[:, ::1], int32)'"
        ) from None
    if return_type is not None and return_type != none_type:
        raise WarmError(
            f"the signature {text!r} returns {return_type}, but a kernel returns "
            "nothing: give the argument types alone, or void(...)"
        )
    return tuple(argtypes)


def as_configuration(value: Any) -> Configuration:
    """A :class:`Configuration` from one, a dict (griddim, blockdim,
    sharedmem) or a tuple (griddim, blockdim[, sharedmem])."""
    if isinstance(value, Configuration):
        return value
    if isinstance(value, dict):
        unknown = set(value) - {"griddim", "blockdim", "sharedmem"}
        if unknown or "blockdim" not in value:
            raise WarmError(
                f"a configuration dict has griddim, blockdim and sharedmem, got {value!r}"
            )
        grid, block, shared = value.get("griddim", 1), value["blockdim"], value.get("sharedmem", 0)
    elif isinstance(value, (tuple, list)) and len(value) in (2, 3):
        grid, block, shared = (*value, 0)[:3]
    else:
        raise WarmError(
            f"a configuration is (griddim, blockdim[, sharedmem]) or a dict, got {value!r}"
        )
    return configurations([grid], [block], [shared])[0]


def parse_dims(text: str, what: str) -> list[Any]:
    """``"64,128,256"`` -> [64, 128, 256]; ``"16x16,32x8"`` -> [(16, 16), (32, 8)]."""
    found = []
    for item in str(text).replace(" ", "").split(","):
        if not item:
            continue
        try:
            parts = tuple(int(p) for p in item.lower().split("x"))
        except ValueError:
            raise WarmError(
                f"cannot read {what} {item!r} in {text!r}: give numbers separated by commas, "
                "with x between dimensions (64,128 or 16x16,32x8)"
            ) from None
        found.append(parts[0] if len(parts) == 1 else parts)
    if not found:
        raise WarmError(f"no {what} in {text!r}")
    return found


def parse_cc(text: Any) -> tuple[int, int] | None:
    """``"9.0"`` / ``"90"`` / ``"sm_90"`` / ``(9, 0)`` -> (9, 0)."""
    if text is None:
        return None
    if isinstance(text, (tuple, list)) and len(text) == 2:
        return int(text[0]), int(text[1])
    raw = str(text).strip().lower().removeprefix("sm_")
    try:
        if "." in raw:
            major, minor = raw.split(".", 1)
            return int(major), int(minor)
        if raw.isdigit() and len(raw) >= 2:
            return int(raw[:-1]), int(raw[-1])
    except ValueError:
        pass
    raise WarmError(f"cannot read the compute capability {text!r}: write it as 9.0 (or sm_90)")


def load_kernel(reference: str) -> Any:
    """The kernel named by ``MODULE:KERNEL`` or ``path/to/file.py:KERNEL``."""
    module_part, sep, name = str(reference).rpartition(":")
    if not sep or not module_part or not name:
        raise WarmError(
            f"expected MODULE:KERNEL (my_package.kernels:my_kernel) or FILE.py:KERNEL, "
            f"got {reference!r}"
        )
    if module_part.endswith(".py") or os.sep in module_part:
        module = _import_file(module_part)
    else:
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            if exc.name and (module_part == exc.name or module_part.startswith(exc.name + ".")):
                raise WarmError(
                    f"no module named {module_part!r} (in {os.getcwd()!r} and sys.path): run "
                    "from the directory that holds it, add that directory to PYTHONPATH, or "
                    "give the file's path (path/to/kernels.py:KERNEL)"
                ) from None
            raise WarmError(f"importing {module_part!r} failed: {exc}") from exc
        except Exception as exc:
            raise WarmError(
                f"importing {module_part!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
    found = module
    for part in name.split("."):
        found = getattr(found, part, None)
        if found is None:
            kernels = sorted(n for n, v in vars(module).items() if _is_kernel(v))
            raise WarmError(
                f"{module_part} has no {name!r}; kernels it defines: {', '.join(kernels) or 'none'}"
            )
    if not _is_kernel(found):
        raise WarmError(
            f"{reference} is a {type(found).__name__}, not a kernel: name a @cuda.jit "
            "kernel of numba-cuda or numba-cuda-mlir (with numba-cuda-lcs active)"
        )
    return found


def _import_file(path: str) -> Any:
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise WarmError(f"no file {path!r}: give the path of the kernel's Python file")
    stem = os.path.splitext(os.path.basename(path))[0]
    name = f"{stem}" if stem.isidentifier() and stem not in sys.modules else f"_lcs_warm_{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise WarmError(f"cannot import {path!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(path))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise WarmError(f"importing {path!r} failed: {type(exc).__name__}: {exc}") from exc
    return module


def _is_kernel(value: Any) -> bool:
    return any(backend.owns(value) for backend in registry.installed())


def kernel_reference(kernel: Any) -> str | None:
    """``module:name`` (or ``file.py:name``) under which worker processes
    find *kernel*, or None."""
    py_func = getattr(kernel, "py_func", None)
    module = sys.modules.get(getattr(py_func, "__module__", None) or "")
    if module is None:
        return None
    names = [n for n, v in vars(module).items() if v is kernel]
    if not names:
        return None
    if module.__name__ == "__main__" or module.__name__.startswith("_lcs_warm_"):
        path = getattr(module, "__file__", None)
        return f"{path}:{names[0]}" if path else None
    return f"{module.__name__}:{names[0]}"


def _backend(kernel: Any) -> Any:
    try:
        return registry.backend_for(kernel)
    except (TypeError, RuntimeError) as exc:
        raise WarmError(str(exc)) from None


def _signature_text(signature: Any) -> str:
    if isinstance(signature, str):
        return signature
    if isinstance(signature, (tuple, list)):
        return ", ".join(str(t) for t in signature)
    return str(signature)


# -- one compile ---------------------------------------------------------------------


def _counts(kernel: Any) -> tuple[int, int]:
    from .inspection import compile_counters

    counts = compile_counters(kernel)
    return counts["compiles"], counts["cache_loads"]


def _compile_one(
    backend: Any, kernel: Any, argtypes: Any, signature: str, configuration: Configuration
) -> Result:
    before = _counts(kernel)
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # Nothing is launched: the compilers' occupancy advice is moot.
            warnings.filterwarnings("ignore", message=".*will likely result in GPU under")
            backend.compile_for_launch(
                kernel,
                argtypes,
                configuration.griddim,
                configuration.blockdim,
                configuration.sharedmem,
            )
    except Exception as exc:
        return Result(
            signature,
            configuration,
            FAILED,
            time.perf_counter() - started,
            f"{type(exc).__name__}: {exc}",
        )
    compiles, loads = (a - b for a, b in zip(_counts(kernel), before))
    status = COMPILED if compiles else CACHED if loads else SHARED
    return Result(signature, configuration, status, time.perf_counter() - started)


def _fields(kernel: Any) -> tuple[str, ...]:
    from .inspection import compile_counters

    return tuple(compile_counters(kernel)["fields"])


# -- the warm ------------------------------------------------------------------------


def warm(
    kernel: Any,
    signatures: Any,
    configurations: Iterable[Any],
    *,
    jobs: int = 1,
    cc: Any = None,
    progress: TextIO | None = None,
    isolated: bool = False,
) -> WarmReport:
    """Compile *kernel* (a ``cache=True`` kernel, or ``"MODULE:KERNEL"``)
    for every signature of *signatures* (strings as ``@cuda.jit`` takes them,
    or tuples of types) and launch configuration of *configurations*
    (:func:`configurations`, or ``(griddim, blockdim[, sharedmem])`` tuples)
    into its disk cache; returns a :class:`WarmReport`.

    *jobs* > 1 compiles in that many worker processes (the kernel must be
    importable as ``module:name``).  *cc* ((9, 0) or "9.0") compiles for that
    compute capability: numba-cuda-mlir without a GPU; it runs in worker
    processes (the in-memory kernels of another GPU stay out of this one).
    *progress*: a file (``sys.stderr``) for a progress bar, or None.
    *isolated*: this process does nothing but warm (the CLI), so with *cc*
    it compiles here when *jobs* is 1.
    """
    started = time.perf_counter()
    if isinstance(kernel, str):
        reference, kernel = kernel, load_kernel(kernel)
    else:
        reference = None
    backend = _backend(kernel)
    name = getattr(kernel, "__name__", repr(kernel))
    if not backend.has_disk_cache(kernel):
        raise WarmError(
            f"{name} has no disk cache, so warming it would keep nothing: declare it "
            "@cuda.jit(cache=True)"
        )
    if isinstance(signatures, (str, tuple)) and not _is_signature_list(signatures):
        signatures = [signatures]
    signatures = list(signatures)
    if not signatures:
        raise WarmError("no signature given: name the argument types (--signature 'float32[::1]')")
    typed = [(_signature_text(s), backend.parse_signature(s)) for s in signatures]
    configs = [as_configuration(c) for c in configurations]
    if not configs:
        raise WarmError("no configuration given: name at least one block size (--block 128)")
    cc = parse_cc(cc)
    with backend.compile_target(cc):
        pass  # the compiler can compile for it here (else WarmError now)
    tasks = [(text, argtypes, config) for text, argtypes in typed for config in configs]
    bar = Progress(len(tasks), progress, name)
    if jobs > 1 or (cc is not None and not isolated):
        reference = reference or kernel_reference(kernel)
        if reference is None:
            raise WarmError(
                f"{name} cannot be found by worker processes (jobs > 1 or cc=): pass "
                "'module:kernel' instead of the kernel, with the module importable"
            )
        results, interrupted, fields = _warm_in_workers(reference, tasks, max(1, jobs), cc, bar)
    else:
        results, interrupted = _warm_here(backend, kernel, tasks, cc, bar)
        fields = _fields(kernel)
    bar.close()
    return WarmReport(name, results, fields, time.perf_counter() - started, interrupted)


def _is_signature_list(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, (str, tuple)) for v in value)


def _warm_here(
    backend: Any, kernel: Any, tasks: list[Any], cc: Any, bar: Progress
) -> tuple[list[Result], bool]:
    results: list[Result] = []
    with _interrupts_between_tasks() as interrupt, backend.compile_target(cc):
        for text, argtypes, config in tasks:
            if interrupt.asked:
                results.append(Result(text, config, SKIPPED))
                continue
            result = _compile_one(backend, kernel, argtypes, text, config)
            results.append(result)
            bar.update(result)
    return results, interrupt.asked


# -- worker processes ----------------------------------------------------------------

_worker: dict[str, Any] = {}


def _worker_init(reference: str, cc: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us between tasks
    try:
        kernel = load_kernel(reference)
        backend = _backend(kernel)
        stack = contextlib.ExitStack()
        stack.enter_context(backend.compile_target(cc))
        _worker.update(kernel=kernel, backend=backend, stack=stack)
    except Exception as exc:
        _worker["error"] = f"{type(exc).__name__}: {exc}"


def _worker_task(text: str, config: Configuration) -> tuple[Result, tuple[str, ...]]:
    if "error" in _worker:
        return Result(text, config, FAILED, 0.0, _worker["error"]), ()
    backend, kernel = _worker["backend"], _worker["kernel"]
    argtypes = backend.parse_signature(text)
    result = _compile_one(backend, kernel, argtypes, text, config)
    return result, _fields(kernel)


def _warm_in_workers(
    reference: str, tasks: list[Any], jobs: int, cc: Any, bar: Progress
) -> tuple[list[Result], bool, tuple[str, ...]]:
    import concurrent.futures
    import multiprocessing

    results: list[Result | None] = [None for _ in tasks]
    fields: set[str] = set()
    context = multiprocessing.get_context("spawn")
    interrupted = False
    with _interrupts_between_tasks() as interrupt:
        executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=min(jobs, len(tasks)),
            mp_context=context,
            initializer=_worker_init,
            initargs=(reference, cc),
        )
        try:
            # The first alone: it tells whether the kernel is launch-config
            # sensitive and writes its marker before the others start.
            order = list(range(len(tasks)))
            first, rest = order[:1], order[1:]
            for batch in (first, rest):
                if interrupt.asked:
                    break
                pending = {
                    executor.submit(_worker_task, tasks[i][0], tasks[i][2]): i for i in batch
                }
                while pending:
                    done, _ = concurrent.futures.wait(
                        pending, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED
                    )
                    if interrupt.asked:
                        for future in pending:
                            future.cancel()
                    for future in done:
                        i = pending.pop(future)
                        if future.cancelled():
                            continue
                        try:
                            result, found = future.result()
                        except Exception as exc:  # a worker died
                            result, found = (
                                Result(tasks[i][0], tasks[i][2], FAILED, 0.0, repr(exc)),
                                (),
                            )
                        fields.update(found)
                        results[i] = result
                        bar.update(result)
                    pending = {f: i for f, i in pending.items() if not f.cancelled()}
        except KeyboardInterrupt:
            for child in multiprocessing.active_children():
                child.terminate()
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        interrupted = interrupt.asked
    complete = [
        r if r is not None else Result(tasks[i][0], tasks[i][2], SKIPPED)
        for i, r in enumerate(results)
    ]
    return complete, interrupted, tuple(f for f in _keys.FIELD_NAMES if f in fields)


# -- interrupts and progress ---------------------------------------------------------


class _Interrupt:
    asked = False


@contextlib.contextmanager
def _interrupts_between_tasks() -> Iterator[_Interrupt]:
    """The first Ctrl-C asks to stop after the task in progress; the second
    stops at once (KeyboardInterrupt).  Only in the main thread."""
    state = _Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: Any) -> None:
        if state.asked:
            raise KeyboardInterrupt
        state.asked = True
        print(
            "\nnumba-cuda-lcs warm: interrupted; finishing the configuration(s) in progress "
            "(Ctrl-C again to stop now)",
            file=sys.stderr,
            flush=True,
        )

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


class Progress:
    """A progress bar on a terminal, one line per configuration otherwise."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO | None, name: str) -> None:
        self.total = total
        self.stream = stream
        self.name = name
        self.done = 0
        self.counts = {COMPILED: 0, CACHED: 0, SHARED: 0, FAILED: 0}
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())

    def update(self, result: Result) -> None:
        if self.stream is None:
            return
        self.done += 1
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        if self.tty:
            filled = self.WIDTH * self.done // max(1, self.total)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(
                f"\r{self.name} [{bar}] {self.done}/{self.total}: "
                f"{self.counts[COMPILED]} compiled, {self.counts[CACHED]} cached, "
                f"{self.counts[FAILED]} failed"
            )
        else:
            self.stream.write(
                f"[{self.done}/{self.total}] {self.name} ({result.signature}) "
                f"{result.configuration.describe()}: {result.status} "
                f"({result.seconds:.2f} s)\n"
            )
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None and self.tty and self.done:
            self.stream.write("\n")
            self.stream.flush()
