"""The self-check web page: its routes through Starlette's test client, and one run in a real browser."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from itertools import takewhile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from bcf import rounds
from bcf.cli import main
from bcf.generate import write_workbook
from bcf.preview import preview
from bcf.validate import check_file
from bcf.web import App, Settings, create_app
from bcf.web.app import cap_bytes
from bcf.web.results import findings_csv, neutral
from tests.support import AREAS, CHROMIUM, PLAN, plan_for, serving

SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A clean plan, one with planted defects, and a PDF wearing an .xlsx name."""
    out = tmp_path_factory.mktemp("workbooks")
    good, bad, pdf = out / "good.xlsx", out / "bad.xlsx", out / "plan.xlsx"
    write_workbook(PLAN.spec(), good, plan_for().filled)
    write_workbook(PLAN.spec(), bad, plan_for(contact_email=SCRIPT, share_la=5).filled)
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n")
    return {"good": good, "bad": bad, "pdf": pdf}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    return create_app(Settings(workdir=tmp_path_factory.mktemp("web")))


@pytest.fixture(scope="module")
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app) as c:  # runs the lifespan: workers start, and stop at the end
        yield c


def upload(client: TestClient, path: Path, name: str | None = None) -> Any:
    return client.post("/check", files={"workbook": (name or path.name, path.read_bytes(), "application/octet-stream")})


def links(html: str) -> dict[str, str]:
    """Download links on a results page: {download name: path}."""
    return {m.group(2): m.group(1) for m in re.finditer(r'href="(/download/[A-Za-z0-9_-]{32}/([\w.-]+))"', html)}


def assert_secure(r: Any) -> None:
    for name, value in SECURITY.items():
        assert r.headers[name] == value, name
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "script-src" not in csp


def no_uploads_left(app: App) -> None:
    assert not any((app.workdir / "uploads").rglob("*")), list((app.workdir / "uploads").rglob("*"))


# --- pages -------------------------------------------------------------------------------------------------

