"""A feedback letter per plan: its assurance category, each reason for it as a numbered action, and its savings
stress-tested.

Letters are written from the national store after ``stress.run``, one round at a time into a folder of
that round's own (``<out>/<round>/``), so one round's letters never overwrite another's: HTML through
autoescaped Jinja2 (so nothing a submitter typed can become markup) and, when asked, PDF through WeasyPrint.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import duckdb

from bcf import rounds
from bcf.actions import assess, where
from bcf.params import Parameter
from bcf.render import environment, write_pdf
from bcf.store import records

CLASSES = {"Approved": "c-approved", "Approved with support": "c-support",
           "Approved subject to conditions": "c-conditions", "Not approved": "c-not"}


def letter_context(con: duckdb.DuckDBPyConnection, submission_id: int, params: dict[str, Parameter],
                   round_: str) -> dict[str, Any]:
    """Everything one letter says, from the store."""
    (plan,) = records(con, "SELECT c.*, p.plan_name, cv.hwb_name FROM current_submissions c "
                            "JOIN plans p USING (round, plan_code) LEFT JOIN cover cv USING (submission_id) "
                            "WHERE submission_id = ?", submission_id)
    assessment = assess(con, submission_id, params)
    findings = records(con, "SELECT * FROM findings WHERE submission_id = ?", submission_id)
    stress = records(con, "SELECT * FROM stress_test WHERE submission_id = ?", submission_id)
    scenarios = records(con, "SELECT * FROM stress_scenarios WHERE submission_id = ? ORDER BY scenario = 'trend', "
                              "achieved DESC", submission_id)
    from bcf.resubmissions import compare_all

    explained = records(con, "SELECT rule_id, explanation, state, decision_reason FROM explained_findings "
                              "WHERE submission_id = ? ORDER BY rule_id", submission_id)
    resubmission = next(iter(compare_all(con, round_, plan["plan_code"])), None)
    return {
        "resubmission": resubmission, "explained": explained,
        "plan": plan, "round": rounds.get(round_), "today": dt.date.today().strftime("%d %B %Y"),
        "category": assessment.category, "category_class": CLASSES[assessment.category],
        "reasons": assessment.reasons, "actions": assessment.actions,
        "advisory": [{**f, "where": where(f)} for f in findings if f["severity"] == "advisory"],
        "s": stress[0] if stress and stress[0]["b"] is not None else None, "scenarios": scenarios,
        "trend": next((s for s in scenarios if s["scenario"] == "trend"), None),
        "p": {k: v.value for k, v in params.items()}, "params": list(params.values()),
    }


def write_letters(con: duckdb.DuckDBPyConnection, out: Path, params: dict[str, Parameter], round_: str,
                  plan_code: str | None = None, pdf: bool = True) -> list[Path]:
    """One letter per current plan of the round (or just one plan's), as HTML and PDF, in ``out/<round>/``;
    returns the files written."""
    out = out / round_
    out.mkdir(parents=True, exist_ok=True)
    template = environment().get_template("letter.html.j2")
    query = ("SELECT submission_id, plan_code FROM assurance WHERE round = ? AND (? IS NULL OR plan_code = ?) "
             "ORDER BY plan_code")
    written, pages = [], []
    for sid, code in con.execute(query, [round_, plan_code, plan_code]).fetchall():
        html = template.render(**letter_context(con, sid, params, round_))
        path = out / f"letter-{code}.html"
        path.write_text(html, encoding="utf-8")
        written.append(path)
        pages.append((html, path.with_suffix(".pdf")))
    if pdf:  # printing is the slow part (about half a second a letter): spread it over the cores
        with ProcessPoolExecutor(min(len(pages), os.cpu_count() or 1),
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(write_pdf, *zip(*pages, strict=True), chunksize=8))
        written += [p for _, p in pages]
    if plan_code is None:
        rows = records(con, "SELECT a.plan_code, s.plan_name, s.region_name, a.category, c.blocking, c.advisory "
                             "FROM assurance a JOIN stress_test s USING (submission_id) "
                             "JOIN current_submissions c USING (submission_id) WHERE a.round = ? ORDER BY s.plan_name",
                        round_)
        index = environment().get_template("letters_index.html.j2").render(
            rows=rows, round=rounds.get(round_), pdf=pdf, today=dt.date.today().strftime("%d %B %Y"))
        (out / "index.html").write_text(index, encoding="utf-8")
    return written
