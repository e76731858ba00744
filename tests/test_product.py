"""The outputs as one product for people who read at volume: the self-check leads with what to fix, even on a
phone; the letters index can be filtered and sorted; and every spreadsheet prints to the width of its page."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from bcf import samples
from bcf.cli import main
from bcf.generate import write_workbook
from bcf.letters import write_letters
from bcf.national import stress
from bcf.national.door import open_store
from bcf.web import Settings, create_app
from tests.support import AREAS, CHROMIUM, PLAN, ROUND, serving

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
needs_office = pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                                  reason="needs LibreOffice (soffice) and poppler-utils (pdftotext)")


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A plan with problems on several sheets, and a clean plan whose evidence is rated Low (ready, yet below
    Approved)."""
    out = tmp_path_factory.mktemp("plans")
    bad = samples.build_plan(AREAS.find("Leeds"), random.Random(7), PLAN)  # type: ignore[arg-type]
    bad.filled.fields.update(contact_email="finance team", contingency="£2,635,000", lead_council=None)
    weak = samples.build_plan(AREAS.find("County Durham"), random.Random(3), PLAN)  # type: ignore[arg-type]
    for b in weak.filled.tables["benefits"]:
        if b:
            b["confidence"] = "Low"
    paths = {"bad": out / "bad.xlsx", "weak": out / "weak.xlsx"}
    write_workbook(bad.spec, paths["bad"], bad.filled)
    write_workbook(weak.spec, paths["weak"], weak.filled)
    return paths


def violations(page: Any) -> list[tuple[str, int]]:
    from axe_playwright_python.sync_playwright import Axe

    return [(v["id"], len(v["nodes"])) for v in Axe().run(page, options=None).response["violations"]]


def headings_on_one_line(page: Any) -> list[str]:
    """The table headings that wrap onto a second line (a word broken in the middle does)."""
    return page.evaluate("""[...document.querySelectorAll('thead th')].filter(th => {
        const r = document.createRange(); r.selectNodeContents(th);
        return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1;
    }).map(th => th.textContent)""")


def test_the_pounds_message_names_the_value_to_enter(plans: dict[str, Path]) -> None:
    run = CliRunner().invoke(main, ["check", str(plans["bad"])])
    assert ('You entered "£2,635,000" where a number is needed. This looks like pounds and the cell is in £000 '
            '(thousands of pounds): enter "2635".') in run.output
    assert "Found: £2,635,000   Expected: 2635" in run.output


@needs_chromium
@pytest.mark.slow  # the self-check's result pages at two sizes through axe: `make test-all` and CI run it
def test_the_self_check_leads_with_what_to_fix(plans: dict[str, Path], tmp_path: Path, browser: Any) -> None:
    """On the web page and the HTML report, a phone shows the first finding on its first screen, the category
    comes after the findings with the sentence that joins it to the verdict, and no heading breaks mid-word."""
    for name in ("bad", "weak"):
        CliRunner().invoke(main, ["check", str(plans[name]), "--format", "html", "-o", str(tmp_path / f"{name}.html")])
    with serving(create_app(Settings(workdir=tmp_path / "web"))) as url:
        for size in (PHONE, DESKTOP):
            page = browser.new_page(viewport=size)
            page.goto(url + "/")
            page.set_input_files("#workbook", str(plans["bad"]))
            page.get_by_role("button", name="Check the workbook").click()
            page.wait_for_selector(".verdict-title")
            first = page.locator("table.table tbody tr").first.bounding_box()
            if size is PHONE:
                assert first["y"] < PHONE["height"], f"the first finding starts {first['y']:.0f} px down"
            assert first["y"] < page.locator("#preview-title").bounding_box()["y"]
            assert violations(page) == [], ("web results", size)
            page.close()
    for name in ("bad", "weak"):
        for size in (PHONE, DESKTOP):
            page = browser.new_page(viewport=size)
            page.goto((tmp_path / f"{name}.html").as_uri())
            assert violations(page) == [], (name, size)
            if size is DESKTOP:
                assert headings_on_one_line(page) == []
            if name == "bad":
                top = page.locator("tbody tr").first.bounding_box()["y"]
                assert top < page.locator("#preview-title").bounding_box()["y"]
                assert size is DESKTOP or top < PHONE["height"], f"the first finding starts {top:.0f} px down"
            else:
                joined = page.locator(".joining").inner_text()
                assert joined.startswith("Ready to submit means the workbook passes every check, not that the plan is "
                                         'approved outright: on its figures today the central team\'s stress test would place '
                                         'it in "Approved subject to conditions"')
            page.close()


