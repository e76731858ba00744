"""Write planning workbooks from the template specification: blank templates and filled sample returns.

Every cell position, formula, dropdown, bound and checklist item comes from ``spec``. Calculated cells get
their value computed here too and stored as the formula's cached value, as a spreadsheet program would,
so a file written here reads back like one saved by Excel. The workbook is described once, in ``built``, from its
parts: positions and values (``cells``), what a submitter's values put in it (``sheets.Contents``), the data
sheets (``sheets``), looks and validations (``styles``), the Lists, Guidance and Checklist sheets (``reference``)
and the saved file with its cached values (``cached``). A file is written as a copy of its template's blank
workbook, built and saved once a process, with its own cells filled in (``copies``).
"""

from __future__ import annotations

import io
from pathlib import Path

from bcf import rounds
from bcf.areas import Area
from bcf.errors import UnknownArea
from bcf.generate import copies
from bcf.generate.cells import Filled, Layout, quote
from bcf.spec import Spec

__all__ = ["Filled", "Layout", "new_template", "quote", "write_workbook"]


def write_workbook(spec: Spec, path: Path | io.BytesIO, filled: Filled | None = None, layout: Layout | None = None,
                   cached_values: bool = True) -> None:
    """Write one workbook: blank when ``filled`` is None; ``cached_values=False`` mimics a never-opened file."""
    data = copies.write(spec, filled or Filled(), layout or Layout(), cached_values)
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
