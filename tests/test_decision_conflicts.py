"""A decision once recorded is never lost or doubled: two assurers deciding the same finding from the same page, or
one deciding on a page shown before the plan was resubmitted, get one decision recorded and the other refused in
a sentence, nothing recorded; a deliberate second decision, made after looking again, is recorded as history.

Real parts: a real national store made by `bcf batch`, its SQLite state store, two writer processes, the console
through Starlette's TestClient, and the `bcf decide` command.
"""

from __future__ import annotations

import multiprocessing
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from bcf.batch import run_batch
from bcf.cli import main
from bcf.national import decisions
from bcf.national.state import open_state
from bcf.web import Settings, create_app
from bcf.web.console import ConsoleSettings
from tests.support import advisory_plan, category_of, write_plan

PASSWORD = "correct horse battery staple"
ROUND, LEEDS = "2015-16", "E08000035"
PAGE = f"/console/{ROUND}/plan/{LEEDS}"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Leeds's plan with one explained advisory finding, stored and stress-tested; three national accounts."""
    tmp = tmp_path_factory.mktemp("conflicts")
    write_plan(advisory_plan(), tmp / "in" / f"{LEEDS}_Leeds.xlsx", time.time() - 3600)
    db = tmp / "n.duckdb"
    run_batch(tmp / "in", db, ROUND, workers=1)
    assert category_of(db)[0] == "Approved with support"
    users = tmp / "users.json"
    for name in ("ann", "bob", "carol"):
        out = CliRunner().invoke(main, ["users", "add", "--users", str(users), name, "--role", "national",
                                        "--password-stdin"], input=PASSWORD + "\n")
        assert out.exit_code == 0, out.output
    return db, users


@pytest.fixture
def store(made: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the store and of its state store (beside it, as `bcf batch` and the console find it)."""
    db, users = made
    for f in (db, db.with_suffix(".state.sqlite")):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / db.name, users


@pytest.fixture
def app(store: tuple[Path, Path], tmp_path: Path) -> Any:
    db, users = store
    return create_app(Settings(workdir=tmp_path / "work", workers=1, console=ConsoleSettings(db, users)))


@pytest.fixture
def assurers(app: Any) -> Iterator[dict[str, TestClient]]:
    """Ann, Bob and Carol, each signed in in a browser of their own."""
    clients = {n: TestClient(app, follow_redirects=False) for n in ("ann", "bob", "carol")}
    for name, c in clients.items():
        c.__enter__()
        t = _token(c.get("/console/login").text)
        assert c.post("/console/login", data={"name": name, "password": PASSWORD, "csrf": t}).status_code == 303
    yield clients
    for c in clients.values():
        c.__exit__(None, None, None)


def _token(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


def _form(c: TestClient) -> dict[str, str]:
    """The decision form of the plan's page as the assurer has it now (its hidden fields and token)."""
    html = c.get(PAGE).text
    form = html[html.index('/decide">'):]
    return {**dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form[:form.index("</form>")])),
            "csrf": _token(html)}


def _log(db: Path) -> list[tuple[str, str, str]]:
    with open_state(db.with_suffix(".state.sqlite")) as st:
        return [(d["who"], d["decision"], d["reason"]) for d in decisions.log(st, ROUND, LEEDS)]


def _state(c: TestClient) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c.get(PAGE).text))
    return text[text.index("BCF-ARITH-006 advisory"):][:600]  # its row in the findings, not a message above


def test_a_decision_from_a_page_shown_before_another_assurers_is_refused(
        store: tuple[Path, Path], assurers: dict[str, TestClient]) -> None:
    db, _ = store
    ann, bob = assurers["ann"], assurers["bob"]
    seen_by_ann, seen_by_bob = _form(ann), _form(bob)  # both open the page: nothing decided yet
    assert seen_by_bob.get("seen", "") == ""  # the form says so: no decision shown
    assert ann.post(f"{PAGE}/decide", data={**seen_by_ann, "decision": "accepted", "reason": "Netting agreed"}
                    ).status_code == 303
    r = bob.post(f"{PAGE}/decide", data={**seen_by_bob, "decision": "rejected", "reason": "Not evidenced"})
    assert r.status_code == 409, r.text
    said = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))
    assert re.search(r"ann accepted this explanation of BCF-ARITH-006 at \d\d:\d\d on \d+ \w+ \d{4} while you were "
                     r"reading \(decision 1\)\. Nothing was recorded\.", said), said
    assert "Open the plan's page again" in said and "Recorded" not in said
    assert _log(db) == [("ann", "accepted", "Netting agreed")]
    assert "Accepted by ann: Netting agreed" in _state(bob)
    # Bob, having seen Ann's decision, may replace it on purpose: the log keeps both
    again = _form(bob)
    assert again["seen"] == "1"
    assert bob.post(f"{PAGE}/decide", data={**again, "decision": "rejected", "reason": "Not evidenced"}).status_code == 303
    assert _log(db) == [("ann", "accepted", "Netting agreed"), ("bob", "rejected", "Not evidenced")]
    assert "Rejected by bob: Not evidenced" in _state(ann)
    # Ann's page, shown before Bob's decision, can no longer reverse it
    r = ann.post(f"{PAGE}/decide", data={**seen_by_ann, "decision": "accepted", "reason": "Netting agreed"})
    assert r.status_code == 409 and "bob rejected this explanation" in r.text
    assert len(_log(db)) == 2


