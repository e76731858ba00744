"""Every page the tool writes, as its readers get it: PDFs that fit A4 with legible charts, and HTML that passes
axe-core in a real browser and reads on a 390 px phone without scrolling sideways."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bcf.cli import main
from bcf.letters import write_letters
from bcf.national import stress
from bcf.national.door import open_store
from bcf.report import write_national
from tests.support import PLAN, ROUND

CHROMIUM = Path("/usr/bin/chromium")
A4_WIDTH_PT, RIGHT_MARGIN_PT = 595, 16 / 25.4 * 72  # the page and the right margin of reports/_base.html.j2
TEXT_HEIGHT = 1.16  # a word's box in pdftotext is about 1.16 times its font size (DejaVu Sans)


@pytest.fixture(scope="module")
def pages(national: Path, sample_round: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, Path]:
    """The national report (HTML and PDF), the letters index, two letters (HTML and PDF) and a check page."""
    out = tmp_path_factory.mktemp("pages")
    db = out / "n.duckdb"
    shutil.copy(national, db)
    params = PLAN.round.params()
    with open_store(db, write=True) as nat:
        con = nat.con
        stress.run(nat, ROUND, params)
        write_letters(nat, out / "letters", params, ROUND, pdf=False)
        longest = con.execute("SELECT a.plan_code FROM assurance a JOIN current_submissions c USING (submission_id) "
                              "ORDER BY c.blocking + c.advisory DESC, a.plan_code LIMIT 1").fetchall()[0][0]
        first = con.execute("SELECT plan_code FROM assurance ORDER BY plan_code LIMIT 1").fetchall()[0][0]
        for code in (longest, first):
            write_letters(nat, out / "letters", params, ROUND, code, pdf=True)
        report_html, report_pdf = write_national(nat, out / "report", params, ROUND)
    folder, manifest = sample_round
    worst = max(manifest["files"], key=lambda f: len(f["defects"]))
    CliRunner().invoke(main, ["check", str(folder / worst["file"]), "--format", "html", "-o", str(out / "check.html")])
    letters = out / "letters" / ROUND
    return {"report": report_html, "report.pdf": report_pdf, "index": letters / "index.html",
            "letter": letters / f"letter-{longest}.html", "letter.pdf": letters / f"letter-{longest}.pdf",
            "letter2": letters / f"letter-{first}.html", "letter2.pdf": letters / f"letter-{first}.pdf",
            "check": out / "check.html"}


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils (pdftoppm, pdftotext)")
@pytest.mark.parametrize("name", ["report.pdf", "letter.pdf", "letter2.pdf"])
def test_every_table_fits_the_page(pages: dict[str, Path], name: str, tmp_path: Path) -> None:
    """Rendered at 72 dpi (1 px = 1 pt), no page has ink in its right margin: a table wider than the page
    would run into it or off the edge."""
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "72", "-png", str(pages[name]), str(tmp_path / "p")], check=True)
    images = sorted(tmp_path.glob("p*.png"))
    assert images
    for png in images:
        im = Image.open(png).convert("L")
        assert abs(im.width - A4_WIDTH_PT) <= 1, f"{png.name} is not A4 portrait"
        margin = im.crop((round(A4_WIDTH_PT - RIGHT_MARGIN_PT) + 2, 0, im.width, im.height))
        assert margin.getextrema()[0] > 200, f"{name} {png.name}: something runs into the right margin"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")
def test_no_text_in_the_report_prints_below_8_pt(pages: dict[str, Path]) -> None:
    xml = subprocess.run(["pdftotext", "-bbox", str(pages["report.pdf"]), "-"], capture_output=True, text=True,
                         check=True).stdout
    words = [(float(y1) - float(y0), w) for y0, y1, w in
             re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)<', xml)]
    chart_words = [h for h, w in words if w in ("London", "Plans", "Claimed")]
    assert chart_words and len(words) > 500
    smallest = min(h for h, _ in words) / TEXT_HEIGHT
    assert smallest >= 7.9, f"text prints at {smallest:.1f} pt"


@pytest.mark.slow  # every page in a browser at two widths: `make test-all` and CI run it
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_every_page_passes_axe_and_fits_a_phone(pages: dict[str, Path], browser: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 800})
        for name in ("check", "index", "letter", "letter2", "report"):
            page.goto(pages[name].as_uri())
            found = axe.run(page, options=None).response["violations"]
            assert found == [], (name, width, [(v["id"], len(v["nodes"])) for v in found])
            if width == 390:
                scroll = page.evaluate("document.documentElement.scrollWidth")
                assert scroll <= 390, f"{name} is {scroll} px wide on a 390 px phone"
        page.close()
