"""Write planning workbooks from the template specification: blank templates and filled sample returns.

Every cell position, formula, dropdown, bound and checklist item comes from ``spec``. Calculated cells get
their value computed here too and stored as the formula's cached value, as a spreadsheet program would,
so a file written here reads back like one saved by Excel. This module assembles the workbook from its
parts: positions and values (``cells``), looks and validations (``styles``), the data sheets (``sheets``),
the Lists, Guidance and Checklist sheets (``reference``) and the saved file with its cached values, its
template-only sheets serialised once a process (``cached``).
"""

from __future__ import annotations

import io
from collections.abc import Hashable
from pathlib import Path

from openpyxl import Workbook

from bcf import rounds
from bcf.areas import Area
from bcf.errors import UnknownArea
from bcf.generate import cached as saved
from bcf.generate.cells import Cached, Filled, Formulas, Layout, Values, quote
from bcf.generate.reference import Checklist, hide_lists, write_guidance, write_lists
from bcf.generate.sheets import DataSheets
from bcf.generate.styles import Styles, Validations
from bcf.spec import CHECKLIST_SHEET, LISTS_SHEET, Spec

__all__ = ["Filled", "Layout", "new_template", "quote", "write_workbook"]


def build(spec: Spec, filled: Filled, layout: Layout) -> tuple[Workbook, Cached]:
    """The workbook, and the value each of its formulas computes."""
    wb = Workbook()
    wb.remove(wb.active)
    rnd = rounds.of(spec).round
    lists = write_lists(wb, spec, rnd.areas)
    checks = rnd.values()["checks"]
    data = DataSheets(spec, filled, layout, Formulas(spec, layout, lists.lookup_range, lists.lookup_columns),
                      Values(spec, filled, rnd.areas), Styles(wb),
                      Validations(lists.dropdowns, (checks["date_earliest"], checks["date_latest"]), spec.deadline))
    for s in spec.sheets:
        if not layout.title(s.name):
            continue
        ws = wb.create_sheet(layout.title(s.name))
        if s.guidance:
            write_guidance(ws, spec)
        else:
            data.write(ws, s)
    Checklist(spec, layout, filled, data.values, data.cached).write(wb.create_sheet(CHECKLIST_SHEET))
    hide_lists(wb)
    wb.calculation.fullCalcOnLoad = True
    return wb, data.cached


def template_only(spec: Spec, layout: Layout) -> dict[str, Hashable]:
    """The sheets whose content depends on the template (and the sheets the layout keeps) alone, by title: the
    Lists sheet and the Guidance, written before any sheet that holds what was typed."""
    key = (spec, tuple(sorted(layout.titles.items())))
    return {LISTS_SHEET: key, **{layout.title(s.name): key for s in spec.sheets if s.guidance and layout.title(s.name)}}


def write_workbook(spec: Spec, path: Path | io.BytesIO, filled: Filled | None = None, layout: Layout | None = None,
                   cached_values: bool = True) -> None:
    """Write one workbook: blank when ``filled`` is None; ``cached_values=False`` mimics a never-opened file."""
    layout = layout or Layout()
    wb, cached = build(spec, filled or Filled(), layout)
    data = saved.save(wb, cached if cached_values else None, template_only(spec, layout))
    if isinstance(path, io.BytesIO):
        path.write(data)
    else:
        Path(path).write_bytes(data)


def new_template(spec: Spec, path: Path, hwb: str | None = None) -> Area | None:
    """The blank workbook, with the Cover pre-filled for one HWB when given (name or ONS code)."""
    area = rounds.of(spec).round.areas.find(hwb) if hwb else None
    if hwb and area is None:
        raise UnknownArea(f"{hwb!r} is not a Health and Wellbeing Board in the {spec.round_id} list.")
    filled = Filled(fields={"hwb_name": area.hwb_name, "lead_council": area.hwb_name} if area else {})
    write_workbook(spec, path, filled)
    return area
