"""Array handling shared by every public function: validation and the dtype rule, weak
types, masks and axes, and the jit helpers that keep eager calls cheap."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeGuard, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.core import Tracer
from jax.typing import ArrayLike

__all__ = [
    "FLOATS",
    "NUMBER_TYPES",
    "as_float_array",
    "as_int_labels",
    "as_mask",
    "call_jit",
    "compute_dtype",
    "default_float_dtype",
    "device_numbers",
    "is_number",
    "is_weak",
    "like_input",
    "masked",
    "match_rank",
    "normalize_axes",
    "number_key",
    "public_jvp",
    "single_axis",
]


_SCALAR_TYPES = (bool, int, float, np.generic)


def default_float_dtype() -> np.dtype[Any]:
    """The default floating dtype: float64 under ``jax_enable_x64``, else float32."""
    return np.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))


def compute_dtype(dtype: Any) -> np.dtype[Any]:
    """Dtype the arithmetic runs in: 16-bit (and smaller) floats are computed in float32."""
    dtype = np.dtype(dtype)
    return np.dtype(jnp.float32) if dtype.itemsize < 4 else dtype


# The dtype of the input a formula is being traced for (its arithmetic is compute_dtype's).
_INPUT_DTYPE: contextvars.ContextVar[np.dtype[Any] | None] = contextvars.ContextVar(
    "jaxact_input_dtype", default=None
)


@contextlib.contextmanager
def computing_for(dtype: Any) -> Iterator[None]:
    """While a formula is traced for an input of ``dtype`` (see :func:`narrow_input`)."""
    token = _INPUT_DTYPE.set(np.dtype(dtype))
    try:
        yield
    finally:
        _INPUT_DTYPE.reset(token)


def narrow_input() -> bool:
    """True while a formula computes in float32 for a 16-bit input (:func:`computing_for`):
    a float32-only refinement that its rounding to 16 bits cannot see may be skipped."""
    dtype = _INPUT_DTYPE.get()
    return dtype is not None and dtype.itemsize < 4


def as_float_array(fn_name: str, value: Any, arg_name: str = "x") -> Array:
    """Validate one array argument of ``fn_name`` and return it as a floating JAX array.

    Floating dtypes are kept. Booleans and integers are promoted to the default float dtype
    (one rule for every function in jaxact). Objects that convert themselves to a JAX array
    (``__jax_array__``: Flax's ``nnx.Param`` and other variables) are converted first.
    Anything else raises a ``TypeError`` that names the function and the argument.
    """
    if not isinstance(value, jax.Array) and hasattr(value, "__jax_array__"):
        value = value.__jax_array__()
    if isinstance(value, jax.Array) and value.dtype in FLOATS:
        return value  # the common case, without jnp.asarray's copy-free but slow dispatch
    if isinstance(value, jax.Array):
        dtype = value.dtype
    elif isinstance(value, np.ndarray | np.generic):
        dtype = value.dtype
    elif isinstance(value, _SCALAR_TYPES) and not isinstance(value, complex):
        dtype = None
    else:
        raise TypeError(
            f"{fn_name} requires a JAX array, NumPy array or Python scalar for `{arg_name}`, "
            f"got {type(value).__name__}"
        )
    if dtype is not None and not (
        jnp.issubdtype(dtype, jnp.floating)
        or jnp.issubdtype(dtype, jnp.integer)
        or jnp.issubdtype(dtype, jnp.bool_)
    ):
        raise TypeError(
            f"{fn_name} requires a real (floating, integer or bool) `{arg_name}`, got dtype {dtype}"
        )
    arr = jnp.asarray(value)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        # a Python int stays weakly typed as a float, as in jax.numpy
        arr = like_input(arr, default_float_dtype(), is_weak(arr))
    return arr


def hyperparameter(fn_name: str, value: Any, arg_name: str) -> Any:
    """A numeric hyperparameter for a jitted program's arguments (traced there, so a new
    value never recompiles): a Python float as it is (jit makes it a weakly typed scalar),
    an int or bool as a float, anything else validated by :func:`as_float_array`."""
    if type(value) is float:
        return value
    if type(value) in (int, bool):
        return float(value)
    return as_float_array(fn_name, value, arg_name)


def flag(fn_name: str, value: Any, arg_name: str = "approximate") -> bool:
    """A static boolean option: a Python or NumPy bool, else ``TypeError`` naming the
    function (a string such as ``"none"`` is never read as its truth value)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, Tracer):
        raise TypeError(
            f"{fn_name}: `{arg_name}` is static and must be a Python bool, got a traced "
            f"value (under jax.jit, pass it with static_argnames=({arg_name!r},))"
        )
    raise TypeError(f"{fn_name}: `{arg_name}` must be a bool, got {value!r}")


