"""Files that are not a workbook the checker can read, each with the rule the gate must stop it with: built from
the template's own bytes by small edits, as careless users and attackers make them."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import openpyxl

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _rezip(data: bytes, extra: dict[str, bytes], drop: tuple[str, ...] = ()) -> bytes:
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in src.infolist():
            if i.filename not in drop and i.filename not in extra:
                z.writestr(i, src.read(i))
        for name, body in extra.items():
            z.writestr(name, body)
    return out.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    return _rezip(_empty_zip(), entries)


def _empty_zip() -> bytes:
    out = io.BytesIO()
    zipfile.ZipFile(out, "w").close()
    return out.getvalue()


def other_workbook() -> bytes:
    buf = io.BytesIO()
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Quarterly activity return"
    wb.save(buf)
    return buf.getvalue()


SHARED_DTD = (b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
              b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&b;</t></si></sst>')

COVER = "xl/worksheets/sheet2.xml"  # the template's Cover sheet
STRICT = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
UTF16_DTD = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE worksheet [<!ENTITY who "Leeds">]><worksheet '
             'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')


def _part(data: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)


def _twice_in_another_case(t: bytes) -> bytes:
    """The Cover twice, the second named in capitals (a spreadsheet program opens one of the two)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in zipfile.ZipFile(io.BytesIO(t)).infolist():
            z.writestr(i, _part(t, i.filename))
        z.writestr(COVER.upper(), _part(t, COVER).replace(b"Leeds", b"Wigan"))
    return out.getvalue()


# name -> (rule, build(template bytes) -> file bytes)
GATE_CASES: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "empty": ("BCF-GATE-001", lambda t: b""),
    "binary junk": ("BCF-GATE-001", lambda t: bytes(range(256)) * 8),
    "csv renamed": ("BCF-GATE-002", lambda t: b"hwb,amount\nLeeds,1250\n"),
    "csv in Windows-1252": ("BCF-GATE-002", lambda t: "HWB,Scheme,Spend\r\nLeeds,Carers’ support,£1,250\r\n"
                            .encode("cp1252")),
    "csv in UTF-16 (Unicode text)": ("BCF-GATE-002", lambda t: "HWB\tSpend\r\nLeeds\t1250\r\n".encode("utf-16")),
    "word document renamed": ("BCF-GATE-013", lambda t: _zip({"word/document.xml": b"<w:document/>"})),
    "pdf renamed": ("BCF-GATE-013", lambda t: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
    "xls (BIFF)": ("BCF-GATE-002", lambda t: OLE + b"\x00" * 4000 + "Workbook".encode("utf-16-le")),
    "ods": ("BCF-GATE-002", lambda t: _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"})),
    "plain zip": ("BCF-GATE-002", lambda t: _zip({"notes.txt": b"hello"})),
    "too large": ("BCF-GATE-003", lambda t: b"PK" + b"\x00" * (6 * 1024 * 1024)),
    "zip bomb": ("BCF-GATE-003", lambda t: _rezip(t, {"xl/worksheets/sheet99.xml": b"<row/>" * 12_000_000})),
    "truncated": ("BCF-GATE-004", lambda t: t[: len(t) // 2]),
    "encrypted": ("BCF-GATE-005", lambda t: OLE + b"\x00" * 4000 + "EncryptedPackage".encode("utf-16-le")),
    "not our template": ("BCF-GATE-006", lambda t: other_workbook()),
    "macros": ("BCF-GATE-009", lambda t: _rezip(t, {"xl/vbaProject.bin": b"\x00VBA" * 100})),
    "entity expansion": ("BCF-GATE-010", lambda t: _rezip(t, {"xl/sharedStrings.xml": SHARED_DTD})),
    "entity declared in UTF-16": ("BCF-GATE-010", lambda t: _rezip(t, {COVER: UTF16_DTD.encode("utf-16")})),
    "entity declared in UTF-16 without a byte-order mark": ("BCF-GATE-010",
                                                            lambda t: _rezip(t, {COVER: UTF16_DTD.encode("utf-16-be")})),
    "a part twice, in another case": ("BCF-GATE-004", _twice_in_another_case),
    "one sheet in the Strict format": ("BCF-GATE-002", lambda t: _rezip(t, {COVER: _part(t, COVER).replace(
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", STRICT)})),
}
