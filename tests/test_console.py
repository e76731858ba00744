"""The assurers' console: signed in, by region, with forms that cannot be forged, and in a real browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect
from starlette.testclient import TestClient

from bcf.batch import run_batch
from bcf.cli import main
from bcf.web import Settings, create_app
from bcf.web.console import ConsoleSettings
from tests.support import CHROMIUM, advisory_plan, category_of, plan_for, serving, write_plan

PASSWORD = "correct horse battery staple"
LONDON = "E09000002"  # Barking and Dagenham, in London; Leeds is in Yorkshire and The Humber
PLANS = "/console/2015-16/plan/"  # the round's plans: every console address names its round and return


@pytest.fixture(scope="module")
def console_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store with Leeds (one advisory finding explained) and a London plan, and two accounts."""
    tmp = tmp_path_factory.mktemp("console")
    write_plan(advisory_plan(), tmp / "in" / "E08000035_Leeds.xlsx")
    london = plan_for(seed=5)
    london.filled.fields["hwb_name"] = "Barking and Dagenham"
    write_plan(london, tmp / "in" / f"{LONDON}_Barking.xlsx")
    db = tmp / "n.duckdb"
    run_batch(tmp / "in", db, "2015-16", workers=1)
    assert category_of(db)[0] == "Approved with support"  # Leeds; stress run for the round
    users = tmp / "users.json"
    runner = CliRunner()
    for args in (["ann", "--role", "national"], ["rita", "--role", "regional", "--region", "London"]):
        result = runner.invoke(main, ["users", "add", "--users", str(users), *args, "--password-stdin"], input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
    return db, users


@pytest.fixture
def client(console_files: tuple[Path, Path], tmp_path: Path) -> Iterator[TestClient]:
    db, users = console_files
    app = create_app(Settings(workdir=tmp_path, workers=1, console=ConsoleSettings(db, users, state=tmp_path / "state.sqlite")))
    with TestClient(app, follow_redirects=False) as c:
        yield c


def token(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no form token on the page"
    return m.group(1)


def sign_in(c: TestClient, name: str, password: str = PASSWORD) -> int:
    t = token(c.get("/console/login").text)
    return c.post("/console/login", data={"name": name, "password": password, "csrf": t}).status_code


def test_passwords_are_kept_only_as_hashes(console_files: tuple[Path, Path]) -> None:
    text = console_files[1].read_text(encoding="utf-8")
    assert PASSWORD not in text and text.count("$argon2id$") == 2
    assert CliRunner().invoke(main, ["users", "add", "--users", str(console_files[1]), "x", "--role", "regional",
                                     "--password-stdin"], input=PASSWORD + "\n").exit_code == 2  # a region is needed


def test_signing_in_is_required_and_the_cookie_is_locked_down(client: TestClient) -> None:
    for path in ("/console/", f"{PLANS}E08000035", "/console/decisions"):
        r = client.get(path)
        assert (r.status_code, r.headers["location"]) == (303, "/console/login")
    assert sign_in(client, "ann", "wrong password") == 401
    assert sign_in(client, "nobody") == 401
    assert sign_in(client, "ann") == 303
    assert client.get("/console/").headers["location"] == PLANS  # the round with explanations to decide
    assert client.get(PLANS).status_code == 200
    assert client.post("/console/logout", data={"csrf": token(client.get(PLANS).text)}).status_code == 303
    assert client.get(PLANS).status_code == 303


def test_the_session_cookie_is_httponly_and_samesite_strict(client: TestClient) -> None:
    t = token(client.get("/console/login").text)
    r = client.post("/console/login", data={"name": "ann", "password": PASSWORD, "csrf": t})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and PASSWORD.lower() not in cookie


def test_sign_in_attempts_are_limited(client: TestClient) -> None:
    codes = [sign_in(client, "rita", f"guess {i}") for i in range(6)]
    assert codes == [401] * 5 + [429]
    assert sign_in(client, "rita") == 429  # even the right password, until the window passes


def test_a_forged_form_is_refused(client: TestClient) -> None:
    assert sign_in(client, "ann") == 303
    r = client.post(f"{PLANS}E08000035/decide", data={"csrf": "forged", "rule_id": "BCF-ARITH-006",
                                                            "location": "Benefits I6", "decision": "accepted", "reason": "x"})
    assert r.status_code == 403 and "expired" in r.text
    assert "accepted" not in client.get("/console/decisions").text


def test_a_regional_account_sees_its_region_only(client: TestClient) -> None:
    assert sign_in(client, "rita") == 303
    overview = client.get(PLANS).text
    assert "Barking and Dagenham" in overview and "Leeds" not in overview and "1 of 1 plans" in overview
    assert client.get(f"{PLANS}E08000035").status_code == 403
    assert client.get(f"{PLANS}E08000035/letter").status_code == 403
    t = token(client.get(f"{PLANS}{LONDON}").text)
    r = client.post(f"{PLANS}E08000035/decide", data={"csrf": t, "rule_id": "BCF-ARITH-006",
                                                            "location": "Benefits I6", "decision": "accepted", "reason": "x"})
    assert r.status_code == 403


def test_filters_by_region_and_category(client: TestClient) -> None:
    assert sign_in(client, "ann") == 303
    page = client.get(PLANS, params={"category": "Approved with support"}).text
    assert "Leeds" in page and "Barking" not in page and "1 of 2 plans" in page
    assert "Leeds" not in client.get(PLANS, params={"region": "London"}).text


@pytest.fixture
def served(console_files: tuple[Path, Path], tmp_path: Path) -> Iterator[str]:
    console = ConsoleSettings(*console_files, state=tmp_path / "state.sqlite")
    with serving(create_app(Settings(workdir=tmp_path, workers=1, console=console))) as url:
        yield url


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
def test_accepting_an_explanation_in_a_browser(served: str, browser: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page = browser.new_page()
    page.goto(served + "/console/")
    assert page.url.endswith("/console/login")
    violations = {"login": axe.run(page).violations_count}
    page.fill("#name", "ann")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/2015-16/plan/$"))
    violations["round"] = axe.run(page).violations_count
    page.get_by_role("link", name="Leeds").click()
    expect(page.locator(".lead")).to_contain_text("Approved with support")
    violations["plan"] = axe.run(page).violations_count
    page.get_by_label("Reason for your decision").fill("The netting was agreed with the region")
    page.get_by_role("button", name="Accept").click()
    page.wait_for_selector(".notice")
    assert "Recorded" in page.locator(".notice").inner_text()
    lead = page.locator(".lead").inner_text()
    assert "category Approved" in lead and "Approved with support" not in lead
    page.get_by_role("link", name="Preview the letter").click()
    page.wait_for_url(re.compile(r"/letter$"))
    assert "Accepted: The netting was agreed with the region" in page.content()
    assert "Assurance category: Approved" in page.locator(".category").inner_text()
    page.goto(served + "/console/decisions")
    assert "The netting was agreed with the region" in page.content()
    violations["decisions"] = axe.run(page).violations_count
    assert violations == dict.fromkeys(violations, 0)


def test_the_overview_puts_what_waits_first_and_is_searched_and_sorted_in_a_browser(served: str, browser: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 844})
        page.goto(served + "/console/login")
        page.fill("#name", "ann")
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/console/2015-16/plan/$"))
        assert page.locator("h1").inner_text() == "Round 2015-16: waiting for a decision"
        rows = page.locator("tbody tr")
        assert rows.count() == 1 and "Leeds" in rows.first.inner_text()  # only Leeds has an explanation waiting
        assert Axe().run(page).violations_count == 0
        page.get_by_role("link", name=re.compile(r"^Every plan")).click()
        expect(page.locator("tbody tr")).to_have_count(2)
        page.get_by_label("Plan name").fill("bark")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("tbody tr td:first-child")).to_have_text(["Barking and Dagenham"])
        page.get_by_label("Plan name").fill("")
        page.get_by_label("Order").select_option("name")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("tbody tr td:first-child")).to_have_text(["Barking and Dagenham", "Leeds"])
        assert page.get_by_role("link", name="2015-16", exact=True).count() == 1  # the round switcher
        assert Axe().run(page).violations_count == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the screen
        page.close()
