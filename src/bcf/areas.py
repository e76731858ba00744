"""The Health and Wellbeing Boards of a round, their real populations and their (synthetic) allocations.

Each round's folder carries its own ``hwb_list.csv`` and ``allocations.csv``: boards merge and allocations
change from year to year, so nothing here is shared between rounds. ``bcf.allocations`` writes the file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path


@dataclass(frozen=True)
class Area:
    """One Health and Wellbeing Board and the plan it submits under."""

    hwb_name: str
    ons_code: str
    la_type: str
    region_name: str
    plan_code: str
    plan_name: str
    population: int  # of the whole plan
    minimum_pooled_000: float
    ringfence_000: float
    population_65_plus: int = 0  # of the whole plan (0: the allocations do not say)

    def get(self, column: str) -> str | float:
        value: str | float = getattr(self, column)
        return value


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@dataclass(frozen=True)
class Areas:
    """Every HWB of one round, in the list's order (Isles of Scilly plans with Cornwall)."""

    all: tuple[Area, ...]

    @classmethod
    def load(cls, folder: Path) -> Areas:
        plans = {p["plan_code"]: p for p in _rows(folder / "allocations.csv")}
        return cls(tuple(
            Area(r["hwb_name"], r["ons_code"], r["la_type"], r["region_name"], r["plan_code"],
                 (p := plans[r["plan_code"]])["plan_name"], int(p["population"]), float(p["minimum_pooled_000"]),
                 float(p["ringfence_000"]), int(p.get("population_65_plus") or 0))
            for r in _rows(folder / "hwb_list.csv")))

    def plans(self) -> list[Area]:
        """One area per plan: the lead HWB of each."""
        return [a for a in self.all if a.ons_code == a.plan_code]

    def find(self, name_or_code: object) -> Area | None:
        """The area by HWB name or ONS/plan code, ignoring case and surrounding spaces."""
        return self._by_key.get(name_or_code.strip().casefold()) if isinstance(name_or_code, str) else None

    @cached_property
    def _by_key(self) -> dict[str, Area]:
        """Each area under its name and its code, casefolded; the first in the list's order where two share one."""
        out: dict[str, Area] = {}
        for a in self.all:
            out.setdefault(a.hwb_name.casefold(), a)
            out.setdefault(a.ons_code.casefold(), a)
        return out

    @cached_property
    def _plan_codes(self) -> frozenset[str]:
        return frozenset(a.plan_code for a in self.all)

    def plan_codes(self) -> frozenset[str]:
        return self._plan_codes
