"""The docstrings ``activation()`` generates: the kink table appended to an activation's
own docstring, and the whole docstring of its ``derivative`` (the equation block, the kink
convention's pointer and a runnable example against central differences)."""

from __future__ import annotations

import inspect

from jaxact._src.facts import Facts, Kink


def _math_block(doc: str) -> str:
    """The first ``.. math::`` block of a (cleaned) docstring."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(".. math::"):
            indent = len(line) - len(line.lstrip())
            block = [line.strip()]
            for more in lines[i + 1 :]:
                if more.strip() and len(more) - len(more.lstrip()) <= indent:
                    break
                block.append(more[indent:].rstrip())
            return "\n".join(block).rstrip()
    return ""


# Example inputs of the generated derivative docstrings: away from every kink of the
# catalogue (0, +-0.5, +-1, +-3, 6) by at least 0.2, so a central difference applies.
_EXAMPLE_POINTS = "[-2.5, -0.75, 0.3, 1.7, 4.2]"
_EXAMPLE_POINTS_POSITIVE = "[0.3, 0.75, 1.7, 2.5, 4.2]"


def kinks_section(facts: Facts) -> str:
    """The docstring section listing the declared kinks (rendered from ``facts``)."""
    if not facts.kinks:
        return ""
    rows = []
    for k in facts.kinks:
        parts = []
        if k.d1 is not None:
            parts.append(f"f'(x) = {Kink.pretty(k.d1)}")
        if k.d2 is not None:
            parts.append(f"f''(x) = {Kink.pretty(k.d2)}")
        note = f" ({k.note})" if k.note else ""
        rows.append(f"* x = {Kink.pretty(k.at)}: {', '.join(parts)}{note}")
    return "Kinks (the derivatives taken there):\n\n" + "\n".join(rows)


def derivative_doc(facts: Facts, doc: str, sig: inspect.Signature, owner: str) -> str:
    name = facts.name
    required = [
        p.name
        for p in list(sig.parameters.values())[1:]
        if p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    args = "".join(", 0.5" for _ in required)
    points = _EXAMPLE_POINTS_POSITIVE if facts.support[0] >= 0 else _EXAMPLE_POINTS
    call = f"{owner}derivatives.{name}" if owner else f"{name}.derivative"
    return (
        f"Analytic derivative of ``{name}`` with respect to ``x``, elementwise.\n\n"
        f"{_math_block(doc)}\n\n"
        f"Takes the arguments of ``{name}``; see it for the convention at kinks. It is the\n"
        "function the ``custom_jvp`` rule is built from; the example checks it against a\n"
        "central difference of the activation's values.\n\n"
        "Examples:\n"
        f"  >>> x = jnp.array({points})\n"
        f"  >>> d = {call}(x{args})\n"
        f"  >>> fd = ({owner}{name}(x + 1e-2{args}) - {owner}{name}(x - 1e-2{args})) / 2e-2\n"
        "  >>> bool(jnp.allclose(d, fd, rtol=1e-3, atol=1e-3))\n"
        "  True\n"
    )
