"""A corpus of hostile and real-world input files for ``bcf check``, built at test time.

Each case writes one file into a folder (never outside it) and says what checking it must give: the exit
status of ``bcf check`` and the rules that must be among its findings. A rule may name its place as
``RULE@Sheet!A1``. Most files start from a clean, valid plan written by the project's own generator and are
then damaged the way real submissions are: a different format, a broken or booby-trapped zip, hostile XML,
absurd sizes, wrong kinds of value, moved or renamed sheets, odd file names, text meant to inject markup.
Cases marked ``needs="soffice"`` round-trip the plan through LibreOffice and are skipped without it.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl

from bcf import samples
from bcf.generate import write_workbook
from bcf.samples import Plan
from tests.support import AREAS, PLAN

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MB = 1024 * 1024
STRICT_NS = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"

# Text a submitter might type to attack the reports or a spreadsheet someone exports the findings to.
SCRIPT = "<script>alert('hwb')</script>"
JINJA = "{{ 7*7 }}{% raw %}"
FORMULA = "=cmd|' /C calc'!A0"
FORMULA_AT = "@SUM(1+9)*cmd|' /C calc'!A0"
FORMULA_PLUS = "+cmd|' /C notepad'!A0"
SHEET_TAG = "<img src=x onerror=alert(1)>"  # 28 characters: a legal sheet name
PAYLOADS = (SCRIPT, JINJA, FORMULA, FORMULA_AT, FORMULA_PLUS, SHEET_TAG)

Build = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One file and what ``bcf check`` must say about it."""

    name: str
    file: str  # file name inside the corpus folder
    exit: int  # 2 unusable, 1 blocking findings, 0 fine
    rules: tuple[str, ...]  # rules that must be found ("RULE" or "RULE@Sheet!A1")
    build: Build = field(repr=False, compare=False)
    exact: bool = False  # the findings' rules must be exactly these
    needs: str | None = None  # a program the case needs ("soffice")
    payloads: tuple[str, ...] = ()  # submitted text that JSON must carry verbatim and HTML must escape
    note: str = ""
    places: bool = False  # the findings must be exactly these (every rule given as "RULE@Sheet!A1", or "RULE" for
    #                       a finding of the whole workbook), one each


CASES: dict[str, Case] = {}


def case(name: str, file: str, exit: int, *rules: str, exact: bool = False, needs: str | None = None,
         payloads: tuple[str, ...] = (), note: str = "", places: bool = False) -> Callable[[Build], Build]:
    """Register a builder as a corpus case."""
    def register(fn: Build) -> Build:
        CASES[name] = Case(name, file, exit, tuple(rules), fn, exact, needs, payloads, note, places)
        return fn
    return register


def build_case(c: Case, folder: Path) -> Path:
    """Write one case's file into ``folder`` and return its path (always inside the folder)."""
    folder = folder.resolve()
    path = (folder / c.file).resolve()
    assert path.parent == folder, f"{c.file!r} would be written outside {folder}"
    c.build(path)
    return path


# -- the valid base plan ------------------------------------------------------------------------------------
def plan() -> Plan:
    """A fresh clean plan for Leeds, as tests/conftest.py's clean_plan."""
    return samples.build_plan(AREAS.find("Leeds"), random.Random(7), PLAN)  # type: ignore[arg-type]


def plan_bytes(p: Plan) -> bytes:
    buf = io.BytesIO()
    write_workbook(p.spec, buf, p.filled, p.layout, cached_values=p.cached_values)
    return buf.getvalue()


@cache
def base() -> bytes:
    """The clean plan as a workbook: checks with no findings."""
    return plan_bytes(plan())


def _write_plan(mutate: Callable[[Plan], Any]) -> Build:
    def build(path: Path) -> None:
        p = plan()
        mutate(p)
        path.write_bytes(plan_bytes(p))
    return build


def _cell(p: Plan, name: str, index: int | None = None) -> str:
    sheet, ref = p.cell(name, index)
    return f"{sheet}!{ref}"


@cache
def _where_total(name: str) -> str:
    """Sheet!A1 of a field, or of a table column's Total row, in the clean plan as read."""
    from bcf.read import read_submission

    sheet, ref = read_submission(io.BytesIO(base())).where(name)
    return f"{sheet}!{ref}"


# -- zip helpers --------------------------------------------------------------------------------------------
def rezip(data: bytes, extra: dict[str, bytes] | None = None, drop: tuple[str, ...] = (),
          edit: dict[str, Callable[[bytes], bytes]] | None = None) -> bytes:
    """The package with parts added or replaced (``extra``), removed (``drop``) or rewritten (``edit``)."""
    extra, edit = extra or {}, edit or {}
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in src.infolist():
            if i.filename in drop or i.filename in extra:
                continue
            body = src.read(i)
            z.writestr(i, edit[i.filename](body) if i.filename in edit else body)
        for name, body in extra.items():
            z.writestr(name, body)
    return out.getvalue()


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in entries.items():
            z.writestr(name, body)
    return out.getvalue()


def sheet_part(data: bytes, sheet: str) -> str:
    """The zip part holding a sheet, found through workbook.xml and its relationships."""
    z = zipfile.ZipFile(io.BytesIO(data))
    wb, rels = z.read("xl/workbook.xml").decode(), z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet name="{re.escape(escape(sheet))}"[^>]*r:id="(\w+)"', wb).group(1)  # type: ignore[union-attr]
    target = re.search(rf'Target="([^"]+)" Id="{rid}"', rels).group(1)  # type: ignore[union-attr]
    return target.lstrip("/")


def edit_sheet(data: bytes, sheet: str, fn: Callable[[bytes], bytes]) -> bytes:
    return rezip(data, edit={sheet_part(data, sheet): fn})


def before_sheet_data_end(xml: bytes, rows: bytes) -> bytes:
    return xml.replace(b"</sheetData>", rows + b"</sheetData>", 1)


