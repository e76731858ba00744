"""The console as a multi-user service: sessions and sign-in limits in the state store, decisions recorded at once
whatever holds the national store, a decision log that is a hash chain, and round identity in every address.

Real servers: uvicorn in a thread, or `bcf serve` in its own process where what is tested is the command's own
settings (its proxy headers) or two servers sharing one state store.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from click.testing import CliRunner

from bcf import rounds, samples, store
from bcf.batch import run_batch
from bcf.cli import main
from bcf.national import decisions
from bcf.national.state import open_state
from bcf.web import Settings, create_app
from bcf.web.console import ConsoleSettings
from tests.support import advisory_plan, category_of, free_port, serving, wait_until, write_plan

PASSWORD = "correct horse battery staple"
OLD, NEW = "2015-16", "2016-17"
LEEDS = "E08000035"


@pytest.fixture(scope="module")
def two_rounds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store of two rounds: Leeds's 2015-16 plan with an explanation to decide, and a 2016-17 plan with none;
    and an accounts file with a national and a London account."""
    tmp = tmp_path_factory.mktemp("rounds")
    write_plan(advisory_plan(), tmp / "old" / f"{LEEDS}_Leeds.xlsx")
    db = tmp / "n.duckdb"
    run_batch(tmp / "old", db, OLD, workers=1)
    assert category_of(db)[0] == "Approved with support"  # the stress test of the old round
    new = rounds.get(NEW).ret("plan")
    area = new.round.areas.find("Leeds")
    assert area is not None
    write_plan(samples.build_plan(area, random.Random(5), new), tmp / "new" / f"{LEEDS}_Leeds.xlsx")
    run_batch(tmp / "new", db, NEW, workers=1)
    users = tmp / "users.json"
    for args in (["ann", "--role", "national"], ["rita", "--role", "regional", "--region", "London"]):
        add_user(users, *args)
    return db, users


def add_user(users: Path, *args: str) -> None:
    result = CliRunner().invoke(main, ["users", "add", "--users", str(users), *args, "--password-stdin"],
                                input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output


@pytest.fixture
def files(two_rounds: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the store and accounts for one test: its state store starts empty, beside it."""
    db, users = two_rounds
    shutil.copy(db, tmp_path / "n.duckdb")
    shutil.copy(users, tmp_path / "users.json")
    return tmp_path / "n.duckdb", tmp_path / "users.json"


class Browser:
    """A client that keeps its cookies and never follows redirects, over plain HTTP/1.1."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        con = http.client.HTTPConnection(self.host, self.port, timeout=120)
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        if form is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            con.request(method, path, body=urlencode(form) if form is not None else None, headers=sent)
            r = con.getresponse()
            for cookie in r.msg.get_all("set-cookie") or []:
                name, _, rest = cookie.partition("=")
                value = rest.split(";")[0].strip('"')
                if "max-age=0" in cookie.lower() or not value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace")
        finally:
            con.close()

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict[str, str], **headers: str) -> tuple[int, dict[str, str], str]:
        return self.request("POST", path, form, headers)

    def sign_in(self, name: str, password: str = PASSWORD, **headers: str) -> int:
        token = csrf(self.get("/console/login")[2])
        return self.post("/console/login", {"name": name, "password": password, "csrf": token}, **headers)[0]


def csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no form token on the page"
    return m.group(1)


def decision_form(html: str) -> dict[str, str]:
    """The hidden fields of the first decision form on a plan's page."""
    form = html[html.index('/decide">'):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))


@contextmanager
def app_served(db: Path, users: Path, **console: Any) -> Iterator[str]:
    """The web app with the console, served by uvicorn in a thread."""
    workdir = db.parent / f"work-{random.randrange(10**6)}"
    with serving(create_app(Settings(workdir=workdir, workers=1, console=ConsoleSettings(db, users, **console)))) as url:
        yield url


