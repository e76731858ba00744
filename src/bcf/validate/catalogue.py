"""The rule catalogue and the findings made from it.

Rules are data (``rules/catalogue.yaml``): id, family, severity, words. A finding is a value, never an
exception: a frozen record of which rule, where (sheet and A1 cell), what was found and what was expected,
with the rule's message and fix filled in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from bcf import content

FAMILIES = ("gate", "structure", "cell", "arithmetic", "policy", "consistency")
SEVERITIES = ("blocking", "advisory")


@dataclass(frozen=True)
class Rule:
    id: str
    family: str
    severity: str
    title: str
    message: str
    fix: str
    rationale: str
    stops: bool = False

    @property
    def anchor(self) -> str:
        return self.id.lower()


@dataclass(frozen=True)
class Finding:
    """One problem in one place."""

    rule_id: str
    severity: str
    family: str
    sheet: str
    cell: str | None
    found: Any
    expected: Any
    message: str
    fix: str
    title: str
    stops: bool = field(default=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "severity": self.severity, "family": self.family, "sheet": self.sheet,
                "cell": self.cell, "found": _plain(self.found), "expected": _plain(self.expected),
                "message": self.message, "fix": self.fix, "title": self.title}


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


@cache
def rules() -> dict[str, Rule]:
    """Every rule by id, in catalogue order."""
    raw = yaml.safe_load(content.path("rules", "catalogue.yaml").read_text(encoding="utf-8"))
    return {r["id"]: Rule(**r) for r in raw}


def show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if v.is_integer() or abs(v) >= 100 else f"{v:,.1f}"
    if hasattr(v, "strftime"):
        return v.strftime("%d/%m/%Y")
    return "" if v is None else str(v)


def finding(rule_id: str, sheet: str, cell: str | None = None, found: Any = None, expected: Any = None,
            label: str = "", example: str = "") -> Finding:
    """A finding of a catalogued rule, its message and fix filled in."""
    r = rules()[rule_id]
    words = {"found": show(found), "expected": show(expected), "label": label or "This cell",
             "example": f", for example {example}" if example else ""}
    fill = lambda text: re.sub(r"\{(\w+)\}", lambda m: words.get(m.group(1), m.group(0)), text)  # noqa: E731
    return Finding(rule_id, r.severity, r.family, sheet, cell, found, expected, fill(r.message), fill(r.fix),
                   r.title, r.stops)


def as_markdown() -> str:
    """The catalogue as the page committed at docs/rules.md."""
    by_family: dict[str, list[Rule]] = {f: [] for f in FAMILIES}
    for r in rules().values():
        by_family[r.family].append(r)
    counts = ", ".join(f"{len(rs)} {fam}" for fam, rs in by_family.items())
    lines = ["# Rule catalogue", "",
             "Every check `bcf check` and `bcf batch` run. Written by `bcf rules --format markdown` from "
             "`rules/catalogue.yaml`; do not edit by hand.", "",
             f"{len(rules())} rules: {counts}. Blocking: the plan cannot be assured as submitted. "
             "Advisory: a reviewer should look.", ""]
    for fam, rs in by_family.items():
        lines += [f"## {fam.capitalize()}", ""]
        for r in rs:
            lines += [f'### <a id="{r.anchor}"></a>{r.id}: {r.title}', "",
                      f"*{r.severity}*{' · stops the check' if r.stops else ''}", "",
                      f"- **Message:** {r.message}", f"- **Fix:** {r.fix}", f"- **Why:** {r.rationale}", ""]
    return "\n".join(lines)
