"""The public surface: everything in __all__ imports, is documented, typed and in the registry."""

from __future__ import annotations

import inspect

import pytest

import jaxact
from jaxact import derivatives, testing
from jaxact._src.registry import ALIASES, BY_NAME, REGISTRY

ACTIVATIONS = [n for n in jaxact.__all__ if n not in {"Select", "activation"}]
ACTIVATIONS = [n for n in ACTIVATIONS if not inspect.ismodule(getattr(jaxact, n))]


@pytest.mark.parametrize("module", [jaxact, derivatives, testing], ids=lambda m: m.__name__)
def test_all_names_import_and_are_documented(module):
    for name in module.__all__:
        obj = getattr(module, name)
        assert obj.__doc__ and obj.__doc__.strip(), f"{module.__name__}.{name} has no docstring"


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_docstrings_have_math_derivative_and_example(name):
    doc = inspect.getdoc(getattr(jaxact, name))
    assert doc is not None
    assert ".. math::" in doc, name
    markers = ("'", "\\frac{\\partial", "\\dot", "\\frac{d}{dx}")
    assert any(m in doc for m in markers), f"{name}: no derivative"
    assert ">>>" in doc, f"{name}: no example"
    assert "Args:" in doc and "Returns:" in doc


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_is_in_the_registry_with_a_derivative(name):
    name = ALIASES.get(name, name)
    assert name in BY_NAME, f"{name} is public but not in the registry (no shared tests)"
    spec = BY_NAME[name]
    if spec.kind == "elementwise":
        assert name in derivatives.__all__, f"jaxact.derivatives.{name} is missing"
    else:
        assert f"{name}_jvp" in derivatives.__all__, f"jaxact.derivatives.{name}_jvp is missing"


def test_registry_entries_are_public():
    for spec in REGISTRY:
        assert getattr(jaxact, spec.public_name) is spec.fn


def test_relaxed_bounds_are_float32_only_and_explained():
    for spec in REGISTRY:
        assert spec.bounds("bfloat16") <= (1.0, 1.0) or spec.value_abs or spec.derivative_abs
        if spec.f32_bounds != (4.0, 4.0):
            assert len(spec.bound_note) > 40, spec.name


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_signatures_are_typed(name):
    sig = inspect.signature(getattr(jaxact, name))
    assert sig.return_annotation in ("Array", "jax.Array") or "Array" in str(sig.return_annotation)
    first = next(iter(sig.parameters.values()))
    assert "ArrayLike" in str(first.annotation), f"{name}: first argument not ArrayLike"


def test_py_typed_marker_ships():
    from importlib import resources

    assert resources.files("jaxact").joinpath("py.typed").is_file()
