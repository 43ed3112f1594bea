"""The public surface: everything in __all__ imports, is documented, typed and in the registry;
each docstring states its equation and derivative in a math block and lists the declared
kinks, which are what autodiff gives."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxact
from jaxact import derivatives, testing
from jaxact._src.docstrings import kinks_section
from jaxact._src.facts import facts_of
from jaxact._src.registry import ALIASES, BY_NAME, REGISTRY

ACTIVATIONS = [n for n in jaxact.__all__ if n not in {"Activation", "Kink", "Select", "activation"}]
ACTIVATIONS = [n for n in ACTIVATIONS if not inspect.ismodule(getattr(jaxact, n))]
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("module", [jaxact, derivatives, testing], ids=lambda m: m.__name__)
def test_all_names_import_and_are_documented(module):
    for name in module.__all__:
        obj = getattr(module, name)
        assert obj.__doc__ and obj.__doc__.strip(), f"{module.__name__}.{name} has no docstring"


def math_blocks(doc: str) -> list[str]:
    """The LaTeX of every ``.. math::`` block and :math:`...` role in a cleaned docstring."""
    blocks = re.findall(r":math:`([^`]*)`", doc)
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(".. math::"):
            body = [line.strip()[len(".. math::") :]]
            indent = len(line) - len(line.lstrip())
            for more in lines[i + 1 :]:
                if more.strip() and len(more) - len(more.lstrip()) <= indent:
                    break
                body.append(more)
            blocks.append("\n".join(body))
    return blocks


# A derivative in LaTeX: f'(x), \frac{\partial ...}, \frac{d}{dx}, or a JVP's \dot y.
DERIVATIVE = re.compile(r"'\s*\(|\\frac\{\\partial|\\frac\{d\}\{dx\}|\\dot\s*[a-z]")


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_docstrings_state_equation_and_derivative_in_balanced_latex(name):
    doc = inspect.getdoc(getattr(jaxact, name))
    assert doc is not None
    blocks = math_blocks(doc)
    assert any(".. math::" in line for line in doc.splitlines()), f"{name}: no math block"
    assert any(DERIVATIVE.search(b) for b in blocks), f"{name}: no derivative inside the math"
    for b in blocks:  # renderable: braces and environments balance
        assert b.count("{") - b.count("\\{") == b.count("}") - b.count("\\}"), (name, b)
        assert b.count("\\begin{") == b.count("\\end{"), (name, b)
        assert b.count("\\left") == b.count("\\right"), (name, b)
    assert re.search(r"^\s*>>> ", doc, re.M), f"{name}: no example"
    assert "Args:" in doc and "Returns:" in doc


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_docstring_kink_table_is_the_declared_kinks_and_autodiff_agrees(name):
    """The docstring lists exactly the declared kinks; at the default parameters, f'
    (and f'' where it jumps) at each of them is what autodiff gives."""
    fn = getattr(jaxact, name)
    facts = facts_of(fn)
    doc = inspect.getdoc(fn) or ""
    section = kinks_section(facts)
    if isinstance(fn, jaxact.Activation):
        assert (section in doc) if section else ("Kinks (" not in doc), name
    if facts.kind != "elementwise" or not facts.kinks:
        return
    sig = inspect.signature(fn)
    defaults = {n: p.default for n, p in sig.parameters.items() if p.default is not p.empty}
    if len(defaults) < len(sig.parameters) - 1:
        return  # required parameters (prelu, threshold): the registry tests their kinks
    ns = facts.namespace(defaults, {})
    with jax.enable_x64(True):
        for k in facts.kinks:
            x = jnp.float64(k.evaluate(k.at, ns))
            if k.d1 is not None:
                assert float(jax.grad(fn)(x)) == k.evaluate(k.d1, ns), (name, k)
            if k.d2 is not None:
                got = float(jax.grad(jax.grad(fn))(x))
                assert got == pytest.approx(k.evaluate(k.d2, ns), rel=1e-12), (name, k)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_is_in_the_registry_with_a_derivative(name):
    name = ALIASES.get(name, name)
    if facts_of(getattr(jaxact, name)).kind == "pair":  # tested through its split form
        name = name.removesuffix("_pair")
    assert name in BY_NAME, f"{name} is public but not in the registry (no shared tests)"
    spec = BY_NAME[name]
    if spec.kind == "elementwise":
        assert name in derivatives.__all__, f"jaxact.derivatives.{name} is missing"
    else:
        assert f"{name}_jvp" in derivatives.__all__, f"jaxact.derivatives.{name}_jvp is missing"


def test_registry_entries_are_public_and_aliases_declared():
    for spec in REGISTRY:
        assert getattr(jaxact, spec.public_name) is spec.fn
        for alias in spec.aliases:
            assert getattr(jaxact, alias) is spec.fn
            assert alias in jaxact.__all__


def test_relaxed_bounds_are_float32_only_and_explained():
    for spec in REGISTRY:
        assert spec.bounds("bfloat16") <= (1.0, 1.0) or spec.value_abs or spec.derivative_abs
        if spec.f32_bounds != (4.0, 4.0):
            # The note names the cause: where (a tail, a zero, or the worst input) and why
            # (which rounding).
            assert re.search(r"tail|zero|x = ", spec.bound_note), spec.name
            assert re.search(r"round|cancel", spec.bound_note), spec.name


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_signatures_are_typed(name):
    sig = inspect.signature(getattr(jaxact, name))
    assert "Array" in str(sig.return_annotation)
    first = next(iter(sig.parameters.values()))
    assert "ArrayLike" in str(first.annotation), f"{name}: first argument not ArrayLike"


def test_py_typed_marker_ships():
    from importlib import resources

    assert resources.files("jaxact").joinpath("py.typed").is_file()


def test_version_is_single_sourced():
    from importlib.metadata import version

    assert jaxact.__version__ == version("jaxact")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and "\nversion =" not in pyproject


@pytest.mark.skipif(shutil.which("pyright") is None, reason="pyright (test extra) not on PATH")
@pytest.mark.slow
def test_pyright_sees_activations_as_arrays(tmp_path):
    """A type checker sees through `activation`: jaxact.gelu(x) is an Array, the derivative
    keeps the signature, and a wrong argument is an error."""
    good = tmp_path / "good.py"
    good.write_text(
        "from typing import assert_type\n"
        "import jax.numpy as jnp\n"
        "from jax import Array\n"
        "import jaxact\n"
        "x = jnp.ones(3)\n"
        "assert_type(jaxact.gelu(x), Array)\n"
        "assert_type(jaxact.gelu(x, approximate=False), Array)\n"
        "assert_type(jaxact.derivatives.elu(x, 0.5), Array)\n"
        "assert_type(jaxact.softmax(x, axis=-1), Array)\n"
        "from jaxact._src.facts import Residual\n"
        "assert_type(jaxact.relu.facts.residual, Residual)\n"
    )
    bad = tmp_path / "bad.py"
    bad.write_text("import jaxact\njaxact.gelu(1.0, approximateee=False)\n")
    run = lambda f: subprocess.run(
        [shutil.which("pyright") or "pyright", str(f)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    ok = run(good)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = run(bad)
    assert wrong.returncode == 1 and "approximateee" in wrong.stdout, wrong.stdout


def _number_defaults(fn) -> list:
    return [p.default for p in list(inspect.signature(fn).parameters.values())[1:]]


@pytest.mark.parametrize(
    "name",
    [
        s.name
        for s in REGISTRY
        if s.kind == "elementwise"
        and all(isinstance(d, (int, float)) for d in _number_defaults(s.fn))
    ],
)
def test_one_argument_call_equals_the_defaults_spelled_out(name):
    """f(x) gives what f(x, *defaults) gives, bit for bit: value, gradient and weak type
    (the float32 scans measure f(x); a user spelling the defaults out gets the same)."""
    fn = BY_NAME[name].fn
    defaults = _number_defaults(fn)
    x = jnp.linspace(-5.0, 5.0, 101, dtype=jnp.float32)
    assert jnp.array_equal(fn(x), fn(x, *defaults), equal_nan=True)
    g1 = jax.grad(lambda v: jnp.sum(fn(v)))(x)
    g2 = jax.grad(lambda v: jnp.sum(fn(v, *defaults)))(x)
    assert jnp.array_equal(g1, g2, equal_nan=True)
    assert fn(2.0).weak_type == fn(2.0, *defaults).weak_type


def test_upcast_false_refuses_parameters_and_keeps_the_input_dtype():
    """``upcast=False`` (a formula exact in any dtype) is refused for a function with
    parameters, which would be rounded to a 16-bit input's dtype; without parameters the
    formula sees the input's own dtype, where the default sees float32."""
    with pytest.raises(ValueError, match="upcast=False"):
        jaxact.activation(lambda x, a: x * a, derivative=lambda x, a: (a, x), upcast=False)
    seen = []

    def record(x):
        seen.append(x.dtype)
        return x

    x = jnp.ones(3, jnp.bfloat16)
    jaxact.activation(record, derivative=lambda x: 1.0 + 0 * x, upcast=False)(x)
    jaxact.activation(record, derivative=lambda x: 1.0 + 0 * x)(x)
    assert seen == [jnp.bfloat16, jnp.float32]