def is_concrete(value: Any) -> bool:
    """Whether ``value`` has a known value (a number or an array; not a tracer)."""
    return not isinstance(value, Tracer)


def is_weak(*arrays: Any) -> bool:
    """True when every array is weakly typed (a Python scalar's type, as jax.numpy keeps it)."""
    return all(bool(getattr(a, "weak_type", False)) for a in arrays)


def _weak_type_helper() -> Callable[..., Any] | None:
    """jax.numpy's own way to mark a value weakly typed, for which jax has no public API:
    the private ``jax._src.lax.lax._convert_element_type(x, dtype, weak_type=True)``
    (present with that keyword from jax 0.7 to 0.10 at least). None where a jax release
    has moved or changed it: :func:`like_input` then returns strongly typed results, with
    the same values (a Python-scalar call then promotes the arrays it meets, as a NumPy
    scalar would). ``tests/test_dropin.py`` fails when the helper goes missing."""
    try:
        from jax._src.lax.lax import _convert_element_type
    except ImportError:
        return None
    try:
        takes_weak = "weak_type" in inspect.signature(_convert_element_type).parameters
    except (TypeError, ValueError):
        return None
    return _convert_element_type if takes_weak else None


WEAK_TYPE_HELPER = _weak_type_helper()


def like_input(out: Array, dtype: Any, weak: bool) -> Array:
    """``out`` in ``dtype``, weakly typed when the inputs all were (jax.numpy's rule: a
    Python-scalar input does not promote the arrays it later meets; see
    :func:`_weak_type_helper` for where jax hides the means)."""
    out = out.astype(dtype)
    if weak and WEAK_TYPE_HELPER is not None:
        out = cast(Array, WEAK_TYPE_HELPER(out, np.dtype(dtype), weak_type=True))
    return out


FLOATS = frozenset(np.dtype(t) for t in (jnp.bfloat16, jnp.float16, jnp.float32, jnp.float64))


# What jit takes as a weakly typed scalar: Python ints and floats, not bools.
NUMBER_TYPES = frozenset((int, float))


def is_number(v: Any) -> TypeGuard[int | float]:
    """A Python int or float (not bool): what jit takes as a weakly typed scalar."""
    return type(v) in NUMBER_TYPES


def device_numbers(values: Sequence[Any]) -> tuple[Any, ...]:
    """``values`` with each Python number replaced by the weakly typed device scalar jit
    would make of it, made once per number and kept: jit's dispatch converts a Python number
    argument to a device array on every call (~2 us each); a kept one is passed as it is.
    The program and its result are those of the number itself."""
    return tuple(_device_number(v) if is_number(v) else v for v in values)


def number_key(v: float) -> tuple[type, float, float]:
    """A cache key for a Python number: ±0.0 compare (and hash) equal, and so do 1 and 1.0,
    so the sign and the type are part of it."""
    return type(v), v, math.copysign(1.0, v)


def _device_number(v: float) -> Any:
    # x64 changes the dtype jit would give the scalar
    return _kept_number(number_key(v), bool(jax.config.read("jax_enable_x64")))


