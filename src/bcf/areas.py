"""The Health and Wellbeing Boards of the round and their (synthetic) allocations."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from bcf import content
from bcf.spec import ROUND


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

    def get(self, column: str) -> str | float:
        return getattr(self, column)


def _rows(name: str) -> list[dict[str, str]]:
    with content.path("bcf_templates", ROUND, name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@cache
def areas() -> tuple[Area, ...]:
    """All 152 HWBs in the list's order (Isles of Scilly plans with Cornwall)."""
    plans = {p["plan_code"]: p for p in _rows("allocations.csv")}
    out = []
    for r in _rows("hwb_list.csv"):
        p = plans[r["plan_code"]]
        out.append(Area(r["hwb_name"], r["ons_code"], r["la_type"], r["region_name"], r["plan_code"],
                        p["plan_name"], int(p["population"]), float(p["minimum_pooled_000"]),
                        float(p["ringfence_000"])))
    return tuple(out)


def plans() -> list[Area]:
    """One area per plan (151): the lead HWB of each."""
    return [a for a in areas() if a.ons_code == a.plan_code]


def find(name_or_code: str | None) -> Area | None:
    """The area by HWB name or ONS/plan code, ignoring case and surrounding spaces."""
    key = (name_or_code or "").strip().casefold() if isinstance(name_or_code, str) else ""
    return next((a for a in areas() if key in (a.hwb_name.casefold(), a.ons_code.casefold())), None)
