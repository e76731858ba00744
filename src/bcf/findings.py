"""The findings vocabulary: rules, their severities and families, the reader's problems, and findings.

Rules are data (``rules/catalogue.yaml``): id, family, severity, words, and the rounds and returns they
apply to. A finding is a value, never an exception: a frozen record of which rule, where (sheet and A1
cell), what was found and what was expected, with the rule's message and fix filled in. What the reader
meets (a moved table, text in a number cell) is a ``ProblemKind``; ``PROBLEM_RULES`` is the one table that
says which rule reports each.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from bcf import content


class Severity(StrEnum):
    BLOCKING = "blocking"  # the plan cannot be assured as submitted
    ADVISORY = "advisory"  # a reviewer should look


class Family(StrEnum):
    GATE = "gate"
    STRUCTURE = "structure"
    CELL = "cell"
    ARITHMETIC = "arithmetic"
    POLICY = "policy"
    CONSISTENCY = "consistency"
    REFERENCE = "reference"  # a figure the return quotes, against the official statistic it comes from


FAMILIES = tuple(Family)


class ProblemKind(StrEnum):
    """What the reader can meet while reading a workbook."""

    TOO_LARGE = "too_large"
    NOT_TEMPLATE = "not_template"
    SHEET_MISSING = "sheet_missing"
    SHEET_RENAMED = "sheet_renamed"
    SHEET_HIDDEN = "sheet_hidden"
    TABLE_NOT_FOUND = "table_not_found"
    COLUMN_NOT_FOUND = "column_not_found"
    TABLE_MOVED = "table_moved"
    FIELD_MOVED = "field_moved"
    HEADER_CHANGED = "header_changed"
    TOO_MANY_ROWS = "too_many_rows"
    NO_CACHED_VALUE = "no_cached_value"
    TEXT_TOO_LONG = "text_too_long"
    WRONG_TYPE = "wrong_type"
    ERROR_VALUE = "error_value"  # an error such as #DIV/0! where a value is wanted, from a formula or typed
    TEXT_NUMBER = "text_number"  # a number stored as text: read, but the workbook's own sums leave it out
    PLACEHOLDER = "placeholder"  # "-", "n/a", "TBC": read as no answer
    LIST_NORMALISED = "list_normalised"  # a drop-down option typed in another case or spacing
    OUTSIDE_FIGURE = "outside_figure"  # a number, date or formula where the template reads nothing
    OUTSIDE_TEXT = "outside_text"  # text where the template reads nothing
    EXTRA_SHEET = "extra_sheet"  # a sheet the template does not have, with something typed on it
    MERGED_HIDDEN = "merged_hidden"  # a cell read that lies hidden under merged cells


# which rule reports each reader problem (NOT_TEMPLATE is the gate's own judgement of the stamp)
PROBLEM_RULES: dict[ProblemKind, str] = {
    ProblemKind.TOO_LARGE: "BCF-GATE-003", ProblemKind.SHEET_MISSING: "BCF-STRUCT-001",
    ProblemKind.SHEET_RENAMED: "BCF-STRUCT-002", ProblemKind.TABLE_NOT_FOUND: "BCF-STRUCT-003",
    ProblemKind.TABLE_MOVED: "BCF-STRUCT-004", ProblemKind.FIELD_MOVED: "BCF-STRUCT-004",
    ProblemKind.HEADER_CHANGED: "BCF-STRUCT-005", ProblemKind.NO_CACHED_VALUE: "BCF-STRUCT-006",
    ProblemKind.SHEET_HIDDEN: "BCF-STRUCT-007", ProblemKind.TOO_MANY_ROWS: "BCF-STRUCT-008",

    ProblemKind.WRONG_TYPE: "BCF-CELL-002", ProblemKind.ERROR_VALUE: "BCF-CELL-016", ProblemKind.TEXT_TOO_LONG: "BCF-CELL-010",
    ProblemKind.COLUMN_NOT_FOUND: "BCF-STRUCT-011", ProblemKind.OUTSIDE_FIGURE: "BCF-STRUCT-009",
    ProblemKind.OUTSIDE_TEXT: "BCF-STRUCT-010", ProblemKind.PLACEHOLDER: "BCF-CELL-011",
    ProblemKind.LIST_NORMALISED: "BCF-CELL-012", ProblemKind.TEXT_NUMBER: "BCF-CELL-013",
    ProblemKind.EXTRA_SHEET: "BCF-STRUCT-013", ProblemKind.MERGED_HIDDEN: "BCF-STRUCT-014",
}


@dataclass(frozen=True)
class Rule:
    id: str
    family: Family
    severity: Severity
    title: str
    message: str
    fix: str
    rationale: str
    stops: bool = False
    returns: tuple[str, ...] = ()  # the returns it applies to (empty: every return)
    since: str | None = None  # the first round it applies to (a round id)
    until: str | None = None  # the last round it applies to

    @property
    def anchor(self) -> str:
        return self.id.lower()

    def applies(self, round_id: str, kind: str, order: Sequence[str]) -> bool:
        """Whether the rule is in force for a return of a round, rounds in ``order`` (oldest first)."""
        at = order.index(round_id) if round_id in order else len(order)
        after_start = self.since is None or at >= order.index(self.since)
        before_end = self.until is None or at <= order.index(self.until)
        return (not self.returns or kind in self.returns) and after_start and before_end


@dataclass(frozen=True)
class Finding:
    """One problem in one place."""

    rule_id: str
    severity: Severity
    family: Family
    sheet: str
    cell: str | None
    found: Any
    expected: Any
    message: str
    fix: str
    title: str
    stops: bool = field(default=False, compare=False)
    explanation: str | None = field(default=None, compare=False)  # the officer's, from the Explanations sheet

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "severity": str(self.severity), "family": str(self.family), "sheet": self.sheet,
                "cell": self.cell, "found": _plain(self.found), "expected": _plain(self.expected),
                "message": self.message, "fix": self.fix, "title": self.title, "explanation": self.explanation}


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


@cache
def rules() -> dict[str, Rule]:
    """Every rule by id, in catalogue order."""
    raw = content.parse_yaml(content.path("rules", "catalogue.yaml").read_text(encoding="utf-8"))
    return {r["id"]: Rule(**{**r, "family": Family(r["family"]), "severity": Severity(r["severity"]),
                             "returns": tuple(r.get("returns", ()))}) for r in raw}


def show(v: Any) -> str:
    """A value as a finding's words show it: numbers with thousands separators, dates as dd/mm/yyyy."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        v = 0.0 if v == 0 else v  # never "-0"
        return f"{v:,.0f}" if v.is_integer() or abs(v) >= 100 else f"{v:,.1f}"
    if hasattr(v, "strftime"):
        return str(v.strftime("%d/%m/%Y"))
    return "" if v is None else str(v)


