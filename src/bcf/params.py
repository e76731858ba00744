"""Every number the checks, the stress test and the categories assume, from ``rules/parameters.yaml``.

Each parameter keeps its source note, so every report can print what it used; a run may override any of
them (``--param name=value``) without touching the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from bcf import content


@dataclass(frozen=True)
class Parameter:
    name: str
    section: str
    value: Any
    source: str


@cache
def _defaults() -> dict[str, Parameter]:
    raw = yaml.safe_load(content.path("rules", "parameters.yaml").read_text(encoding="utf-8"))
    return {name: Parameter(name, section, item["value"], item["source"])
            for section, items in raw.items() for name, item in items.items()}


def load(overrides: dict[str, str] | None = None) -> dict[str, Parameter]:
    """Every parameter by name; ``overrides`` (name → text, read as YAML) replace values for one run."""
    out = dict(_defaults())
    for name, text in (overrides or {}).items():
        if name not in out:
            raise KeyError(f"There is no parameter called {name!r}. Known: {', '.join(sorted(out))}")
        default, value = out[name].value, yaml.safe_load(text)
        numbers = isinstance(value, (int, float)) and isinstance(default, (int, float))
        if type(value) is not type(default) and not numbers:
            raise ValueError(f"{name} must be like {default!r}, not {text!r}")
        out[name] = Parameter(name, out[name].section, value, f"Overridden for this run (default {default!r}).")
    return out


@cache
def values() -> dict[str, dict[str, Any]]:
    """The default values by section: {"checks": {...}, "gate": {...}, ...}."""
    out: dict[str, dict[str, Any]] = {}
    for p in _defaults().values():
        out.setdefault(p.section, {})[p.name] = p.value
    return out