def shift_rows(xml: bytes, at: int, n: int) -> bytes:
    """Move every row from ``at`` down by ``n``, as inserting rows does (formulas are left as they were)."""
    def row(m: re.Match[bytes]) -> bytes:
        r = int(m.group(2))
        return m.group(1) + str(r + n if r >= at else r).encode()
    return re.sub(rb'(<row r="|<c r="[A-Z]{1,3})(\d+)', row, xml)


def swap_text(data: bytes, swaps: dict[str, str]) -> bytes:
    """Replace marker text in every worksheet by other text, stored as plain text (never as a formula)."""
    def fix(body: bytes) -> bytes:
        for marker, text in swaps.items():
            body = body.replace(marker.encode(), escape(text).encode())
        return body
    names = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("xl/worksheets/")]
    return rezip(data, edit=dict.fromkeys(names, fix))


def _central_entries(data: bytes) -> dict[str, int]:
    """Offsets of each central directory record, by file name."""
    out, at = {}, data.find(b"PK\x01\x02")
    while at != -1:
        n = struct.unpack_from("<H", data, at + 28)[0]
        out[data[at + 46: at + 46 + n].decode()] = at
        at = data.find(b"PK\x01\x02", at + 46 + n)
    return out


def forge(data: bytes, part: str, **fields: int) -> bytes:
    """Overwrite a part's central directory record: ``size`` (uncompressed), ``method`` or ``flags``."""
    at, out = _central_entries(data)[part], bytearray(data)
    offsets = {"size": (at + 24, "<I"), "method": (at + 10, "<H"), "flags": (at + 8, "<H")}
    for name, value in fields.items():
        pos, fmt = offsets[name]
        struct.pack_into(fmt, out, pos, value)
    return bytes(out)


def _local_data_offset(data: bytes, part: str) -> int:
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(part)
    n, m = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + n + m


def shared_strings(*texts: str, prolog: str = "") -> bytes:
    items = "".join(f"<si><t>{escape(t)}</t></si>" for t in texts)
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<sst xmlns="{MAIN_NS.decode()}" count="{len(texts)}" '
            f'uniqueCount="{len(texts)}">{items}</sst>').encode()


LIBREOFFICE_FORMATS = ("xlsx", "ods", "xls")


def libreoffice(fmt: str) -> bytes:
    """The clean plan saved by LibreOffice as ``fmt``; the first call makes every format at once."""
    return _soffice_all(LIBREOFFICE_FORMATS)[fmt]


@cache
def _soffice_all(formats: tuple[str, ...]) -> dict[str, bytes]:
    """The clean plan converted by LibreOffice to each format, side by side, each with a private profile."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "plan.xlsx")
        src.write_bytes(base())
        procs = {}
        for fmt in formats:
            profile = Path(tmp, f"profile-{fmt}").as_uri()
            procs[fmt] = subprocess.Popen(["soffice", f"-env:UserInstallation={profile}", "--headless", "--calc",
                                           "--convert-to", fmt, "--outdir", str(Path(tmp, fmt)), str(src)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fmt, proc in procs.items():
            if proc.wait(timeout=180) != 0:
                raise RuntimeError(f"LibreOffice could not save the plan as .{fmt}")
        return {fmt: Path(tmp, fmt, f"plan.{fmt}").read_bytes() for fmt in formats}


def soffice_available() -> bool:
    return shutil.which("soffice") is not None


# == Not a workbook =========================================================================================
@case("empty file", "empty.xlsx", 2, "BCF-GATE-001", exact=True)
def _empty(path: Path) -> None:
    path.write_bytes(b"")


@case("not a zip (binary junk)", "junk.xlsx", 2, "BCF-GATE-001", exact=True)
def _junk(path: Path) -> None:
    path.write_bytes(random.Random(1).randbytes(20_000))


@case("a sparse file of 64 GB", "sparse-64gb.xlsx", 2, "BCF-GATE-003", exact=True,
      note="what the file system says of its size is enough: nothing of it is read")
def _sparse(path: Path) -> None:
    with path.open("wb") as f:
        f.truncate(64 * 1024 ** 3)  # takes no room on the disk, and would take minutes to read through


@case("truncated zip", "truncated.xlsx", 2, "BCF-GATE-004", exact=True)
def _truncated(path: Path) -> None:
    path.write_bytes(base()[: len(base()) // 2])


@case(".xls (BIFF in an OLE compound file)", "plan.xls", 2, "BCF-GATE-002", exact=True)
def _xls(path: Path) -> None:
    path.write_bytes(OLE + b"\x00" * 4000 + "Workbook".encode("utf-16-le") + b"\x00" * 4000)


@case(".ods (OpenDocument)", "plan.ods", 2, "BCF-GATE-002", exact=True)
def _ods(path: Path) -> None:
    path.write_bytes(zip_of({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                             "content.xml": b"<office:document-content/>"}))


@case(".csv", "plan.csv", 2, "BCF-GATE-002", exact=True)
def _csv(path: Path) -> None:
    path.write_text("HWB,Scheme,2015/16 spend (£000)\nLeeds,Reablement,\"1,250\"\n", encoding="utf-8")


@case("PDF renamed to .xlsx", "plan-pdf.xlsx", 2, "BCF-GATE-013", exact=True)
def _pdf(path: Path) -> None:
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"0" * 2000)


@case("web page saved as .xls", "plan-web.xls", 2, "BCF-GATE-002", exact=True)
def _html(path: Path) -> None:
    path.write_text("<html><body><table><tr><td>Leeds</td><td>1250</td></tr></table></body></html>", encoding="utf-8")


@case("Word document renamed to .xlsx", "plan-docx.xlsx", 2, "BCF-GATE-013", exact=True)
def _docx(path: Path) -> None:
    path.write_bytes(zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}))


@case("workbook inside a zip", "plan-zipped.xlsx", 2, "BCF-GATE-002", exact=True)
def _zipped(path: Path) -> None:
    path.write_bytes(zip_of({"Leeds plan.xlsx": base()}))


@case("Excel binary workbook (.xlsb)", "plan.xlsb", 2, "BCF-GATE-002", exact=True)
def _xlsb(path: Path) -> None:
    path.write_bytes(zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x83\x01\x00",
                            "xl/worksheets/sheet1.bin": b"\x81\x01\x00"}))


@case("Strict Open XML spreadsheet", "plan-strict.xlsx", 2, "BCF-GATE-002", exact=True,
      note="Excel's 'Strict Open XML Spreadsheet' save option: other namespaces, so nothing would be found")
def _strict(path: Path) -> None:
    path.write_bytes(rezip(base(), edit={n: (lambda b: b.replace(MAIN_NS, STRICT_NS))
                                         for n in zipfile.ZipFile(io.BytesIO(base())).namelist() if n.endswith(".xml")}))


@case("password protected (encrypted OLE)", "plan-encrypted.xlsx", 2, "BCF-GATE-005", exact=True)
def _encrypted(path: Path) -> None:
    names = b"".join(n.encode("utf-16-le").ljust(128, b"\x00") for n in ("EncryptionInfo", "EncryptedPackage"))
    path.write_bytes(OLE + b"\x00" * 504 + names + random.Random(2).randbytes(30_000))


@case("different organisation's workbook", "other-return.xlsx", 2, "BCF-GATE-006", exact=True)
def _other(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Activity"
    ws.append(["Quarterly activity return", None])
    ws.append(["Provider", "Attendances"])
    ws.append(["Leeds Teaching Hospitals", 12_500])
    wb.save(path)


# == Booby-trapped zips ======================================================================================
@case("zip bomb: a part that unpacks to 300 MB", "bomb-real.xlsx", 2, "BCF-GATE-003", exact=True)
def _bomb(path: Path) -> None:
    out, src = io.BytesIO(), zipfile.ZipFile(io.BytesIO(base()))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for i in src.infolist():
            z.writestr(i, src.read(i))
        with z.open("xl/media/image1.png", "w") as f:  # 300 MB of zeros, about 1.4 MB packed
            chunk = b"\x00" * MB
            for _ in range(300):
                f.write(chunk)
    path.write_bytes(out.getvalue())


def _forged(**fields: int) -> Build:
    """A valid workbook whose Schemes sheet's zip header lies (see ``forge``)."""
    def build(path: Path) -> None:
        data = base()
        path.write_bytes(forge(data, sheet_part(data, "Schemes"), **fields))
    return build


