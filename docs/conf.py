"""Sphinx configuration of the manual (``make docs`` builds it into ``docs/_build/html``).

The build is offline: no intersphinx, no CDN (furo ships its own assets; no MathJax, because no
page has math), and the notebooks are rendered with the outputs they were committed with
(myst-nb, execution off; the tests execute them). Pages generated from the registries (the
parameters, the output columns, the notebooks' copies, the citation) are written by
``docs/_ext/manual.py`` when the build starts.
"""

from __future__ import annotations

import sys
from importlib.metadata import version as installed_version
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(DOCS / "_ext"), str(ROOT)]

project = "working-alliance"
author = "the working-alliance maintainers"
copyright = "the working-alliance maintainers"
release = installed_version("working-alliance")
version = release

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinxarg.ext",
    "myst_nb",
    "manual",
]

root_doc = "index"
default_role = "literal"  # `x` in a docstring or a --help text is code, not a book title
smartquotes_action = "qe"  # quotes and ellipses only: "--out" must not become an en dash
exclude_patterns = ["_build", "_generated", "**/.ipynb_checkpoints", "validation/README.md"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["manual.css"]

# -- MyST and notebooks ---------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # the committed outputs; tests/test_notebooks.py executes them
nb_ipywidgets_js: dict = {}  # no widget scripts from a CDN
nb_merge_streams = True

# -- autodoc and numpydoc -------------------------------------------------------------------
# Each object is documented in the module that defines it, once, even where another module's
# __all__ re-exports it (two entries would make every cross-reference to it ambiguous).
autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
    "show-inheritance": True,
    "ignore-module-all": True,
}
autodoc_typehints = "none"  # the docstrings' sections say the types; signatures stay short
autodoc_preserve_defaults = True
autosummary_generate = False  # numpydoc loads autosummary; its scan of every page cost ~15 s
numpydoc_show_class_members = False  # autodoc :members: lists them, once
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- HTML -------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"working-alliance {release}"
html_short_title = "working-alliance"
html_theme_options = {"navigation_with_keys": True}
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
