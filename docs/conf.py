"""Sphinx configuration for the jaxact documentation.

Build (from the repository root, with the ``docs`` extra installed)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "ext"))  # coverage_check, math_layout

import jaxact  # noqa: E402

project = "jaxact"
author = "the jaxact authors"
copyright = "2026, the jaxact authors"
version = release = jaxact.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "coverage_check",
    "math_layout",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_static", "ext"]
root_doc = "index"

# Markdown: $...$ math in pages, ::: fences, {.class} on blocks (the tables of numbers), heading
# anchors for links between pages.
myst_enable_extensions = ["dollarmath", "colon_fence", "attrs_block"]
myst_heading_anchors = 3

# The docstrings are Google style (Args/Returns/Examples) with reST math.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# Signatures without annotations, as jax's own pages: jax.typing.ArrayLike would print as the
# union it stands for. Every function takes ArrayLike and returns a jax.Array (Conventions).
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autosummary_generate = False
add_module_names = False

# Every cross-reference must resolve; names from outside the project are listed here.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(jax|jaxlib|flax|numpy|np|jnp|nnx)(\..*)?"),
    (r"py:.*", r"~?(ArrayLike|Array|DTypeLike|Callable|Sequence|Mapping|Any|P|T)"),
    # Private types named in public signatures and docstrings (Activation.facts is a
    # jaxact._src.facts.Facts; activation()'s keyword facts are typed by FactKwargs).
    (r"py:class", r"jaxact\._src\..*"),
    (r"py:.*", r"(collections\.abc|typing)\..*"),
]

html_theme = "sphinx_book_theme"
html_title = f"jaxact {release}"
html_copy_source = False
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["jaxact.css"]
html_theme_options = {
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "use_download_button": False,
}
# MathJax 3 comes from its CDN. JAXACT_MATHJAX2 points the build at a local MathJax 2 instead
# (an offline machine: Debian's libjs-mathjax, for a look at the rendered pages), which
# needs its own configuration and no MathJax 3 options from MyST.
if os.environ.get("JAXACT_MATHJAX2"):
    mathjax_path = os.environ["JAXACT_MATHJAX2"] + "?config=TeX-AMS-MML_HTMLorMML"
    mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]], "processEscapes": True}}
    myst_update_mathjax = False

# The public namespaces the coverage check holds to the API pages.
coverage_modules = ["jaxact", "jaxact.derivatives", "jaxact.losses", "jaxact.testing", "jaxact.nnx"]


class _Named:
    """A default that is a type (``jnp.float32``) shown by its name, not ``<class ...>``."""

    def __init__(self, t: type) -> None:
        self.text = ("jnp." if t.__module__.startswith("jax.numpy") else "") + t.__name__

    def __repr__(self) -> str:
        return self.text


def _module_signature(app, what, name, obj, options, signature, return_annotation):
    """Flax NNX modules: the constructor's signature (nnx.Module's metaclass call would show
    ``(*args, **kwargs)``)."""
    if what == "class" and name.startswith("jaxact.nnx."):
        params = list(inspect.signature(obj.__init__).parameters.values())[1:]  # without self
        bare = [q.replace(annotation=inspect.Parameter.empty) for q in params]  # as elsewhere
        bare = [
            q.replace(default=_Named(q.default))
            if isinstance(q.default, type) and q.default is not q.empty
            else q
            for q in bare
        ]
        return str(inspect.Signature(bare)), None
    return None


def setup(app):
    app.connect("autodoc-process-signature", _module_signature)
