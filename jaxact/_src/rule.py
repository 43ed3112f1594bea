"""The ``custom_jvp`` rule behind :func:`jaxact.activation`: the partial derivatives a
formula's ``derivative`` returns (arrays, or :class:`Select` masks), bound to their
parameters (defaults compiled in, ``valid`` applied, the contract checked), and turned into
tangents that reverse mode keeps as little of as it can."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxact._src.arrays import compute_dtype, computing_for, is_weak, like_input


class Select(NamedTuple):
    """A piecewise derivative: ``on_true`` where ``pred`` holds, ``on_false`` elsewhere.

    Returning a ``Select`` from a derivative function (instead of an array) lets reverse mode
    keep only the boolean ``pred`` when both branches are constants or parameters: relu's
    derivative is ``Select(x > 0, 1.0, 0.0)`` and costs one byte per element.
    """

    pred: Array
    on_true: ArrayLike
    on_false: ArrayLike

    def materialize(self, dtype: Any) -> Array:
        """The derivative as an array of ``dtype``."""
        return jnp.where(
            self.pred, jnp.asarray(self.on_true, dtype), jnp.asarray(self.on_false, dtype)
        )


Partial = Array | Select


def _is_zero(t: Any) -> bool:
    return isinstance(t, jax.custom_derivatives.SymbolicZero)


def _scale(factor: ArrayLike, t: Array) -> Array:
    """``factor * t`` in t's dtype, with Python 0 and 1 folded away (so nothing is saved)."""
    if isinstance(factor, int | float) and not isinstance(factor, bool):
        if factor == 0:
            return jnp.zeros_like(t)
        if factor == 1:
            return t
    return jnp.asarray(factor).astype(t.dtype) * t


def _apply(partial: Partial, t: Array) -> Array:
    if isinstance(partial, Select):
        on_true, on_false = partial.on_true, partial.on_false
        if _is_constant(on_true) and _is_constant(on_false) and on_true == on_false:
            return _scale(on_true, t)  # a constant derivative keeps nothing

        # Under jax.checkpoint the constants of the select (a broadcast zero, say) are
        # rebuilt in the backward pass instead of being saved: reverse mode keeps the
        # boolean mask and the two branch factors, nothing input-sized beyond that.
        @functools.partial(jax.checkpoint, prevent_cse=False)
        def select(pred: Array, t: Array, *factors: ArrayLike) -> Array:
            a, b = factors if factors else (on_true, on_false)
            return jnp.where(pred, _scale(a, t), _scale(b, t))

        if _is_constant(on_true) and _is_constant(on_false):
            return select(partial.pred, t)
        return select(partial.pred, t, on_true, on_false)
    return _scale(partial, t)


def select_tangent(pred: Array, t: Array) -> Array:
    """``where(pred, t, 0)`` for a tangent, keeping only ``pred`` for reverse mode."""
    return _apply(Select(pred, 1.0, 0.0), t)


