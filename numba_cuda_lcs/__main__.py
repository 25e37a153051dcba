"""``python -m numba_cuda_lcs``: ``demo`` (the default) runs the demo,
``info`` prints what is installed and active, ``warm`` compiles launch
configurations of a kernel into its disk cache ahead of time."""

from __future__ import annotations

import argparse
import os
import site
import sys
import sysconfig
import typing
from importlib import metadata

from ._version import __version__

PROG = "python -m numba_cuda_lcs"
AUTOLOAD_PTH = "numba_cuda_lcs-autoload.pth"

#: Distributions ``info`` reports (missing ones say so).
VERSIONED = (
    "numba-cuda-lcs",
    "numba-cuda",
    "numba",
    "numpy",
    "cuda-bindings",
    "cuda-core",
    "numba-cuda-mlir",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Launch-config-sensitive compilation for numba-cuda kernels.",
        epilog="Without a command, runs the demo.",
    )
    parser.add_argument("--version", action="version", version=f"numba-cuda-lcs {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="show what compiles for which launch configuration (default)",
        description=(
            "On a GPU: launch a launch-config-sensitive kernel at several block and "
            "grid sizes and show what compiled for which configuration. Without a "
            "GPU: say so and show the compile-only view (PTX per block size)."
        ),
    )
    commands.add_parser(
        "info",
        help="print versions, the start-up hook and the installed patches",
        description=(
            "Print the versions of numba-cuda-lcs and what it works with, the "
            "thread-local-state implementation, whether the start-up hook is "
            "installed, whether the package is active (and why not), and the "
            "numba-cuda attributes it patches."
        ),
    )
    warm = commands.add_parser(
        "warm",
        help="compile launch configurations of a cache=True kernel into its disk cache",
        description=(
            "Compile MODULE:KERNEL (a @cuda.jit(cache=True) kernel; MODULE may be a "
            "path/to/file.py) for every signature and every grid x block x sharedmem "
            "configuration into its disk cache (NUMBA_CACHE_DIR), without launching it, "
            "so that production processes load on their first launch. numba-cuda-mlir "
            "kernels compile without a GPU for --cc; numba-cuda kernels need a GPU of "
            "the compute capability the cache is for. Exit status: 0 done, 1 some "
            "failed, 2 bad input, 130 interrupted."
        ),
    )
    warm.add_argument("kernel", metavar="MODULE:KERNEL")
    warm.add_argument(
        "--signature",
        "-s",
        action="append",
        required=True,
        help="argument types, as @cuda.jit takes them ('float32[::1], int64'); repeatable",
    )
    warm.add_argument(
        "--block", "-b", required=True, help="block sizes: 64,128,256 (16x16 for 2-D)"
    )
    warm.add_argument("--grid", "-g", default="1", help="grid sizes (default 1)")
    warm.add_argument(
        "--sharedmem", default="0", help="dynamic shared memory sizes in bytes (default 0)"
    )
    warm.add_argument(
        "-j", "--jobs", type=int, default=1, help="compile in N worker processes (default 1)"
    )
    warm.add_argument(
        "--cc",
        default=None,
        help="compute capability to compile for (9.0); without a GPU: numba-cuda-mlir only",
    )
    return parser


def _warm(args: argparse.Namespace) -> int:
    from . import warming as _warm_module
    from .errors import WarmError

    try:
        if args.jobs < 1:
            raise WarmError(f"-j takes a number of processes of at least 1, got {args.jobs}")
        configs = _warm_module.configurations(
            _warm_module.parse_dims(args.grid, "grid size"),
            _warm_module.parse_dims(args.block, "block size"),
            [int(v) for v in _warm_module.parse_dims(args.sharedmem, "sharedmem")],
        )
        report = _warm_module.warm(
            args.kernel,
            args.signature,
            configs,
            jobs=args.jobs,
            cc=args.cc,
            progress=sys.stderr,
            isolated=True,  # this process only warms
        )
    except WarmError as exc:
        print(f"{PROG} warm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} warm: interrupted", file=sys.stderr)
        return 130
    print(report.summary())
    if report.interrupted:
        return 130
    return 0 if report.ok else 1


def _version_of(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def startup_hook_path() -> str | None:
    """Where the start-up hook (``numba_cuda_lcs-autoload.pth``) is
    installed -- in a site directory, where Python reads it at start-up --
    or None when it is not."""
    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    dirs += [sysconfig.get_paths()[key] for key in ("purelib", "platlib")]
    for directory in dict.fromkeys(dirs):
        path = os.path.join(directory, AUTOLOAD_PTH)
        if os.path.isfile(path):
            return path
    return None


def info(out: typing.TextIO | None = None) -> int:
    """Print what is installed and active (``python -m numba_cuda_lcs info``);
    known problems of the environment (numpy 2.5 with numba-cuda 0.30.x)
    come first and again next to ``active:``."""
    out = out or sys.stdout
    import numba_cuda_lcs
    from numba_cuda_lcs import compat, tls

    problems = compat.known_problems()
    for problem in problems:
        print(f"WARNING: {problem}", file=out)
    print("versions:", file=out)
    for name in VERSIONED:
        print(f"  {name}: {_version_of(name)}", file=out)
    print(f"python: {sys.version.split()[0]} ({sys.executable})", file=out)
    print(f"TLS implementation: {tls.IMPLEMENTATION}", file=out)
    hook = startup_hook_path()
    if hook is not None:
        print(f"start-up hook: installed ({hook})", file=out)
    else:
        print(
            "start-up hook: not installed (plain @cuda.jit programs are covered "
            "only after `import numba_cuda_lcs`)",
            file=out,
        )
    print(
        f"start-up hook loaded in this process: {'_numba_cuda_lcs_autoload' in sys.modules}",
        file=out,
    )
    from numba_cuda_lcs import activation, registry

    # Import each installed compiler, as a program using it would, so that
    # what is reported is what such a program gets.
    failed = activation.import_installed_compilers()
    for compiler, exc in failed.items():
        print(f"{compiler}: cannot be imported here ({exc})", file=out)
    reason = numba_cuda_lcs.inactive_reason()
    print(f"active: {reason is None}", file=out)
    if reason is not None:
        print(f"  why not: {reason}", file=out)
        if not activation.compilers_installed():
            print(f"  fix: {compat.INSTALL_COMMAND}", file=out)
    for problem in problems:
        print(f"  WARNING (kernels will not compile): {problem}", file=out)
    for module in registry.installed():
        print(f"patches ({module.COMPILER}):", file=out)
        for line in module.installed_patches():
            print(f"  {line}", file=out)
        print(f"internals read ({module.COMPILER}, see its manifest.py):", file=out)
        for line in module.describe_internals():
            print(f"  {line}", file=out)
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "warm":
        return _warm(args)
    if args.command in (None, "demo"):
        from .demo import main as demo_main

        return demo_main([])
    return info()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # exits 2 with usage on bad arguments
    try:
        code = _run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, and keep Python
        # from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
