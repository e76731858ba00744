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

from bcf import actions, rounds
from bcf.actions import where
from bcf.national import stress
from bcf.national.door import National
from bcf.params import Assumptions
from bcf.render import Nav, environment, printing
from bcf.store import by_submission
from bcf.words import CATEGORIES, Category


def letter_context(nat: National, submission_id: int, params: Assumptions, round_: str) -> dict[str, Any]:
    """Everything one letter says, from the store."""
    return letter_contexts(nat, [submission_id], params, round_)[submission_id]


def letter_contexts(nat: National, submission_ids: list[int], params: Assumptions, round_: str
                    ) -> dict[int, dict[str, Any]]:
    """Everything each letter says, by submission id, from the store in a query per table."""
    from bcf.national.peers import round_peers
    from bcf.national.resubmissions import compare_all

    plans = nat.rows("assurance.letter_plans", ids=submission_ids)
    stored = stress.stored(nat, submission_ids, params)
    scenarios = by_submission(nat.rows("assurance.scenarios_of", ids=submission_ids))
    explained = by_submission(nat.rows("assurance.explained_of", ids=submission_ids))
    codes = {plan["plan_code"] for plan in plans}
    only = next(iter(codes)) if len(codes) == 1 else None  # one plan's letter compares that plan's files alone
    resubmitted = {pair.plan_code: pair for pair in compare_all(nat, round_, only)}
    peers = round_peers(nat, round_)  # reports/_peers.html.j2: the plan among its peers
    shared = {"round": rounds.get(round_), "today": dt.date.today().strftime("%d %B %Y"),
              "p": params.v, "params": list(params.values()), "what_if": params.overridden()}
    out = {}
    for plan in plans:
        sid = plan["submission_id"]
        assessment = actions.judge(stored[sid], params)
        mine = scenarios.get(sid, [])
        s = stored[sid].stress
        out[sid] = {
            "resubmission": resubmitted.get(plan["plan_code"]), "peers": peers.get(plan["plan_code"]),
            "explained": explained.get(sid, []), "plan": plan, **shared,
            "category": assessment.category, "category_class": Category(assessment.category).css,
            "reasons": assessment.reasons, "actions": assessment.actions,
            "advisory": [{**f, "where": where(f)} for f in stored[sid].findings if f["severity"] == "advisory"],
            "s": s if s["b"] is not None else None, "scenarios": mine,
            "trend": next((x for x in mine if x["scenario"] == "trend"), None),
        }
    return out


def write_letters(nat: National, out: Path, params: Assumptions, round_: str,
                  plan_code: str | None = None, pdf: bool = True, nav: Nav = ()) -> list[Path]:
    """One letter per current plan of the round (or just one plan's), as HTML and PDF, in ``out/<round>/``;
    returns the files written."""
    out = out / round_
    out.mkdir(parents=True, exist_ok=True)
    template = environment().get_template("letter.html.j2")
    chosen = sorted(((r["submission_id"], r["plan_code"])
                     for r in nat.rows("assurance.plans", round=round_, plan_code=plan_code)), key=lambda x: x[1])
    written, printed = [], []
    # printing is the slow part: it is spread over the cores, each letter printed as soon as it is written
    with printing(min(len(chosen), os.cpu_count() or 1)) if pdf and chosen else nullcontext() as print_pdf:
        contexts = letter_contexts(nat, [sid for sid, _ in chosen], params, round_)
        for sid, code in chosen:
            html = template.render(**contexts[sid], nav=[("All the letters", "index.html"), *nav])
            path = out / f"letter-{code}.html"
            path.write_text(html, encoding="utf-8")
            written.append(path)
            if print_pdf:
                print_pdf(html, path.with_suffix(".pdf"))
                printed.append(path.with_suffix(".pdf"))
    written += printed
    if plan_code is None:
        rows = nat.rows("assurance.plans", round=round_, plan_code=None)
        index = environment().get_template("letters_index.html.j2").render(
            rows=rows, categories=CATEGORIES, round=rounds.get(round_), pdf=pdf, nav=nav,
            today=dt.date.today().strftime("%d %B %Y"), what_if=params.overridden())
        (out / "index.html").write_text(index, encoding="utf-8")
    return written
