"""The assurers' console: the round at a glance, one plan's page, and the decision log, behind a sign-in.

Assurers are not command-line users. The console reads the national store (read-only, per request) and
writes only decisions, through ``bcf.national.resubmissions.decide``; while a batch holds the store a decision is
queued in a file beside the store and recorded as soon as the store is free, and the assurer is told so.
Sessions are signed cookies (HttpOnly, SameSite=Strict); every form carries a per-session token; sign-in
attempts are limited; a regional account sees its own region only.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bcf.errors import BcfError, StoreBusy
from bcf.national.door import National, open_store
from bcf.store import records
from bcf.web.accounts import Account, Accounts, SignInLimit

log = logging.getLogger("bcf.web")
Page = Callable[..., HTMLResponse]
Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class ConsoleSettings:
    db: Path  # the national store
    users: Path  # the accounts file (bcf users add)
    secret: str = ""  # signs session cookies; a new one each start when empty (everyone signs in again)
    secure_cookies: bool = False  # set behind HTTPS


class DecisionQueue:
    """Decisions that arrived while a batch held the store, kept in a file beside it until they are recorded."""

    def __init__(self, db: Path):
        self.path = db.with_name(db.name + ".decisions-queue.jsonl")

    def add(self, item: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(item) + "\n")

    def drain(self, db: Path) -> int:
        """Record every queued decision the store now accepts; returns how many are still waiting."""
        from bcf.national.resubmissions import decide

        if not self.path.exists():
            return 0
        waiting = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            try:
                decide(db, wait_seconds=0, restress=True, **item)
            except StoreBusy:
                waiting.append(line)
            except BcfError as e:  # the finding has gone since (a resubmission): nothing to decide any more
                log.warning("a queued decision could not be recorded: %s", e)
        if waiting:
            self.path.write_text("\n".join(waiting) + "\n", encoding="utf-8")
        else:
            self.path.unlink()
        return len(waiting)


def console_app(settings: ConsoleSettings, page: Page) -> tuple[Starlette, Callable[[], Coroutine[Any, Any, None]]]:
    """The console as an app to mount at /console, and the task that records queued decisions (for the
    server's lifespan); ``page`` renders a web template with the site's context."""
    accounts, limit, queue = Accounts(settings.users), SignInLimit(), DecisionQueue(settings.db)

    def csrf(request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = secrets.token_urlsafe(32)
        return str(request.session["csrf"])

    def base(request: Request) -> str:
        """The console's own path (the mount's root path, under any proxy prefix)."""
        return str(request.scope.get("root_path", ""))

    def view(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        flash = request.session.pop("flash", None)
        site = base(request).removesuffix("/console")
        return page(request, f"console/{name}", status, csrf=csrf(request), console=base(request), user=user(request),
                    flash=flash, root=site, **{"error": None, **ctx})

    def the_plan(con: duckdb.DuckDBPyConnection, request: Request, round_: str | None) -> tuple[str, list[dict[str, Any]]]:
        """The round asked for (default: the latest in the store) and the plan of the page's path in it."""
        round_ = National(settings.db, con=con).scope(round_ or None).round
        return round_, records(con, OVERVIEW + " AND p.plan_code = ?", round_, request.path_params["code"])

    def refused(request: Request, who: Account, found: list[dict[str, Any]], code: str) -> HTMLResponse | None:
        """The page to show instead when the plan does not exist or is in another region."""
        if not found:
            return view(request, "message", 404, title="No such plan", lines=[f"There is no plan {code} in this round."])
        if not who.may_see(found[0]["region_name"]):
            return view(request, "message", 403, title="Not your region",
                        lines=["This plan is in another region. Your account sees your region's plans only."])
        return None

    def user(request: Request) -> Account | None:
        u = request.session.get("user")
        return Account(**u) if u else None

    def signed_in(handler: Callable[[Request, Account], Awaitable[Response]]) -> Handler:
        async def guarded(request: Request) -> Response:
            who = user(request)
            if who is None:
                return RedirectResponse(f"{base(request)}/login", 303)
            if request.method == "POST" and not _same(await _form_token(request), csrf(request)):
                return view(request, "message", 403, title="This form has expired",
                            lines=["Go back, reload the page and try again."])
            try:
                return await handler(request, who)
            except duckdb.IOException:
                return view(request, "message", 503, title="The store is busy",
                            lines=["A batch is loading files into the national store. Try again in a minute."])
            except BcfError as e:
                return view(request, "message", 400, title="That could not be done", lines=[str(e)])
        return guarded

    async def login_page(request: Request) -> Response:
        return view(request, "login")

    async def login(request: Request) -> Response:
        form = await request.form()
        name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
        address = request.client.host if request.client else "unknown"
        keys = (f"name:{name.casefold()}", f"address:{address}")
        if not _same(str(form.get("csrf", "")), csrf(request)):
            return view(request, "login", 403, error="This form has expired. Try again.")
        if limit.blocked(*keys):
            return view(request, "login", 429, error="Too many attempts to sign in. Wait five minutes, then try again.")
        account = await run_in_threadpool(accounts.verify, name, password)
        if account is None:
            limit.failed(*keys)
            return view(request, "login", 401, error="The name or password is not right.")
        request.session.clear()
        request.session.update(user={"name": account.name, "role": account.role, "region": account.region},
                               csrf=secrets.token_urlsafe(32))
        return RedirectResponse(f"{base(request)}/", 303)

    async def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse(f"{base(request)}/login", 303)

    @signed_in
    async def overview(request: Request, who: Account) -> Response:
        region, category = request.query_params.get("region", ""), request.query_params.get("category", "")
        with open_store(settings.db) as nat:
            con = nat.con
            round_ = nat.scope(request.query_params.get("round") or None).round
            plans = records(con, OVERVIEW, round_)
        visible = [p for p in plans if who.may_see(p["region_name"])]
        shown = [p for p in visible if (not region or p["region_name"] == region)
                 and (not category or p["category"] == category)]
        return view(request, "round", round=round_, plans=shown, total=len(visible),
                    regions=sorted({p["region_name"] for p in visible}),
                    categories=sorted({p["category"] for p in visible if p["category"]}), region=region, category=category)

    @signed_in
    async def plan_page(request: Request, who: Account) -> Response:
        from bcf.national.resubmissions import compare_all

        code = request.path_params["code"]
        with open_store(settings.db) as nat:
            con = nat.con
            round_, found = the_plan(con, request, request.query_params.get("round"))
            if no := refused(request, who, found, code):
                return no
            sid = found[0]["submission_id"]
            findings = records(con, FINDINGS, sid)
            stress = records(con, "SELECT * FROM stress_test WHERE submission_id = ?", sid)
            quarters = records(con, "SELECT * FROM plan_vs_actual WHERE round = ? AND plan_code = ? ORDER BY quarter_no",
                                round_, code) if _has(con, "plan_vs_actual") else []
            pair = next(iter(compare_all(nat, round_, code)), None)
        return view(request, "plan", round=round_, plan=found[0], findings=findings, s=stress[0] if stress else None,
                    pair=pair, quarters=quarters)

    @signed_in
    async def letter(request: Request, who: Account) -> Response:
        from bcf import rounds
        from bcf.letters import letter_context
        from bcf.render import environment

        code = request.path_params["code"]
        with open_store(settings.db) as nat:
            con = nat.con
            round_, found = the_plan(con, request, request.query_params.get("round"))
            if no := refused(request, who, found, code):
                return no
            if found[0]["category"] is None:
                return view(request, "message", 409, title="No category yet",
                            lines=["Run the stress test (bcf stress) on this round first; the letter follows from it."])
            ctx = letter_context(nat, found[0]["submission_id"], rounds.get(round_).params(), round_)
        return HTMLResponse(environment().get_template("letter.html.j2").render(**ctx))

    @signed_in
    async def decide(request: Request, who: Account) -> Response:
        from bcf.national.resubmissions import decide as record

        code, form = request.path_params["code"], await request.form()
        with open_store(settings.db) as nat:
            con = nat.con
            round_, found = the_plan(con, request, str(form.get("round", "")))
        if no := refused(request, who, found, code):
            return no
        reason = str(form.get("reason", "")).strip()
        if not reason:
            request.session["flash"] = "Give a reason for the decision: it goes into the decision log and the letter."
            return RedirectResponse(f"{base(request)}/plan/{code}", 303)
        item = {"round_": round_, "rule_id": str(form.get("rule_id", "")), "decision": str(form.get("decision", "")),
                "reason": reason, "who": who.name, "plan_code": code, "place": str(form.get("location", ""))}
        try:
            await run_in_threadpool(lambda: record(settings.db, wait_seconds=3, restress=True, **item))
            request.session["flash"] = f"Recorded: {item['rule_id']} {item['decision']}. The category and letter now follow it."
        except StoreBusy:
            queue.add(item)
            request.session["flash"] = ("A batch is loading files into the store, so your decision is queued. It will be "
                                        "recorded, and the category updated, as soon as the batch finishes.")
        return RedirectResponse(f"{base(request)}/plan/{code}", 303)

    @signed_in
    async def decisions(request: Request, who: Account) -> Response:
        with open_store(settings.db) as nat:
            con = nat.con
            rows = records(con, "SELECT d.*, p.region_name, p.plan_name FROM decisions d JOIN plans p USING (round, plan_code) "
                                 "ORDER BY d.decision_id DESC")
        return view(request, "decisions", decisions=[d for d in rows if who.may_see(d["region_name"])])

    async def retry_queue() -> None:
        while True:
            await asyncio.sleep(5)
            try:
                await run_in_threadpool(queue.drain, settings.db)
            except Exception:  # the queue stays on disk; the next round tries again
                log.exception("queued decisions could not be recorded yet")

    routes = [Route("/login", login_page), Route("/login", login, methods=["POST"]), Route("/logout", logout, methods=["POST"]),
              Route("/", overview), Route("/plan/{code}", plan_page), Route("/plan/{code}/letter", letter),
              Route("/plan/{code}/decide", decide, methods=["POST"]), Route("/decisions", decisions)]
    session = Middleware(SessionMiddleware, secret_key=settings.secret or secrets.token_urlsafe(32),
                         session_cookie="bcf_console", same_site="strict", https_only=settings.secure_cookies,
                         max_age=8 * 3600, path="/")
    return Starlette(routes=routes, middleware=[session]), retry_queue


