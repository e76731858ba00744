"""The front door: every output of a store under one index, each page linked back to it and to its neighbours,
walked in a real browser as a reader would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from bcf.site import write_site
from tests.support import CHROMIUM, ROUND, copy_store

pytestmark = pytest.mark.slow  # every round's outputs written as one site and read in a browser: `make test-all` and CI run them


@pytest.fixture(scope="module")
def site(cycle_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    db = out / "n.duckdb"
    copy_store(cycle_store, db)
    return write_site(db, out / "site", pdf=False)


def _links(page: Path) -> list[Path]:
    hrefs = re.findall(r'href="([^"#]+)"', page.read_text(encoding="utf-8"))
    return [(page.parent / h).resolve() for h in hrefs if "://" not in h]


def test_the_index_links_every_output_of_every_round(site: Path) -> None:
    links = _links(site)
    assert links and all(p.exists() for p in links)
    names = {p.relative_to(site.parent).as_posix() for p in links}
    for round_ in (ROUND, "2016-17"):
        assert {f"report/national-assurance-report-{round_}.html", f"letters/{round_}/index.html",
                f"export/bcf-national-{round_}.xlsx"} <= names
    assert {f"monitoring/{ROUND}/quarter-{q}/monitoring-report.html" for q in range(1, 5)} <= names
    assert {f"monitoring/{ROUND}/quarter-{q}/notes/index.html" for q in range(1, 5)} <= names


def test_every_page_leads_back_to_the_index(site: Path) -> None:
    pages = [p for p in site.parent.rglob("*.html") if p != site]
    assert len(pages) > 800  # letters of two rounds, four quarters of notes, and their indexes
    for page in pages:
        links = _links(page)
        assert site.resolve() in links, page
        assert all(p.exists() for p in links), page


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_every_kind_of_page_passes_axe_and_fits_a_phone(site: Path, browser: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    root = site.parent
    kinds = [site, root / "report" / f"national-assurance-report-{ROUND}.html", root / "letters" / ROUND / "index.html",
             next((root / "letters" / ROUND).glob("letter-*.html")), root / "monitoring" / ROUND / "quarter-4" /
             "monitoring-report.html", root / "monitoring" / ROUND / "quarter-4" / "notes" / "index.html",
             next((root / "monitoring" / ROUND / "quarter-1" / "notes").glob("note-*.html"))]
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 800})
        for path in kinds:
            page.goto(path.as_uri())
            found = Axe().run(page, options=None).response["violations"]
            assert found == [], (path.name, width, [(v["id"], len(v["nodes"])) for v in found])
            if width == 390:
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, path.name
        page.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_a_reader_goes_round_the_site_in_a_browser(site: Path, browser: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 800})
        page.goto(site.as_uri())
        assert Axe().run(page, options=None).response["violations"] == []
        page.get_by_role("link", name="National assurance report").first.click()
        expect(page).to_have_title(re.compile("national assurance report"))
        page.get_by_role("link", name="The letters").click()
        expect(page).to_have_title(re.compile("^Feedback letters"))
        page.get_by_role("link", name="All reports").click()
        expect(page).to_have_url(site.as_uri())
        page.get_by_role("link", name="Quarter 4: area notes").click()
        expect(page).to_have_title(re.compile("area notes", re.IGNORECASE))
        assert Axe().run(page, options=None).response["violations"] == []
        page.close()
