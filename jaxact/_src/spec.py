"""``Spec``: the oracles of one activation as the shared tests, the report and the benchmark
see them, with the declared facts of its function read through (``jaxact._src.facts``).
The entries themselves are in ``jaxact._src.registry``."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax

import jaxact
from jaxact._src.checks import CheckReport
from jaxact._src.facts import Facts, facts_of
from jaxact._src.precision import precision_rows
from jaxact._src.testing import DTYPES, slice_of

Fn = Callable[..., Any]

# The accuracy bounds (ulps of the output dtype where the truth is a normal number).
ULP_16 = 1.0  # bfloat16, float16: every finite input
F32_ULP = 4.0  # float32: 1e5 inputs over the finite range
ABS_EPS = 4.0  # absolute error in eps, for the JVPs (and sparse maps) that cancel by design


@dataclass(frozen=True)
class Spec:
    """The oracles for one activation (or one setting of its static parameters).

    For the non-elementwise kinds the verifier's precision rows (``testing.slice_of``) and the
    plots use a one-variable slice (``scalar_fn``):
    the function of ``x`` in the row ``[x, 0]`` (``[1, x]`` for gated: the gate), whose
    truths are given. ``truth``, ``truth_derivative`` and ``mp`` take ``params`` as keyword
    arguments (``mp`` gets the mpmath module and an mpf first).
    """

    name: str
    fn: Fn
    reference: Fn
    truth: Fn
    truth_derivative: Fn
    params: dict[str, Any] = field(default_factory=dict)
    domain: tuple[float, float] = (-8.0, 8.0)
    # The softmax-family JVP s*(t - <s,t>) cancels when one probability nears 1 (as in
    # jax.nn); for those the derivative is checked to an absolute bound in eps, not in ulps.
    derivative_abs: bool = False
    # mpmath formula of the value (of the slice, for normalizers): the tests check the
    # truths against it (mpmath is a test dependency only).
    mp: Callable[..., Any] | None = None
    # Sort-threshold normalizers (sparsemax, entmax15) cancel near the support boundary:
    # their values are checked to an absolute bound in eps as well.
    value_abs: bool = False
    # Kinks of the one-variable slice of a non-elementwise function (left out of the
    # mpmath check, whose numerical derivative averages the two sides there).
    # (A function of ``params`` where they move the kinks.)
    slice_kinks: tuple[float, ...] | Callable[..., tuple[float, ...]] = ()
    # Non-decreasing over the whole finite range at ``params`` (a property test checks it).
    monotone: bool = False
    # float32 (value, derivative) ulp bounds where 4 is out of reach, with the reason.
    f32_bounds: tuple[float, float] = (F32_ULP, F32_ULP)
    bound_note: str = ""
    # Representative settings of the numeric hyperparameters besides ``params`` (each a
    # dict of overrides): the accuracy harness and ``python -m jaxact`` hold every one of
    # them (:meth:`variants`) to the entry's bounds, as they do the defaults.
    hyper: tuple[dict[str, Any], ...] = ()

    def variants(self) -> tuple[Spec, ...]:
        """The entry at each of its ``hyper`` settings, named ``NAME(k=v, ...)``."""
        out = []
        for setting in self.hyper:
            label = ", ".join(f"{k}={v:g}" for k, v in setting.items())
            out.append(
                dataclasses.replace(
                    self, name=f"{self.name}({label})", params={**self.params, **setting}, hyper=()
                )
            )
        return tuple(out)

    # ---------------------------------------------------------------- declared facts
    @property
    def facts(self) -> Facts:
        return facts_of(self.fn)

    @property
    def kind(self) -> str:
        return self.facts.kind

    @property
    def residual(self) -> str:
        return self.facts.residual

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.facts.aliases

    @property
    def jax_nn(self) -> Fn | None:
        return None if self.facts.jax_nn is None else getattr(jax.nn, self.facts.jax_nn)

    def _namespace(self) -> dict[str, Any]:
        sig = inspect.signature(self.fn)
        defaults = {n: p.default for n, p in sig.parameters.items() if p.default is not p.empty}
        return self.facts.namespace(defaults, self.params)

    @property
    def kinks(self) -> tuple[tuple[float, float], ...]:
        """(x, f'(x) taken) at each declared kink where f' jumps, at ``params``."""
        if self.kind != "elementwise":
            return ()
        ns = self._namespace()
        return tuple((k.evaluate(k.at, ns), k.evaluate(k.d1, ns)) for k in self.facts.kinks if k.d1)

    @property
    def kinks2(self) -> tuple[tuple[float, float], ...]:
        """(x, f''(x) taken) at each declared point where f'' jumps, at ``params``."""
        if self.kind != "elementwise":
            return ()
        ns = self._namespace()
        return tuple((k.evaluate(k.at, ns), k.evaluate(k.d2, ns)) for k in self.facts.kinks if k.d2)

    @property
    def slice_kink_points(self) -> tuple[float, ...]:
        """The kinks of the one-variable slice of a non-elementwise function, at ``params``."""
        if callable(self.slice_kinks):
            return tuple(self.slice_kinks(**self.params))
        return self.slice_kinks

    @property
    def kink_points(self) -> tuple[float, ...]:
        """Every point where f' or f'' jumps (kept out of smooth test grids)."""
        return tuple(x for x, _ in self.kinks) + tuple(x for x, _ in self.kinks2)

    # ---------------------------------------------------------------- oracles
    def bounds(self, dtype_name: str) -> tuple[float, float]:
        """(value, derivative) bounds: ulps of the output dtype, or eps for absolute checks."""
        base = (ULP_16, ULP_16) if dtype_name in ("bfloat16", "float16") else self.f32_bounds
        return (
            ABS_EPS if self.value_abs else base[0],
            ABS_EPS if self.derivative_abs else base[1],
        )

    def verifier_kwargs(self, dtypes: tuple[str, ...] = DTYPES) -> dict[str, Any]:
        """The arguments of ``check_activation`` for this entry: its function, reference,
        test parameters, declared kinks, float64 truths and accuracy bounds."""
        public = self.public_name if self.kind == "elementwise" else None
        return dict(
            fn=self.fn,
            reference=self.reference,
            params=self.params,
            derivative=None if public is None else getattr(jaxact.derivatives, public),
            domain=self.domain,
            kinks=self.kinks,
            kinks2=[x for x, _ in self.kinks2],
            kind=self.kind,
            name=self.name,
            dtypes=dtypes,
            truth=self.bound_truth,
            truth_derivative=self.bound_truth_derivative,
            bounds={d: self.bounds(d) for d in dtypes},
            value_abs=self.value_abs,
            derivative_abs=self.derivative_abs,
        )

    def precision_report(
        self, dtypes: Sequence[str], f32_count: int, count16: int | None
    ) -> CheckReport:
        """The verifier's precision and limit rows alone (value and derivative in ulps
        against the float64 truths, within :meth:`bounds`; the limits; NaN in, NaN out), on
        ``f32_count`` float32 samples and ``count16`` 16-bit ones (None: every one)."""
        kw = self.verifier_kwargs(tuple(dtypes))
        report = CheckReport(self.name)
        precision_rows(
            report,
            self.scalar_fn,
            kw["truth"],
            kw["truth_derivative"],
            tuple(dtypes),
            kw["bounds"],
            f32_count,
            self.value_abs,
            self.derivative_abs,
            True,
            count16,
            [x for x, _ in self.kinks] + [x for x, _ in self.kinks2],
        )
        return report

    def _bind(self, fn: Fn) -> Fn:
        return functools.partial(fn, **self.params) if self.params else fn

    @property
    def bound(self) -> Fn:
        """The jaxact function with the test parameters bound."""
        return self._bind(self.fn)

    @property
    def bound_reference(self) -> Fn:
        return self._bind(self.reference)

    @property
    def bound_truth(self) -> Fn:
        return self._bind(self.truth)

    @property
    def bound_truth_derivative(self) -> Fn:
        return self._bind(self.truth_derivative)

    def mp_value(self, m: Any, x: Any) -> Any:
        """The mpmath value at ``x`` (an mpf), with the test parameters."""
        assert self.mp is not None, f"{self.name}: registry entry needs an mpmath formula"
        return self.mp(m, x, **self.params)

    @property
    def bound_jax_nn(self) -> Fn | None:
        fn = self.jax_nn
        return None if fn is None else self._bind(fn)

    @property
    def scalar_fn(self) -> Fn:
        """A function of an array of scalars for the ulp harness."""
        return slice_of(self.bound, self.kind)

    @property
    def jax_nn_scalar_fn(self) -> Fn | None:
        """jax.nn's counterpart as a function of scalars (sliced like ``scalar_fn``)."""
        fn = self.bound_jax_nn
        return None if fn is None else slice_of(fn, self.kind)

    @property
    def public_name(self) -> str:
        return self.fn.__name__

    @property
    def derivative(self) -> Fn | None:
        """The public analytic derivative (elementwise entries), params bound."""
        if self.kind != "elementwise":
            return None
        return self._bind(getattr(jaxact.derivatives, self.public_name))
