"""A round's ``allocations.csv`` made from the real population: the one way the file is written.

The per-area allocations of the fund are not public here, so they stay synthetic: the round's national
minimum and NHS ring-fence (the totals of the file as it stands) are shared by population. The populations are
real: the reference population of each plan's councils (the mid-2018 estimate standing in for the round's year).
Shares are whole £000 by largest remainders, so they add up to the national totals exactly. The file says all of
this in its own header; a test keeps the committed files equal to what ``reshare`` makes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bcf import reference
from bcf.areas import Areas, _rows

COLUMNS = ("plan_code", "plan_name", "population", "population_65_plus", "minimum_pooled_000", "ringfence_000")


def shares(total: int, weights: list[int]) -> list[int]:
    """Whole-number shares of ``total`` in proportion to ``weights``, adding up to it exactly (largest remainders,
    ties to the earlier row)."""
    exact = [total * w / sum(weights) for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:total - sum(parts)]:
        parts[i] += 1
    return parts


def _bn(total_000: int) -> str:
    return f"GBP {total_000 / 1e6:g}bn"


def header(minimum: int, ringfence: int) -> list[str]:
    """The file's own account of what in it is real and what is synthetic."""
    src = reference.source()
    return [
        "# population, population_65_plus: REAL. " + f"{src.publisher}, {src.vintage} ({src.licence}), from "
        f"reference/{src.path.name}, standing in for {src.stands_in_for}. A plan's figure is its councils' "
        "(Cornwall with the Isles of Scilly).",
        f"# minimum_pooled_000, ringfence_000: SYNTHETIC - not the real allocations, which are not public here. The "
        f"national minimum of {_bn(minimum)} and the {_bn(ringfence)} NHS ring-fence shared by population "
        "(largest remainders), so they add up to the national totals exactly. Remade by bcf.allocations.reshare.",
    ]


def reshare(folder: Path) -> str:
    """The text of ``folder/allocations.csv`` remade from the reference population and the file's own totals."""
    areas = Areas.load(folder)
    old = _rows(folder / "allocations.csv")
    minimum = round(sum(float(r["minimum_pooled_000"]) for r in old))
    ringfence = round(sum(float(r["ringfence_000"]) for r in old))
    plans = areas.plans()
    pop = [reference.plan_value(areas, a.plan_code, ["all_ages"]) for a in plans]
    pop65 = [reference.plan_value(areas, a.plan_code, ["age_65_plus"]) for a in plans]
    out = io.StringIO()
    out.write("\n".join(header(minimum, ringfence)) + "\n")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(zip([a.plan_code for a in plans], [a.plan_name for a in plans], pop, pop65, shares(minimum, pop),
                    shares(ringfence, pop), strict=True))
    return out.getvalue()