OVERVIEW = ("SELECT p.plan_code, p.plan_name, p.region_name, c.submission_id, c.status, c.blocking, c.advisory, "
            "c.file_name, c.received_at, a.category, "
            "(SELECT count(*) FROM submissions s WHERE s.round = p.round AND s.plan_code = p.plan_code "
            " AND s.return_kind = 'plan') - 1 AS resubmissions, "
            "(SELECT count(*) FROM explained_findings e WHERE e.submission_id = c.submission_id "
            " AND e.state IN ('awaiting a decision', 'reopened')) AS awaiting "
            "FROM plans p JOIN current_submissions c USING (round, plan_code) "
            "LEFT JOIN assurance a ON a.submission_id = c.submission_id WHERE p.round = ?")
FINDINGS = ("SELECT f.*, e.state, e.decision_reason, e.decided_by FROM findings f LEFT JOIN explained_findings e "
            "ON e.submission_id = f.submission_id AND e.rule_id = f.rule_id "
            "AND e.location = coalesce(f.location, f.sheet || '!' || f.cell) WHERE f.submission_id = ? ORDER BY f.sheet, f.cell")


def _has(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    return bool(con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [view]).fetchall())


def _same(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


async def _form_token(request: Request) -> str:
    return str((await request.form()).get("csrf", ""))
