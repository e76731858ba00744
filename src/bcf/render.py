"""The Jinja2 environment for every page and letter (autoescaped, strict), its filters, and PDF output."""

from __future__ import annotations

import datetime as dt
import gc
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bcf import content, sandbox
from bcf.findings import show
from bcf.shown import escaped
from bcf.words import count, money, moved, pct, plural, ratio

Nav = Sequence[tuple[str, str]]  # links from a page to its neighbours: (words, relative address)
STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)  # a page's own stylesheet


def heading(column: str) -> str:
    """'minimum_pooled_000' → 'Minimum pooled £000': a column name as a table heading."""
    words = column.replace("_000", "_£000").replace("_pct", "_%").split("_")
    acronyms = {"hwbs": "HWBs", "hwb": "HWB", "p4p": "P4P", "nel": "NEL", "ccg": "CCG", "la": "LA", "id": "ID"}
    text = " ".join(acronyms.get(w, w) for w in words)
    return text[:1].upper() + text[1:]


def date(v: Any) -> str:
    return f"{v:%d %B %Y}".lstrip("0") if isinstance(v, (dt.date, dt.datetime)) else str(v or "")


def assumption(v: Any, unit: str = "") -> str:
    """An assumption's value as a reader writes it: shares and percentages with %, pounds with £, lists joined,
    dates as dates."""
    if isinstance(v, list | tuple):
        return ", ".join(assumption(x, unit) for x in v)
    if isinstance(v, dt.date):
        return date(v)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if unit == "share":
        v = 100 * v
    number = f"{v:,.0f}" if float(v).is_integer() else f"{v:,g}"
    return {"share": f"{number}%", "percent": f"{number}%", "pounds": f"£{number}"}.get(unit, number)


def counts_as(weight: float) -> str:
    """How an evidence weight counts: 'in full', 'at 50%', 'not at all'."""
    return "in full" if weight == 1 else "not at all" if weight == 0 else f"at {weight:.0%}"


def scenario(label: str) -> str:
    return "Admissions follow the trend" if label == "trend" else f"{label.split()[0]} of the cut delivered"


def _shown(v: Any) -> Any:
    """Every value a template prints: plain text with no character that could reorder or hide what is around it."""
    return escaped(v, lines=True) if type(v) is str else v


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(content.path("reports")), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=_shown)
    env.filters.update(money=money, moved=moved, ratio=ratio, show=show, count=count, pct=pct, date=date,
                       scenario=scenario, counts_as=counts_as, assumption=assumption, plural=plural)
    return env


def write_pdf(html: str, out: Path) -> None:
    """Print an HTML page to PDF with WeasyPrint (imported only when PDFs are asked for).

    A process keeps WeasyPrint's fonts, and a page's one stylesheet parsed, for every page it prints after: the
    stylesheet is taken out of the page and given to WeasyPrint already parsed, which prints the same PDF.
    """
    from weasyprint import HTML

    sheets = STYLE.findall(html)
    if len(sheets) == 1 and html.count("<style") == 1 and "<link" not in html:
        html, stylesheets = STYLE.sub("", html, count=1), [_stylesheet(sheets[0])]
    else:
        stylesheets = []
    HTML(string=html, base_url=str(content.path("reports"))).write_pdf(out, stylesheets=stylesheets, font_config=_fonts())


@cache
def _fonts() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@cache
def _stylesheet(css: str) -> Any:
    from weasyprint import CSS

    return CSS(string=css, base_url=str(content.path("reports")), font_config=_fonts())


def _start_printing() -> None:
    sandbox.leave_interrupt_to_parent()
    # laying out a page makes many short-lived objects: collecting cycles less often saves about a tenth of the time
    gc.set_threshold(50_000, 20, 100)
    _fonts()  # WeasyPrint loaded as the worker starts, not inside its first page


def _started() -> None:
    """Nothing: a first task for each worker, so that every worker starts at once."""


@contextmanager
def printing(workers: int) -> Iterator[Callable[[str, Path], None]]:
    """Print pages to PDF in ``workers`` processes as they are handed over (``print_pdf(html, out)``).

    The workers start and load WeasyPrint at once, alongside whatever the caller does before its first page.
    Leaving the block waits for every page and raises the first failure.
    """
    pool = ProcessPoolExecutor(workers, mp_context=sandbox.spawn_context(), initializer=_start_printing)
    try:
        jobs = [pool.submit(_started) for _ in range(workers)]
        yield lambda html, out: jobs.append(pool.submit(write_pdf, html, out))
        for job in jobs:
            job.result()
    except BaseException:  # stopped (Ctrl-C) or failed: the workers go now, not after the pages handed over
        sandbox.kill(pool)
        raise
    finally:
        pool.shutdown(cancel_futures=True)