case("zip bomb: forged declared size of 4 GB", "bomb-forged.xlsx", 2, "BCF-GATE-003", exact=True)(
    _forged(size=0xFFFFFFF0))
case("zip part larger than it declares", "understated.xlsx", 2, "BCF-GATE-004", exact=True)(_forged(size=1000))


@case("zip with 2,000 parts", "many-parts.xlsx", 2, "BCF-GATE-003", exact=True)
def _many(path: Path) -> None:
    path.write_bytes(rezip(base(), {f"xl/media/image{i}.png": b"\x89PNG" for i in range(2000)}))


@case("file over the size limit", "oversized.xlsx", 2, "BCF-GATE-003", exact=True)
def _oversized(path: Path) -> None:
    out = io.BytesIO(base())
    with zipfile.ZipFile(out, "a", zipfile.ZIP_STORED) as z:
        z.writestr("xl/media/photo.jpg", random.Random(3).randbytes(6 * MB))
    path.write_bytes(out.getvalue())


@case("zip part with damaged compressed data", "bad-deflate.xlsx", 2, "BCF-GATE-004", exact=True)
def _bad_deflate(path: Path) -> None:
    data = bytearray(base())
    at = _local_data_offset(bytes(data), sheet_part(bytes(data), "Schemes"))
    data[at: at + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


case("zip part with an unknown compression method", "bad-method.xlsx", 2, "BCF-GATE-004", exact=True)(
    _forged(method=99))
case("zip part encrypted with a zip password", "zip-password.xlsx", 2, "BCF-GATE-005", exact=True)(_forged(flags=0x1))


@case("zip entry names with ../ (zip slip)", "zip-slip.xlsx", 0, exact=True,
      note="parts are never extracted, so ../ in a part name goes nowhere")
def _zip_slip(path: Path) -> None:
    path.write_bytes(rezip(base(), {"../../../../tmp/bcf-zip-slip.txt": b"pwned", "/etc/bcf-abs.txt": b"pwned"}))


@case("sheet relationship pointing outside the package", "rels-escape.xlsx", 2, "BCF-GATE-004", exact=True,
      note="parts are looked up inside the zip only; a sheet whose part is not there is damage")
def _rels_escape(path: Path) -> None:
    data = base()
    part = sheet_part(data, "Risks")

    def escape_target(rels: bytes) -> bytes:
        return rels.replace(f'Target="/{part}"'.encode(), b'Target="../../../../etc/passwd"')
    # the sheet's own part is removed too, so nothing of the Risks sheet can be read
    path.write_bytes(rezip(data, drop=(part,), edit={"xl/_rels/workbook.xml.rels": escape_target}))


@case("workbook relationships missing", "no-rels.xlsx", 2, "BCF-GATE-004", exact=True)
def _no_rels(path: Path) -> None:
    path.write_bytes(rezip(base(), drop=("xl/_rels/workbook.xml.rels",)))


@case("sheet XML that is not XML", "bad-xml.xlsx", 2, "BCF-GATE-004", exact=True)
def _bad_xml(path: Path) -> None:
    data = base()
    path.write_bytes(rezip(data, {sheet_part(data, "Funding"): b"<worksheet><sheetData><row r='1'><c"}))


@case("cell pointing at a shared string that is not a number", "bad-cell.xlsx", 2, "BCF-GATE-004", exact=True)
def _bad_cell(path: Path) -> None:
    data = base()
    bad = b'<row r="3"><c r="C3" t="s"><v>not-a-number</v></c></row>'
    path.write_bytes(edit_sheet(data, "Funding", lambda b: b.replace(b'<row r="4"', bad + b'<row r="4"', 1)))


@case("rows and cells without their references", "no-refs.xlsx", 0, exact=True,
      note="r is optional in the file format: a row follows the row before, a cell the cell before")
def _no_refs(path: Path) -> None:
    def strip(xml: bytes) -> bytes:
        for ref in (b"A1", b"B1", b"A2", b"B2"):  # the template stamp on the hidden Lists sheet
            xml = xml.replace(b'<c r="%s" ' % ref, b"<c ", 1)
        return xml.replace(b'<row r="1">', b"<row>", 1).replace(b'<row r="2">', b"<row>", 1)
    path.write_bytes(edit_sheet(base(), "Lists", strip))


@case("a cell without its reference after an empty one", "no-refs-after-empty.xlsx", 0, "BCF-STRUCT-010@Funding!H12",
      exact=True, note="the note lands one column after the empty styled cell G12, and is named there")
def _no_refs_after_empty(path: Path) -> None:
    def strip(xml: bytes) -> bytes:
        row = re.search(rb'<row r="12"[^>]*>.*?</row>', xml)
        assert row is not None
        body = re.sub(rb' r="[C-Z]12"', b"", row.group(0)).replace(  # B12 keeps its reference
            b"</row>", b'<c t="inlineStr"><is><t>see the note on row 12</t></is></c></row>')
        return xml.replace(row.group(0), body, 1)
    path.write_bytes(edit_sheet(base(), "Funding", strip))


@case("a row number in superscript digits", "superscript-row.xlsx", 0, exact=True,
      note="a number int() refuses is no row number: the row follows the one before, as a row without one does")
def _superscript_row(path: Path) -> None:
    path.write_bytes(edit_sheet(base(), "Funding", lambda b: b.replace(b'<row r="4"', '<row r="\u2074"'.encode(), 1)))


@case("a shared-string index in superscript digits", "superscript-index.xlsx", 2, "BCF-GATE-004", exact=True)
def _superscript_index(path: Path) -> None:
    bad = '<row r="3"><c r="C3" t="s"><v>\u00b2</v></c></row>'.encode()
    path.write_bytes(edit_sheet(base(), "Funding", lambda b: b.replace(b'<row r="4"', bad + b'<row r="4"', 1)))


@case("a row of 40,000 cells without their references", "wide-row-no-refs.xlsx", 0, "BCF-STRUCT-010@Schemes!A3",
      note="each such cell's column is the one after the cell before it: worked out in one pass, not one a cell")
def _wide_row_no_refs(path: Path) -> None:
    row = b'<row r="3">' + b'<c t="inlineStr"><is><t>x</t></is></c>' * 40_000 + b"</row>"
    path.write_bytes(edit_sheet(base(), "Schemes", lambda b: b.replace(b'<row r="4"', row + b'<row r="4"', 1)))


# == Hostile XML ============================================================================================
BILLION_LAUGHS = ('<!DOCTYPE sst [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                            for i in range(1, 10)) + "]>")


@case("sharedStrings with billion laughs", "billion-laughs.xlsx", 2, "BCF-GATE-010", exact=True)
def _laughs(path: Path) -> None:
    path.write_bytes(rezip(base(), {"xl/sharedStrings.xml": shared_strings("&lol9;", prolog=BILLION_LAUGHS)
                                    .replace(b"&amp;lol9;", b"&lol9;")}))


@case("sharedStrings with an external entity", "xxe.xlsx", 2, "BCF-GATE-010", exact=True)
def _xxe(path: Path) -> None:
    dtd = '<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    path.write_bytes(rezip(base(), {"xl/sharedStrings.xml": shared_strings("&xxe;", prolog=dtd)
                                    .replace(b"&amp;xxe;", b"&xxe;")}))


