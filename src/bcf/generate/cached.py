"""Saving a built workbook: cached formula values written into the file, as Excel does on save, and the sheets
every workbook of a template shares serialised once.

openpyxl writes formulas without values, which is how a never-opened file looks; a reader (or the checker)
would then see blanks. As each worksheet is serialised, every formula cell is given the value computed while
writing: numbers as ``<v>``, text, booleans and blanks as ``t="str"``. Each sheet is serialised in memory, not
through a temporary file. A sheet whose content depends on the template alone (the Lists sheet, the Guidance)
is the same bytes in every workbook made from that template, so a process serialises it once and reuses it:
most of the time of writing a quarterly return went on its Lists sheet.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.packaging.relationship import RelationshipList
from openpyxl.styles.cell_style import StyleArray
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from bcf.generate.cells import Cached

_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+\d+)"([^>]*)><f>(.*?)</f><v\s*/></c>', re.S)
_SHARED: dict[Hashable, _Shared] = {}  # a shared sheet's key -> its serialised XML, for this process


def save(wb: Workbook, cached: Cached | None, shared: dict[str, Hashable]) -> bytes:
    """The workbook as xlsx bytes, each formula's value stored unless ``cached`` is None (a never-opened file).

    ``shared``: sheet title -> a key that determines the sheet's whole content, for sheets the same in many files.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        wb.properties.modified = datetime.datetime.now(tz=datetime.UTC).replace(tzinfo=None)
        _Writer(wb, archive, cached, shared).write_data()
    return out.getvalue()


class _Writer(ExcelWriter):  # type: ignore[misc]
    """openpyxl's writer, with each worksheet written by ``_sheet_xml``."""

    def __init__(self, wb: Workbook, archive: zipfile.ZipFile, cached: Cached | None, shared: dict[str, Hashable]):
        super().__init__(wb, archive)
        self.cached, self.shared = cached, shared

    def write_worksheet(self, ws: Worksheet) -> None:
        """One worksheet, as openpyxl's own ``write_worksheet`` does, from ``_sheet_xml``."""
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        xml, ws._rels = self._sheet_xml(ws)
        self._archive.writestr(ws.path[1:], xml)
        self.manifest.append(ws)

    def _sheet_xml(self, ws: Worksheet) -> tuple[bytes, RelationshipList]:
        """The sheet's XML with its formulas' values: serialised now, or reused when shared and seen before.

        Cell style ids are handed out as sheets are serialised, so a sheet's XML is reused only when the workbook's
        styles so far are the very ones they were when it was first serialised; it then adds the styles it added.
        """
        key = (self.shared[ws.title], ws.title, self.cached is not None) if ws.title in self.shared else None
        styles = self.workbook._cell_styles
        seen = _SHARED.get(key) if key is not None else None
        if seen is not None and seen.before == [tuple(s) for s in styles]:
            for s in seen.added:
                styles.add(StyleArray(s))
            ws._hyperlinks, ws._comments = [], []  # what the writer would have reset
            return seen.xml, RelationshipList()
        before = [tuple(s) for s in styles]
        writer = WorksheetWriter(ws, io.BytesIO())
        writer.write()
        xml = writer.read()
        if self.cached is not None:
            xml = fill_sheet(xml, ws.title, self.cached)
        if key is not None and not len(writer._rels) and not ws.conditional_formatting:
            _SHARED[key] = _Shared(before, [tuple(s) for s in styles[len(before):]], xml)
        return xml, writer._rels


@dataclass(frozen=True)
class _Shared:
    """A shared sheet as first serialised: the workbook's cell styles before it, those it added, its XML."""

    before: list[tuple[int, ...]]
    added: list[tuple[int, ...]]
    xml: bytes


def fill_sheet(xml: bytes, title: str, cached: Cached) -> bytes:
    """One worksheet's XML with every formula's value."""
    return _FORMULA_CELL.sub(lambda mo: _with_value(mo, cached.get((title, mo.group(1).decode()))), xml)


def _with_value(mo: re.Match[bytes], v: Any) -> bytes:
    """One formula cell's XML with its value."""
    ref, attrs, formula = mo.group(1), mo.group(2), mo.group(3)
    if isinstance(v, bool) or v is None or isinstance(v, str):
        text = "" if v is None else escape(str(v))
        return b'<c r="%s"%s t="str"><f>%s</f><v>%s</v></c>' % (ref, attrs, formula, text.encode())
    return b'<c r="%s"%s><f>%s</f><v>%s</v></c>' % (ref, attrs, formula, repr(float(v)).encode())
