"""What an activation *is*, declared where it is defined: its kinks and the derivatives taken
there, what reverse mode keeps, its aliases, its ``jax.nn`` counterpart and its origin.

The registry (``jaxact._src.registry``) holds only the independent test oracles; the tests,
the report and the README tables read these facts from the functions themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Kind = Literal["elementwise", "normalizer", "reduction", "gated", "pair"]
Residual = Literal["array", "mask", "none"]

F = TypeVar("F", bound=Callable[..., Any])

_GREEK = {
    "negative_slope": "α",
    "lambda_alpha": "λα",
    "alpha_n": "α_n",
    "alpha_p": "α_p",
    "alpha": "α",
    "lambd": "λ",
    "beta": "β",
    "slope": "a",
    "threshold": "t",
    "tau": "τ",
}


@dataclass(frozen=True)
class Kink:
    """A point where f' jumps (``d1``: the derivative taken there) and/or where only f''
    jumps (``d2``: the second derivative taken there).

    Each field is an expression in the function's parameters and ``symbols`` (``"0"``,
    ``"alpha"``, ``"-lambd"``, ``"1/alpha"``); ``d1=None``: f' is continuous there;
    ``d2=None``: f'' does not jump there.
    """

    at: str
    d1: str | None = None
    d2: str | None = None
    note: str = ""

    def evaluate(self, expr: str, params: Mapping[str, Any]) -> float:
        return float(eval(expr, {"__builtins__": {}}, dict(params)))

    @staticmethod
    def pretty(expr: str | None) -> str:
        """The expression with Greek parameter names, for tables."""
        if expr is None:
            return "—"
        for name, sym in _GREEK.items():
            expr = expr.replace(name, sym)
        return expr


@dataclass(frozen=True)
class Facts:
    """Declared facts of one public function.

    Attributes:
      name: the public name.
      kind: ``"elementwise"``; ``"normalizer"`` (rows along an axis, shape kept);
        ``"reduction"`` (reduces the axis); ``"gated"`` (halves the axis); ``"pair"`` (a
        gated unit's two-input form, tested through its split form ``NAME`` without
        ``_pair``).
      kinks: the :class:`Kink` points (at the function's parameters).
      residual: what reverse mode keeps: one input-sized array (``"array"``), one boolean
        mask (``"mask"``) or nothing (``"none"``).
      aliases: other public names of the same function.
      jax_nn: the name of the ``jax.nn`` counterpart, if there is one.
      reference: where the function comes from (paper or library).
      symbols: named constants the kink expressions may use.
      support: the interval where the function is defined (for examples and plots).
    """

    name: str
    kind: Kind = "elementwise"
    kinks: tuple[Kink, ...] = ()
    residual: Residual = "array"
    aliases: tuple[str, ...] = ()
    jax_nn: str | None = None
    reference: str = ""
    symbols: Mapping[str, float] = field(default_factory=dict)
    support: tuple[float, float] = (-math.inf, math.inf)

    def namespace(self, defaults: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.symbols, **defaults, **params}


_ATTR = "__jaxact_facts__"


def declare(facts: Facts) -> Callable[[F], F]:
    """Attach ``facts`` to a public function that is not built by ``activation`` (the
    softmax family, glu, leaky_relu, ...); returns the function unchanged."""

    def attach(fn: F) -> F:
        setattr(fn, _ATTR, facts)
        return fn

    return attach


def facts_of(fn: Any) -> Facts:
    """The declared :class:`Facts` of a public jaxact function."""
    facts = getattr(fn, _ATTR, None)
    if not isinstance(facts, Facts):
        raise TypeError(f"{getattr(fn, '__name__', fn)!r} declares no jaxact facts")
    return facts
