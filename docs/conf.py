"""Sphinx configuration: the Markdown pages (MyST) and the API reference
(autodoc).  Build: python -m sphinx -W --keep-going -b html docs docs/_build/html
(needs the ``docs`` extra: pip install -e ".[docs]"; no compiler, no GPU)."""

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)  # autodoc imports numba_cuda_lcs from this checkout

from numba_cuda_lcs import __version__  # noqa: E402

project = "numba-cuda-lcs"
author = "numba-cuda-lcs contributors"
copyright = "numba-cuda-lcs contributors (BSD-2-Clause)"
version = release = __version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# The API reference: members in source order, with their signatures.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "undoc-members": False}

html_theme = "alabaster"
html_title = f"numba-cuda-lcs {release}"
html_static_path: list[str] = []
