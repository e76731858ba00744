"""The sample round: one filled workbook per plan (or per plan and quarter), some with planted defects,
and a manifest of them.

Plans are optimistic the way the first real plans were: claims rest mostly on weak evidence. About 40% of the
plan files carry defects; ``manifest.json`` lists each one by kind, the rule that must find it, and its
sheet and cell, and the assurance category the plan should get. Quarterly returns are made from the same
plans, so they agree with them. The same seed always gives the same figures.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bcf import rounds, sandbox
from bcf.areas import Area
from bcf.generate import write_workbook
from bcf.samples.build import Plan, build_plan
from bcf.samples.defects import DEFECTS, NEEDS
from bcf.samples.quarterly import plant, quarters

__all__ = ["Plan", "build_plan", "plans", "generate", "expected_category", "file_name", "DEFECTS"]
DEFECT_SHARE = 0.4
TIMES_EACH = 3
SEED = 151
SYNTHETIC = {  # what every manifest says of its files
    "plan": "Synthetic plans: figures scaled by the areas' real populations (ONS mid-2018, standing in for the "
            "round's year) and synthetic allocations, savings optimistic and weakly evidenced as the first real "
            "plans were (see sample_submissions/profile.yaml).",
    "quarterly": "Synthetic quarterly returns made from the synthetic plans: actual emergency admissions drift above "
                 "plan, calibrated to the NAO's outturn (a rise of about 1.6% on a baseline of about 5.3 million, "
                 "where plans cut about 2-3%); see sample_submissions/profile.yaml.",
}


def _always(sample: Plan) -> bool:
    return True


def _applicable(ret: rounds.Return, sample: Plan) -> list[str]:
    """The defect kinds that can be planted in this return: their rule is in force, their needs are met."""
    from bcf.findings import rules

    order = list(rounds.all_rounds())
    return [k for k, (rule, _, _) in DEFECTS.items()
            if rules()[rule].applies(ret.round_id, ret.kind, order) and NEEDS.get(k, _always)(sample)]


def _assign(kinds: list[str], n_files: int, rng: random.Random) -> dict[int, list[str]]:
    """Spread each defect kind over TIMES_EACH files; no file gets two defects on one sheet."""
    pool = [k for k in kinds for _ in range(TIMES_EACH)]
    rng.shuffle(pool)
    pool.sort(key=lambda k: DEFECTS[k][1] != "*")  # whole-file defects first: they need a file of their own
    files = rng.sample(range(n_files), round(n_files * DEFECT_SHARE))
    out: dict[int, list[str]] = {i: [] for i in files}
    for kind in pool:
        sheets = set(DEFECTS[kind][1].split("|"))
        for i in sorted(files, key=lambda i: (len(out[i]), rng.random())):
            taken = {s for k in out[i] for s in DEFECTS[k][1].split("|")}
            if "*" not in taken and not sheets & taken and not ("*" in sheets and out[i]):
                out[i].append(kind)
                break
    return out


def plans(ret: rounds.Return, seed: int = SEED) -> Iterator[Plan]:
    """Every plan of a round's plan return, defects planted, in the order of the HWB list."""
    rng = random.Random(seed)
    all_areas = ret.round.areas.plans()
    kinds = _applicable(ret, build_plan(all_areas[0], random.Random(seed), ret))
    assigned = _assign(kinds, len(all_areas), rng)
    for i, area in enumerate(all_areas):
        r = random.Random(f"{seed}:{area.plan_code}")
        p = build_plan(area, r, ret)
        for kind in assigned.get(i, []):
            DEFECTS[kind][2](p, r)
        yield p


def expected_category(p: Plan) -> str:
    """The assurance category this plan should get (reference section 6), worked out from what was planted
    and the figures written; the test oracle for the checks, the stress test and the category together."""
    from bcf.findings import rules

    prm = {k: v.value for k, v in p.ret.round.params().items()}
    severities = [str(rules()[d["rule"]].severity) for d in p.defects]
    blocking, advisory = severities.count("blocking"), severities.count("advisory")
    benefits = [b for b in p.filled.tables["benefits"] if b]
    f = p.filled.fields
    reduction = sum(f[f"baseline_q{i}"] - f[f"plan_q{i}"] for i in range(1, 5))
    avoided = -sum(b["planned_change"] for b in benefits if b["benefit_type"] == "Fewer NEL admissions")
    weight = {"High": prm["weight_high"], "Medium": prm["weight_medium"], "Low": prm["weight_low"]}
    credible = 0.0
    for b in benefits:
        w = weight[b["confidence"]] if b["evidence"] else 0.0
        if b["benefit_type"] == "Fewer NEL admissions":
            credible += max(min(avoided, reduction), 0) * prm["unit_cost"] / 1000 * (-b["planned_change"] / avoided) * w
        else:
            credible += b["planned_saving"] * w
    claimed = sum(b["planned_saving"] for b in benefits)
    optimism = claimed / credible if credible > 0 else float("inf")
    if {"BCF-POL-005", "BCF-POL-001"} & {d["rule"] for d in p.defects} or blocking >= prm["not_approved_blocking"]:
        return "Not approved"
    if blocking or optimism > prm["conditions_optimism"]:
        return "Approved subject to conditions"
    if optimism > prm["support_optimism"] or advisory > prm["support_advisory"]:
        return "Approved with support"
    return "Approved"


