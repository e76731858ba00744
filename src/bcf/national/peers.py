"""A plan among its peers and among every plan: its key ratios as percentiles, and the round's outliers.

Low ambition was defended in the fund's first round by low baselines that only a comparison with similar areas can test. Each
plan's peer group comes from ``bcf.peer_groups`` (the official file if the central team ships one, else the open
default); its ratios come from the store (``aggregator/peers.sql``). A percentile is the percentile rank of the
plan's value (as submitted) in a group of valid plans that leaves the plan out: the share of the group below it,
ties counted half, times 100. Faces (``bcf peers``, the letter, the national report, the console) call the functions
at the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from bcf import peer_groups, rounds
from bcf.errors import UnknownArea
from bcf.national import queries
from bcf.national.door import National
from bcf.reference import checks

# ratio id -> (in words, unit); the ids are the columns of peers.ratios
RATIOS: dict[str, tuple[str, str]] = {
    "savings_share_pct": ("savings as a share of the pool", "%"),
    "planned_cut_pct": ("planned cut in emergency admissions", "%"),
    "unit_cost": ("unit cost of an avoided admission", "£"),
    "nel_per_1000": ("emergency admissions per 1,000 people", "per 1,000"),
    "care_home_per_100k_65": ("care-home admissions per 100,000 people aged 65+", "per 100,000"),
}


@dataclass(frozen=True)
class Standing:
    """One ratio of one plan, set among its peers and among every plan."""

    ratio: str
    label: str
    unit: str
    value: float | None
    peers_below: int  # peers whose value is lower than the plan's
    peers_above: int  # peers whose value is higher
    peers_with_value: int
    peer_percentile: float | None
    peer_median: float | None
    national_percentile: float | None
    plans_with_value: int  # every other valid plan with a value

    @property
    def shown(self) -> str:
        """The plan's value as a sentence shows it."""
        return show(self.value, self.unit)

    @property
    def median_shown(self) -> str:
        """The peers' median as a sentence shows it."""
        return show(self.peer_median, self.unit)

    def sentence(self) -> str:
        """The comparison in one sentence: "Your planned cut ... of 0.8% is lower than 13 of your 15 peers'."."""
        if self.value is None or not self.peers_with_value:
            return f"Your {self.label} could not be compared with your peers'."
        if not self.peers_above and not self.peers_below:
            return f"Your {self.label} of {self.shown} is the same as all {self.peers_with_value} of your peers'."
        n = self.peers_with_value
        if self.peers_above == self.peers_below:
            return (f"Your {self.label} of {self.shown} is higher than {self.peers_below} and lower than "
                    f"{self.peers_above} of your {n} peers'.")
        word, count = ("lower", self.peers_above) if self.peers_above >= self.peers_below else ("higher", self.peers_below)
        of = f"all {n} of your peers'" if count == n else f"{count} of your {n} peers'"
        return f"Your {self.label} of {self.shown} is {word} than {of}."


@dataclass(frozen=True)
class Peer:
    plan_code: str
    name: str
    valid: bool  # a valid plan in the round (no blocking findings), so its ratios count in the group
    sent: bool = True  # the store holds a plan from it at all

    @property
    def left_out(self) -> str:
        """Why the peer's ratios do not count in the group, in words ("" when they do)."""
        return "" if self.valid else "no plan yet" if not self.sent else "its plan is not ready"


@dataclass(frozen=True)
class PlanPeers:
    """One plan's peer group and where each of its key ratios stands."""

    round: str
    plan_code: str
    name: str
    method: str
    official: bool
    peers: tuple[Peer, ...]
    standings: tuple[Standing, ...]
    why_none: str = ""  # why it has no peer group, in words ("" when it has one)

    def standing(self, ratio: str) -> Standing:
        return next(s for s in self.standings if s.ratio == ratio)

    def as_dict(self) -> dict[str, Any]:
        return {"round": self.round, "plan_code": self.plan_code, "hwb": self.name, "method": self.method,
                "official": self.official, "peers": [p.__dict__ for p in self.peers],
                "no_peer_group": self.why_none or None,
                "ratios": [{**s.__dict__, "sentence": s.sentence()} for s in self.standings]}


def show(value: float | None, unit: str) -> str:
    """A ratio's value in words: 0.8%, £1,490, 94.6 per 1,000."""
    if value is None:
        return "not given"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "£":
        return f"£{value:,.0f}"
    return f"{value:,.1f} {unit}"


def percentile(value: float, group: list[float]) -> float:
    """Percentile rank of ``value`` in ``group`` (which leaves it out): share below, ties counted half, x 100."""
    below = sum(v < value for v in group)
    equal = sum(v == value for v in group)
    return 100 * (below + 0.5 * equal) / len(group)


def _median(values: list[float]) -> float | None:
    s = sorted(values)
    n = len(s)
    return None if not n else s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def standing(ratio: str, value: float | None, peers: list[float], others: list[float]) -> Standing:
    """One ratio's standing from the plan's value, its peers' values and every other plan's."""
    label, unit = RATIOS[ratio]
    if value is None:
        return Standing(ratio, label, unit, None, 0, 0, len(peers), None, _median(peers), None, len(others))
    return Standing(ratio, label, unit, value, sum(v < value for v in peers), sum(v > value for v in peers),
                    len(peers), percentile(value, peers) if peers else None, _median(peers),
                    percentile(value, others) if others else None, len(others))


