"""The helper that turns a forward formula plus its analytic derivative into a jitted
``jax.custom_jvp`` activation (validation and the dtype rule are in ``arrays``).

Every elementwise activation in jaxact is built by :func:`activation`; users can build
their own the same way.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, ParamSpec, TypedDict, Unpack, cast, overload

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.core import Tracer

from jaxact._src.arrays import (
    FLOATS,
    NUMBER_TYPES,
    as_float_array,
    compute_dtype,
    device_numbers,
    is_weak,
    like_input,
    match_rank,
    number_key,
)
from jaxact._src.docstrings import derivative_doc, kinks_section
from jaxact._src.facts import Facts, Kind, Kink, Residual
from jaxact._src.rule import Select, bind_parameters, make_core, select_tangent

P = ParamSpec("P")


class FactKwargs(TypedDict, total=False):
    """The facts ``activation`` takes as keywords (see :class:`Facts`)."""

    kind: Kind
    kinks: Sequence[Kink]
    residual: Residual
    aliases: Sequence[str]
    jax_nn: str | None
    reference: str
    symbols: Mapping[str, float]
    support: tuple[float, float]


__all__ = ["Activation", "FactKwargs", "Select", "activation", "kinks_section", "select_tangent"]


class Activation(Generic[P]):
    """A jaxact activation: call it like the function it was built from.

    Attributes:
      derivative: :math:`f'(x)` as an array, with the activation's own signature.
      facts: the declared :class:`~jaxact._src.facts.Facts` (kinks, residual, aliases, ...).
    """

    __name__: str
    __qualname__: str
    __signature__: inspect.Signature
    facts: Facts
    derivative: Callable[P, Array]

    def __init__(
        self,
        fn: Callable[P, Array],
        call: Callable[..., Array],
        derivative: Callable[..., Array],
        facts: Facts,
    ) -> None:
        functools.update_wrapper(self, fn)
        sig = inspect.signature(fn)
        self.__name__ = self.__qualname__ = facts.name
        self.__signature__ = sig
        doc = inspect.cleandoc(fn.__doc__ or "")
        section = kinks_section(facts)
        self.__doc__ = f"{doc}\n\n{section}\n" if section else doc
        derivative.__name__ = derivative.__qualname__ = facts.name
        derivative.__module__ = fn.__module__
        cast(Any, derivative).__signature__ = sig
        # jaxact's own activations are documented as jaxact.NAME / jaxact.derivatives.NAME.
        owner = "jaxact." if fn.__module__.startswith("jaxact.") else ""
        derivative.__doc__ = derivative_doc(facts, doc, sig, owner)
        self.derivative = derivative
        self.facts = facts
        self.__jaxact_facts__ = facts
        self._call = call

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Array:
        return self._call(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<jaxact activation {self.__name__}{self.__signature__}>"


@overload
def activation(
    fn: Callable[P, Array],
    *,
    derivative: Callable[..., Any],
    name: str | None = None,
    static_argnames: Sequence[str] = (),
    check: Callable[..., str | None] | None = None,
    valid: Callable[..., Any] | None = None,
    upcast: bool = True,
    **facts: Unpack[FactKwargs],
) -> Activation[P]: ...


@overload
def activation(
    fn: None = None,
    *,
    derivative: Callable[..., Any],
    name: str | None = None,
    static_argnames: Sequence[str] = (),
    check: Callable[..., str | None] | None = None,
    valid: Callable[..., Any] | None = None,
    upcast: bool = True,
    **facts: Unpack[FactKwargs],
) -> Callable[[Callable[P, Array]], Activation[P]]: ...


def activation(
    fn: Callable[P, Array] | None = None,
    *,
    derivative: Callable[..., Any],
    name: str | None = None,
    static_argnames: Sequence[str] = (),
    check: Callable[..., str | None] | None = None,
    valid: Callable[..., Any] | None = None,
    upcast: bool = True,
    **facts: Unpack[FactKwargs],
) -> Activation[P] | Callable[[Callable[P, Array]], Activation[P]]:
    r"""Turn a forward formula and its analytic derivative into a jitted ``custom_jvp`` activation.

    ``fn(x, *params)`` is the forward formula and ``derivative(x, *params)`` its analytic
    derivative: with no parameters it returns :math:`f'(x)` (an array, or a :class:`Select`
    for piecewise-constant derivatives so reverse mode keeps only a boolean mask); with
    parameters it returns a tuple of partial derivatives :math:`(\partial f/\partial x,
    \partial f/\partial p_1, \ldots)`. Both receive floating arrays already broadcast to a
    common rank, in float32 when the input is a 16-bit float (unless ``upcast=False``), and
    must be elementwise.

    The result validates its inputs (``TypeError`` naming the function for non-arrays),
    promotes integer and bool inputs to the default float dtype, computes 16-bit inputs in
    float32 and rounds once, returns the dtype of ``x``, and differentiates through the
    analytic rule at every order (so build ``derivative`` from functions with good
    derivatives of their own, such as jaxact's). Parameters are differentiable arrays,
    traced under ``jit``/``vmap`` (one program for every value); a parameter left at its
    Python-number default (or given as that number) is compiled in as the number, so a
    formula may branch on it in Python (silu's beta = 1 needs no rounding error of
    beta x).
    ``result.derivative(x, *params)`` evaluates :math:`f'(x)` as an array.

    Reverse mode keeps ``x`` (and the parameters) and recomputes the derivative inside the
    backward pass, where XLA fuses it with the cotangent product; a ``Select`` keeps only
    its boolean mask.

    ``upcast=False`` computes 16-bit inputs in their own dtype instead of float32, for a
    formula without parameters that is exact in any floating dtype (comparisons, max, min,
    selects, such as relu). In a bfloat16 network XLA then keeps the bfloat16 pre-activation
    for the backward pass, as for jax.nn's functions, instead of the float32 matmul output it
    was rounded from (twice the bytes, per layer of an MLP's train step).

    ``check(*params)``, if given, receives the parameters as NumPy arrays when they are
    concrete (not traced) and returns a message for invalid values (raised as
    ``ValueError`` naming the function), or ``None``. ``valid(*params)``, if given, is the
    same condition as a ``jnp`` predicate (a boolean array): where it is False, as it can
    be for traced parameters that ``check`` never sees, the value and the array partials
    are NaN instead of a meaningless number. Arguments that do not broadcast together raise
    ``ValueError`` naming the function and their shapes.

    A ``derivative`` for a function with parameters must return a ``tuple`` of exactly
    1 + (number of parameters) partials; anything else raises ``TypeError`` naming the
    function (an array is never split into partials).

    The keyword arguments after ``check`` declare facts about the function (its
    :class:`Kink` points, ``residual`` kind, ``aliases``, ``jax_nn`` counterpart,
    ``reference``), kept on ``result.facts``; the kinks are listed in its docstring.

    Can be used as a decorator, ``@activation(derivative=...)``, or called directly.

    Examples:
      >>> import jaxact
      >>> @jaxact.activation(derivative=lambda x: 2 * x)
      ... def square(x):
      ...   return x * x
      >>> jax.grad(square)(3.0)
      Array(6., dtype=float32, weak_type=True)
      >>> square.derivative(jnp.arange(3))
      Array([0., 2., 4.], dtype=float32)
    """
    if fn is None:
        return functools.partial(  # type: ignore[return-value]
            activation,
            derivative=derivative,
            name=name,
            static_argnames=static_argnames,
            check=check,
            valid=valid,
            upcast=upcast,
            **facts,
        )
    fn_name = name or getattr(fn, "__name__", "activation")
    declared = Facts(
        name=fn_name,
        kind=facts.get("kind", "elementwise"),
        kinks=tuple(facts.get("kinks", ())),
        residual=facts.get("residual", "array"),
        aliases=tuple(facts.get("aliases", ())),
        jax_nn=facts.get("jax_nn"),
        reference=facts.get("reference", ""),
        symbols=dict(facts.get("symbols", {})),
        support=facts.get("support", (-math.inf, math.inf)),
    )
    if not callable(derivative):
        raise TypeError(
            f"activation {fn_name}: `derivative` must be callable, got {type(derivative).__name__}"
        )
    if valid is not None and not callable(valid):
        raise TypeError(f"activation {fn_name}: `valid` must be callable or None")
    sig = inspect.signature(fn)
    static_names = list(static_argnames)
    names = [n for n in sig.parameters if n not in static_names]
    nparams = len(names) - 1
    if not upcast and nparams:
        raise ValueError(
            f"activation {fn_name}: upcast=False is for functions without parameters (a "
            "parameter would be rounded to the input's dtype)"
        )

    @functools.cache
    def compiled(
        static: tuple[tuple[str, type, Any], ...], baked: tuple[int, ...] = ()
    ) -> tuple[Callable[..., Array], ...]:
        """The jitted custom_jvp function and derivative for one setting of the static args,
        with the parameters at positions ``baked`` fixed to their Python-number defaults
        (a formula can then see its default as a number: silu's beta = 1 needs no rounding
        error of beta x) and the others traced."""
        kw = {n: v for n, _, v in static}  # (the types in the key: True and 1 hash alike)
        f, d = bind_parameters(fn, derivative, nparams, kw, baked, defaults, valid, fn_name)
        core = make_core(f, d, nparams - len(baked), upcast)

        # Rank matching happens inside the jitted programs (free when traced), so the fast
        # path below can hand Python-number parameters straight to jit's C++ dispatch.
        @jax.jit
        def value(x: Array, *params: Array) -> Array:
            return core(*match_rank([x, *params]))

        @jax.jit
        def deriv(x_: Array, *params_: Array) -> Array:
            x, *params = match_rank([x_, *params_])
            cd = compute_dtype(x.dtype)
            shape = jnp.broadcast_shapes(x.shape, *(p.shape for p in params))
            partials = d(x.astype(cd), *(p.astype(cd) for p in params))
            dx = partials[0] if nparams - len(baked) else partials
            if isinstance(dx, Select):
                dx = dx.materialize(cd)
            return like_input(jnp.broadcast_to(dx, shape), x.dtype, is_weak(x, *params))

        return value, deriv

    def prepare(
        args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[list[Array], tuple[tuple[str, type, Any], ...], tuple[int, ...]]:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{fn_name}: {e}") from None
        bound.apply_defaults()
        baked = defaulted([bound.arguments[n] for n in names[1:]])
        converted = [as_float_array(fn_name, bound.arguments[n], n) for n in names]
        arrays = [a for i, a in enumerate(converted) if i - 1 not in baked]
        try:
            jnp.broadcast_shapes(*(a.shape for a in converted))
        except ValueError:
            shapes = ", ".join(f"`{n}` {a.shape}" for n, a in zip(names, converted, strict=True))
            raise ValueError(
                f"{fn_name}: the arguments do not broadcast together: {shapes}"
            ) from None
        if check is not None:
            try:  # only concrete values can be checked (not traced ones, under jit or grad)
                values = [np.asarray(a) for a in converted[1:]]
            except jax.errors.TracerArrayConversionError:
                values = None
            problem = None if values is None else check(*values)
            if problem:
                raise ValueError(f"{fn_name}: {problem}")
        static = tuple((n, type(v), v) for n in static_names for v in [bound.arguments[n]])
        for n, _, v in static:
            if isinstance(v, Tracer):
                raise TypeError(
                    f"{fn_name}: `{n}` is static and must be a concrete Python value, got a "
                    f"traced one (under jax.jit, pass it with static_argnames=({n!r},) or "
                    "close over it)"
                )
        try:
            hash(static)
        except TypeError:
            raise TypeError(
                f"{fn_name}: the static arguments {static_names} must be hashable"
            ) from None
        return arrays, static, baked

    # The fast path for the common eager call: x a floating jax.Array, the parameters given
    # positionally (Python numbers or floating arrays that broadcast) or left at Python-number
    # defaults. It skips binding and eager conversion (~100 us) and gives the same result:
    # jit converts Python numbers to weakly typed arrays, as as_float_array does.
    params = [sig.parameters[n] for n in names[1:]]
    defaults = tuple(p.default for p in params)
    default_static = tuple(
        (n, type(d), d) for n in static_names for d in [sig.parameters[n].default]
    )
    fast_ok = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params) and all(
        sig.parameters[n].default is not inspect.Parameter.empty for n in static_names
    )

    position = {n: i for i, n in enumerate(names)}

    @functools.cache
    def keyword_spots(keys: tuple[str, ...]) -> tuple[int, ...] | None:
        """The parameter indices of keyword arguments (None: unknown or static names)."""
        spots = tuple(position.get(k, 0) - 1 for k in keys)
        return None if min(spots) < 0 else spots

    def fast_params(
        n: int, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, ...] | None:
        """The parameters of a call with ``n`` positional arguments, defaults filled in; None
        when only the slow path can bind them (too many, unknown or repeated keywords)."""
        if n > len(names):
            return None
        params = args[1:] + defaults[n - 1 :]
        if not kwargs:
            return params
        spots = keyword_spots(tuple(kwargs))
        if spots is None or min(spots) < n - 1:
            return None  # unknown, static, or given twice: the slow path says which
        full = list(params)
        for i, v in zip(spots, kwargs.values(), strict=True):
            full[i] = v
        return tuple(full)

    def numbers_key(numbers: tuple[float, ...]) -> tuple[tuple[type, float, float], ...]:
        return tuple(number_key(a) for a in numbers)

    def defaulted(params: Sequence[Any]) -> tuple[int, ...]:
        """The positions of ``params`` at their Python-number defaults (left out, or the
        same number given): compiled in as numbers (see ``compiled``), so ``f(x)`` and
        ``f(x, *defaults)`` run one program."""
        return tuple(
            i
            for i, (v, d) in enumerate(zip(params, defaults, strict=True))
            if type(d) in NUMBER_TYPES and type(v) is type(d) and v == d
        )

    def run(which: int, x: Array, params: tuple[Any, ...], scalars: tuple[Any, ...]) -> Array:
        """Program ``which`` (0 the value, 1 the derivative) at the default static arguments:
        ``scalars`` (the kept device form of ``params``) for a concrete x; under a trace the
        Python numbers in ``params`` stay literals in the caller's program, as before. The
        parameters left at their defaults are compiled in."""
        baked = defaulted(params)
        given = params if isinstance(x, Tracer) else scalars
        if baked:
            given = tuple(v for i, v in enumerate(given) if i not in baked)
        return compiled(default_static, baked)[which](x, *given)

    @functools.lru_cache(maxsize=256)
    def kept(key: tuple[tuple[type, float, float], ...], x64: bool) -> tuple[Array, ...]:
        """Python-number parameters, checked (``check`` costs ~8 us in NumPy) and made
        :func:`device_numbers` (jit's conversion costs ~2 us each per call), once per
        setting (``x64``, a key only, sets the scalars' dtype)."""
        del x64
        values = [v for _, v, _ in key]
        if check is not None:
            problem = check(*(np.asarray(v) for v in values))
            if problem:
                raise ValueError(f"{fn_name}: {problem}")
        return device_numbers(values)

    def with_arrays(which: int, x: Array, params: tuple[Any, ...]) -> Array | None:
        """Program ``which`` (0 the value, 1 the derivative) at parameters that include
        floating arrays (None: the slow path)."""
        shapes = [x.shape]
        for a in params:
            if isinstance(a, jax.Array) and a.dtype in FLOATS:
                shapes.append(a.shape)
            elif type(a) not in NUMBER_TYPES:
                return None
        try:
            np.broadcast_shapes(*shapes)
        except (ValueError, TypeError):
            # the slow path raises the error naming the arguments, or broadcasts a
            # symbolic shape (jax.export), which NumPy cannot
            return None
        if check is not None:
            try:
                problem = check(*(np.asarray(a) for a in params))
            except jax.errors.TracerArrayConversionError:
                problem = None
            if problem:
                raise ValueError(f"{fn_name}: {problem}")
        return run(which, x, params, () if isinstance(x, Tracer) else device_numbers(params))

    default_key = numbers_key(defaults) if NUMBER_TYPES.issuperset(map(type, defaults)) else None

    def dispatch(which: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Array:
        """Program ``which`` (0 the value, 1 the derivative) at the call's arguments."""
        x = args[0] if args else None
        if fast_ok and isinstance(x, jax.Array) and x.dtype in FLOATS:
            n = len(args)
            params = defaults if n == 1 and not kwargs else fast_params(n, args, kwargs)
            if params is not None:
                if not NUMBER_TYPES.issuperset(map(type, params)):
                    out = with_arrays(which, x, params)
                    if out is not None:
                        return out
                else:  # Python numbers: checked once, passed as kept device scalars
                    key = default_key if params is defaults else numbers_key(params)
                    scalars = kept(key, jax.config.read("jax_enable_x64")) if nparams else ()
                    return run(which, x, params, scalars)
        arrays, static, baked = prepare(args, kwargs)
        return compiled(static, baked)[which](*arrays)

    def call(*args: Any, **kwargs: Any) -> Array:
        return dispatch(0, args, kwargs)

    def derivative_fn(*args: Any, **kwargs: Any) -> Array:
        return dispatch(1, args, kwargs)

    return Activation(fn, call, derivative_fn, declared)