def money(v: Any) -> str:
    """A £000 figure as words show it: £1,062k, -£250k, £0.4k."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return show(v)
    k = round(float(v), 1 if abs(v) < 100 and not float(v).is_integer() else 0)
    if k == 0:  # nothing, or less than £50: never "£0k"
        return "£0" if v == 0 else ("-" if v < 0 else "") + f"£{abs(float(v)) * 1000:,.0f}"
    return ("-" if k < 0 else "") + f"£{show(abs(k))}k"


FORMATS = {"money": money}
_PLACEHOLDER = re.compile(r"\{(\w+)(?:\|(\w+))?\}")


def finding(rule_id: str, sheet: str, cell: str | None = None, found: Any = None, expected: Any = None,
            label: str = "", example: str = "", wanted: str = "", likely: str = "", also: str = "",
            **more: Any) -> Finding:
    """A finding of a catalogued rule, its message and fix filled in (``more`` fills any other placeholder).

    ``wanted`` names the kind of value a cell needs when ``expected`` is the very value it would accept;
    ``likely`` is a sentence naming the likely cause and the value to enter, when the check can work it out;
    ``also`` names more of the same around the cell (a block of pasted rows), for the message to say once.
    A placeholder may name a format: ``{found|money}`` shows a £000 figure as £1,062k."""
    r = rules()[rule_id]
    values = {"found": found, "expected": expected, **more}
    words = {"label": label or "This cell", "example": f", for example {example}" if example else "",
             "wanted": wanted or show(expected), "likely": f" {likely}" if likely else "",
             "also": f" ({also})" if also else ""}

    def fill(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            name, fmt = m.group(1), m.group(2)
            if name in words:
                return words[name]
            if name not in values:
                return m.group(0)
            return FORMATS[fmt](values[name]) if fmt else show(values[name])
        return _PLACEHOLDER.sub(one, text)
    return Finding(rule_id, r.severity, r.family, sheet, cell, found, expected, fill(r.message), fill(r.fix),
                   r.title, r.stops)


def as_markdown() -> str:
    """The catalogue as the page committed at docs/rules.md."""
    by_family: dict[Family, list[Rule]] = {f: [] for f in FAMILIES}
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
                      f"*{r.severity}*{' · stops the check' if r.stops else ''}{_scope(r)}", "",
                      f"- **Message:** {r.message}", f"- **Fix:** {r.fix}", f"- **Why:** {r.rationale}", ""]
    return "\n".join(lines)


def _scope(r: Rule) -> str:
    parts = [f"{', '.join(r.returns)} returns" if r.returns else "",
             f"from {r.since}" if r.since else "", f"until {r.until}" if r.until else ""]
    text = " ".join(p for p in parts if p)
    return f" · {text}" if text else ""
