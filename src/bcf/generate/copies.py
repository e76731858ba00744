"""Writing a workbook by filling a copy of its template: the blank workbook of a template and layout is built and
saved once a process, and each file is that saved workbook with its own cells written in.

Building a workbook cell by cell with openpyxl and serialising it took nearly all of the time of writing a sample
round, and nearly all of that work was the same in every file: headings, labels, styles, validations, formulas,
the Lists sheet. What a submitter's values change is only the field cells (what was typed, or typed over a
calculation) and the formulas' cached values. So ``built`` makes the blank workbook once per (specification,
layout), its saved parts are kept, and each file is those parts with the field cells that differ from the blank
written in, each as openpyxl writes such a cell (the tests hold every copy to openpyxl's own save of the filled
workbook, byte for byte), and each formula given its value.
"""

from __future__ import annotations

import datetime
import functools
import io
import math
import re
import zipfile
from collections.abc import Hashable
from copy import copy
from dataclasses import dataclass, fields, replace
from typing import Any
from xml.sax.saxutils import escape

from et_xmlfile import xmlfile
from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.cell._writer import write_cell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.packaging.core import DocumentProperties
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import tostring

from bcf.generate import cached as saved
from bcf.generate.built import build, template_only
from bcf.generate.cells import Cached, Filled, Formulas, Layout
from bcf.generate.sheets import Contents, Entries
from bcf.spec import Spec

CORE = "docProps/core.xml"
_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"((?: [a-z]+="[^"]*")*) ?(?:/>|>.*?</c>)', re.S)
_STYLE = re.compile(rb' s="[0-9]+"')
_SAVED: dict[Hashable, _Saved] = {}  # (specification, layout) -> its blank workbook as saved, for this process
MAX_TEXT = 32767  # characters in a cell; openpyxl cuts longer text


def write(spec: Spec, filled: Filled, layout: Layout, cached_values: bool) -> bytes:
    """The xlsx bytes of one workbook: its template's blank workbook with this file's cells and cached values."""
    created = _now()
    blank = _blank(spec, layout)
    contents = Contents.of(spec, filled, layout, replace(blank.formulas, layout=layout), blank.formula_text)
    changed = blank.changed(contents.entries)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, data in blank.parts:
            if name == CORE:
                data = _core(blank.properties, created)
            elif name in blank.sheets:
                sheet = blank.sheets[name]
                data = sheet.filled(changed.get(sheet.title, {}), contents.cached if cached_values else None)
            archive.writestr(name, data)
    return out.getvalue()


@dataclass(frozen=True)
class _Sheet:
    """A worksheet of the blank workbook as saved: its XML and where each field's cell is in it."""

    title: str
    xml: bytes
    cells: dict[str, tuple[int, int, bytes]]  # A1 -> start, end, its style attribute

    def filled(self, entries: dict[str, Any], cached: Cached | None) -> bytes:
        """The sheet's XML with these field cells written in and each formula's value (unless ``cached`` is None)."""
        xml = self.xml
        if entries:
            pieces, at = [], 0
            for ref in sorted(entries, key=lambda r: self.cells[r][0]):
                start, end, style = self.cells[ref]
                pieces += [xml[at:start], cell_xml(ref, style, entries[ref])]
                at = end
            pieces.append(xml[at:])
            xml = b"".join(pieces)
        return saved.fill_sheet(xml, self.title, cached) if cached is not None and b"<f>" in xml else xml


@dataclass(frozen=True)
class _Saved:
    """A template's blank workbook for one layout: its parts as saved, and what its field cells hold."""

    parts: tuple[tuple[str, bytes], ...]  # the members of the xlsx, in order
    sheets: dict[str, _Sheet]  # member name -> the worksheet it holds
    properties: DocumentProperties
    formulas: Formulas
    formula_text: dict[tuple[str, str], str]
    entries: Entries

    def changed(self, entries: Entries) -> dict[str, dict[str, Any]]:
        """The field cells whose entry differs from the blank's, sheet title -> A1 -> entry."""
        out: dict[str, dict[str, Any]] = {}
        for key, v in entries.items():
            was = self.entries[key]
            if type(v) is not type(was) or v != was:
                out.setdefault(key[0], {})[key[1]] = v
        return out


