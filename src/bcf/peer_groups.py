"""Each council's peer group: the official file when the central team ships one, else the open default.

A peer group is content. A team that licenses an official nearest-neighbours model drops its file in as
``reference/peers.csv`` (columns ``ons_code,peer_ons_code,rank``, one row per council and peer, rank 1 the
nearest) and the tool uses it as it is. Without one, the groups are computed from the reference indicators by
the open method NHS England publishes for adult social care: each indicator standardised, a weighted Euclidean
distance, the nearest councils as peers. Indicators, weights, the number of peers and the councils left out are
in ``reference/peer_indicators.yaml``; ties are broken by ONS code, so every run gives the same groups. A council
the reference file has no figures for (a newer vintage after a boundary change) is treated as one left out, and
every output that shows the groups says so.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bcf import content, reference

OFFICIAL = "peers.csv"
METHOD = "peer_indicators.yaml"


@dataclass(frozen=True)
class Indicator:
    """One standardised indicator of the default method."""

    id: str
    label: str
    source: str
    sum: tuple[str, ...]
    per: str | None
    log: bool
    weight: float

    def value(self, code: str) -> float:
        """The indicator's raw value for one council."""
        x = reference.value(self.source, code, self.sum)
        if self.per:
            x /= reference.value(self.source, code, (self.per,))
        return math.log(x) if self.log else x


@dataclass(frozen=True)
class PeerGroups:
    """Every council's peers, nearest first, and how they were found."""

    peers: dict[str, tuple[str, ...]]  # ONS code -> peers' ONS codes, nearest first
    method: str  # in words, for every output that shows a peer group
    official: bool
    why_none: dict[str, str] = field(default_factory=dict)  # ONS code -> why it has no peer group, in words

    def of(self, code: str) -> tuple[str, ...]:
        return self.peers.get(code, ())


@dataclass(frozen=True)
class Method:
    """The default method's settings, as content gives them."""

    name: str
    k: int
    left_out: dict[str, str]
    indicators: tuple[Indicator, ...]


def method() -> Method:
    """The default method's settings from ``reference/peer_indicators.yaml``."""
    raw: dict[str, Any] = content.parse_yaml(content.path("reference", METHOD).read_text(encoding="utf-8"))
    return Method(raw["method"], int(raw["peers"]), dict(raw.get("left_out") or {}), tuple(
        Indicator(i["id"], i["label"], i["source"], tuple(i["sum"]), i.get("per"), bool(i.get("log")),
                  float(i["weight"])) for i in raw["indicators"]))


def raw_values(m: Method, codes: list[str]) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Each council's raw indicators, and the councils a reference file has no usable figure for (that file, in
    words, by council): a newer vintage may lack a council after a boundary change."""
    raw: dict[str, list[float]] = {}
    lacking: dict[str, str] = {}
    for c in codes:
        values = []
        for ind in m.indicators:
            try:
                values.append(ind.value(c))
            except (KeyError, ValueError, ZeroDivisionError):  # no row, a blank or a zero where a figure is needed
                lacking[c] = _file_words(ind.source)
                break
        else:
            raw[c] = values
    return raw, lacking


def _file_words(name: str) -> str:
    """A reference file as a sentence names it: reference/x.csv (publisher, vintage)."""
    src = reference.source(name)
    return f"{reference.FOLDER}/{src.path.name} ({src.publisher}, {src.vintage})"


def standardised(m: Method, raw: dict[str, list[float]]) -> dict[str, tuple[float, ...]]:
    """Each council's indicators as z-scores, mean and standard deviation taken over the councils not left out."""
    kept = [c for c in raw if c not in m.left_out]
    out: dict[str, list[float]] = {c: [] for c in raw}
    for j in range(len(m.indicators)):
        column = [raw[c][j] for c in kept]
        mean = sum(column) / len(column)
        sd = math.sqrt(sum((x - mean) ** 2 for x in column) / len(column)) or 1.0
        for c in raw:
            out[c].append((raw[c][j] - mean) / sd)
    return {c: tuple(v) for c, v in out.items()}


def distance(m: Method, a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The weighted Euclidean distance between two councils' standardised indicators."""
    return math.sqrt(sum(ind.weight * (x - y) ** 2 for ind, x, y in zip(m.indicators, a, b, strict=True)))


def compute(codes: list[str], m: Method | None = None, names: Mapping[str, str] | None = None) -> PeerGroups:
    """The default peer groups of these councils (ONS codes; ``names`` for the words) by the open method. A
    council the reference files have no figures for is treated as one left out: nobody's peer, no group."""
    m = m or method()
    raw, lacking = raw_values(m, codes)
    z = standardised(m, raw)
    candidates = [c for c in codes if c not in m.left_out and c in raw]
    compared = set(candidates)
    peers = {c: tuple(sorted((o for o in candidates if o != c), key=lambda o: (distance(m, z[c], z[o]), o))[:m.k])
             if c in compared else () for c in codes}
    why = {c: "it is too small to compare" for c in m.left_out if c in codes}
    why |= {c: f"{src} has no figures for it" for c, src in lacking.items()}
    words = (f"computed by {m.name}: the {m.k} nearest councils on "
             + ", ".join(f"{i.label.lower()} (weight {i.weight:g})" for i in m.indicators)
             + (f"; {' and '.join(m.left_out.values())} are too small to compare and have no peer group"
                if m.left_out else "")
             + "".join(f"; {(names or {}).get(c, c)} has no peer group, as {src} has no figures for it"
                       for c, src in sorted(lacking.items())))
    return PeerGroups(peers, words, False, why)


def read_official(path: Path) -> PeerGroups:
    """An official peer file: ``ons_code,peer_ons_code,rank`` rows."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    peers: dict[str, list[tuple[int, str]]] = {}
    for r in rows:
        peers.setdefault(r["ons_code"], []).append((int(r["rank"]), r["peer_ons_code"]))
    return PeerGroups({c: tuple(p for _, p in sorted(v)) for c, v in peers.items()},
                      f"the official peer groups shipped in reference/{OFFICIAL}", True)


@cache
def _load(root: Path, councils: tuple[tuple[str, str], ...]) -> PeerGroups:
    official = root / "reference" / OFFICIAL
    return read_official(official) if official.is_file() else compute([c for c, _ in councils], names=dict(councils))


def load(councils: Mapping[str, str]) -> PeerGroups:
    """The peer groups in force for these councils (ONS code -> name): the official file if shipped, else the
    default computed for them."""
    return _load(content.root(), tuple(sorted(councils.items())))
