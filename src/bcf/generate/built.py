"""The workbook built cell by cell with openpyxl: every sheet, cell, style, validation and formula, in one place.

This is the one description of a generated workbook. Writing a file does not build it each time: ``copies``
builds the blank workbook of a template and layout here once a process and fills copies of it; what a filled
copy must equal is this module's build of the filled workbook, saved by openpyxl (``save_built``).
"""

from __future__ import annotations

from collections.abc import Hashable

from openpyxl import Workbook

from bcf import rounds
from bcf.generate import cached as saved
from bcf.generate.cells import Filled, Formulas, Layout
from bcf.generate.reference import Checklist, hide_lists, write_guidance, write_lists
from bcf.generate.sheets import Contents, DataSheets
from bcf.generate.styles import Styles, Validations, register_time_formats
from bcf.spec import CHECKLIST_SHEET, LISTS_SHEET, Spec


def build(spec: Spec, filled: Filled, layout: Layout) -> tuple[Workbook, Contents]:
    """The workbook, and what the submitter's values put in it (each formula's value among them)."""
    wb = Workbook()
    wb.remove(wb.active)
    register_time_formats(wb)
    rnd = rounds.of(spec).round
    lists = write_lists(wb, spec, rnd.areas)
    contents = Contents.of(spec, filled, layout, Formulas(spec, layout, lists.lookup_range, lists.lookup_columns))
    checks = rnd.values()["checks"]
    data = DataSheets(spec, layout, contents, Styles(wb),
                      Validations(lists.dropdowns, (checks["date_earliest"], checks["date_latest"]), spec.deadline))
    for s in spec.sheets:
        if not layout.title(s.name):
            continue
        ws = wb.create_sheet(layout.title(s.name))
        if s.guidance:
            write_guidance(ws, spec)
        else:
            data.write(ws, s)
    Checklist(spec, layout, filled, contents.values).write(wb.create_sheet(CHECKLIST_SHEET))
    hide_lists(wb)
    wb.calculation.fullCalcOnLoad = True
    return wb, contents


def template_only(spec: Spec, layout: Layout) -> dict[str, Hashable]:
    """The sheets whose content depends on the template (and the sheets the layout keeps) alone, by title: the
    Lists sheet and the Guidance, written before any sheet that holds what was typed."""
    key = (spec, tuple(sorted(layout.titles.items())))
    return {LISTS_SHEET: key, **{layout.title(s.name): key for s in spec.sheets if s.guidance and layout.title(s.name)}}


def save_built(spec: Spec, filled: Filled, layout: Layout, cached_values: bool = True) -> bytes:
    """The workbook built cell by cell and saved by openpyxl: how each template is made, and what every copy
    filled from it must equal."""
    wb, contents = build(spec, filled, layout)
    return saved.save(wb, contents.cached if cached_values else None, template_only(spec, layout))