def _blank(spec: Spec, layout: Layout) -> _Saved:
    """The blank workbook of this template and layout, built and saved the first time it is asked for."""
    key = (spec, *(tuple(sorted(getattr(layout, f.name).items())) for f in fields(layout)))
    if key not in _SAVED:
        wb, contents = build(spec, Filled(), layout)
        data = saved.save(wb, None, template_only(spec, layout))
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            parts = tuple((i.filename, z.read(i)) for i in z.infolist())
        titles = {ws.path[1:]: ws.title for ws in wb.worksheets}
        sheets = {name: _sheet(titles[name], xml, contents.entries) for name, xml in parts if name in titles}
        _SAVED[key] = _Saved(parts, sheets, copy(wb.properties), contents.formulas, contents.formula_text, contents.entries)
    return _SAVED[key]


def _sheet(title: str, xml: bytes, entries: Entries) -> _Sheet:
    """A saved worksheet, with the position of each of its field cells."""
    cells = {}
    for mo in _CELL.finditer(xml):
        ref = mo.group(1).decode()
        if (title, ref) in entries:
            style = _STYLE.search(mo.group(2))
            cells[ref] = (mo.start(), mo.end(), style.group(0) if style else b"")
    return _Sheet(title, xml, cells)


def _now() -> datetime.datetime:
    """Now, as openpyxl dates a workbook: UTC, without a time zone."""
    return datetime.datetime.now(tz=datetime.UTC).replace(tzinfo=None)


def _core(properties: DocumentProperties, created: datetime.datetime) -> bytes:
    """The core properties, dated as the file is written."""
    props = copy(properties)
    props.created, props.modified = created, _now()
    return bytes(tostring(props.to_tree()))


def cell_xml(ref: str, style: bytes, value: Any) -> bytes:
    """One cell holding ``value`` as openpyxl writes it (``style``: its style attribute, `` s="3"``)."""
    kind, r = type(value), ref.encode()
    if value is None:
        return b'<c r="%s"%s t="n" />' % (r, style)
    if kind is bool:
        return b'<c r="%s"%s t="b"><v>%d</v></c>' % (r, style, value)
    if (kind is int or kind is float) and math.isfinite(value):
        return b'<c r="%s"%s t="n"><v>%s</v></c>' % (r, style, b"%.16g" % value)
    if kind is datetime.date or kind is datetime.datetime and value.tzinfo is None:
        return b'<c r="%s"%s t="n"><v>%s</v></c>' % (r, style, b"%.16g" % to_excel(value))
    if kind is str and _plain(value):
        if not value:
            return b'<c r="%s"%s t="inlineStr" />' % (r, style)
        space = b' xml:space="preserve"' if value.strip() and value != value.strip() else b""
        return b'<c r="%s"%s t="inlineStr"><is><t%s>%s</t></is></c>' % (r, style, space, escape(value).encode())
    return _by_openpyxl(ref, style, value)


def _plain(text: str) -> bool:
    """Text that openpyxl writes as it is: not a formula or an error code, not too long, no illegal characters."""
    return not (len(text) > 1 and text.startswith("=")) and text not in ERROR_CODES and len(text) <= MAX_TEXT \
        and not ILLEGAL_CHARACTERS_RE.search(text)


@functools.cache
def _scratch() -> Worksheet:
    """A worksheet where a value of an unusual type is typed by openpyxl itself."""
    return Workbook().active


def _by_openpyxl(ref: str, style: bytes, value: Any) -> bytes:
    """A cell of any other value, typed and written by openpyxl itself (a formula's value is filled in later)."""
    row, column = coordinate_to_tuple(ref)
    scratch = _scratch()
    out = io.BytesIO()
    with xmlfile(out) as xf, xf.element("sheetData"):
        write_cell(xf, scratch, Cell(scratch, row=row, column=column, value=value), False)
    xml = out.getvalue().removeprefix(b"<sheetData>").removesuffix(b"</sheetData>")
    start = b'<c r="%s"' % ref.encode()
    return start + style + xml.removeprefix(start)
