"""Every number the checks, the stress test and the categories assume, for one round.

Shared values come from ``rules/parameters.yaml``; a round's own values (its dates, its unit cost) from
``bcf_templates/<round>/parameters.yaml``, which may override any shared one. A parameter revised during
the round keeps its dated history, and a run can ask for the values in force on a date. Each parameter
keeps its source note, so every report can print what it used; a run may override any of them
(``--param name=value``) without touching the files.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from bcf import content
from bcf.errors import BadParameter


@dataclass(frozen=True)
class Revision:
    since: date
    value: Any
    source: str


@dataclass(frozen=True)
class Parameter:
    name: str
    section: str
    value: Any
    source: str
    history: tuple[Revision, ...] = ()
    label: str = ""  # what it is, in words a director reads (never its internal name)
    unit: str = ""  # how its value reads: share (0.5 is 50%), percent, pounds; otherwise as it is
    least: float | None = None  # the smallest value that makes sense (content's `min`), for an override
    most: float | None = None  # and the largest (`max`)
    was: Any = None  # the round's own value, when this run overrides it

    def as_at(self, day: date) -> Parameter:
        """The parameter as it stood on ``day`` (its first value before any revision)."""
        if not self.history:
            return self
        rev = next((r for r in reversed(self.history) if r.since <= day), self.history[0])
        return replace(self, value=rev.value, source=f"{rev.source} (in force from {rev.since:%d %B %Y})")


class Assumptions(Mapping[str, Parameter]):
    """A round's parameters for one run, by name, with their sources and any overrides: the one shape every
    service and output is given, so an override reaches every figure that uses the parameter."""

    def __init__(self, items: dict[str, Parameter]):
        self._items = dict(items)
        self.v: dict[str, Any] = {k: p.value for k, p in self._items.items()}  # name -> value

    def __getitem__(self, name: str) -> Parameter:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def overridden(self) -> list[Parameter]:
        """The parameters this run changed."""
        return [p for p in self._items.values() if p.source.startswith(OVERRIDDEN)]


OVERRIDDEN = "Overridden for this run"


def _read(path: Path) -> dict[str, Parameter]:
    if not path.is_file():
        return {}
    raw = content.parse_yaml(path.read_text(encoding="utf-8")) or {}
    return {name: Parameter(name, section, item["value"], item["source"],
                            tuple(Revision(**r) for r in item.get("history", ())), item.get("label", ""),
                            item.get("unit", ""), item.get("min"), item.get("max"))
            for section, items in raw.items() for name, item in items.items()}


@cache
def _defaults(round_folder: Path) -> dict[str, Parameter]:
    return {**_read(content.path("rules", "parameters.yaml")), **_read(round_folder / "parameters.yaml")}


def load(round_folder: Path, overrides: dict[str, str] | None = None, as_at: date | None = None) -> Assumptions:
    """Every parameter of a round by name; ``as_at`` picks revisions in force on a date; ``overrides``
    (name → text, read as YAML) replace values for one run."""
    out = {k: p.as_at(as_at) if as_at else p for k, p in _defaults(round_folder).items()}
    for name, text in (overrides or {}).items():
        if name not in out:
            raise BadParameter(f"There is no parameter called {name!r}. Known: {', '.join(sorted(out))}.")
        default, value = out[name].value, content.parse_yaml(text)
        numbers = isinstance(value, (int, float)) and isinstance(default, (int, float))
        if type(value) is not type(default) and not numbers:
            raise BadParameter(f"{name} must be like {default!r}, not {text!r}.")
        _within(out[name], value, text)
        out[name] = replace(out[name], value=value, source=f"{OVERRIDDEN} (default {default!r}).", history=(),
                            was=default)
    return Assumptions(out)


def _within(p: Parameter, value: Any, text: str) -> None:
    """Refuse an override outside the range that makes sense for the parameter (each value, for a list)."""
    for v in value if isinstance(value, list) else [value]:
        low = p.least is not None and isinstance(v, (int, float)) and v < p.least
        if low or (p.most is not None and isinstance(v, (int, float)) and v > p.most):
            span = " and ".join(f"{w} {b:g}" for w, b in (("at least", p.least), ("at most", p.most)) if b is not None)
            raise BadParameter(f"{p.name} ({p.label or p.name}) must be {span}, not {text}.")


@cache
def shared() -> dict[str, dict[str, Any]]:
    """The values every round shares, by section (the gate's limits are read before a round is known)."""
    out: dict[str, dict[str, Any]] = {}
    for p in _read(content.path("rules", "parameters.yaml")).values():
        out.setdefault(p.section, {})[p.name] = p.value
    return out


@cache
def values(round_folder: Path) -> dict[str, dict[str, Any]]:
    """A round's default values by section: {"checks": {...}, "gate": {...}, ...}."""
    out: dict[str, dict[str, Any]] = {}
    for p in _defaults(round_folder).values():
        out.setdefault(p.section, {})[p.name] = p.value
    return out