@functools.lru_cache(maxsize=1024)
def _kept_number(key: tuple[type, float, float], x64: bool) -> Array:
    del x64  # part of the key only
    _, v, _ = key
    with jax.ensure_compile_time_eval():  # concrete even when called inside a trace
        return jnp.asarray(v)


def match_rank(arrays: Sequence[Array]) -> list[Array]:
    """Left-pad shapes with 1s so every array has the same rank (no rank promotion needed).
    Python numbers (the fast path's parameters, seen here under ``jax.disable_jit``) become
    weakly typed arrays, as jit makes them."""
    arrays = [a if hasattr(a, "ndim") else jnp.asarray(a) for a in arrays]
    ndim = max(a.ndim for a in arrays)
    return [a.reshape((1,) * (ndim - a.ndim) + a.shape) for a in arrays]


def call_jit(
    fn: Callable[..., Any], arrays: Sequence[Array | float | None], static: tuple[Any, ...]
) -> Any:
    """``fn(*arrays, *static)`` under ``jax.jit``, through one cached program per function,
    set of present optional arrays and static arguments, called with the present arrays
    only: the dispatch takes jit's fast path (a ``None`` or static argument costs ~30 us
    more per eager call)."""
    present = tuple(a is not None for a in arrays)
    return _program(fn, present, static)(*(a for a in arrays if a is not None))


@functools.cache
def _program(
    fn: Callable[..., Any], present: tuple[bool, ...], static: tuple[Any, ...]
) -> Callable[..., Any]:
    def run(*given: Array) -> Any:
        it = iter(given)
        return fn(*(next(it) if p else None for p in present), *static)

    return jax.jit(run)


def public_jvp(
    fn_name: str,
    fn: Any,
    x: ArrayLike,
    tangent: ArrayLike,
    numbers: tuple[str, ...] = (),
    **kwargs: Any,
) -> Array:
    """Evaluate the custom_jvp rule of ``fn`` at ``(x, tangent)`` (the rule itself: one
    source of truth for the public ``*_jvp`` functions), as one jitted program per function
    and setting of the hashable keyword arguments (axis, flags; they are validated while it
    is traced, with the activation's own messages); array arguments (``where``, an array
    ``alpha``) and the numeric hyperparameters named in ``numbers`` (Python numbers too: a
    new value must not compile a new program) are passed to it, after an eager call of
    ``fn`` that checks them."""
    xa = as_float_array(fn_name, x)
    ta = as_float_array(fn_name, tangent, "tangent")
    if ta.shape != xa.shape:
        raise ValueError(f"{fn_name}: tangent shape {ta.shape} differs from x shape {xa.shape}")
    kwargs = {k: hyperparameter(fn_name, v, k) if k in numbers else v for k, v in kwargs.items()}
    arrays = {k: v for k, v in kwargs.items() if k in numbers or not _hashable(v)}
    if arrays:
        fn(xa, **kwargs)  # validates the arrays with the activation's own messages
        if not all(isinstance(v, jax.Array | np.ndarray | float) for v in arrays.values()):
            # e.g. an axis given as a list: traced in no program, as written
            return jax.jvp(lambda v: fn(v, **kwargs), (xa,), (ta.astype(xa.dtype),))[1]
    static = tuple((k, type(v), v) for k, v in kwargs.items() if k not in arrays)
    ta = ta if ta.dtype == xa.dtype else ta.astype(xa.dtype)
    return _jvp_program(fn, static, tuple(arrays))(xa, ta, *arrays.values())


def _hashable(v: Any) -> bool:
    if isinstance(v, jax.Array | np.ndarray):
        return False
    try:
        hash(v)
    except TypeError:
        return False
    return True


