"""``python -m numba_cuda_lcs demo`` runs the demo; ``info`` prints the
installed integration."""

import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "demo"
    if command == "demo":
        from .demo import main as demo_main

        return demo_main(argv[1:])
    if command == "info":
        import numba_cuda_lcs
        from numba_cuda_lcs import tls

        print(f"numba-cuda-lcs {numba_cuda_lcs.__version__}, TLS: {tls.IMPLEMENTATION}")
        print(f"active: {numba_cuda_lcs.is_active()}")
        if numba_cuda_lcs.is_active():
            from numba_cuda_lcs import backends

            for module in backends.installed_modules():
                print(f"  {module.COMPILER}:")
                for line in module.installed_patches():
                    print(f"    {line}")
        return 0
    print("usage: python -m numba_cuda_lcs [demo|info]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