def _care_home_metric() -> str:
    """The metric row whose denominator is the population aged 65+ (as reference/checks.yaml names it)."""
    return next((c.row.get("metric", "") for c in checks() if c.reads == "metrics.den_baseline"), "")


@dataclass(frozen=True)
class Ratios:
    """Every current plan's ratios in a round, and which plans are valid (the ones groups are made of)."""

    values: dict[str, dict[str, float | None]]  # plan code -> ratio -> value
    valid: frozenset[str]

    def of(self, codes: list[str], ratio: str) -> list[float]:
        """The values of the valid plans among ``codes`` that have one."""
        return [v for c in codes if c in self.valid and (v := self.values[c][ratio]) is not None]


def round_ratios(national: National | duckdb.DuckDBPyConnection, round_: str) -> Ratios:
    """Every current plan's ratios in a round (from an open store, or a connection to one)."""
    con = national.con if isinstance(national, National) else national
    rows = queries.rows(con, "peers.ratios", round=round_, care_home_metric=_care_home_metric())
    return Ratios({r["plan_code"]: {k: (None if r[k] is None else float(r[k])) for k in RATIOS} for r in rows},
                  frozenset(r["plan_code"] for r in rows if r["valid"]))


def _groups(round_: str) -> peer_groups.PeerGroups:
    return peer_groups.load({a.ons_code: a.hwb_name for a in rounds.get(round_).areas.all})


def plan_peers(national: National, round_: str, plan_code: str) -> PlanPeers:
    """One plan's peer group and its key ratios among its peers and nationally."""
    return _plan_peers(round_ratios(national, round_), round_, plan_code)


def _plan_peers(ratios: Ratios, round_: str, plan_code: str) -> PlanPeers:
    areas = rounds.get(round_).areas
    area = areas.find(plan_code)
    if area is None:
        raise UnknownArea(f"{plan_code} is not a Health and Wellbeing Board of round {round_}.")
    groups = _groups(round_)
    leads = {a.plan_code for a in areas.plans()}
    codes = [c for c in groups.of(area.plan_code) if c in leads]
    names = {a.plan_code: a.plan_name for a in areas.plans()}
    others = [c for c in ratios.valid if c != area.plan_code]
    own = ratios.values.get(area.plan_code, {})
    return PlanPeers(round_, area.plan_code, area.plan_name, groups.method, groups.official,
                     tuple(Peer(c, names[c], c in ratios.valid, c in ratios.values) for c in codes),
                     tuple(standing(r, own.get(r), ratios.of(codes, r), ratios.of(others, r)) for r in RATIOS),
                     "" if codes else groups.why_none.get(area.plan_code, f"{groups.method} give none for it"))


def round_peers(national: National | duckdb.DuckDBPyConnection, round_: str) -> dict[str, PlanPeers]:
    """Every current plan's peers and standings in a round, by plan code (for the letters)."""
    ratios = round_ratios(national, round_)
    return {code: _plan_peers(ratios, round_, code) for code in sorted(ratios.values)}


def peers_for(national: National, hwb: str, round_: str | None = None) -> PlanPeers:
    """``bcf peers``: a plan by HWB name or code, in the round asked for (default: the latest held)."""
    scope = national.scope(round_)
    area = rounds.get(scope.round).areas.find(hwb)
    if area is None:
        raise UnknownArea(f"{hwb!r} is not a Health and Wellbeing Board of round {scope.round}.")
    return plan_peers(national, scope.round, area.plan_code)


@dataclass(frozen=True)
class Outlier:
    """A plan beyond every one of its peers on a ratio, and in the national top or bottom tenth."""

    plan_code: str
    name: str
    standing: Standing

    @property
    def direction(self) -> str:
        return "highest" if self.standing.peers_below == self.standing.peers_with_value else "lowest"


@dataclass(frozen=True)
class Outliers:
    """The round's outliers among their peers, and how the peer groups were made."""

    method: str
    national_pct: float
    rows: tuple[Outlier, ...]


def outliers(national: National | duckdb.DuckDBPyConnection, round_: str, national_pct: float = 10) -> Outliers:
    """Every valid plan beyond all its peers on a ratio and in the national top or bottom ``national_pct``%."""
    ratios = round_ratios(national, round_)
    out = []
    for code in sorted(ratios.valid):
        pp = _plan_peers(ratios, round_, code)
        for s in pp.standings:
            beyond = s.peers_with_value and s.peers_with_value in (s.peers_below, s.peers_above)
            extreme = s.national_percentile is not None and (
                s.national_percentile <= national_pct or s.national_percentile >= 100 - national_pct)
            if beyond and extreme:
                out.append(Outlier(code, pp.name, s))
    rows = sorted(out, key=lambda o: (list(RATIOS).index(o.standing.ratio), o.direction, o.name))
    return Outliers(_groups(round_).method, national_pct, tuple(rows))