def test_a_decision_from_a_page_shown_before_a_resubmission_is_refused(
        store: tuple[Path, Path], assurers: dict[str, TestClient], tmp_path: Path) -> None:
    db, _ = store
    carol = assurers["carol"]
    stale = _form(carol)
    p = advisory_plan(saving=1)  # the explained finding itself changes
    write_plan(p, tmp_path / "again" / f"{LEEDS}_Leeds_v2.xlsx", time.time())
    run_batch(tmp_path / "again", db, ROUND, workers=1)
    r = carol.post(f"{PAGE}/decide", data={**stale, "decision": "accepted", "reason": "One-off item confirmed"})
    assert r.status_code == 409, r.text
    said = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))
    assert f"Plan {LEEDS} was resubmitted after you looked at it" in said and "Nothing was recorded" in said
    assert _log(db) == []
    assert "Awaiting a decision" in _state(carol)
    fresh = _form(carol)
    assert int(fresh["submission_id"]) > int(stale["submission_id"])
    assert carol.post(f"{PAGE}/decide", data={**fresh, "decision": "accepted", "reason": "One-off item confirmed"}
                      ).status_code == 303
    assert "Accepted by carol: One-off item confirmed" in _state(carol)  # on the current submission: in force


def _decide(state: Path, verdict: str, start: Any, out: Any) -> None:
    """One writer process: waits for the other, then decides on what both saw (no decision yet)."""
    d = decisions.Decision(ROUND, LEEDS, 1, "BCF-ARITH-006", "benefits[B02].planned_saving", "f" * 16, verdict,
                           f"{verdict} by a writer", f"writer {verdict}")
    start.wait()
    try:
        out.put(("recorded", decisions.record(state, d, seen=decisions.Seen(None))))
    except decisions.Refused as e:
        out.put(("refused", str(e)))


def test_two_writer_processes_deciding_from_the_same_state_record_one(store: tuple[Path, Path]) -> None:
    db, _ = store
    state = db.with_suffix(".state.sqlite")
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    writers = [ctx.Process(target=_decide, args=(state, v, start, out)) for v in ("accepted", "rejected")]
    for w in writers:
        w.start()
    results = sorted(out.get(timeout=120) for _ in writers)
    for w in writers:
        w.join(60)
    (kind1, first), (kind2, second) = results
    assert (kind1, kind2) == ("recorded", "refused") and first == [1]
    (winner,) = _log(db)
    assert f"{winner[0]} {winner[1]} this explanation" in second and "Nothing was recorded." in second
    with open_state(state) as st:
        assert decisions.verify(st).broken is None


def _cli(db: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["decide", "--db", str(db), "--round", ROUND, "--rule", "BCF-ARITH-006",
                                     "--hwb", LEEDS, *args])


def test_bcf_decide_replaces_a_decision_only_when_it_names_it(store: tuple[Path, Path]) -> None:
    db, _ = store
    assert _cli(db, "--accept", "--reason", "Netting agreed", "--by", "Ann").exit_code == 0
    second = _cli(db, "--reject", "--reason", "Not evidenced", "--by", "Bob")
    assert second.exit_code == 2
    said = " ".join(second.output.split())
    assert "Nothing was recorded, as this finding already has a decision: Ann accepted it at" in said
    assert "--replaces 1" in said
    wrong = _cli(db, "--reject", "--reason", "Not evidenced", "--by", "Bob", "--replaces", "7")
    assert wrong.exit_code == 2 and "not decision 7" in " ".join(wrong.output.split())
    assert _log(db) == [("Ann", "accepted", "Netting agreed")]
    on_purpose = _cli(db, "--reject", "--reason", "Not evidenced", "--by", "Bob", "--replaces", "1")
    assert on_purpose.exit_code == 0, on_purpose.output
    assert _log(db) == [("Ann", "accepted", "Netting agreed"), ("Bob", "rejected", "Not evidenced")]
    stale = _cli(db, "--accept", "--reason", "Netting agreed", "--by", "Ann", "--replaces", "1")  # Bob's came since
    assert stale.exit_code == 2 and "Bob rejected it" in " ".join(stale.output.split())
    assert len(_log(db)) == 2
