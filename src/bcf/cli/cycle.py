"""The resubmission cycle's commands: what changed, the assurers' decisions, and the console's accounts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bcf.cli.base import (
    any_plan_code,
    db_option,
    df_table,
    echo_json,
    format_option,
    main,
    plan_code_of,
    round_option,
    state_option,
)

if TYPE_CHECKING:
    from collections.abc import Callable



@main.command("changes")
@db_option
@round_option
@click.option("--hwb", "plan", metavar="CODE|NAME", help="Show one plan's changes in full.")
@format_option("json")
def changes_cmd(db: Path, round_: str | None, plan: str | None, fmt: str) -> None:
    """What changed between each plan's last two submissions, which findings were resolved, and the national
    bridge of claimed savings (by reason: unit cost, admissions claimed, benefits added or removed, evidence)."""
    from bcf import diff
    from bcf.national import resubmissions
    from bcf.national.door import open_store

    with open_store(db) as nat:
        round_ = nat.scope(round_).round
        pairs = resubmissions.compare_all(nat, round_, plan_code_of(round_, plan) if plan else None)
    if fmt == "json":
        echo_json({"schema": "bcf-changes/1", "round": round_, "plans": [{**resubmissions.summary(p), "plan_code": p.plan_code,
                                                "bridge": p.bridge, "changes": diff.as_dict(p.changes)} for p in pairs],
                    "bridge": resubmissions.national_bridge(pairs)})
        return
    if plan:
        if not pairs:
            click.echo(f"{plan} has only one submission in round {round_}: nothing to compare.")
        for pair in pairs:
            click.echo(resubmissions.as_text(pair))
        return
    if not pairs:
        click.echo(f"No plan in round {round_} has been resubmitted yet.")
        return
    import pandas as pd

    df_table(f"Resubmitted plans — round {round_}", pd.DataFrame([resubmissions.summary(p) for p in pairs]))
    df_table("How the claimed savings moved (£000)", resubmissions.national_bridge(pairs))




@main.command("decide")
@db_option
@round_option
@click.option("--rule", "rule_id", required=True, metavar="RULE", help="The rule of the explained finding, e.g. BCF-POL-010.")
@click.option("--hwb", "plan", metavar="CODE|NAME", help="The plan (default: every plan that explained a finding of the rule).")
@click.option("--at", "place", metavar="PLACE",
              help="Where the finding is: as `bcf decisions` shows it, or its sheet and cell, e.g. 'Risks C40' (default: all).")
@click.option("--accept/--reject", "accept", required=True, help="Accept or reject the area's explanation.")
@click.option("--reason", required=True, help="Why: it appears in the decision log and, when accepted, in the letter.")
@click.option("--by", "who", required=True, help="Who decides (your name).")
@click.option("--replaces", type=int, metavar="DECISION",
              help="The decision (its number in `bcf decisions`) this one replaces. Without it, a finding that "
                   "already has a decision is refused, as is one decided by someone else since you looked.")
@state_option
def decide_cmd(db: Path, round_: str | None, rule_id: str, plan: str | None, place: str | None, accept: bool, reason: str,
               who: str, replaces: int | None, state: Path | None) -> None:
    """Accept or reject an area's explanation of an advisory finding. Decisions are only ever added: the log
    keeps every one, with who, when and why. Nothing is recorded when the finding has been decided since you
    looked (--replaces names the decision you saw) or the plan resubmitted."""
    from bcf.national import resubmissions
    from bcf.national.door import open_store

    with open_store(db, state=state) as national:
        round_ = national.scope(round_).round
    verdict = "accepted" if accept else "rejected"
    ids = resubmissions.decide(db, round_, rule_id.upper(), verdict, reason, who,
                               plan_code_of(round_, plan) if plan else None,
                               place, state=state, replaces=replaces)
    click.echo(f"Recorded {len(ids)} decision(s) ({', '.join(map(str, ids))}): {rule_id.upper()} {verdict}. "
               "Run `bcf stress` to see the effect on the categories.")


@main.command("decisions")
@db_option
@click.option("--round", "round_", metavar="ROUND", help="Only this round (default: every round).")
@click.option("--hwb", "plan", metavar="CODE|NAME", help="Only this plan.")
@format_option("json")
@click.option("--verify", is_flag=True, help="Check the decision log's hash chain and name its first broken link "
                                             "(exit 1 when broken).")
@state_option
def decisions_cmd(db: Path, round_: str | None, plan: str | None, fmt: str, verify: bool, state: Path | None) -> None:
    """The explained findings and their state, and the decision log (every decision ever made)."""
    import pandas as pd

    from bcf import rounds
    from bcf.diff import in_words
    from bcf.errors import BcfError
    from bcf.national import decisions
    from bcf.national.door import open_store
    from bcf.national.state import open_state, state_path

    path = state_path(db, state)
    if verify:
        if path is None or not path.exists():
            raise BcfError(f"There is no state file at {path}: no decision has been recorded for this store.")
        with open_state(path) as st:
            verdict = decisions.verify(st)
        click.echo(verdict.message)
        sys.exit(1 if verdict.broken else 0)
    with open_store(db, state=state) as national:
        round_ = national.scope(round_).round if round_ else None
        code = plan_code_of(round_, plan) if plan and round_ else (plan and any_plan_code(plan))
        waiting = decisions.awaiting(national, round_, code)
    assert path is not None
    with open_state(path) as st:
        log = decisions.log(st, round_, code)
    for row in [*waiting, *log]:  # each place in words, as the plan's own template names it
        row["where"] = in_words(rounds.get(row["round"]).ret("plan").spec(), row["location"])
    if fmt == "json":
        echo_json({"schema": "bcf-decisions/1", "round": round_, "awaiting": waiting, "log": log})
        return
    df_table(f"Explained findings — {'round ' + round_ if round_ else 'every round'}", pd.DataFrame(
        waiting, columns=["round", "plan_code", "rule_id", "where", "explanation", "state"]))
    df_table("Decision log", pd.DataFrame(log, columns=["decision_id", "round", "when", "who", "plan_code", "rule_id",
                                                         "where", "decision", "reason"]))




@main.group()
def users() -> None:
    """Accounts of the assurers' console (bcf serve --db ... --users FILE)."""