def file_name(area: Area, period: str | None = None) -> str:
    stem = f"{area.plan_code}_{area.plan_name.replace(',', '').replace(' ', '_')}"
    return f"{stem}_{period.replace(' ', '_').replace('/', '-')}.xlsx" if period else f"{stem}.xlsx"


def resubmissions(ret: rounds.Return, seed: int = SEED) -> Iterator[Plan]:
    """Each plan first sent with planted defects, sent again: blocking defects fixed, advisory ones kept and
    explained on the Explanations sheet, and in some plans the evidence behind Low-rated benefits improved."""
    from bcf.findings import Severity, rules
    from bcf.samples.build import profile

    again = profile()["resubmission"]
    for first in plans(ret, seed):
        if not first.defects or not ret.spec().has("explanations"):
            continue
        r = random.Random(f"{seed}:{first.area.plan_code}:again")
        p = build_plan(first.area, random.Random(f"{seed}:{first.area.plan_code}"), ret)
        for d in first.defects:
            if rules()[DEFECTS[d["kind"]][0]].severity == Severity.ADVISORY and d["cell"]:
                DEFECTS[d["kind"]][2](p, r)
        p.filled.tables["explanations"] = [
            {"rule_id": d["rule"], "location": f"{d['sheet']} {d['cell']}",
             "reason": again["explanations"].get(d["rule"], again["explanations"]["other"])} for d in p.defects]
        if r.random() < again["better_evidence_share"]:
            for b in p.filled.tables["benefits"]:
                if b and b["confidence"] == "Low":
                    b.update(confidence="Medium", evidence=again["better_evidence_text"])
        yield p


def _write(args: tuple[Plan, Path]) -> None:
    p, path = args
    write_workbook(p.spec, path, p.filled, p.layout, cached_values=p.cached_values)


def generate(out: Path, round_id: str | None = None, kind: str = "plan", seed: int = SEED,
             workers: int | None = None, resubmit: bool = False) -> dict[str, Any]:
    """Write a round's sample returns of one kind and their manifest into ``out``; returns the manifest.

    Quarterly returns are made from the same plans (same seed), four to a plan; ``resubmit`` writes the second
    submission of every plan first sent with defects, dated when it is written so that it becomes current.
    """
    rnd = rounds.get(round_id) if round_id else rounds.latest()
    ret = rnd.ret(kind)
    out.mkdir(parents=True, exist_ok=True)
    the_plans = list(plans(rnd.ret("plan"), seed))
    if resubmit:
        jobs = [(p, out / file_name(p.area).replace(".xlsx", "_resubmitted.xlsx")) for p in resubmissions(ret, seed)]
    elif kind == "plan":
        jobs = [(p, out / file_name(p.area)) for p in the_plans]
    else:
        returns = [q for p in the_plans for q in quarters(p, ret, random.Random(f"{seed}:{p.area.plan_code}:{kind}"))]
        plant(returns, random.Random(f"{seed}:{kind}"), TIMES_EACH)
        jobs = [(q, out / file_name(q.area, q.filled.fields.get(ret.spec().period_field or ""))) for q in returns]
    with ProcessPoolExecutor(workers, initializer=sandbox.leave_interrupt_to_parent) as pool:
        try:
            list(pool.map(_write, jobs, chunksize=8))
        except BaseException:  # stopped (Ctrl-C) or failed: the workers go now, not after every file
            sandbox.kill(pool)
            raise
    if resubmit:  # sent after the first submissions (and never later than now), so each becomes its plan's current one
        now = time.time()
        for _, path in jobs:
            os.utime(path, (now, now))
    spec = ret.spec()
    manifest = {
        "seed": seed, "round": rnd.id, "return": kind, "template": f"{spec.template_id} v{spec.version}",
        "synthetic": SYNTHETIC[kind],
        "files": [{"file": path.name, "plan_code": p.area.plan_code, "hwb": p.area.hwb_name, "defects": p.defects,
                   **({"expected_category": expected_category(p)} if kind == "plan" else {})} for p, path in jobs],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest
