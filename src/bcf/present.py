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
from bcf.shown import escaped
from bcf.validate import Report

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


def verdict(report: Report) -> str:
    status = {"ready": "ready to submit", "not ready": "not ready to submit",
              "unreadable": "the file could not be checked"}[report.status]
    return f"{report.blocking} blocking, {report.advisory} advisory: {status}."


def as_text(report: Report) -> str:
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
    lines.append(verdict(report))
    return "\n".join(escaped(line) for line in lines)


def as_json(report: Report) -> str:
    doc: dict[str, Any] = {"schema": SCHEMA, **report.as_dict()}
    for f in doc["findings"]:
        f["rule_ref"] = f"{RULES_DOC}#{f['rule_id'].lower()}"
    return json.dumps(doc, indent=1, ensure_ascii=False)


def as_html(report: Report) -> str:
    from bcf.render import environment

    return environment().get_template("check.html.j2").render(
        report=report, sub=report.submission, groups=grouped(report.findings),
        checked=datetime.now().strftime("%d %B %Y %H:%M"))


FORMATS = {"text": as_text, "json": as_json, "html": as_html}