def _is_constant(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def bind_parameters(
    fn: Callable[..., Array],
    derivative: Callable[..., Any],
    n: int,
    static_kw: dict[str, Any],
    baked: tuple[int, ...],
    defaults: tuple[Any, ...],
    valid: Callable[..., Any] | None,
    fn_name: str,
) -> tuple[Callable[..., Array], Callable[..., Any]]:
    """``fn`` and ``derivative`` of (x, *live params): the ``n`` parameters with those at
    positions ``baked`` fixed to their defaults (Python numbers), the static keyword
    arguments ``static_kw`` applied, NaN (value and array partials) where ``valid(*params)``
    is False, and the derivative's contract checked (a tuple of 1 + n partials) before the
    baked parameters' partials are dropped."""
    keep = [0] + [1 + i for i in range(n) if i not in baked]

    def full(live: tuple[Array, ...]) -> list[Any]:
        it = iter(live)
        return [defaults[i] if i in baked else next(it) for i in range(n)]

    def value(x: Array, *live: Array) -> Array:
        params = full(live)
        y = fn(x, *params, **static_kw)
        return y if valid is None else jnp.where(valid(*params), y, jnp.nan)

    def partials(x: Array, *live: Array) -> Any:
        params = full(live)
        result = derivative(x, *params, **static_kw)
        if n == 0:
            parts: tuple[Any, ...] = (result,)
        elif isinstance(result, tuple) and len(result) == n + 1:
            parts = result
        else:
            got = (
                f"a tuple of {len(result)}"
                if isinstance(result, tuple)
                else "an array"
                if hasattr(result, "shape")
                else f"a {type(result).__name__}"
            )
            raise TypeError(
                f"derivative of {fn_name} returned {got}; a function with {n} parameter(s) "
                f"needs a tuple of {n + 1} partials (x first, then one per parameter)"
            )
        if valid is not None:
            ok = valid(*params)
            parts = tuple(p if isinstance(p, Select) else jnp.where(ok, p, jnp.nan) for p in parts)
        kept = [parts[k] for k in keep]
        return tuple(kept) if len(kept) > 1 else kept[0]

    value.__name__ = partials.__name__ = fn_name
    return value, partials


def make_core(
    fn: Callable[..., Array],
    derivative: Callable[..., Partial | tuple[Partial, ...]],
    nparams: int,
    upcast: bool = True,
) -> Callable[..., Array]:
    """The custom_jvp function of (x, *params), x already a floating array of the output dtype;
    ``upcast``: compute 16-bit inputs in float32 (else in their own dtype)."""

    def for_compute(x: Array, params: Sequence[Array]) -> tuple[Array, list[Array]]:
        cd = compute_dtype(x.dtype) if upcast else x.dtype
        return x.astype(cd), [p.astype(cd) for p in params]

    @jax.custom_jvp
    def core(x: Array, *params: Array) -> Array:
        xc, pc = for_compute(x, params)
        with computing_for(x.dtype):
            y = fn(xc, *pc)
        return like_input(y, x.dtype, is_weak(x, *params))

    def partials_of(x: Array, params: Sequence[Array]) -> tuple[Partial, ...]:
        xc, pc = for_compute(x, params)
        with computing_for(x.dtype):
            result: Any = derivative(xc, *pc)
        # (bind_parameters has checked the contract: a tuple of 1 + nparams partials)
        return (result,) if nparams == 0 else result

    def term(i: int, partial: Partial, t: Array, full: bool, dtype: Any) -> Array:
        """partial * t for argument i (x is 0); ``full``: the argument has the output's
        shape; ``dtype``: the output dtype."""
        if i == 0 or (full and not isinstance(partial, Select)):
            # x, or an input-sized parameter (glu's gate): the product in the output dtype
            # (a bf16 input keeps bf16 tangents); nothing is summed over broadcast axes.
            if not isinstance(partial, Select):
                partial = jnp.asarray(partial).astype(dtype)
            return _apply(partial, t.astype(dtype))
        # A broadcast parameter: its cotangent is summed over the broadcast axes, so keep
        # the compute dtype (float32 for 16-bit inputs) for that sum.
        cd = compute_dtype(dtype)
        if isinstance(partial, Select):
            return _apply(partial, t.astype(cd)).astype(dtype)
        return (partial * t.astype(cd)).astype(dtype)

    def core_jvp(primals: tuple[Array, ...], tangents: tuple[Any, ...]) -> tuple[Array, Array]:
        x, *params = primals
        y = core(x, *params)
        full = [p.shape == y.shape for p in primals]
        # Traced once for its structure and for the masks of piecewise-constant partials
        # (reverse mode keeps those masks); the array partials it computes here are unused.
        partials = partials_of(x, params)
        live = [i for i, t in enumerate(tangents) if not _is_zero(t)]
        masks = [i for i in live if isinstance(partials[i], Select)]
        arrays = [i for i in live if not isinstance(partials[i], Select)]
        terms = [term(i, partials[i], tangents[i], full[i], y.dtype) for i in masks]
        if arrays:
            # Array partials are recomputed from the primal inputs in the backward pass:
            # reverse mode keeps x (one array in the input dtype) and XLA fuses f'(x) into
            # the cotangent product, instead of materializing f'(x) next to f(x) forward.
            @jax.checkpoint
            def array_terms(ps: tuple[Array, ...], ts: list[Array]) -> list[Array]:
                again = partials_of(ps[0], ps[1:])
                return [
                    term(i, again[i], t, full[i], y.dtype) for i, t in zip(arrays, ts, strict=True)
                ]

            terms += array_terms(tuple(primals), [tangents[i] for i in arrays])
        out = functools.reduce(lambda a, b: a + b, terms) if terms else jnp.zeros_like(y)
        return y, jnp.broadcast_to(out, y.shape)

    core.defjvp(core_jvp, symbolic_zeros=True)
    return core
