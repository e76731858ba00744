"""The assurers' console: a round's plans at a glance, one plan's page, its letter and the decision log, behind a
sign-in.

Assurers are not command-line users. Every page names its round and return in its address
(``/console/<round>/plan/<plan code>``), and every link, form and redirect keeps them, so a decision on an older
round's plan comes back to that plan. Pages read the national store read-only, per request, through
``bcf.national.console``; a decision is written to the state store alone (``bcf.national.decisions``), so it is
recorded at once even while a batch holds the national store. Sessions live in the state store
(``bcf.web.sessions``); every form carries the session's token, and a decision's form carries a signature of
the finding it was made on, so the server knows the page it came from without reading the store, and the
decision the page showed in force on it: a decision made meanwhile by someone else, or a resubmission of the
plan, refuses it (409), nothing recorded. Handlers are
small module-level views reading what they need from ``request.app.state.console``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bcf import rounds
from bcf.errors import BcfError, StoreBusy, StoreError
from bcf.national import console as service
from bcf.national import decisions
from bcf.national.state import state_path
from bcf.web.accounts import Accounts
from bcf.web.sessions import Session, Sessions, client_address, same
from bcf.words import CATEGORIES

Page = Callable[..., HTMLResponse]
View = Callable[[Request, Session], Awaitable[Response]]
COOKIE, LOGIN_COOKIE = "bcf_console", "bcf_login"
RETURN = "plan"  # the console's return: explanations and decisions are on plans
DECISION_FIELDS = ("submission_id", "rule_id", "location", "fingerprint", "sig", "seen", "decision", "reason")


@dataclass(frozen=True)
class ConsoleSettings:
    db: Path  # the national store
    users: Path  # the accounts file (bcf users add)
    secret: str = ""  # signs forms; by default one kept in the state store, shared by every server using it
    secure_cookies: bool = False  # set behind HTTPS
    state: Path | None = None  # the state store (default: beside the national store)
    trusted_proxies: frozenset[str] = field(default_factory=frozenset)  # whose X-Forwarded-For is believed


@dataclass(frozen=True)
class Console:
    """What the views need: the settings, the state file, accounts, sessions, and the site's page renderer."""

    settings: ConsoleSettings
    state: Path
    accounts: Accounts
    sessions: Sessions
    page: Page


