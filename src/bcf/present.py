"""A check report as text for people, JSON for machines and one self-contained HTML page for sharing.

The JSON shape is documented in ``docs/check-json.md`` and versioned by ``SCHEMA``; HTML goes through
Jinja2 with autoescaping, so nothing a submitter typed can become markup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from bcf.findings import Finding, Rule, rules, show
from bcf.preview import Preview
from bcf.render import counts_as
from bcf.shown import escaped
from bcf.validate import Report
from bcf.words import money, pct

SCHEMA = "bcf-check/1"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula
RULES_DOC = "docs/rules.md"  # the catalogue, written by `bcf rules --format markdown`


def formula_safe(v: Any) -> Any:
    """Text that a spreadsheet would run as a formula, made plain text with a leading apostrophe."""
    return "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v


def grouped(findings: Sequence[Finding]) -> list[tuple[str, list[tuple[Rule, list[Finding]]]]]:
    """Findings by sheet (in report order), then by rule."""
    out = []
    for sheet, in_sheet in groupby(findings, key=lambda f: f.sheet):
        by_rule: dict[str, list[Finding]] = {}
        for f in in_sheet:
            by_rule.setdefault(f.rule_id, []).append(f)
        out.append((sheet, [(rules()[r], fs) for r, fs in by_rule.items()]))
    return out


def verdict(report: Report, pv: Preview | None = None) -> str:
    status = {"ready": "ready to submit", "not ready": "not ready to submit",
              "unreadable": "the file could not be checked"}[report.status]
    category = f" Assurance category today (provisional): {pv.assessment.category}." if pv else ""
    return f"{report.blocking} blocking, {report.advisory} advisory: {status}.{category}"



def ratio(optimism: float | None) -> str:
    return "no savings backed by evidence" if optimism is None else f"{optimism:.2f}"


def preview_lines(pv: Preview, status: str) -> list[str]:
    """The provisional category, the sentence that joins it to the verdict and the figures that decide it, as
    lines of text; findings already listed are counted, not repeated."""
    a, f = pv.assessment, pv.assessment.figures
    lines = [f"Assurance category (provisional): {a.category}", f"  {pv.joining(status)}",
             f"  Claimed savings {money(f.claimed)}; backed by evidence {money(f.credible)}. Evidence rated High counts "
             f"{counts_as(f.weight_high)}, Medium {counts_as(f.weight_medium)}, Low {counts_as(f.weight_low)}; a saving "
             "with no evidence written counts as nothing.",
             f"  Optimism ratio (claimed / backed by evidence): {ratio(f.optimism)}. Above {f.conditions_optimism:g} "
             f"means approval with conditions; above {f.support_optimism:g}, approval with support.",
             f"  Planned cut in emergency admissions: {pct(f.r_pct)}, against the {f.expected_pct:g}% expected."]
    if a.actions:
        lines.append("  What would change it:")
        i = 0
        if pv.listed():
            i += 1
            lines.append(f"  {i}. Fix the {_problems(pv.listed())} listed above.")
        for act in pv.others():
            i += 1
            lines += [f"  {i}. {act.what}", f"     Where: {act.where}", f"     Done when: {act.done_when}"]
    lines.append(f"  {pv.note}")
    return lines


def _problems(n: int) -> str:
    return "blocking problem" if n == 1 else f"{n} blocking problems"


def as_text(report: Report, pv: Preview | None = None) -> str:
    lines = [f"{report.file}" + (f" ({report.hwb})" if report.hwb else ""), ""]
    for sheet, by_rule in grouped(report.findings):
        lines.append(sheet or "The file")
        for rule, findings in by_rule:
            lines.append(f"  {rule.id}  {rule.severity}  {rule.title}")
            for f in findings:
                lines.append(f"    {f.cell or '-':<6} {f.message}")
                if f.found not in (None, "") or f.expected not in (None, ""):
                    lines.append(f"           Found: {show(f.found) or '(blank)'}   Expected: {show(f.expected) or '-'}")
                lines.append(f"           Fix: {f.fix}")
                if f.explanation:
                    lines.append(f"           Explained: {f.explanation} (the central team will accept or reject this)")
            lines.append(f"           (Rule: {RULES_DOC}#{rule.anchor})")
        lines.append("")
    if pv:
        lines += [*preview_lines(pv, report.status), ""]
    lines.append(verdict(report, pv))
    return "\n".join(escaped(line) for line in lines)


def as_json(report: Report, pv: Preview | None = None) -> str:
    doc: dict[str, Any] = {"schema": SCHEMA, **report.as_dict(), "assurance_preview": pv.as_dict() if pv else None}
    for f in doc["findings"]:
        f["rule_ref"] = f"{RULES_DOC}#{f['rule_id'].lower()}"
    return json.dumps(doc, indent=1, ensure_ascii=False)


def as_html(report: Report, pv: Preview | None = None) -> str:
    from bcf.render import environment

    return environment().get_template("check.html.j2").render(
        report=report, sub=report.submission, groups=grouped(report.findings), preview=pv,
        checked=datetime.now().strftime("%d %B %Y %H:%M"))


FORMATS = {"text": as_text, "json": as_json, "html": as_html}
