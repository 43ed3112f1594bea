"""Fail the build when a public name has no entry in the API pages (chex's idea).

Every name in the ``__all__`` of each module in ``coverage_modules`` (conf.py) must be
documented as ``module.name`` by an autodoc or ``py:`` directive somewhere in the site;
submodules listed in ``__all__`` (``jaxact.losses``) are covered by their own entry in
``coverage_modules``. A missing name is a warning, which ``-W`` turns into a failed build.
(Sphinx is imported only when the check runs: the test suite uses this module without it.)
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Iterable
from typing import Any


def public_names(modules: list[str]) -> list[str]:
    """``module.name`` for every non-module name in each module's ``__all__``."""
    names = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not isinstance(getattr(module, name), types.ModuleType):
                names.append(f"{module_name}.{name}")
    return names


def missing_names(documented: Iterable[str], modules: list[str]) -> list[str]:
    """The public names of ``modules`` that are not among ``documented``."""
    documented = set(documented)
    return [name for name in public_names(modules) if name not in documented]


def _logger() -> Any:
    from sphinx.util import logging

    return logging.getLogger(__name__)


def check(app: Any, env: Any) -> None:
    modules = app.config.coverage_modules
    missing = missing_names(env.get_domain("py").objects, modules)
    log = _logger()
    for name in missing:
        log.warning("coverage: public name %s has no entry in the API pages", name)
    total = len(public_names(modules))
    log.info("coverage: %d of %d public names documented", total - len(missing), total)


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("coverage_modules", [], "env")
    app.connect("env-check-consistency", check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