def _users_file(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--users", "path", type=click.Path(dir_okay=False, path_type=Path), required=True,
                        help="The accounts file.")(f)


@users.command("add")
@_users_file
@click.argument("name")
@click.option("--role", type=click.Choice(["national", "regional"]), required=True,
              help="national: every plan; regional: one region's plans.")
@click.option("--region", help="The region of a regional account, as in the HWB list (e.g. 'North East').")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of asking.")
def users_add(path: Path, name: str, role: str, region: str | None, password_stdin: bool) -> None:
    """Add an account (or set a new password). The password is kept only as an argon2 hash."""
    from bcf import rounds
    from bcf.errors import BcfError
    from bcf.web.accounts import Accounts

    known = {a.region_name for r in rounds.all_rounds().values() for a in r.areas.all}
    if region and region not in known:
        raise BcfError(f"{region!r} is not a region. Regions: {', '.join(sorted(known))}.")
    password = (sys.stdin.readline().rstrip("\n") if password_stdin
                else click.prompt("Password", hide_input=True, confirmation_prompt=True))
    account = Accounts(path).add(name, password, role, region)
    click.echo(f"{account.name} can now sign in to the console ({account.role}{', ' + region if region else ''}).")


@users.command("remove")
@_users_file
@click.argument("name")
def users_remove(path: Path, name: str) -> None:
    """Remove an account: it can no longer sign in (its past decisions stay in the log)."""
    from bcf.web.accounts import Accounts

    Accounts(path).remove(name)
    click.echo(f"Removed {name}.")


@users.command("list")
@_users_file
def users_list(path: Path) -> None:
    """The accounts, their roles and regions (never their passwords)."""
    from bcf.web.accounts import Accounts

    for a in Accounts(path).names():
        click.echo(f"{a.name}\t{a.role}\t{a.region or ''}")


