"""A feedback letter per plan: its assurance category, each reason for it as a numbered action, and its savings
stress-tested.

Letters are written from the national store after ``stress.run``, one round at a time into a folder of
that round's own (``<out>/<round>/``), so one round's letters never overwrite another's: HTML through
autoescaped Jinja2 (so nothing a submitter typed can become markup) and, when asked, PDF through WeasyPrint.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import duckdb

from bcf import actions, rounds
from bcf.actions import where
from bcf.params import Parameter
from bcf.render import environment, printing
from bcf.store import ANY_OF, by_submission, records

CLASSES = {"Approved": "c-approved", "Approved with support": "c-support",
           "Approved subject to conditions": "c-conditions", "Not approved": "c-not"}


def letter_context(con: duckdb.DuckDBPyConnection, submission_id: int, params: dict[str, Parameter],
                   round_: str) -> dict[str, Any]:
    """Everything one letter says, from the store."""
    return letter_contexts(con, [submission_id], params, round_)[submission_id]


def letter_contexts(con: duckdb.DuckDBPyConnection, submission_ids: list[int], params: dict[str, Parameter],
                    round_: str) -> dict[int, dict[str, Any]]:
    """Everything each letter says, by submission id, from the store in a query per table."""
    from bcf.national.peers import round_peers
    from bcf.resubmissions import compare_all

    plans = records(con, "SELECT c.*, p.plan_name, cv.hwb_name FROM current_submissions c "
                         "JOIN plans p USING (round, plan_code) LEFT JOIN cover cv USING (submission_id) "
                         f"WHERE submission_id {ANY_OF}", submission_ids)
    stored = actions.stored(con, submission_ids, params)
    scenarios = by_submission(records(con, f"SELECT * FROM stress_scenarios WHERE submission_id {ANY_OF} "
                                           "ORDER BY submission_id, scenario = 'trend', achieved DESC", submission_ids))
    explained = by_submission(records(con, "SELECT submission_id, rule_id, explanation, state, decision_reason "
                                           f"FROM explained_findings WHERE submission_id {ANY_OF} "
                                           "ORDER BY submission_id, rule_id", submission_ids))
    codes = {plan["plan_code"] for plan in plans}
    only = next(iter(codes)) if len(codes) == 1 else None  # one plan's letter compares that plan's files alone
    resubmitted = {pair.plan_code: pair for pair in compare_all(con, round_, only)}
    peers = round_peers(con, round_)  # reports/_peers.html.j2: the plan among its peers
    shared = {"round": rounds.get(round_), "today": dt.date.today().strftime("%d %B %Y"),
              "p": {k: v.value for k, v in params.items()}, "params": list(params.values())}
    out = {}
    for plan in plans:
        sid = plan["submission_id"]
        assessment = actions.judge(stored[sid], params)
        mine = scenarios.get(sid, [])
        s = stored[sid].stress
        out[sid] = {
            "resubmission": resubmitted.get(plan["plan_code"]), "peers": peers.get(plan["plan_code"]),
            "explained": explained.get(sid, []), "plan": plan, **shared,
            "category": assessment.category, "category_class": CLASSES[assessment.category],
            "reasons": assessment.reasons, "actions": assessment.actions,
            "advisory": [{**f, "where": where(f)} for f in stored[sid].findings if f["severity"] == "advisory"],
            "s": s if s["b"] is not None else None, "scenarios": mine,
            "trend": next((x for x in mine if x["scenario"] == "trend"), None),
        }
    return out


def write_letters(con: duckdb.DuckDBPyConnection, out: Path, params: dict[str, Parameter], round_: str,
                  plan_code: str | None = None, pdf: bool = True) -> list[Path]:
    """One letter per current plan of the round (or just one plan's), as HTML and PDF, in ``out/<round>/``;
    returns the files written."""
    out = out / round_
    out.mkdir(parents=True, exist_ok=True)
    template = environment().get_template("letter.html.j2")
    query = ("SELECT submission_id, plan_code FROM assurance WHERE round = ? AND (? IS NULL OR plan_code = ?) "
             "ORDER BY plan_code")
    chosen = con.execute(query, [round_, plan_code, plan_code]).fetchall()
    written, printed = [], []
    # printing is the slow part: it is spread over the cores, each letter printed as soon as it is written
    with printing(min(len(chosen), os.cpu_count() or 1)) if pdf and chosen else nullcontext() as print_pdf:
        contexts = letter_contexts(con, [sid for sid, _ in chosen], params, round_)
        for sid, code in chosen:
            html = template.render(**contexts[sid])
            path = out / f"letter-{code}.html"
            path.write_text(html, encoding="utf-8")
            written.append(path)
            if print_pdf:
                print_pdf(html, path.with_suffix(".pdf"))
                printed.append(path.with_suffix(".pdf"))
    written += printed
    if plan_code is None:
        rows = records(con, "SELECT a.plan_code, s.plan_name, s.region_name, a.category, c.blocking, c.advisory "
                             "FROM assurance a JOIN stress_test s USING (submission_id) "
                             "JOIN current_submissions c USING (submission_id) WHERE a.round = ? ORDER BY s.plan_name",
                        round_)
        index = environment().get_template("letters_index.html.j2").render(
            rows=rows, round=rounds.get(round_), pdf=pdf, today=dt.date.today().strftime("%d %B %Y"))
        (out / "index.html").write_text(index, encoding="utf-8")
    return written