@contextmanager
def bcf_serve(db: Path, users: Path, *extra: str) -> Iterator[str]:
    """`bcf serve` in a process of its own, as an administrator starts it."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bcf", "serve", "--port", str(port), "--workers", "1", "--db", str(db),
                             "--users", str(users), *extra], env={**os.environ, "TMPDIR": str(db.parent)},
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return Browser(url).get("/")[0] == 200
        except OSError:
            return False
    try:
        assert wait_until(answers, 90), "the server did not start"
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def state_log(db: Path) -> list[dict[str, Any]]:
    with open_state(db.with_suffix(".state.sqlite")) as st:
        return decisions.log(st)


def test_sign_ins_sent_at_once_are_checked_at_most_the_limit(files: tuple[Path, Path]) -> None:
    db, users = files
    with app_served(db, users) as url:
        b = Browser(url)
        token = csrf(b.get("/console/login")[2])
        codes: list[int] = []
        gate = threading.Barrier(29)

        def guess(i: int) -> None:
            gate.wait()
            codes.append(b.post("/console/login", {"name": "ann", "password": f"guess {i}", "csrf": token})[0])

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(29)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        right = b.post("/console/login", {"name": "ann", "password": PASSWORD, "csrf": token})[0]
    assert sorted(set(codes)) == [401, 429] and codes.count(401) <= 5, codes  # at most the limit were checked
    assert right == 429  # sent last, the right password is refused too: the limit was reached


def test_a_cookie_replayed_after_sign_out_removal_or_a_region_change_is_refused(files: tuple[Path, Path]) -> None:
    db, users = files
    add_user(users, "tess", "--role", "regional", "--region", "London")
    add_user(users, "una", "--role", "regional", "--region", "London")
    plans = f"/console/{OLD}/plan/"
    with app_served(db, users) as url:
        copies = {}
        for name in ("ann", "tess", "una"):
            b = Browser(url)
            assert b.sign_in(name) == 303 and b.get(plans)[0] == 200
            copies[name] = b
        stolen = {name: dict(b.cookies) for name, b in copies.items()}
        # signing out ends the session: a copy of its cookie opens nothing, and signing out needs the form's token
        assert copies["ann"].post("/console/logout", {"csrf": "forged"})[0] == 403
        assert copies["ann"].post("/console/logout", {"csrf": csrf(copies["ann"].get(plans)[2])})[0] == 303
        # the account removed, and the account moved to another region
        assert CliRunner().invoke(main, ["users", "remove", "--users", str(users), "tess"]).exit_code == 0
        add_user(users, "una", "--role", "regional", "--region", "North East")
        for name, cookies in stolen.items():
            replay = Browser(url)
            replay.cookies = dict(cookies)
            status, headers, _ = replay.get(plans)
            assert (status, headers.get("location")) == (303, "/console/login"), name
            form = {"csrf": "x", "reason": "replayed", "decision": "accepted"}
            assert replay.post(f"{plans}{LEEDS}/decide", form)[0] == 303
    assert state_log(db) == []  # nothing recorded by a session that had ended


@pytest.mark.slow  # a real `bcf serve` process for each way: `make test-all` and CI run it
@pytest.mark.parametrize("trusted", [False, True])
def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(files: tuple[Path, Path], trusted: bool) -> None:
    db, users = files
    with bcf_serve(db, users, *(["--trusted-proxy", "127.0.0.1"] if trusted else [])) as url:
        codes = [Browser(url).sign_in(f"nobody{i}", "wrong", **{"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(7)]
    # each attempt names another account and another address: only the connection's own address can limit them
    assert codes == ([401] * 7 if trusted else [401] * 5 + [429] * 2)


def test_a_decision_while_a_batch_holds_the_store_is_recorded_at_once(files: tuple[Path, Path]) -> None:
    db, users = files
    page = f"/console/{OLD}/plan/{LEEDS}"
    with app_served(db, users) as url:
        b = Browser(url)
        assert b.sign_in("ann") == 303
        html = b.get(page)[2]
        form = {**decision_form(html), "csrf": csrf(html), "decision": "accepted", "reason": "Netting agreed"}
        holder = subprocess.Popen([sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(db)!r}); "
                                   "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            status, _, busy = b.get(page)
            assert status == 503 and "batch" in busy and str(db.parent) not in busy  # pages wait; no server path shown
            start = time.perf_counter()
            status, headers, _ = b.post(f"{page}/decide", form)
            took = time.perf_counter() - start
            assert (status, headers["location"]) == (303, page)
            log = state_log(db)
            assert [(d["plan_code"], d["decision"], d["reason"], d["who"]) for d in log] == [
                (LEEDS, "accepted", "Netting agreed", "ann")]
            assert took < 2, took
        finally:
            holder.kill()
            holder.wait()
        shown = b.get(page)[2]
        assert "Recorded: BCF-ARITH-006 accepted" in shown and "category <strong>Approved</strong>" in shown
    assert len(state_log(db)) == 1  # recorded once, never again from a queue
    print(f"a decision while a batch held the store took {took * 1000:.0f} ms")


def test_a_damaged_store_is_said_without_its_path(files: tuple[Path, Path]) -> None:
    db, users = files
    with app_served(db, users) as url:
        b = Browser(url)
        assert b.sign_in("ann") == 303
        db.write_bytes(db.read_bytes()[:20000])
        for page in ("/console/", f"/console/{OLD}/plan/{LEEDS}", "/console/decisions", "/console/nowhere/plan/x"):
            status, _, text = b.get(page)
            assert status in (404, 503) and str(db.parent) not in text and "Traceback" not in text, page


@pytest.mark.slow  # two `bcf serve` processes and 30 decisions at once: `make test-all` and CI run it
def test_two_servers_deciding_at_once_from_the_same_page_record_one_decision(files: tuple[Path, Path]) -> None:
    db, users = files
    page = f"/console/{OLD}/plan/{LEEDS}"
    with bcf_serve(db, users) as first, bcf_serve(db, users) as second:
        assessors = []
        for url, name in ((first, "ann"), (second, "ann")):
            b = Browser(url)
            assert b.sign_in(name) == 303
            html = b.get(page)[2]
            assessors.append((b, {**decision_form(html), "csrf": csrf(html)}))
        results: list[tuple[int, str]] = []

        def decide(server: int) -> None:
            b, form = assessors[server]
            for i in range(15):  # every post from the page as it was shown: no decision yet
                verdict = "accepted" if i % 2 else "rejected"
                status, _, body = b.post(f"{page}/decide", {**form, "decision": verdict, "reason": f"server {server} #{i}"})
                results.append((status, body))

        threads = [threading.Thread(target=decide, args=(s,)) for s in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    assert sorted(status for status, _ in results) == [303] + [409] * 29
    assert all("while you were reading (decision 1). Nothing was recorded." in body
               for status, body in results if status == 409)
    out = CliRunner().invoke(main, ["decisions", "--db", str(db), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.output)["log"]) == 1  # one recorded, none doubled
    verify = CliRunner().invoke(main, ["decisions", "--db", str(db), "--verify"])
    assert verify.exit_code == 0 and "1 decisions" in verify.output


def test_the_chain_check_names_a_decision_edited_in_the_state_file(files: tuple[Path, Path]) -> None:
    db, _ = files
    state = db.with_suffix(".state.sqlite")
    for reason in ("first", "second", "third"):
        decisions.record(state, decisions.Decision(OLD, LEEDS, 1, "BCF-ARITH-006", "x", "f", "accepted", reason, "ann"))
    assert CliRunner().invoke(main, ["decisions", "--db", str(db), "--verify"]).exit_code == 0
    with sqlite3.connect(state) as con:
        con.execute("UPDATE decisions SET decision = 'rejected' WHERE decision_id = 2")
    out = CliRunner().invoke(main, ["decisions", "--db", str(db), "--verify"])
    assert out.exit_code == 1 and "broken at decision 2 " in out.output and "changed after it was recorded" in out.output
    with sqlite3.connect(state) as con:
        con.execute("UPDATE decisions SET decision = 'accepted' WHERE decision_id = 2")  # put back: the chain holds
        con.execute("DELETE FROM decisions WHERE decision_id = 1")
    out = CliRunner().invoke(main, ["decisions", "--db", str(db), "--verify"])
    assert out.exit_code == 1 and "broken at decision 2 " in out.output and "removed, inserted" in out.output


def test_decisions_as_json(files: tuple[Path, Path]) -> None:
    db, _ = files
    out = CliRunner().invoke(main, ["decisions", "--db", str(db), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["log"] == [] and [(a["round"], a["plan_code"], a["rule_id"], a["location"], a["state"])
                                  for a in data["awaiting"]] == [
        (OLD, LEEDS, "BCF-ARITH-006", "benefits[B02].planned_saving", "awaiting a decision")]
    decided = CliRunner().invoke(main, ["decide", "--db", str(db), "--round", OLD, "--rule", "BCF-ARITH-006",
                                        "--accept", "--reason", "Netting agreed", "--by", "Ann"])
    assert decided.exit_code == 0, decided.output
    (entry,) = json.loads(CliRunner().invoke(main, ["decisions", "--db", str(db), "--format", "json"]).output)["log"]
    assert {k: entry[k] for k in ("round", "plan_code", "rule_id", "decision", "reason", "who")} == {
        "round": OLD, "plan_code": LEEDS, "rule_id": "BCF-ARITH-006", "decision": "accepted", "reason": "Netting agreed",
        "who": "Ann"} and entry["when"]


def test_accepting_on_an_older_round_comes_back_to_that_round(files: tuple[Path, Path]) -> None:
    db, users = files
    page = f"/console/{OLD}/plan/{LEEDS}"
    with app_served(db, users) as url:
        b = Browser(url)
        assert b.sign_in("ann") == 303
        assert b.get("/console/")[1]["location"] == f"/console/{OLD}/plan/"  # the latest round with something to decide
        html = b.get(page)[2]
        assert f"Leeds: round {OLD} plan" in html and f'href="/console/{NEW}/plan/"' in html  # heading, round switcher
        assert f'href="{page}/letter"' in html and f'action="{page}/decide"' in html
        form = {**decision_form(html), "csrf": csrf(html), "decision": "accepted", "reason": "Netting agreed"}
        status, headers, _ = b.post(f"{page}/decide", form)
        assert (status, headers["location"]) == (303, page)
        assert "Recorded" in b.get(page)[2]
        assert "Accepted: Netting agreed" in b.get(f"{page}/letter")[2]  # that round's letter follows the decision
        assert b.get("/console/")[1]["location"] == f"/console/{NEW}/plan/"  # nothing left to decide: the latest
        log = b.get("/console/decisions")[2]
        assert f'<td data-label="Round">{OLD}</td>' in log and f'href="{page}"' in log
        # a form's finding cannot be changed on its way back
        assert b.post(f"{page}/decide", {**form, "fingerprint": "0" * 16})[0] == 400


def test_a_store_made_before_the_state_store_keeps_its_decisions(tmp_path: Path, files: tuple[Path, Path]) -> None:
    import duckdb

    db, users = files
    with duckdb.connect(str(db)) as con:  # the decisions table as stores had it, with one decision
        con.execute("CREATE SEQUENCE decision_ids START 1; CREATE TABLE decisions (decision_id BIGINT PRIMARY KEY "
                    "DEFAULT nextval('decision_ids'), round VARCHAR NOT NULL, plan_code VARCHAR NOT NULL, submission_id "
                    "BIGINT NOT NULL, rule_id VARCHAR NOT NULL, location VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, "
                    "decision VARCHAR NOT NULL, reason VARCHAR NOT NULL, decided_by VARCHAR NOT NULL, decided_at TIMESTAMP "
                    "NOT NULL DEFAULT current_timestamp)")
        con.execute("INSERT INTO decisions (round, plan_code, submission_id, rule_id, location, fingerprint, decision, "
                    "reason, decided_by) SELECT s.round, s.plan_code, f.submission_id, f.rule_id, f.location, f.fingerprint, "
                    "'accepted', 'Agreed in 2015', 'Old Ann' FROM findings f JOIN submissions s USING (submission_id) "
                    "WHERE f.explanation IS NOT NULL")
    for _ in range(2):  # read twice: moved once
        with store.connect(db) as con:
            assert con.execute("SELECT state, decided_by FROM explained_findings").fetchall() == [("accepted", "Old Ann")]
    with store.Store(db):  # opened for writing, the old table goes
        pass
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'decisions'").fetchall() == [(0,)]
    assert [d["who"] for d in state_log(db)] == ["Old Ann"]
    assert CliRunner().invoke(main, ["decisions", "--db", str(db), "--verify"]).exit_code == 0
    # an accounts file as `bcf users add` has always written it signs in as before
    old = json.loads(users.read_text(encoding="utf-8"))
    assert set(old["ann"]) == {"hash", "role", "region"}
    with app_served(db, users) as url:
        assert Browser(url).sign_in("ann") == 303


def test_sessions_end_when_unused_and_after_their_absolute_time(files: tuple[Path, Path]) -> None:
    from bcf.web.accounts import Accounts
    from bcf.web.sessions import Sessions

    db, users = files
    accounts = Accounts(users)
    ann = accounts.get("ann")
    assert ann is not None
    idle = Sessions(db.with_suffix(".state.sqlite"), accounts, idle=1.0, absolute=60.0)
    used, unused = idle.start(ann), idle.start(ann)
    for _ in range(3):  # kept alive by use
        time.sleep(0.6)
        assert idle.find(used) is not None
    assert idle.find(unused) is None  # unused for more than a second
    absolute = Sessions(db.with_suffix(".state.sqlite"), accounts, idle=60.0, absolute=1.0)
    cookie = absolute.start(ann)
    time.sleep(0.6)
    assert absolute.find(cookie) is not None
    time.sleep(0.6)
    assert absolute.find(cookie) is None  # however much it is used
    assert idle.find(used) is None  # and an ended session is gone for good