@case("sheet with entities declared after 8 KB of padding", "laughs-padded.xlsx", 2, "BCF-GATE-010", exact=True,
      note="out of sight of the gate's quick look at each part's head: the parser refuses it")
def _laughs_padded(path: Path) -> None:
    prolog = ("<!--" + " " * 8192 + "-->" + BILLION_LAUGHS.replace("sst", "worksheet")).encode()
    path.write_bytes(edit_sheet(base(), "Funding", lambda b: prolog + b.replace(b"<v>", b"<v>&lol9;", 1)))


# == Absurd sizes ===========================================================================================
@case("dimension and a styled cell at row 1,048,576", "max-dimension.xlsx", 0, exact=True)
def _dimension(path: Path) -> None:
    def grow(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', xml)
        return before_sheet_data_end(xml, b'<row r="1048576" s="1" customFormat="1"><c r="XFD1048576" s="1"/></row>')
    path.write_bytes(edit_sheet(base(), "Schemes", grow))


@case("100,000 blank formatted rows under a table", "formatted-rows.xlsx", 0, exact=True)
def _formatted_rows(path: Path) -> None:
    def grow(xml: bytes) -> bytes:
        first = max(int(r) for r in re.findall(rb'<row r="(\d+)"', xml)) + 1
        rows = b"".join(b'<row r="%d" s="1" customFormat="1"><c r="B%d" s="1"/><c r="K%d" s="1"/></row>' % (r, r, r)
                        for r in range(first, first + 100_000))
        return before_sheet_data_end(xml, rows)
    path.write_bytes(edit_sheet(base(), "Schemes", grow))


@case("one row with 800,000 cells", "wide-row.xlsx", 2, "BCF-GATE-003@Schemes", exact=True)
def _wide_row(path: Path) -> None:
    row = b'<row r="3">' + b'<c r="ZZ3" s="1"/>' * 800_000 + b"</row>"
    path.write_bytes(edit_sheet(base(), "Schemes", lambda b: b.replace(b'<row r="4"', row + b'<row r="4"', 1)))


@cache
def million_strings() -> bytes:
    return shared_strings(*(f"s{i % 1000}" for i in range(1_000_000)))


@case("sharedStrings with a million entries, none used", "many-strings.xlsx", 0, exact=True,
      note="shared strings are parsed only as far as the last one a read cell uses")
def _many_strings(path: Path) -> None:
    path.write_bytes(rezip(base(), {"xl/sharedStrings.xml": million_strings()}))


@case("a cell using the millionth shared string", "last-string.xlsx", 2, "BCF-GATE-003", exact=True)
def _last_string(path: Path) -> None:
    use = b'<row r="3"><c r="C3" t="s"><v>999999</v></c></row>'
    data = edit_sheet(base(), "Funding", lambda b: b.replace(b'<row r="4"', use + b'<row r="4"', 1))
    path.write_bytes(rezip(data, {"xl/sharedStrings.xml": million_strings()}))


LONG_TEXT = ("Our integrated teams will reduce admissions. " * 23_302)[: MB]  # 1 MB


@case("a cell with 1 MB of text", "long-text.xlsx", 1, f"BCF-CELL-010@{_cell(plan(), 'nel_justification')}", exact=True)
def _long_text(path: Path) -> None:
    p = plan()  # openpyxl itself cuts text to 32,767 characters, so the text goes in after it
    p.filled.fields["nel_justification"] = "MARKER-long"
    path.write_bytes(swap_text(plan_bytes(p), {"MARKER-long": LONG_TEXT}))


@case("1 MB string in every cell of every data sheet", "long-text-everywhere.xlsx", 2, "BCF-GATE-003", exact=True,
      note="one shared string used by every cell: stops at the text budget, not thousands of 32 KB findings")
def _long_everywhere(path: Path) -> None:
    data = base()
    z = zipfile.ZipFile(io.BytesIO(data))
    parts = {sheet_part(data, s) for s in ("Cover", "Funding", "Schemes", "Benefits", "NEL & P4P", "Metrics",
                                           "Conditions", "Risks", "Governance", "Provider impact")}
    cell = re.compile(rb'<c r="([B-Z][0-9]+)"([^>]*?)(/>|>.*?</c>)', re.S)

    def flood(xml: bytes) -> bytes:
        return cell.sub(lambda m: b'<c r="%s" t="s"><v>0</v></c>' % m.group(1), xml)
    assert all(p in z.namelist() for p in parts)
    path.write_bytes(rezip(data, {"xl/sharedStrings.xml": shared_strings(LONG_TEXT)}, edit=dict.fromkeys(parts, flood)))


# == Macros =================================================================================================
@case(".xlsm with a VBA project", "plan.xlsm", 1, "BCF-GATE-009", exact=True)
def _macros(path: Path) -> None:
    def types(xml: bytes) -> bytes:
        return xml.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                           b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    path.write_bytes(rezip(base(), {"xl/vbaProject.bin": OLE + b"\x00" * 512 + "VBA".encode("utf-16-le") * 50},
                           edit={"[Content_Types].xml": types}))


# == Values of the wrong kind ===============================================================================
@case("formulas without saved values", "no-cached-values.xlsx", 0, "BCF-STRUCT-006", exact=True)
def _no_cached(path: Path) -> None:
    _write_plan(lambda p: setattr(p, "cached_values", False))(path)


def _put(p: Plan, name: str, value: Any, index: int | None = None) -> None:
    """Type a value into a field, or into a table column on its index-th row."""
    if index is None:
        p.filled.fields[name] = value
    else:
        table, column = name.split(".")
        p.filled.tables[table][index][column] = value  # type: ignore[index]


def _wrong_rule(value: Any) -> str:
    """The rule for a value of the wrong kind: an error value (#REF!, #N/A) has its own."""
    return "BCF-CELL-016" if isinstance(value, str) and value.startswith("#") else "BCF-CELL-002"


def _wrong(name: str, value: Any, index: int | None = None, file: str = "", *more: str) -> None:
    """A case of one value of the wrong kind, which must be found at its cell (and ``more``: an amount left out
    of its column's Total row leaves that total not checked)."""
    where = _cell(plan(), name, index)
    case(f"wrong type: {value!r} in {name}", file, 1, f"{_wrong_rule(value)}@{where}", *more, exact=True)(
        _write_plan(lambda p: _put(p, name, value, index)))


_wrong("date_agreed", "4th September 2014", file="date-as-text.xlsx")
_wrong("contingency", "£1,234", file="pounds-and-commas.xlsx")
_wrong("risks.exposure", "n/a", 1, "n-a.xlsx", "BCF-ARITH-010@" + _where_total("risks.exposure"))
_wrong("metrics.num_plan", "approx 5%", 1, file="approx-percent.xlsx")
_wrong("care_act", True, file="boolean.xlsx")
_wrong("schemes.spend_last_year", "#REF!", 2, "error-value.xlsx", "BCF-ARITH-010@" + _where_total("schemes.spend_last_year"))


WRONG = {"date_agreed": "yesterday", "social_care_protection": "£11,968", "ringfenced_oohs": False,
         "care_act": "#N/A", "funding.amount_last_year": "approx 5%", "risks.exposure": "n/a"}


def _wrong_everything(p: Plan) -> None:
    for name, value in WRONG.items():
        _put(p, name, value, 1 if "." in name else None)


case("every kind of wrong value at once", "wrong-everything.xlsx", 1,
     *(f"{_wrong_rule(v)}@{_cell(plan(), n, 1 if '.' in n else None)}" for n, v in WRONG.items()),
     "BCF-ARITH-010@" + _where_total("funding.amount_last_year"), exact=True)(
    _write_plan(_wrong_everything))


@case("NaN and infinity stored as numbers", "nan-inf.xlsx", 1, f"BCF-CELL-002@{_cell(plan(), 'contingency')}",
      f"BCF-CELL-002@{_cell(plan(), 'schemes.spend_last_year', 0)}",
      f"BCF-ARITH-010@{_where_total('schemes.spend_last_year')}", exact=True, places=True,
      note="no spreadsheet writes these, but a hand-made file can; the Total row that leaves out the infinity is "
           "not checked (nor named as not calculated, though it kept the value it had before the edit)")
def _nan(path: Path) -> None:
    p = plan()
    sheet, ref = p.cell("contingency")
    sheet2, ref2 = p.cell("schemes.spend_last_year", 0)

    def put(ref: str, text: bytes) -> Callable[[bytes], bytes]:
        return lambda b: re.sub(rb'(<c r="%s"[^>]*>)<v>[^<]*</v>' % ref.encode(), rb"\1<v>" + text + rb"</v>", b)
    data = base()
    data = edit_sheet(data, sheet, put(ref, b"NaN"))
    path.write_bytes(edit_sheet(data, sheet2, put(ref2, b"1e999")))


@case("error value saved in a calculated cell", "calc-error.xlsx", 0, exact=True,
      note="#DIV/0! saved in a formula cell whose inputs are fine: calculated cells are recalculated, not read")
def _calc_error(path: Path) -> None:
    p = plan()
    sheet, ref = p.cell("nel_reduction")
    fix = rb'<c r="%s"\1 t="e"><f>\2</f><v>#DIV/0!</v></c>'
    path.write_bytes(edit_sheet(base(), sheet, lambda b: re.sub(
        rb'<c r="%s"([^>]*?)(?: t="\w+")?><f>(.*?)</f><v>[^<]*</v></c>' % ref.encode(), fix % ref.encode(), b)))


# == Sheets and rows moved about ============================================================================
@case("sheet renamed", "renamed.xlsx", 0, "BCF-STRUCT-002@Governance (final)", exact=True)
def _renamed(path: Path) -> None:
    _write_plan(lambda p: p.layout.titles.__setitem__("Governance", "Governance (final)"))(path)


@case("sheet missing", "missing-sheet.xlsx", 1, "BCF-STRUCT-001@Provider impact", exact=True)
def _missing(path: Path) -> None:
    _write_plan(lambda p: p.layout.titles.__setitem__("Provider impact", ""))(path)


@case("sheet hidden", "hidden-sheet.xlsx", 0, "BCF-STRUCT-007@Risks", exact=True)
def _hidden(path: Path) -> None:
    path.write_bytes(rezip(base(), edit={"xl/workbook.xml": lambda b: b.replace(
        b'<sheet name="Risks" sheetId="9" state="visible"', b'<sheet name="Risks" sheetId="9" state="hidden"')}))


@case("sheets reordered", "reordered.xlsx", 0, exact=True)
def _reordered(path: Path) -> None:
    def reorder(xml: bytes) -> bytes:
        sheets = re.findall(rb"<sheet [^>]*/>", xml)
        moved = sheets[::-1]
        return xml.replace(b"".join(sheets), b"".join(moved))
    path.write_bytes(rezip(base(), edit={"xl/workbook.xml": reorder}))


@case("rows inserted above a table", "rows-above.xlsx", 0, "BCF-STRUCT-004@Schemes!B6", exact=True)
def _rows_above(path: Path) -> None:
    _write_plan(lambda p: p.layout.inserted.__setitem__("Schemes", (3, 2)))(path)


@case("blank rows inserted inside a table", "rows-inside.xlsx", 0, exact=True)
def _rows_inside(path: Path) -> None:
    path.write_bytes(edit_sheet(base(), "Schemes", lambda b: shift_rows(b, 8, 5)))


@case("cells merged over inputs", "merged.xlsx", 1, "BCF-CELL-001@Schemes!C5", "BCF-CELL-001@Schemes!D5",
      note="Excel keeps only the top-left value of a merged range; the others read as blank")
def _merged(path: Path) -> None:
    path.write_bytes(base())
    wb = openpyxl.load_workbook(path)
    wb["Schemes"].merge_cells("B5:D5")
    wb["Cover"].merge_cells("C7:E7")  # over one field: harmless
    wb.save(path)


# == Template, version and board ============================================================================
@case("superseded template version", "v1-1.xlsx", 1, "BCF-GATE-007", exact=True)
def _superseded(path: Path) -> None:
    _write_plan(lambda p: setattr(p, "version", "1.1"))(path)


@case("Health and Wellbeing Board that does not exist", "borsetshire.xlsx", 1, f"BCF-GATE-008@{_cell(plan(), 'hwb_name')}",
      exact=True)
def _unknown_hwb(path: Path) -> None:
    def mutate(p: Plan) -> None:
        p.filled.fields["hwb_name"] = "Borsetshire"
        p.filled.fields["minimum_pooled"] = None
    _write_plan(mutate)(path)


@case("duplicate submission for one board (first)", "Leeds plan.xlsx", 0, exact=True)
def _dup_a(path: Path) -> None:
    path.write_bytes(base())


@case("duplicate submission for one board (second)", "Leeds plan FINAL v2.xlsx", 0, exact=True)
def _dup_b(path: Path) -> None:
    _write_plan(lambda p: p.filled.fields.__setitem__("contact_name", "A. N. Other"))(path)


# == File names =============================================================================================
@case("file name with spaces and brackets", "Leeds BCF plan (final) 2015-16.xlsx", 0, exact=True)
def _spaces(path: Path) -> None:
    path.write_bytes(base())


@case("file name with .. and unicode", "..evil plan ünïcode.xlsx", 0, exact=True)
def _dots(path: Path) -> None:
    path.write_bytes(base())


@case("file name carrying markup", f"{SHEET_TAG}.xlsx", 0, exact=True, payloads=(SHEET_TAG,))
def _markup_name(path: Path) -> None:
    path.write_bytes(base())


# == Text meant to inject ===================================================================================
INJECTED = {"social_care_protection": FORMULA, "ringfenced_oohs": FORMULA_AT, "care_act": FORMULA_PLUS}


@case("submitter text with script, template syntax and formulas", "injection.xlsx", 1,
      "BCF-GATE-008", "BCF-CELL-006", *(f"BCF-CELL-002@{_cell(plan(), n)}" for n in INJECTED),
      f"BCF-STRUCT-002@{SHEET_TAG}", payloads=PAYLOADS)
def _injection(path: Path) -> None:
    def mutate(p: Plan) -> None:
        p.filled.fields.update(hwb_name=SCRIPT, contact_email=JINJA)
        p.filled.fields.update({name: f"MARKER-{name}" for name in INJECTED})  # swapped below, as plain text
        p.layout.titles["Governance"] = SHEET_TAG
    p = plan()
    mutate(p)
    path.write_bytes(swap_text(plan_bytes(p), {f"MARKER-{name}": text for name, text in INJECTED.items()}))


# == Real files from other programs =========================================================================
@case("round trip through LibreOffice Calc", "libreoffice.xlsx", 0, exact=True, needs="soffice")
def _libreoffice(path: Path) -> None:
    path.write_bytes(libreoffice("xlsx"))


@case("saved as .ods by LibreOffice", "libreoffice.ods", 2, "BCF-GATE-002", exact=True, needs="soffice")
def _libreoffice_ods(path: Path) -> None:
    path.write_bytes(libreoffice("ods"))


@case("saved as .xls by LibreOffice", "libreoffice.xls", 2, "BCF-GATE-002", exact=True, needs="soffice")
def _libreoffice_xls(path: Path) -> None:
    path.write_bytes(libreoffice("xls"))


@case("round trip through openpyxl", "openpyxl.xlsx", 0, "BCF-STRUCT-006", exact=True,
      note="openpyxl keeps formulas but drops their saved values")
def _openpyxl(path: Path) -> None:
    path.write_bytes(base())
    openpyxl.load_workbook(path).save(path)


# == Saved values that are not what the formulas give ========================================================
# A script's library stores 0 for every formula unless told the results, and asks for everything to be
# calculated on opening; a spreadsheet with calculation switched off saves the totals of before the last edits.
# Neither is the officer typing over a total: one advisory says the workbook was not calculated, and the cells
# are worked out from the inputs. A value typed over a calculated cell is still reported as typed over.
def xlsxwriter_copy(data: bytes, results: bool, typed: dict[tuple[str, str], Any] | None = None) -> bytes:
    """The workbook written again cell by cell by XlsxWriter, as a council's own script would write it: every
    formula with the value it gives (``results``) or with XlsxWriter's placeholder 0; ``typed`` puts plain values
    into cells (sheet, A1) instead of what they held."""
    import xlsxwriter

    formulas = openpyxl.load_workbook(io.BytesIO(data))
    values = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    for ws in formulas.worksheets:
        sheet = book.add_worksheet(ws.title)
        if ws.sheet_state != "visible":
            sheet.hide()
        for row in ws.iter_rows():
            for c in row:
                v = (typed or {}).get((ws.title, c.coordinate), c.value)
                if v is None:
                    continue
                if isinstance(v, str) and v.startswith("="):
                    got = values[ws.title][c.coordinate].value
                    extra = {"value": "" if got is None else got} if results else {}
                    sheet.write_formula(c.row - 1, c.column - 1, v, None, **extra)
                elif isinstance(v, datetime):
                    sheet.write_datetime(c.row - 1, c.column - 1, v)
                else:
                    sheet.write(c.row - 1, c.column - 1, v)
    book.close()
    return out.getvalue()


def calculation_off(data: bytes, edits: dict[tuple[str, int | None], float]) -> bytes:
    """The workbook with calculation set to manual and inputs changed afterwards (by ``edits``: a field, or a
    table column on its index-th row, moved by an amount), so that every total keeps its old value."""
    p = plan()
    for (name, index), delta in edits.items():
        sheet, ref = p.cell(name, index)

        def move(xml: bytes, ref: str = ref, delta: float = delta) -> bytes:
            m = re.search(rb'<c r="%s"[^>]*><v>([^<]*)</v>' % ref.encode(), xml)
            assert m is not None, ref
            return xml[:m.start(1)] + repr(float(m.group(1)) + delta).encode() + xml[m.end(1):]
        data = edit_sheet(data, sheet, move)
    return rezip(data, edit={"xl/workbook.xml": lambda b: re.sub(rb"<calcPr[^>]*?/>", b'<calcPr calcMode="manual"/>', b)})


# what an officer changes with calculation switched off: a contribution and the scheme it pays for (so funding
# and schemes still tie), a risk's likelihood and a metric's numerator; every one feeds a calculated cell
CALCULATION_OFF_EDITS: dict[tuple[str, int | None], float] = {
    ("funding.amount_this_year", 0): 250, ("schemes.spend_this_year", 0): 250, ("risks.likelihood", 0): -1,
    ("metrics.num_plan", 0): 7}


@cache
def _through_libreoffice() -> dict[str, bytes]:
    """Workbooks opened and saved by LibreOffice in one run, each as it came out."""
    files = {"xlsxwriter": xlsxwriter_copy(base(), results=False), "manual": calculation_off(base(), {}),
             "manual-edited": calculation_off(base(), CALCULATION_OFF_EDITS)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            Path(tmp, f"{name}.xlsx").write_bytes(data)
        subprocess.run(["soffice", f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}", "--headless", "--calc",
                        "--convert-to", "xlsx", "--outdir", str(Path(tmp, "out")),
                        *(str(Path(tmp, f"{n}.xlsx")) for n in files)],
                       check=True, capture_output=True, timeout=300)
        return {name: Path(tmp, "out", f"{name}.xlsx").read_bytes() for name in files}


NOT_CALCULATED = "BCF-STRUCT-012"


@case("written by XlsxWriter without results", "xlsxwriter-zeros.xlsx", 0, NOT_CALCULATED, exact=True, places=True,
      note="every formula saved as 0 and fullCalcOnLoad set: was 29 blocking 'typed over' findings")
def _xlsxwriter_zeros(path: Path) -> None:
    path.write_bytes(xlsxwriter_copy(base(), results=False))


@case("written by XlsxWriter with results", "xlsxwriter-results.xlsx", 0, exact=True, places=True)
def _xlsxwriter_results(path: Path) -> None:
    path.write_bytes(xlsxwriter_copy(base(), results=True))


@case("written by XlsxWriter without results, a total typed over", "xlsxwriter-typed-over.xlsx", 1,
      f"BCF-ARITH-002@{_cell(plan(), 'total_pooled')}", f"BCF-ARITH-004@{_cell(plan(), 'risks.score', 0)}",
      NOT_CALCULATED, exact=True, places=True,
      note="a value typed over a calculated cell is still the officer's, whatever the formulas around it saved")
def _xlsxwriter_typed_over(path: Path) -> None:
    over = {plan().cell("total_pooled"): 53336, plan().cell("risks.score", 0): 6}
    path.write_bytes(xlsxwriter_copy(base(), results=False, typed=over))


@case("written by XlsxWriter without results, then saved by LibreOffice", "xlsxwriter-libreoffice.xlsx", 0,
      NOT_CALCULATED, exact=True, places=True, needs="soffice", note="LibreOffice keeps the saved zeros")
def _xlsxwriter_libreoffice(path: Path) -> None:
    path.write_bytes(_through_libreoffice()["xlsxwriter"])


@case("calculation set to manual, figures changed after", "manual-edited.xlsx", 0, NOT_CALCULATED, exact=True,
      places=True, note="four inputs changed; the five cells that follow them keep their old values")
def _manual_edited(path: Path) -> None:
    path.write_bytes(calculation_off(base(), CALCULATION_OFF_EDITS))


@case("calculation set to manual, saved by LibreOffice", "manual-libreoffice.xlsx", 0, exact=True, places=True,
      needs="soffice")
def _manual_libreoffice(path: Path) -> None:
    path.write_bytes(_through_libreoffice()["manual"])


@case("calculation set to manual, figures changed after, saved by LibreOffice", "manual-edited-libreoffice.xlsx", 0,
      NOT_CALCULATED, exact=True, places=True, needs="soffice",
      note="LibreOffice saves the old totals and no calculation mode: the formulas' values are the only sign")
def _manual_edited_libreoffice(path: Path) -> None:
    path.write_bytes(_through_libreoffice()["manual-edited"])


# == One unreadable value, and the totals that leave it out =================================================
# Text in an amount cell is one finding where it was typed. Every sum of its column leaves it out (as the
# workbook's own SUM does), so those totals are named once as not checked and nothing is judged against them:
# no "pounds, not thousands" for amounts that merely exceed a pool that lost its largest part, no tie or
# minimum broken by the missing amount.
NOT_CHECKED = "BCF-ARITH-010"


def _unreadable(puts: dict[tuple[str, int | None], Any]) -> Build:
    def mutate(p: Plan) -> None:
        for (name, index), value in puts.items():
            _put(p, name, value, index)
    return _write_plan(mutate)


case("an amount typed as £40,512k, most of the pool", "amount-k.xlsx", 1,
     f"BCF-CELL-002@{_cell(plan(), 'funding.amount_this_year', 1)}", f"{NOT_CHECKED}@{_where_total('total_pooled')}",
     exact=True, places=True,
     note="was also two 'pounds, not thousands' findings for amounts larger than what was left of the pool")(
    _unreadable({("funding.amount_this_year", 0): 2202, ("funding.amount_this_year", 1): "£40,512k"}))
case("a scheme's spend typed as text", "spend-text.xlsx", 1,
     f"BCF-CELL-002@{_cell(plan(), 'schemes.spend_this_year', 0)}",
     f"{NOT_CHECKED}@{_where_total('schemes.spend_this_year')}", exact=True, places=True)(
    _unreadable({("schemes.spend_this_year", 0): "6,807k"}))
case("an admissions saving typed as text", "saving-text.xlsx", 1,
     f"BCF-CELL-002@{_cell(plan(), 'benefits.planned_saving', 0)}",
     f"{NOT_CHECKED}@{_where_total('benefits.planned_saving')}", exact=True, places=True,
     note="the saving feeds its Total row and the pricing and provider-income checks of admissions avoided")(
    _unreadable({("benefits.planned_saving", 0): "approx 3m"}))
case("amounts unreadable in two columns of one table", "two-columns.xlsx", 1,
     f"BCF-CELL-002@{_cell(plan(), 'funding.amount_this_year', 2)}",
     f"BCF-CELL-016@{_cell(plan(), 'funding.amount_last_year', 3)}", f"{NOT_CHECKED}@{_where_total('total_pooled')}",
     exact=True, places=True, note="three totals leave them out (the pooled budget and two Total rows): one finding")(
    _unreadable({("funding.amount_this_year", 2): "2.5m", ("funding.amount_last_year", 3): "#N/A"}))


def build_all(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, Path]:
    """Every case's file in ``folder``, except cases needing a program in ``skip``."""
    return {c.name: build_case(c, folder) for c in CASES.values() if c.needs not in skip or c.needs is None}


if __name__ == "__main__":  # write the corpus somewhere to look at: python -m tests.corpus FOLDER
    import sys

    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    for name, p in build_all(target, () if soffice_available() else ("soffice",)).items():
        print(f"{os.path.getsize(p):>10,}  {p.name}  ({name})")
