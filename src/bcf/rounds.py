"""Rounds and returns: the one seam where a year's content becomes what every command works with.

A round is a folder under ``bcf_templates/`` with a ``round.yaml`` (its label and order), its HWB list and
allocations, its parameters, and one sub-folder per return (``plan/``, ``quarterly/``), each holding that
return's template specification. Adding a round or a return is adding a folder: nothing in the code names a
year. Every command is given a ``Round`` (or a ``Return``) from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from bcf import content, params
from bcf.areas import Areas
from bcf.errors import UnknownRound
from bcf.spec import Spec
from bcf.spec import load as load_spec
from bcf.spec import versions as spec_versions

RETURN_KINDS = ("plan", "quarterly")  # the order returns are listed in


@dataclass(frozen=True)
class Return:
    """One return of a round (the plan, the quarterly monitoring return): its template and versions."""

    round_id: str
    kind: str
    folder: Path

    def spec(self, version: str | None = None) -> Spec:
        """The specification of one version (default: the current one)."""
        return load_spec(self.folder, version)

    def versions(self) -> dict[str, str]:
        return spec_versions(self.folder)

    @property
    def template_id(self) -> str:
        return self.spec().template_id

    @property
    def title(self) -> str:
        return self.spec().title

    @property
    def round(self) -> Round:
        return get(self.round_id)


@dataclass(frozen=True)
class Round:
    """A planning round: its returns, its Health and Wellbeing Boards and its parameters."""

    id: str
    label: str
    year: str  # the financial year its plans cover, as people write it (round.yaml's `year`)
    starts: date
    folder: Path
    returns: dict[str, Return]
    notes: str = ""

    @cached_property
    def areas(self) -> Areas:
        return Areas.load(self.folder)

    @cached_property
    def pay_for_performance(self) -> bool:
        """Whether the round paid for performance: its plan template asks for a P4P value. (Later rounds kept the
        ring-fenced money but no longer paid it for cutting emergency admissions.)"""
        return "plan" in self.returns and self.ret("plan").spec().has("p4p_value")

    def ret(self, kind: str) -> Return:
        """One of the round's returns, by kind (``plan``, ``quarterly``)."""
        if kind not in self.returns:
            known = ", ".join(self.returns) or "none"
            raise UnknownRound(f"The {self.id} round has no {kind} return (it has: {known}).")
        return self.returns[kind]

    def params(self, overrides: dict[str, str] | None = None, as_at: date | None = None) -> params.Assumptions:
        """The round's parameters with their sources (see ``bcf.params``)."""
        return params.load(self.folder, overrides, as_at)

    def values(self) -> dict[str, dict[str, Any]]:
        """The round's parameter values by section."""
        return params.values(self.folder)


def _load_round(folder: Path) -> Round:
    meta: dict[str, Any] = content.parse_yaml((folder / "round.yaml").read_text(encoding="utf-8"))
    rid = str(meta["id"])
    if rid != folder.name:
        raise ValueError(f"{folder / 'round.yaml'} says id {rid!r}; the folder must have the same name")
    kinds = sorted((p.name for p in folder.iterdir() if (p / "template.yaml").is_file()),
                   key=lambda k: (RETURN_KINDS.index(k) if k in RETURN_KINDS else len(RETURN_KINDS), k))
    return Round(rid, meta["label"], str(meta["year"]), meta["starts"], folder, {k: Return(rid, k, folder / k) for k in kinds},
                 meta.get("notes", ""))


@cache
def _all(root: Path) -> dict[str, Round]:
    found = [_load_round(p) for p in root.iterdir() if (p / "round.yaml").is_file()]
    return {r.id: r for r in sorted(found, key=lambda r: r.starts)}


def all_rounds() -> dict[str, Round]:
    """Every round the content holds, oldest first."""
    return _all(content.path("bcf_templates"))


def get(round_id: str) -> Round:
    """A round by id; a clear error naming the known rounds otherwise."""
    rounds = all_rounds()
    if round_id not in rounds:
        raise UnknownRound(f"There is no round called {round_id!r}. Known rounds: {', '.join(rounds)}.")
    return rounds[round_id]


def latest() -> Round:
    """The newest round the content holds."""
    return list(all_rounds().values())[-1]


def of(spec: Spec) -> Return:
    """The return a specification belongs to."""
    return get(spec.round_id).ret(spec.kind)


def for_template(template_id: str | None) -> Return | None:
    """The return whose template carries this id (any version), or None."""
    return next((r for rnd in all_rounds().values() for r in rnd.returns.values() if r.template_id == template_id), None)
