# The C extension and the start-up .pth file are declared here; everything
# else is in pyproject.toml.
import os

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

PTH = "numba_cuda_lcs-autoload.pth"

# The C launcher's parts (numba_cuda_lcs._launcher); MANIFEST.in puts them
# in the sdist, and arg_kinds.h is also package data (the twin reads it).
LAUNCHER_C = "numba_cuda_lcs/_launcher_c"
LAUNCHER_SOURCES = ["cuda_driver.c", "state.c", "launcher.c", "sites.c", "module.c"]
LAUNCHER_HEADERS = [
    "common.h",
    "arg_kinds.h",
    "cuda_driver.h",
    "dlpack_abi.h",
    "array_values.h",
    "attr_memo.h",
    "state.h",
    "launcher.h",
    "sites.h",
]


class build_py_with_pth(build_py):
    """Also place the start-up .pth at the root of the wheel -- the regular
    one and the editable one -- so that plain @cuda.jit programs are covered
    without importing the package, whichever way it was installed."""

    def run(self):
        super().run()
        self.copy_file(PTH, self._pth_target(), preserve_mode=False)

    def _pth_target(self):
        if self.editable_mode:
            # setuptools >= 64 builds editable wheels with editable_wheel,
            # which runs build_py in editable mode and points install_lib at
            # the directory whose files become the editable wheel.
            return os.path.join(self.get_finalized_command("install").install_lib, PTH)
        return os.path.join(self.build_lib, PTH)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs  # the .pth is part of the wheel itself, not a link
        return outputs + [os.path.join(self.build_lib, PTH)]


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
            # The C launcher in parts (see _launcher_c/common.h for the map).
            sources=[os.path.join(LAUNCHER_C, name) for name in LAUNCHER_SOURCES],
            depends=[os.path.join(LAUNCHER_C, name) for name in LAUNCHER_HEADERS],
            # Needs no CUDA headers or libcuda at build time (it dlopens the
            # driver on first launch); _launcher_py is its pure-Python twin.
            libraries=[] if os.name == "nt" else ["dl"],
            optional=True,
        ),
    ],
)