@pytest.fixture(scope="module")
def letters_index(national: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("letters")
    db = out / "n.duckdb"
    shutil.copy(national, db)
    with open_store(db, write=True) as nat:
        stress.run(nat, ROUND, PLAN.round.params())
        write_letters(nat, out, PLAN.round.params(), ROUND, pdf=False)
    return out / ROUND / "index.html"


@needs_chromium
@pytest.mark.slow  # a whole round's letters filtered and sorted in a browser: `make test-all` and CI run it
def test_the_letters_index_counts_filters_and_sorts(letters_index: Path, browser: Any) -> None:
    page = browser.new_page(viewport=DESKTOP, java_script_enabled=False)  # without scripts: a list by category
    page.goto(letters_index.as_uri())
    assert not page.locator("#choose").is_visible()
    groups = page.locator("section.category-group h2").all_inner_texts()
    counts = dict(zip(page.locator("table.counts tbody th").all_inner_texts(),
                      map(int, page.locator("table.counts tbody td").all_inner_texts()), strict=True))
    assert counts["All plans"] == 151 == page.locator("tbody tr[data-plan]").count()
    assert [g.split(" (")[0] for g in groups] == [c for c in ("Not approved", "Approved subject to conditions",
                                                             "Approved with support", "Approved") if counts[c]]
    page.close()
    for size in (DESKTOP, PHONE):
        page = browser.new_page(viewport=size)
        page.goto(letters_index.as_uri())
        assert violations(page) == [], size
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        page.select_option("#f-category", "Approved with support")
        shown = page.locator("tbody tr[data-plan]:visible")
        assert shown.count() == counts["Approved with support"]
        assert page.locator("#shown").inner_text() == f"Showing {counts['Approved with support']} of 151 letters."
        page.select_option("#f-category", "")
        page.select_option("#f-region", "London")
        regions = set(page.locator("tbody tr[data-plan]:visible td[data-label=Region]").all_inner_texts())
        assert regions == {"London"} and shown.count() == 33
        page.select_option("#f-region", "")
        page.select_option("#f-sort", "blocking")
        for group in page.locator("section.category-group").all():
            blocking = [int(b) for b in group.locator("tbody td[data-label=Blocking]").all_inner_texts()]
            assert blocking == sorted(blocking, reverse=True)
        assert violations(page) == [], ("filtered", size)
        page.close()


# -- spreadsheets that print --------------------------------------------------------------------------------

def printed(xlsx: Path, out: Path) -> list[str]:
    """The text of each page of the workbook printed to PDF by LibreOffice (``out``: a test's tmp_path). The
    office keeps its profile in the test process's own temporary folder, so that test processes printing at the
    same time do not share one running office."""
    profile = (out.parent / "office-profile").as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir",
                    str(out), str(xlsx)], check=True, capture_output=True, timeout=180)
    pdf = out / xlsx.with_suffix(".pdf").name
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def right_edges(pdf: Path) -> list[tuple[float, float]]:
    """(page width, the right edge of its right-most word) of each page."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    out = []
    for page in xml.split("<page ")[1:]:
        width = float(re.search(r'width="([\d.]+)"', page)[1])  # type: ignore[index]
        out.append((width, max((float(x) for x in re.findall(r'xMax="([\d.]+)"', page)), default=0.0)))
    return out


def overlapping(pdf: Path, page: int) -> list[tuple[str, str]]:
    """Pairs of lines of text on a page that print over each other (by more than a third of a line's height)."""
    xml = subprocess.run(["pdftotext", "-bbox-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    lines = [(*map(float, m.groups()[:4]), " ".join(re.findall(r">([^<]*)</word>", m[5]))) for m in re.finditer(
        r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', xml, re.S)]
    assert lines
    return [(str(a[4]), str(b[4])) for i, a in enumerate(lines) for b in lines[i + 1:]
            if min(a[2], b[2]) > max(a[0], b[0])  # side by side
            and min(a[3], b[3]) - max(a[1], b[1]) > min(a[3] - a[1], b[3] - b[1]) / 3]


@needs_office
def test_the_export_prints_every_sheet_to_its_page_width(national: Path, tmp_path: Path) -> None:
    """Every page repeats its sheet's heading row whole: no sheet's columns are split across pages."""
    db = tmp_path / "n.duckdb"
    shutil.copy(national, db)
    with open_store(db, write=True) as nat:
        stress.run(nat, ROUND, PLAN.round.params())
    CliRunner().invoke(main, ["export", "--db", str(db), "--round", ROUND, "--format", "xlsx", "-o", str(tmp_path)])
    (xlsx,) = tmp_path.glob("*.xlsx")
    wb = openpyxl.load_workbook(xlsx)
    headings = {ws.title: [str(c.value) for c in ws[1]] for ws in wb.worksheets[1:]}
    pages = printed(xlsx, tmp_path)
    assert len(pages) <= 45, f"the export prints as {len(pages)} pages"
    for number, text in enumerate(pages[1:], 2):
        words = set(text.split())
        whole = [t for t, hs in headings.items() if all(set(h.split()) <= words for h in hs)]
        assert whole, f"page {number} does not carry every column heading of its sheet: {text[:200]!r}"
    for width, right in right_edges(tmp_path / xlsx.with_suffix(".pdf").name):
        assert right <= width - 20


@needs_office
def test_the_template_and_the_annotated_copy_print(plans: dict[str, Path], tmp_path: Path) -> None:
    """Guidance steps do not print over each other; the Findings sheet and the category fit their pages."""
    template = tmp_path / "template.xlsx"
    CliRunner().invoke(main, ["template", "new", "--round", ROUND, "-o", str(template)])
    guidance = printed(template, tmp_path)[0]
    steps = [line.strip() for line in guidance.splitlines() if re.match(r"\s*\d\. ", line)]
    assert [s[:2] for s in steps] == ["1.", "2.", "3.", "4.", "5."], guidance
    assert overlapping(tmp_path / "template.pdf", 1) == []  # no line prints over another
    for width, right in right_edges(tmp_path / "template.pdf"):
        assert right <= width - 20

    copy = tmp_path / "annotated.xlsx"
    CliRunner().invoke(main, ["check", str(plans["bad"]), "--annotate", str(copy)])
    pages = printed(copy, tmp_path)
    first = " ".join(pages[0].split())
    assert "Severity Rule Sheet Cell Problem How to fix it" in first and "Not ready to submit:" in first
    assert "would place this plan in" in first
    assert any("Assurance category (provisional)" in p for p in pages[1:3])
    for width, right in right_edges(tmp_path / "annotated.pdf")[:3]:
        assert right <= width - 20, "text runs off the page"
    assert overlapping(tmp_path / "annotated.pdf", 1) == [] and overlapping(tmp_path / "annotated.pdf", 2) == []


# -- small things ------------------------------------------------------------------------------------------

def test_help_lists_commands_in_the_order_a_user_meets_them() -> None:
    text = CliRunner().invoke(main, ["--help"]).output
    listed = re.findall(r"^  (\w+)\s", text.split("Commands:")[1], re.M)
    assert listed[:7] == ["template", "check", "batch", "national", "stress", "letters", "report"]
    commands = " ".join(text.split("Commands:")[1].split())
    assert "..." not in commands.replace("--db ... --users", "")  # no summary cut short
    assert "--users FILE)." in " ".join(text.split())


def test_no_page_nests_main_in_main() -> None:
    """A page built on the base layout gets its one <main> from it."""
    from bcf import content

    pages = [p for p in content.path("reports").rglob("*.j2") if '{% extends "_base.html.j2" %}' in p.read_text()]
    assert len(pages) >= 5
    assert [p.name for p in pages if "<main" in p.read_text()] == []
