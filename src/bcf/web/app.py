"""The self-check web app: routes, pages and the security headers every response carries."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import functools
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import IO, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bcf import content, rounds
from bcf.findings import FAMILIES, rules
from bcf.params import shared as parameters
from bcf.present import as_json, grouped
from bcf.web import upload
from bcf.web.checker import Budget, Busy, Checker, Outcome
from bcf.web.console import ConsoleSettings, console_app
from bcf.web.results import FILES, XLSX, Results, findings_csv

log = logging.getLogger("bcf.web")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]
VERDICT = {"ready": "Ready to submit", "not ready": "Not ready to submit", "unreadable": "This file could not be checked"}
PLACEHOLDERS = {"found": "[what was found]", "expected": "[what is expected]", "label": "this cell", "example": ""}


@dataclass(frozen=True)
class Settings:
    keep_minutes: float = 15.0  # how long the downloads of a result are kept
    check_seconds: float = 30.0  # time limit for checking one file
    annotate_seconds: float = 10.0  # time limit for its marked-up copy, after the verdict
    upload_seconds: float = 120.0  # time limit for receiving one upload's body, however slowly it arrives
    round_id: str | None = None  # the round whose plan template the page offers (default: the latest)
    console: ConsoleSettings | None = None  # the assurers' console at /console, when given a store and accounts
    workers: int = 2  # files checked at the same time
    spare_workers: int = 1  # kept for ordinary files while slow ones hold every regular worker
    spare_seconds: float = 10.0  # what a file may take on a spare worker before it waits for a regular one
    recycle_checks: int = 200  # a worker is replaced after this many checks
    recycle_mb: float = 400.0  # or once it has grown past this
    workdir: Path | None = None  # where uploads and results go (default: a new temporary folder)


WORKDIR_PREFIX = "bcf-serve-"
LOCK = ".in-use"  # held locked by the server that owns a working folder, for as long as it runs


def claim(workdir: Path) -> IO[bytes]:
    """Lock a working folder for this server; the lock goes with the process, however it ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    lock = (workdir / LOCK).open("ab")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return lock


def clear_leftovers(workdir: Path | None) -> None:
    """At start-up, delete what a server that was killed left behind: its uploads and results in a working folder
    given to it, and the temporary working folders of servers that no longer run (their lock is free)."""
    if workdir is not None:
        for part in ("uploads", "results"):
            shutil.rmtree(workdir / part, ignore_errors=True)
        return
    for old in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            with (old / LOCK).open("ab") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises while its server runs
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue


# A process that outlives the server only to delete what it kept: it waits for its standard input to close, which
# happens however the server ends (a kill included), then removes the folders it was given.
JANITOR = ("import shutil, signal, sys\n"
           "signal.signal(signal.SIGINT, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
           "sys.stdin.buffer.read()\n"
           "for path in sys.argv[1:]:\n    shutil.rmtree(path, ignore_errors=True)\n")


