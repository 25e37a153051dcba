# The C extension and the start-up .pth file are declared here; everything
# else is in pyproject.toml.
import os

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

PTH = "numba_cuda_lcs-autoload.pth"


class build_py_with_pth(build_py):
    """Also place the autoload .pth at the root of the built wheel, so that
    plain @cuda.jit programs are covered without importing the package."""

    def run(self):
        super().run()
        self.copy_file(PTH, os.path.join(self.build_lib, PTH), preserve_mode=0)

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH)]


setup(
    cmdclass={"build_py": build_py_with_pth},
    ext_modules=[
        Extension(
            "numba_cuda_lcs._tls",
            sources=["numba_cuda_lcs/_tls.c"],
            # The pure-Python twin (_tls_py) takes over if this cannot build.
            optional=True,
        ),
        Extension(
            "numba_cuda_lcs._launcher",
            sources=["numba_cuda_lcs/_launcher.c"],
            # Needs no CUDA headers or libcuda at build time (it dlopens the
            # driver on first launch); _launcher_py is its pure-Python twin.
            libraries=[] if os.name == "nt" else ["dl"],
            optional=True,
        ),
    ],
)