def test_start_page_explains_and_offers_template_and_upload(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<h1>Check your Better Care Fund plan before you submit it</h1>" in html
    options = re.findall(r'<option value="(E\d{8})">([^<]+)</option>', html)
    assert len(options) == len(AREAS.all) == 152
    assert ("E08000035", "Leeds") in options
    assert '<label class="label" for="hwb">' in html and '<form action="/template" method="get">' in html
    assert re.search(r'<label class="label[^"]*" for="workbook">Check your completed workbook</label>', html)
    assert re.search(r'<input [^>]*id="workbook" name="workbook" type="file" accept="\.xlsx', html)
    assert 'enctype="multipart/form-data"' in html and 'href="/rules"' in html
    assert "<script" not in html and "style=" not in html and "<style" not in html  # nothing inline, for the CSP
    css = client.get("/static/bcf.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_rules_page_has_every_rule_with_its_anchor(client: TestClient) -> None:
    html = client.get("/rules").text
    for rule_id in ("BCF-GATE-002", "BCF-CELL-006", "BCF-ARITH-005"):
        assert f'id="{rule_id.lower()}"' in html
    assert "{found}" not in html and "{label}" not in html and "[what was found]" in html


def test_template_download_for_one_hwb(client: TestClient) -> None:
    r = client.get("/template", params={"hwb": "E08000035"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["content-disposition"] == f'attachment; filename="{rounds.latest().ret("plan").template_id}-E08000035.xlsx"'
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb["Cover"]["C4"].value == "Leeds"
    blank = openpyxl.load_workbook(io.BytesIO(client.get("/template", params={"hwb": ""}).content))
    assert blank["Cover"]["C4"].value in (None, "")
    bad = client.get("/template", params={"hwb": "../../etc/passwd"})
    assert bad.status_code == 400 and "Choose a Health and Wellbeing Board" in bad.text


# --- checking uploads --------------------------------------------------------------------------------------

def test_good_workbook_is_ready(client: TestClient, app: App, workbooks: dict[str, Path]) -> None:
    r = upload(client, workbooks["good"])
    assert r.status_code == 200
    assert '<h1 class="verdict-title">Ready to submit</h1>' in r.text
    assert "0 blocking problems" in r.text and "Leeds" in r.text
    # ready to submit, and the page says plainly what the central team's stress test would decide today
    pv = preview(check_file(workbooks["good"]))
    assert pv is not None and f"Assurance category (provisional): {pv.assessment.category}" in r.text
    assert "Optimism ratio" in r.text and "national parameters" in r.text and "Done when:" in r.text
    assert set(links(r.text)) == {"marked-up.xlsx", "findings.csv", "findings.json"}
    no_uploads_left(app)


def test_defective_workbook_findings_escaped(client: TestClient, app: App, workbooks: dict[str, Path]) -> None:
    r = upload(client, workbooks["bad"], name="<b>Leeds</b> plan.xlsx")
    html = r.text
    assert r.status_code == 200
    assert '<h1 class="verdict-title">Not ready to submit</h1>' in html
    assert "1 blocking problem, 1 advisory point" in html
    assert "Sheet: Cover" in html and "Sheet: Governance" in html
    assert 'href="/rules#bcf-cell-006"' in html and 'href="/rules#bcf-arith-005"' in html
    assert ">C12<" in html and ">C11<" in html
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Leeds</b>" not in html and "&lt;b&gt;Leeds&lt;/b&gt; plan.xlsx" in html
    no_uploads_left(app)


def test_unusable_file_could_not_be_checked(client: TestClient, app: App, workbooks: dict[str, Path]) -> None:
    r = upload(client, workbooks["pdf"])
    assert r.status_code == 200
    assert '<h1 class="verdict-title">This file could not be checked</h1>' in r.text
    assert 'href="/rules#bcf-gate-013"' in r.text and "a PDF document" in r.text
    assert set(links(r.text)) == {"findings.csv", "findings.json"}  # nothing to mark up
    assert "There is no marked-up copy" in r.text
    no_uploads_left(app)


def test_no_file_chosen(client: TestClient) -> None:
    r = client.post("/check", files={"workbook": ("", b"", "application/octet-stream")})
    assert r.status_code == 400
    assert "There is a problem" in r.text and 'href="#workbook">Choose the workbook to check.' in r.text
    assert client.post("/check", data={"other": "x"}).status_code == 400  # not even multipart


def test_upload_over_the_cap_is_refused(client: TestClient, app: App) -> None:
    too_big = b"PK" + b"\0" * cap_bytes()
    r = client.post("/check", files={"workbook": ("big.xlsx", too_big, "application/octet-stream")})
    assert r.status_code == 413
    assert "The file is too large" in r.text and "5 MB" in r.text
    assert_secure(r)

    def chunks() -> Iterator[bytes]:  # no declared length: refused while arriving
        boundary = b"--x\r\nContent-Disposition: form-data; name=\"workbook\"; filename=\"big.xlsx\"\r\n\r\n"
        yield boundary
        for _ in range(cap_bytes() // 65536 + 2):
            yield b"\0" * 65536
    r = client.post("/check", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413
    no_uploads_left(app)


def test_upload_written_under_server_name_and_deleted(client: TestClient, app: App, workbooks: dict[str, Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Path, bool]] = []
    real = app.checker.check

    async def spy(path: Path, annotated: Path | None) -> Any:
        seen.append((path, path.is_file()))
        return await real(path, annotated)

    monkeypatch.setattr(app.checker, "check", spy)
    upload(client, workbooks["good"], name="../../../tmp/evil.xlsx")
    (path, existed), = seen
    assert existed and path.name == "workbook.xlsx" and path.parent.parent == app.workdir / "uploads"
    assert not path.exists() and not path.parent.exists()
    assert not Path("/tmp/evil.xlsx").exists()


# --- downloads ---------------------------------------------------------------------------------------------

def test_annotated_copy_json_and_csv(client: TestClient, workbooks: dict[str, Path], tmp_path: Path) -> None:
    got = links(upload(client, workbooks["bad"]).text)
    r = client.get(got["marked-up.xlsx"])
    assert r.status_code == 200 and r.headers["content-disposition"] == 'attachment; filename="E08000035-marked-up.xlsx"'
    assert_secure(r)
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == "Findings"
    table = takewhile(any, wb["Findings"].iter_rows(min_row=2, values_only=True))  # the findings, then the verdict
    assert {row[1] for row in table} == {"BCF-CELL-006", "BCF-ARITH-005"}
    for sheet, cell, colour in (("Cover", "C12", "FFD966"), ("Governance", "C11", "F4A09A")):  # advisory, blocking
        assert wb[sheet][cell].fill.fgColor.rgb.endswith(colour)
        assert wb[sheet][cell].comment is not None

    doc = json.loads(client.get(got["findings.json"]).text)
    assert doc["schema"] == "bcf-check/1" and doc["status"] == "not ready" and doc["file"] == "bad.xlsx"
    assert [f["rule_id"] for f in doc["findings"]] == ["BCF-CELL-006", "BCF-ARITH-005"]

    r = client.get(got["findings.csv"])
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [(x["sheet"], x["cell"], x["rule_id"]) for x in rows] == [("Cover", "C12", "BCF-CELL-006"),
                                                                     ("Governance", "C11", "BCF-ARITH-005")]
    assert rows[0]["found"] == SCRIPT


def test_csv_neutralises_formulas(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    write_workbook(PLAN.spec(), path, plan_for(contact_email="@SUM(1+1)").filled)
    rows = list(csv.DictReader(io.StringIO(client.get(links(upload(client, path).text)["findings.csv"]).text)))
    assert rows[0]["found"] == "'@SUM(1+1)"
    assert [neutral(v) for v in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx", "ok", -5.0)] == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\tx", "'\rx", "ok", -5.0]
    assert findings_csv.__name__  # the same function writes every CSV download


def test_downloads_expire(client: TestClient, app: App, workbooks: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    got = links(upload(client, workbooks["good"]).text)
    folders = [k.folder for k in app.results._kept.values()]
    assert client.get(got["findings.json"]).status_code == 200
    later = time.monotonic() + 16 * 60
    monkeypatch.setattr(app.results, "clock", lambda: later)
    r = client.get(got["findings.json"])
    assert r.status_code == 404 and "no longer available" in r.text
    assert not any(f.exists() for f in folders)
    assert client.get("/download/" + "A" * 32 + "/findings.json").status_code == 404
    assert client.get("/download/..%2F..%2Fetc/passwd").status_code == 404


# --- safety ------------------------------------------------------------------------------------------------

def test_security_headers_everywhere(client: TestClient) -> None:
    for path in ("/", "/rules", "/static/bcf.css", "/no-such-page", "/template?hwb=E08000035"):
        assert_secure(client.get(path))
    assert client.get("/").headers["cache-control"] == "no-store"
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "Page not found" in r.text
    r = client.get("/check", follow_redirects=False)
    assert r.status_code == 303


def test_server_error_shows_no_details(tmp_path: Path, workbooks: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(path: Path, annotated: Path | None) -> Any:
        raise RuntimeError("secret detail /etc/shadow")

    app = create_app(Settings(workdir=tmp_path, workers=1))
    with TestClient(app, raise_server_exceptions=False) as c:
        monkeypatch.setattr(app.checker, "check", broken)
        r = upload(c, workbooks["good"])
    assert r.status_code == 500
    assert "Sorry, there is a problem with the service" in r.text
    assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    assert_secure(r)
    no_uploads_left(app)


def test_check_time_limit(tmp_path: Path, workbooks: dict[str, Path]) -> None:
    with TestClient(create_app(Settings(workdir=tmp_path, check_seconds=0.001, workers=1))) as c:
        r = upload(c, workbooks["good"])
    assert r.status_code == 200
    assert "This file could not be checked in time" in r.text and 'href="/rules#bcf-gate-011"' in r.text


def test_a_worker_that_died_is_replaced_before_the_next_upload(tmp_path: Path, workbooks: dict[str, Path]) -> None:
    app = create_app(Settings(workdir=tmp_path, workers=1))
    with TestClient(app) as c:
        for proc in list(app.checker._pools[0]._processes.values()):  # as if a file had crashed it
            proc.kill()
            proc.join()
        assert "Ready to submit" in upload(c, workbooks["good"]).text  # a fresh worker took its place first
        no_uploads_left(app)


def test_serve_command_is_listed() -> None:
    out = CliRunner().invoke(main, ["serve", "--help"]).output
    assert "--host" in out and "127.0.0.1" in out and "--port" in out and "--keep-minutes" in out


# --- in a real browser -------------------------------------------------------------------------------------

@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1; yields its address."""
    with serving(create_app(Settings(workdir=tmp_path))) as url:
        yield url


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
def test_in_a_browser(served: str, workbooks: dict[str, Path], browser: Any) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    page.goto(served + "/")
    assert page.locator("h1").inner_text() == "Check your Better Care Fund plan before you submit it"
    focus = []
    for _ in range(3):  # keyboard order: skip link, service name, then the file to check
        page.keyboard.press("Tab")
        focus.append(page.evaluate("document.activeElement.id || document.activeElement.textContent"))
    assert focus == ["Skip to main content", "Better Care Fund plan self-check", "workbook"]

    page.set_input_files("#workbook", str(workbooks["bad"]))
    start = time.perf_counter()
    page.get_by_role("button", name="Check the workbook").click()
    page.wait_for_selector(".verdict-title")
    seconds = time.perf_counter() - start
    assert page.locator(".verdict-title").inner_text() == "Not ready to submit"
    cells = page.locator("table.table tbody td.col-cell").all_inner_texts()
    assert cells == ["C12", "C11"]
    assert page.get_by_role("cell", name=SCRIPT, exact=True).count() == 1  # shown as text, never run
    assert page.get_by_role("link", name=re.compile("About check BCF-CELL-006")).count() == 1
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("A copy of your workbook")).click()
    assert info.value.suggested_filename == "E08000035-marked-up.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(info.value.path().read_bytes()))
    assert wb.sheetnames[0] == "Findings"
    assert not problems, problems  # no script ran, nothing blocked by the CSP, no missing file
    assert seconds < 10, f"upload to results took {seconds:.1f}s"


def test_a_result_names_the_workbook_s_own_round(client: TestClient, workbooks: dict[str, Path]) -> None:
    """The page offers the latest round's template; a checked workbook of an earlier round is shown under its own."""
    assert rounds.latest().id != "2015-16"
    r = upload(client, workbooks["good"])
    assert '<span class="header-round">2015/16 planning round</span>' in r.text
    assert "2016/17 planning round" not in r.text