def test_a_derivative_must_return_one_partial_per_argument_as_a_tuple():
    """With parameters, the derivative returns a tuple of 1 + nparams partials; an array
    (never split along its first axis, whatever its length), a list or a wrong count raise
    ``TypeError`` naming the function, in eager calls and in gradients."""

    def elu(x, a):
        return jnp.where(x > 0, x, a * jnp.expm1(x))

    x = jnp.linspace(-1.0, 1.0, 6).reshape(2, 3)  # a first axis of 1 + nparams entries
    stacked = jaxact.activation(
        elu,
        derivative=lambda x, a: jnp.stack(
            [jnp.where(x > 0, 1.0, a * jnp.exp(x)), jnp.where(x > 0, 0.0, jnp.expm1(x))]
        ),
        name="stacked_elu",
    )
    as_list = jaxact.activation(elu, derivative=lambda x, a: [x, x], name="list_elu")
    three = jaxact.activation(elu, derivative=lambda x, a: (x, x, x), name="three_elu")
    for f, got in ((stacked, "an array"), (as_list, "a list"), (three, "a tuple of 3")):
        with pytest.raises(TypeError, match=f"derivative of {f.__name__} returned {got}"):
            jax.grad(lambda v, f=f: jnp.sum(f(v, 0.5)))(x)
        with pytest.raises(TypeError, match=f.__name__):
            f.derivative(x, 0.5)
    good = jaxact.activation(
        elu,
        derivative=lambda x, a: (
            jnp.where(x > 0, 1.0, a * jnp.exp(x)),
            jnp.where(x > 0, 0.0, jnp.expm1(x)),
        ),
    )
    ga = jax.grad(lambda a: jnp.sum(good(x, a)))(0.5)
    assert jnp.allclose(ga, jnp.sum(jnp.where(x > 0, 0.0, jnp.expm1(x))))


