"""Cached formula values written into the saved file, as Excel does on save.

openpyxl writes formulas without values, which is how a never-opened file looks; a reader (or the checker)
would then see blanks. This post-processor rewrites each worksheet's XML in the saved zip, giving every
formula cell the value computed while writing: numbers as ``<v>``, text, booleans and blanks as ``t="str"``.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any
from xml.sax.saxutils import escape

_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+\d+)"([^>]*)><f>(.*?)</f><v\s*/></c>', re.S)
_SHEET_PART = re.compile(r"xl/worksheets/sheet(\d+)\.xml")


def with_cached_values(xlsx: bytes, titles: list[str], cached: dict[tuple[str, str], Any]) -> bytes:
    """The file with each formula's computed value stored (``titles``: the sheets in workbook order)."""
    src, out = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            m = _SHEET_PART.fullmatch(info.filename)
            if m:
                data = _fill_sheet(data, titles[int(m.group(1)) - 1], cached)
            dst.writestr(info, data)
    return out.getvalue()


def _fill_sheet(xml: bytes, title: str, cached: dict[tuple[str, str], Any]) -> bytes:
    """One worksheet's XML with every formula's value."""
    return _FORMULA_CELL.sub(lambda mo: _with_value(mo, cached.get((title, mo.group(1).decode()))), xml)


def _with_value(mo: re.Match[bytes], v: Any) -> bytes:
    """One formula cell's XML with its value."""
    ref, attrs, formula = mo.group(1), mo.group(2), mo.group(3)
    if isinstance(v, bool) or v is None or isinstance(v, str):
        text = "" if v is None else escape(str(v))
        return b'<c r="%s"%s t="str"><f>%s</f><v>%s</v></c>' % (ref, attrs, formula, text.encode())
    return b'<c r="%s"%s><f>%s</f><v>%s</v></c>' % (ref, attrs, formula, repr(float(v)).encode())
