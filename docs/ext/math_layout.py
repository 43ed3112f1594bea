"""Stack wide display equations: a docstring's ``.. math::`` paragraph that pairs a function
with its derivative on one line (``f(x) = ..., \\qquad f'(x) = ...``) is wider than the
page's column once either side is long. In the built pages (not in ``help()``), such a
paragraph is split at its top-level ``\\qquad`` into lines of one ``gathered`` block.
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx

# Estimated width, in characters of visible TeX, above which a paragraph is stacked: set from
# the rendered API pages at a 1400-pixel window (widths of 60 and more overflowed the column,
# up to 56 fit); a cases block counts its widest row, a fraction its wider part.
LIMIT = 57


def visible_width(tex: str) -> int:
    """A rough count of the characters the rendered equation spans."""
    rows = []
    for part in split_top(tex, r"\qquad"):
        # a cases block renders as its widest row
        part = re.sub(
            r"\\begin\{cases\}(.*?)\\end\{cases\}",
            lambda m: "x" * max(len(_strip(r)) + 4 * r.count("&") for r in m.group(1).split(r"\\")),
            part,
            flags=re.S,
        )
        rows.append(len(_strip(part)))
    return sum(rows) + 4 * (len(rows) - 1)


_GROUP = r"\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}"  # a braced group, nested twice


def _strip(tex: str) -> str:
    # a fraction renders as wide as the wider of its numerator and denominator
    tex = re.sub(
        rf"\\[td]?frac{_GROUP}{_GROUP}",
        lambda m: "x" * max(len(_strip(m.group(1))), len(_strip(m.group(2)))),
        tex,
    )
    tex = re.sub(r"\\(mathrm|operatorname|text|textstyle|mathbf|left|right|,|;|!|quad)", "", tex)
    tex = re.sub(r"\\[a-zA-Z]+", "x", tex)
    return re.sub(r"[{}_^&\s]", "", tex)


def split_top(tex: str, sep: str) -> list[str]:
    """``tex`` split at each ``sep`` outside braces and environments."""
    parts, depth, env, start, i = [], 0, 0, 0, 0
    while i < len(tex):
        if tex.startswith(r"\begin{", i):
            env += 1
        elif tex.startswith(r"\end{", i):
            env -= 1
        elif tex[i] == "{":
            depth += 1
        elif tex[i] == "}":
            depth -= 1
        elif depth == env == 0 and tex.startswith(sep, i) and not tex[i + len(sep) :][:1].isalpha():
            parts.append(tex[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(tex[start:])
    return [p.strip() for p in parts]


def stack(tex: str) -> str:
    parts = split_top(tex, r"\qquad")
    if len(parts) < 2 or visible_width(tex) <= LIMIT or r"\begin{gathered}" in tex:
        return tex
    return r"\begin{gathered}" + r" \\ ".join(parts) + r"\end{gathered}"


def process(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"(\s*)\.\. math::(.*)$", line)
        if not m:
            out.append(line)
            i += 1
            continue
        indent, inline = m.groups()
        if inline.strip():  # ".. math:: tex" on one line
            out.append(f"{indent}.. math:: {stack(inline.strip())}")
            i += 1
            continue
        out.append(line)
        i += 1
        body: list[str] = []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(indent + " ")):
            body.append(lines[i])
            i += 1
        trailing = []
        while body and not body[-1].strip():
            trailing.append(body.pop())
        pad = next((b[: len(b) - len(b.lstrip())] for b in body if b.strip()), indent + "  ")
        paragraphs = "\n".join(body).split("\n\n")
        new = []
        for para in paragraphs:
            tex = " ".join(part.strip() for part in para.splitlines() if part.strip())
            new.append(pad + stack(tex) if tex else "")
        out += "\n\n".join(new).split("\n") + trailing
    lines[:] = out


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", process)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