def test_a_derivative_must_be_callable():
    with pytest.raises(TypeError, match="activation square: `derivative` must be callable"):
        jaxact.activation(lambda x: x * x, derivative=3, name="square")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`valid` must be callable"):
        jaxact.activation(lambda x, a: x * a, derivative=lambda x, a: (a, x), valid=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (jaxact.celu, (0.0,)),
        (jaxact.hard_tanh, (1.0, -1.0)),
        (jaxact.softplus, (0.0,)),
        (jaxact.soft_shrink, (-0.5,)),
        (jaxact.hard_shrink, (-0.5,)),
        (jaxact.squareplus, (-1.0,)),
        (jaxact.clamped_swiglu, (-1.0,)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_invalid_hyperparameters_raise_when_concrete_and_give_nan_when_traced(fn, args):
    """A value the function is not defined for raises ``ValueError`` naming the function
    when it is known; under jit it is a tracer no check can read, and the output is NaN
    (the value and its gradient), never a plausible number (celu's alpha 0 gave -0,
    hard_tanh(x, 1, -1) gave -1, softplus's beta 0 gave inf, clamped_swiglu's limit -1
    gave -0)."""
    x = jnp.linspace(-2.0, 2.0, 8)
    with pytest.raises(ValueError, match=fn.__name__):
        fn(x, *args) if fn is not jaxact.clamped_swiglu else fn(x, limit=args[0])
    call = (
        (lambda v, *p: fn(v, *p))
        if fn is not jaxact.clamped_swiglu
        else (lambda v, lim: fn(v, limit=lim))
    )
    y = jax.jit(call)(x, *args)
    assert bool(jnp.all(jnp.isnan(y))), y
    g = jax.jit(jax.grad(lambda v, *p: jnp.sum(call(v, *p))))(x, *args)
    if fn not in (jaxact.hard_tanh, jaxact.hard_shrink, jaxact.soft_shrink):
        assert bool(jnp.all(jnp.isnan(g))), g  # (the others' derivatives are masks only)


@pytest.mark.parametrize("fn", [jaxact.gelu, jaxact.geglu, jaxact.geglu_pair])
def test_approximate_must_be_a_bool(fn):
    """``approximate="none"`` or ``"yes"`` were read as True (the tanh form); any non-bool
    is a ``TypeError`` naming the function. NumPy bools are bools."""
    x = jnp.ones(4)
    args = (x, x) if fn is jaxact.geglu_pair else (x,)
    for bad in ("none", "yes", 1, None):
        with pytest.raises(TypeError, match="`approximate` must be a bool"):
            fn(*args, approximate=bad)
    assert jnp.array_equal(fn(*args, approximate=np.bool_(False)), fn(*args, approximate=False))
    assert not jnp.array_equal(fn(*args, approximate=False), fn(*args, approximate=True))


def test_a_traced_static_argument_gets_a_message_that_says_how_to_pass_it():
    """``jax.jit(jaxact.gelu)(x, False)`` traces ``False``; the error says the argument is
    static and how to pass it (it said keyword arguments must be hashable)."""
    x = jnp.ones(3)
    with pytest.raises(TypeError, match=r"gelu: `approximate` is static.*static_argnames"):
        jax.jit(jaxact.gelu)(x, False)
    assert jnp.array_equal(
        jax.jit(jaxact.gelu, static_argnums=1)(x, False), jaxact.gelu(x, approximate=False)
    )