def janitor(*folders: Path) -> subprocess.Popen[bytes]:
    """Start the process that deletes ``folders`` once this server has ended, whether cleanly or killed."""
    return subprocess.Popen([sys.executable, "-c", JANITOR, *map(str, folders)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class SecurityHeaders:
    """Adds the security headers to every response, error pages included; nothing is cached but the CSS."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {n for n, _ in SECURITY_HEADERS} | {b"cache-control"}
                headers = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                headers += SECURITY_HEADERS + ([] if static else [(b"cache-control", b"no-store")])
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def cap_bytes() -> int:
    return int(float(parameters()["gate"]["max_file_mb"]) * 1024 * 1024)


def plain_words(text: str) -> str:
    """A catalogue message or fix for reading on its own: {found} and the like said in words."""
    text = re.sub(r"^\{label\}", "This cell", text)
    return re.sub(r"\{(\w+)(?:\|\w+)?\}", lambda m: PLACEHOLDERS.get(m.group(1), "…"), text)


@cache
def hwb_choices(offered: rounds.Return) -> list[tuple[str, str]]:
    """(ONS code, name) of every Health and Wellbeing Board of the offered round, by name."""
    return sorted(((a.ons_code, a.hwb_name) for a in offered.round.areas.all), key=lambda c: c[1])


@cache
def template_bytes(offered: rounds.Return, hwb_name: str | None) -> bytes:
    from bcf import generate

    with tempfile.TemporaryDirectory(prefix="bcf-template-") as tmp:
        path = Path(tmp) / "template.xlsx"
        generate.new_template(offered.spec(), path, hwb_name)
        return path.read_bytes()


@dataclass
class App:
    """The ASGI application, and what the server keeps on disk (for tests and the log)."""

    asgi: SecurityHeaders
    workdir: Path
    results: Results
    checker: Checker

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        await self.asgi(scope, receive, send)


@dataclass
class Site:
    """What the views need, kept in ``app.state.site``: the settings, the working folder and its parts, the
    checker, the template offered, and the page renderer's environment."""

    settings: Settings
    workdir: Path
    own_workdir: bool  # a temporary folder made for this server, deleted with it
    lock: IO[bytes]
    results: Results
    checker: Checker
    offered: rounds.Return
    env: Any
    cap: int

    @property
    def uploads(self) -> Path:
        return self.workdir / "uploads"


def _site(request: Request) -> Site:
    return request.app.state.site  # type: ignore[no-any-return]


def render(site: Site, request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """A page of the site from ``reports/web/<name>.html.j2``, with what every page shows."""
    root = ctx.pop("root", request.scope.get("root_path", ""))
    html = site.env.get_template(f"web/{name}.html.j2").render(
        root=root, cap_mb=f"{site.cap / 1024 / 1024:g}", offered=site.offered,
        keep_minutes=f"{site.settings.keep_minutes:g}", **ctx)
    return HTMLResponse(html, status)


def page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return render(_site(request), request, name, status, **ctx)


def message(request: Request, status: int, title: str, *lines: str) -> HTMLResponse:
    return page(request, "message", status, title=title, lines=lines)


def start_page(request: Request, status: int = 200, error: str | None = None) -> HTMLResponse:
    return page(request, "start", status, hwbs=hwb_choices(_site(request).offered), error=error, rule_count=len(rules()))


async def start(request: Request) -> Response:
    return start_page(request)


async def rules_page(request: Request) -> Response:
    by_family = [(fam, [r for r in rules().values() if r.family == fam]) for fam in FAMILIES]
    return page(request, "rules", by_family=by_family, words=plain_words, rule_count=len(rules()))


async def template(request: Request) -> Response:
    offered = _site(request).offered
    code = request.query_params.get("hwb", "")
    names = dict(hwb_choices(offered))
    if code and code not in names:
        return message(request, 400, "Choose a Health and Wellbeing Board from the list",
                       "The template can only be filled in for a Health and Wellbeing Board in the list.")
    data = await run_in_threadpool(template_bytes, offered, names.get(code))
    filename = f"{offered.template_id}-{code or 'blank'}.xlsx"
    return Response(data, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{filename}"'})


async def _receive_and_check(request: Request, result: Path) -> tuple[upload.Upload, Outcome] | Response:
    """The upload, received into a fresh folder of its own and checked; the folder goes whatever happens."""
    site = _site(request)
    site.uploads.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=site.uploads))
    try:
        up = await upload.receive(request, folder / "workbook.xlsx", site.cap, site.settings.upload_seconds)
        return up, await site.checker.check(up.path, result / FILES["marked-up.xlsx"][0])
    except upload.TooLarge:
        return page(request, "too_large", 413)
    except upload.NoFile as e:
        return start_page(request, 400, str(e))
    except upload.Refused as e:
        return message(request, e.status, "The file could not be uploaded", str(e),
                       "Go back to the start page and choose the file again.")
    except Busy:
        return message(request, 503, "The checker is busy",
                       "Many workbooks are being checked at the moment. Wait a minute, then try again.")
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the upload itself is never kept


async def check(request: Request) -> Response:
    site = _site(request)
    site.results.sweep()
    token, result = site.results.new()
    published = False
    try:
        checked = await _receive_and_check(request, result)
        if isinstance(checked, Response):
            return checked
        up, outcome = checked
        report = dataclasses.replace(outcome.report, file=up.name)
        log.info("checked an upload of %d bytes in %.2fs: %s", up.size, outcome.seconds, report.status)
        (result / FILES["findings.json"][0]).write_text(as_json(report, outcome.preview), encoding="utf-8")
        (result / FILES["findings.csv"][0]).write_text(findings_csv(report), encoding="utf-8-sig")
        site.results.publish(token, result, report.plan_code or "workbook")
        published = True
    finally:
        if not published:
            shutil.rmtree(result, ignore_errors=True)
    kept_until = (datetime.now() + timedelta(minutes=site.settings.keep_minutes)).strftime("%H:%M")
    return page(request, "results", report=report, sub=report.submission, groups=grouped(report.findings),
                preview=outcome.preview, verdict=VERDICT[report.status] + (" in time" if outcome.timed_out else ""),
                token=token, annotated=outcome.annotated, kept_until=kept_until,
                checked=datetime.now().strftime("%d %B %Y at %H:%M").lstrip("0"))


async def check_get(request: Request) -> Response:
    return RedirectResponse(f"{request.scope.get('root_path', '')}/", 303)  # relative: never the Host header


async def download(request: Request) -> Response:
    site = _site(request)
    kept = site.results.get(request.path_params["token"])
    name = request.path_params["name"]
    if kept is None:
        return message(request, 404, "This download is no longer available",
                       f"Downloads are kept for {site.settings.keep_minutes:g} minutes after a check, then deleted.",
                       "Check the workbook again to get a new copy.")
    if name not in kept.files:
        raise HTTPException(404)
    file, media_type = FILES[name]
    data = await run_in_threadpool((kept.folder / file).read_bytes)
    return Response(data, media_type=media_type,
                    headers={"content-disposition": f'attachment; filename="{kept.prefix}-{name}"'})


async def favicon(request: Request) -> Response:
    return Response(status_code=204)


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return message(request, 404, "Page not found", "Check the address, or go back to the start page.")
    if status == 405:
        return message(request, 405, "This page cannot be used that way", "Go back to the start page.")
    return message(request, status, "Sorry, there is a problem with the service", "Try again later.")


async def server_error(request: Request, exc: Exception) -> Response:
    # the details go to the server log (Starlette re-raises to the server after this page is sent)
    return message(request, 500, "Sorry, there is a problem with the service",
                   "Your file has not been kept. Try again later.",
                   "If it keeps happening, contact the Better Care Fund team.")


async def _sweeper(results: Results) -> None:
    while True:
        await asyncio.sleep(60)
        results.sweep()


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Start the workers and the sweeper; at the end stop them and delete what the server kept."""
    site: Site = app.state.site
    cleaner = janitor(*([site.workdir] if site.own_workdir else [site.uploads, site.workdir / "results"]))
    await site.checker.start()
    sweeper = asyncio.create_task(_sweeper(site.results))
    try:
        yield
    finally:
        sweeper.cancel()
        site.checker.close()
        site.results.close()
        shutil.rmtree(site.uploads, ignore_errors=True)
        if site.own_workdir:
            shutil.rmtree(site.workdir, ignore_errors=True)
        site.lock.close()
        if cleaner.stdin:
            cleaner.stdin.close()
        cleaner.wait(10)


ROUTES = [
    Route("/", start, name="start"),
    Route("/rules", rules_page, name="rules"),
    Route("/template", template, name="template"),
    Route("/check", check, methods=["POST"], name="check"),
    Route("/check", check_get, methods=["GET"]),
    Route("/download/{token}/{name}", download, name="download"),
    Route("/favicon.ico", favicon),
]


def _site_for(settings: Settings) -> Site:
    """The working folder (a killed server's leftovers cleared first), the checker and the template offered."""
    from bcf.render import environment

    own_workdir = settings.workdir is None
    clear_leftovers(settings.workdir)
    workdir = settings.workdir or Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    checker = Checker(settings.workers, Budget(settings.check_seconds, settings.annotate_seconds,
                                               recycle_checks=settings.recycle_checks, recycle_mb=settings.recycle_mb),
                      spare=settings.spare_workers, spare_seconds=settings.spare_seconds)
    offered = (rounds.get(settings.round_id) if settings.round_id else rounds.latest()).ret("plan")
    return Site(settings, workdir, own_workdir, claim(workdir), Results(workdir / "results", settings.keep_minutes * 60),
                checker, offered, environment(), cap_bytes())


def create_app(settings: Settings | None = None) -> App:
    """The web app as an ASGI application (give it to uvicorn, or to Starlette's TestClient)."""
    site = _site_for(settings or Settings())
    routes: list[BaseRoute] = [*ROUTES, Mount("/static", StaticFiles(directory=content.path("reports", "web", "static")),
                                                 name="static")]
    if site.settings.console:
        routes.insert(-1, Mount("/console", app=console_app(site.settings.console, functools.partial(render, site))))
    inner = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error, Exception: server_error})
    inner.state.site = site
    # the headers go on outside Starlette's own error handling, so that error pages carry them too
    return App(SecurityHeaders(inner), site.workdir, site.results, site.checker)