@functools.cache
def _jvp_program(
    fn: Any, static: tuple[tuple[str, type, Any], ...], names: tuple[str, ...]
) -> Callable[..., Array]:
    """jit of the JVP of ``fn`` in x, at the static keyword arguments (with their types in
    the key: 1 and 1.0 hash alike) and the named array ones."""
    fixed = {k: v for k, _, v in static}

    def run(x: Array, t: Array, *given: Array) -> Array:
        kw = {**fixed, **dict(zip(names, given, strict=True))}
        return jax.jvp(lambda v: fn(v, **kw), (x,), (t,))[1]

    return jax.jit(run)


def masked(x: Array, mask: Array | None) -> Array:
    """``x`` with the entries where ``mask`` is False replaced by ``-inf`` (row functions
    map ``-inf`` to probability 0, so masked values never reach the arithmetic)."""
    return x if mask is None else jnp.where(mask, x, -jnp.inf)


def normalize_axes(fn_name: str, axis: Any, ndim: int) -> tuple[int, ...]:
    """Validate ``axis`` (int, tuple of ints or None) for an array of rank ``ndim``."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer) and not isinstance(axis, bool):
        axes: tuple[Any, ...] = (axis,)
    elif isinstance(axis, tuple | list) and all(
        isinstance(a, int | np.integer) and not isinstance(a, bool) for a in axis
    ):
        axes = tuple(axis)
    else:
        raise TypeError(f"{fn_name}: `axis` must be an int, a tuple of ints or None, got {axis!r}")
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{fn_name}: axis {a} is out of range for an input of rank {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn_name}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def as_mask(fn_name: str, where: Any, shape: tuple[int, ...]) -> Array | None:
    """Validate a ``where`` mask and broadcast it to ``shape`` (``ValueError`` if it cannot)."""
    if where is None:
        return None
    if not isinstance(where, jax.Array) and hasattr(where, "__jax_array__"):
        where = where.__jax_array__()  # an nnx.Variable, as jax.nn accepts
    if not isinstance(where, jax.Array | np.ndarray | np.generic | bool):
        raise TypeError(
            f"{fn_name}: `where` must be a boolean array or None, got {type(where).__name__}"
        )
    mask = jnp.asarray(where)
    if not jnp.issubdtype(mask.dtype, jnp.bool_):
        raise TypeError(f"{fn_name}: `where` must have a boolean dtype, got {mask.dtype}")
    problem = f"{fn_name}: `where` of shape {mask.shape} does not broadcast to the input shape"
    if mask.ndim > len(shape):
        raise ValueError(f"{problem} {shape}")
    mask = mask.reshape((1,) * (len(shape) - mask.ndim) + mask.shape)
    try:
        fits = jnp.broadcast_shapes(mask.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{problem} {shape}")
    return jnp.broadcast_to(mask, shape)


def as_int_labels(fn_name: str, labels: Any, shape: tuple[int, ...], expected: str) -> Array:
    """Validate integer ``labels`` of ``shape`` (``expected`` says which, for the message):
    ``TypeError`` for a non-integer dtype or a non-array, ``ValueError`` for another shape."""
    if not isinstance(labels, jax.Array | np.ndarray | np.generic | int) or isinstance(
        labels, bool
    ):
        raise TypeError(
            f"{fn_name}: `labels` must be an integer array, got {type(labels).__name__}"
        )
    la = jnp.asarray(labels)
    if not jnp.issubdtype(la.dtype, jnp.integer):
        raise TypeError(f"{fn_name}: `labels` must have an integer dtype, got {la.dtype}")
    if la.shape != shape:
        raise ValueError(f"{fn_name}: `labels` must have {expected}, {shape}, got {la.shape}")
    return la


def single_axis(fn_name: str, axis: Any, ndim: int) -> int:
    if not isinstance(axis, int | np.integer) or isinstance(axis, bool):
        raise TypeError(f"{fn_name}: `axis` must be a single int, got {axis!r}")
    return normalize_axes(fn_name, axis, ndim)[0]
