"""The Jinja2 environment for every page and letter: autoescaped, strict, with money and cell filters."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bcf import content
from bcf.validate.catalogue import show


def money(value_000: Any) -> str:
    """£000 → '£4.2m' or '£850k'."""
    if value_000 is None:
        return ""
    v = float(value_000)
    return f"£{v / 1000:,.1f}m" if abs(v) >= 1000 else f"£{v:,.0f}k"


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(content.path("reports")), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = money
    env.filters["show"] = show
    return env