def _c(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


def base(request: Request) -> str:
    """The console's own path (the mount's root path, under any proxy prefix)."""
    return str(request.scope.get("root_path", ""))


def view(request: Request, name: str, session: Session | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    """A console page, with the signed-in account, its form token, the round switcher and any message waiting."""
    site = base(request).removesuffix("/console")
    ctx = {"error": None, "round": None, "rounds": [], "kind": RETURN, "back": None, **ctx}
    return _c(request).page(request, f"console/{name}", status, console=base(request), root=site,
                            user=session.account if session else None, csrf=ctx.pop("csrf", session.csrf if session else ""),
                            flash=session.flash if session else None, **ctx)


def message(request: Request, session: Session | None, status: int, title: str, *lines: str) -> HTMLResponse:
    return view(request, "message", session, status, title=title, lines=lines)


def _redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(f"{base(request)}{path}", 303)  # relative to the mount: never the Host header


def signed_in(handler: View) -> Callable[[Request], Awaitable[Response]]:
    """Only for a live session; a form must carry its token; the store's troubles are said without its path."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        session = await run_in_threadpool(_c(request).sessions.find, request.cookies.get(COOKIE, ""))
        if session is None:
            return _redirect(request, "/login")
        if request.method == "POST" and not same(str((await request.form()).get("csrf", "")), session.csrf):
            return message(request, session, 403, "This form has expired", "Go back, reload the page and try again.")
        try:
            return await handler(request, session)
        except StoreBusy:
            return message(request, session, 503, "The store is busy", "A batch is loading files into the national "
                           "store. Pages come back when it finishes; decisions are recorded meanwhile.")
        except StoreError:
            return message(request, session, 503, "The national store cannot be read",
                           "Try again later. If it keeps happening, tell the Better Care Fund team.")
        except BcfError as e:
            return message(request, session, 400, "That could not be done", str(e))

    return guarded


def _login_token(request: Request, nonce: str) -> str:
    return _c(request).sessions.sign("login", nonce)


async def login_page(request: Request) -> Response:
    import secrets

    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = view(request, "login", None, csrf=_login_token(request, nonce))
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=_c(request).settings.secure_cookies,
                        path="/")
    return response


async def login(request: Request) -> Response:
    c, form = _c(request), await request.form()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    token = _login_token(request, nonce) if nonce else ""

    def again(status: int, error: str) -> HTMLResponse:
        return view(request, "login", None, status, csrf=token, error=error)

    if not same(str(form.get("csrf", "")), token):
        return again(403, "This form has expired. Try again.")
    keys = (f"name:{name.casefold()}", f"address:{client_address(request, c.settings.trusted_proxies)}")
    at = await run_in_threadpool(c.sessions.admit, *keys)
    if at is None:
        return again(429, "Too many attempts to sign in. Wait five minutes, then try again.")
    account = await run_in_threadpool(c.accounts.verify, name, password)
    if account is None:
        return again(401, "The name or password is not right.")
    await run_in_threadpool(c.sessions.refund, at, *keys)
    response = _redirect(request, "/")
    response.set_cookie(COOKIE, await run_in_threadpool(c.sessions.start, account), httponly=True, samesite="strict",
                        secure=c.settings.secure_cookies, path="/")
    return response


@signed_in
async def logout(request: Request, session: Session) -> Response:
    await run_in_threadpool(_c(request).sessions.end, session)
    response = _redirect(request, "/login")
    response.delete_cookie(COOKIE, path="/")
    return response


async def _rounds(request: Request) -> service.Rounds:
    c = _c(request)
    return await run_in_threadpool(service.held, c.settings.db, c.state)


@signed_in
async def home(request: Request, session: Session) -> Response:
    return _redirect(request, f"/{(await _rounds(request)).first}/{RETURN}/")


@signed_in
async def old_plan_address(request: Request, session: Session) -> Response:
    """An address without its round (a bookmark from before rounds were in every address): the latest round's."""
    return _redirect(request, f"/{(await _rounds(request)).held[-1]}/{RETURN}/{request.path_params['code']}")


RoundView = Callable[[Request, Session, str, list[str]], Awaitable[Response]]  # with the page's round, every round held


def in_round(handler: RoundView) -> View:
    """A page of the round its address names, given that round and every round held; the page that says so when
    the store holds no such round."""

    @functools.wraps(handler)
    async def scoped(request: Request, session: Session) -> Response:
        held, round_ = (await _rounds(request)).held, request.path_params["round"]
        if round_ not in held:
            return message(request, session, 404, "No such round", f"The store holds plans for {', '.join(held)}.")
        return await handler(request, session, round_, held)
    return scoped


@signed_in
@in_round
async def overview(request: Request, session: Session, round_: str, held: list[str]) -> Response:
    c = _c(request)
    q = request.query_params
    region, category, search = q.get("region", ""), q.get("category", ""), q.get("q", "").strip()
    visible = [p for p in await run_in_threadpool(service.plans, c.settings.db, round_, c.state)
               if session.account.may_see(p["region_name"])]
    waiting = [p for p in visible if p["awaiting"]]
    show = q.get("show") or ("waiting" if waiting else "all")
    sort = q.get("sort") or "priority"
    sort = sort if sort in SORTS else "priority"
    shown = [p for p in (waiting if show == "waiting" else visible)
             if (not region or p["region_name"] == region) and (not category or p["category"] == category)
             and search.casefold() in p["plan_name"].casefold()]
    return view(request, "round", session, round=round_, rounds=held, plans=sorted(shown, key=SORTS[sort]),
                total=len(visible), waiting=len(waiting), show=show, sort=sort, sorts=SORT_WORDS, q=search,
                regions=sorted({p["region_name"] for p in visible}), region=region, category=category,
                categories=sorted({p["category"] for p in visible if p["category"]}))


def _worst_first(category: str | None) -> int:
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)


SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {  # the overview's orders, the first its default
    "priority": lambda p: (-p["awaiting"], _worst_first(p["category"]), -p["blocking"], p["plan_name"]),
    "name": lambda p: p["plan_name"],
    "category": lambda p: (_worst_first(p["category"]), p["plan_name"]),
    "region": lambda p: (p["region_name"], p["plan_name"]),
    "blocking": lambda p: (-p["blocking"], p["plan_name"]),
}
SORT_WORDS = {"priority": "explanations to decide, then category (worst first), then blocking findings",
              "name": "plan name", "category": "category, worst first", "region": "region", "blocking": "blocking findings"}


def _refused(request: Request, session: Session, found: dict[str, Any] | None, round_: str) -> HTMLResponse | None:
    """The page to show instead when the plan is not in the round or is in another region."""
    if found is None:
        code = request.path_params["code"]
        return message(request, session, 404, "No such plan", f"There is no plan {code} in round {round_}.")
    if not session.account.may_see(found["region_name"]):
        return message(request, session, 403, "Not your region",
                       "This plan is in another region. Your account sees your region's plans only.")
    return None


@signed_in
@in_round
async def plan_page(request: Request, session: Session, round_: str, held: list[str]) -> Response:
    c, code = _c(request), request.path_params["code"]
    page = await run_in_threadpool(service.plan, c.settings.db, round_, code, c.state)
    if no := _refused(request, session, page.plan if page else None, round_):
        return no
    assert page is not None
    findings = [{**f, "sig": c.sessions.sign(round_, code, f["submission_id"], f["rule_id"], f["place"], f["fingerprint"])}
                for f in page.findings]
    return view(request, "plan", session, round=round_, rounds=held, plan=page.plan, findings=findings, s=page.stress,
                pair=page.pair, quarters=page.quarters, track=page.track, peers=page.peers)


@signed_in
@in_round
async def letter(request: Request, session: Session, round_: str, held: list[str]) -> Response:
    c = _c(request)
    found = await run_in_threadpool(service.one, c.settings.db, round_, request.path_params["code"], c.state)
    if no := _refused(request, session, found, round_):
        return no
    assert found is not None
    if found["category"] is None:
        return message(request, session, 409, "No category yet",
                       "Run the stress test (bcf stress) on this round first; the letter follows from it.")
    return HTMLResponse(await run_in_threadpool(service.letter, c.settings.db, round_, found["submission_id"], c.state))


def _area(round_: str, code: str) -> Any:
    """The plan's area in the round's own list (the content, not the store: no batch can hold it)."""
    known = rounds.all_rounds().get(round_)
    return next((a for a in known.areas.plans() if a.plan_code == code), None) if known else None


@signed_in
async def decide(request: Request, session: Session) -> Response:
    c, form = _c(request), await request.form()
    round_, code = request.path_params["round"], request.path_params["code"]
    f = {k: str(form.get(k, "")).strip() for k in DECISION_FIELDS}
    area = _area(round_, code)
    if area is None:
        return message(request, session, 404, "No such plan", f"There is no plan {code} in round {round_}.")
    if not session.account.may_see(area.region_name):
        return message(request, session, 403, "Not your region", "Your account decides on your region's plans only.")
    if not same(f["sig"], c.sessions.sign(round_, code, f["submission_id"], f["rule_id"], f["location"], f["fingerprint"])):
        return message(request, session, 400, "This form was changed", "Go back, reload the plan's page and try again.")
    back = f"/{round_}/{RETURN}/{code}"
    if not f["reason"]:
        await run_in_threadpool(c.sessions.flash, session, "Give a reason for the decision: it goes into the decision "
                                "log and the letter.")
        return _redirect(request, back)
    d = decisions.Decision(round_, code, int(f["submission_id"]), f["rule_id"], f["location"], f["fingerprint"],
                           f["decision"], f["reason"], session.account.name)
    seen = decisions.Seen(int(f["seen"]) if f["seen"].isdigit() else None)  # the decision the page showed, if any
    try:
        await run_in_threadpool(functools.partial(decisions.record, c.state, d, seen=seen))
    except decisions.Refused as e:
        return view(request, "message", session, 409, round=round_, title="Your decision was not recorded",
                    lines=(str(e), "Open the plan's page again to see where the finding stands now, then decide "
                                   "again if you still wish to."), back=f"{base(request)}{back}")
    await run_in_threadpool(c.sessions.flash, session, f"Recorded: {d.rule_id} {d.decision}. The category and the "
                            "letter now follow it.")
    return _redirect(request, back)


@signed_in
async def decision_log(request: Request, session: Session) -> Response:
    c, info = _c(request), await _rounds(request)
    round_ = request.query_params.get("round") or None
    rows = await run_in_threadpool(service.log, c.settings.db, round_ if round_ in info.held else None, c.state)
    return view(request, "decisions", session, round=round_, rounds=info.held,
                decisions=[d for d in rows if session.account.may_see(d["region_name"])])


ROUTES = [Route("/login", login_page), Route("/login", login, methods=["POST"]), Route("/logout", logout, methods=["POST"]),
          Route("/", home), Route("/decisions", decision_log), Route("/plan/{code}", old_plan_address),
          Route("/{round}/plan/", overview), Route("/{round}/plan/{code}", plan_page),
          Route("/{round}/plan/{code}/letter", letter), Route("/{round}/plan/{code}/decide", decide, methods=["POST"])]


def console_app(settings: ConsoleSettings, page: Page) -> Starlette:
    """The console as an app to mount at /console; ``page`` renders a web template with the site's context."""
    state = state_path(settings.db, settings.state)
    assert state is not None
    accounts = Accounts(settings.users)
    accounts.names()  # a damaged accounts file stops the console before it starts, in one sentence
    app = Starlette(routes=ROUTES)
    app.state.console = Console(settings, state, accounts, Sessions(state, accounts, settings.secret), page)
    return app
