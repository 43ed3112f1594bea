"""Fail the build when a public name has no entry in the API pages (chex's idea).

Every name in the ``__all__`` of each module in ``coverage_modules`` (conf.py) must be
documented as ``module.name`` by an autodoc or ``py:`` directive somewhere in the site;
submodules listed in ``__all__`` (``jaxact.losses``) are covered by their own entry in
``coverage_modules``. A missing name is a warning, which ``-W`` turns into a failed build.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)


def public_names(modules: list[str]) -> list[str]:
    """``module.name`` for every non-module name in each module's ``__all__``."""
    names = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not isinstance(getattr(module, name), types.ModuleType):
                names.append(f"{module_name}.{name}")
    return names


def check(app: Sphinx, env: Any) -> None:
    documented = set(env.get_domain("py").objects)
    expected = public_names(app.config.coverage_modules)
    missing = [name for name in expected if name not in documented]
    for name in missing:
        logger.warning("coverage: public name %s has no entry in the API pages", name)
    logger.info(
        "coverage: %d of %d public names documented", len(expected) - len(missing), len(expected)
    )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("coverage_modules", [], "env")
    app.connect("env-check-consistency", check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
