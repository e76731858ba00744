"""The gate: what a file is, before any parser touches it, and whether it is our template.

Checks run cheapest first on the raw bytes: size, magic bytes (so a renamed .xls, .ods, .csv or PDF is
named for what it is, a CSV in whatever encoding Excel saved it, and a document told apart from a
spreadsheet, as the advice differs), an encrypted Office file, and the zip's own directory (what kind of package it is,
declared uncompressed sizes, entry count, password-protected or oddly packed parts), then the head of each
XML part (entity declarations, the Strict format) and macros. Only a file that passes is parsed at all.
After reading, the workbook must be our template, within the reader's budgets, for a known HWB.
See docs/security.md for the threats each check answers.
"""

from __future__ import annotations

import codecs
import difflib
import io
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from bcf import rounds
from bcf.findings import Finding, ProblemKind, finding
from bcf.intake import Snapshot
from bcf.params import shared as parameters
from bcf.spec import LISTS_SHEET
from bcf.xlsx import DAMAGED, damage

if TYPE_CHECKING:
    from bcf.read import Submission

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MB = 1024 * 1024
LISTS_LOST = ("Its hidden Lists sheet, which says which template and version a workbook is, has been deleted, so "
              "its layout cannot be trusted even where it looks like the template.")
HEAD_BYTES = 2 * 1024  # of each part, looked at for a document type declaration before anything is parsed
STRICT_NS = b"http://purl.oclc.org/ooxml/spreadsheetml/main"  # Excel's "Strict Open XML Spreadsheet"
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # all that Excel and LibreOffice use
_LOCAL_HEADER = struct.Struct("<4s2xH18xHH")  # a part's own header: signature, flags, lengths of its name and extra field
FOREIGN = "BCF-GATE-012"  # a workbook of another round or return than the one it was sent in for
DOCUMENT = "BCF-GATE-013"  # a PDF or Word document: no workbook can be saved from it
SAMPLE = 4096  # bytes looked at to tell a text file


def _ole_kind(data: bytes) -> str:
    """An OLE compound file is either an encrypted OOXML package or a legacy .xls (or .doc)."""
    return "encrypted" if "EncryptedPackage".encode("utf-16-le") in data else "an old Excel 97-2003 workbook (.xls)"


def _text(data: bytes) -> str | None:
    """The start of a file as text, if it is text: UTF-16 with its mark, UTF-8, or Windows-1252 (what Excel
    writes for "CSV (Comma delimited)" on a UK machine); None for binary data."""
    sample = data[:SAMPLE]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return sample.decode("utf-16", errors="ignore")
    if b"\x00" in sample:
        return None
    for encoding in ("utf-8", "cp1252"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)  # a cut last character is fine
        except UnicodeDecodeError:
            continue
        controls = sum(ch < " " and ch not in "\t\r\n\f" for ch in text)
        return text if controls <= len(text) // 100 else None
    return None


def _guess(data: bytes) -> tuple[str, str]:
    """(rule, what the file is) for a file that is not a zip, or ("", "") when it is nothing recognisable."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF"):
        return DOCUMENT, "a PDF document"
    if head.startswith(b"{\\rtf"):
        return DOCUMENT, "a Rich Text (RTF) document"
    if head[:5].lower() in (b"<html", b"<!doc") or head.startswith(b"<?xml"):
        return "BCF-GATE-002", "a web page or XML file"
    text = _text(data)
    if text is None:
        return "", ""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    delimited = lines and any(all(d in line for line in lines[:5]) for d in (",", "\t", ";"))
    return "BCF-GATE-002", "a CSV or text file" if delimited else "a text file"


def _kind(z: zipfile.ZipFile, infos: list[zipfile.ZipInfo], names: set[str]) -> str | None:
    """What a zip that is not an Excel workbook is (names in lower case), or None when it may be one."""
    mimetype = next((i for i in infos if i.filename.lower() == "mimetype" and i.file_size < 200), None)
    if mimetype and b"opendocument" in z.read(mimetype):
        return "an OpenDocument spreadsheet (.ods)"
    if "xl/workbook.bin" in names:
        return "an Excel Binary Workbook (.xlsb)"
    if "xl/workbook.xml" in names:
        return None
    if "word/document.xml" in names:
        return "a Word document"
    if "ppt/presentation.xml" in names:
        return "a PowerPoint presentation"
    return "a zip archive (compressed folder)"


def _size_finding(infos: list[zipfile.ZipInfo], sheet: str) -> Finding | None:
    """The zip's own directory against the limits: parts, and their declared sizes unpacked."""
    p = parameters()["gate"]
    total = sum(i.file_size for i in infos)
    biggest = max((i.file_size for i in infos), default=0)
    if len(infos) > p["max_entries"]:
        return finding("BCF-GATE-003", sheet, found=f"{len(infos):,} parts", expected=f"{p['max_entries']} parts")
    if total > p["max_unzipped_mb"] * MB or biggest > p["max_part_mb"] * MB:
        return finding("BCF-GATE-003", sheet, found=f"{total / MB:,.0f} MB when unpacked",
                       expected=f"{p['max_unzipped_mb']} MB")
    return None


def _entry_finding(infos: list[zipfile.ZipInfo], sheet: str) -> Finding | None:
    """Parts that are password protected, or packed in a way Excel never uses."""
    if any(i.flag_bits & 0x1 for i in infos):
        return finding("BCF-GATE-005", sheet)
    odd = next((i for i in infos if i.compress_type not in ZIP_METHODS), None)
    if odd is not None:
        return finding("BCF-GATE-004", sheet, found="a part is packed in a way Excel does not use")
    return None


def _content_finding(data: bytes, z: zipfile.ZipFile, infos: list[zipfile.ZipInfo], sheet: str) -> Finding | None:
    """A quick look at the head of every XML part, in UTF-8 or UTF-16 (the XML parser reads both): a document
    type declaration, or a part in the Strict format (the whole workbook, or one sheet of it)."""
    for i in infos:
        if not i.file_size:
            continue
        head = _as_utf8(_head(data, z, i))
        if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            continue  # not XML: a picture, or the macro project
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            return finding("BCF-GATE-010", sheet, found=f"a document type declaration in {i.filename[:80]}")
        if STRICT_NS in head:
            return finding("BCF-GATE-002", sheet, found="a Strict Open XML Spreadsheet")
    return None


def _head(data: bytes, z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The first ``HEAD_BYTES`` of a part, unpacked straight from the file's bytes: a workbook has some 40 parts, and
    opening each through zipfile cost twice as much. A part zipfile would find anything amiss with (its header, its
    name, its size, its flags or its packing) is opened through zipfile, to fail as it would."""
    at, size = info.header_offset, _LOCAL_HEADER.size
    signature, flags, name_length, extra_length = (_LOCAL_HEADER.unpack_from(data, at) if at + size <= len(data)
                                                   else (b"", 0, 0, 0))
    name, start = data[at + size:at + size + name_length], at + size + name_length + extra_length
    if (signature != b"PK\x03\x04" or info.flag_bits & 0x61 or info.compress_type not in ZIP_METHODS
            or start + info.compress_size > len(data)  # flags 0x800: the name is in UTF-8
            or name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace") != info.orig_filename):
        with z.open(info) as f:
            return f.read(HEAD_BYTES)
    packed = memoryview(data)[start:start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        return bytes(packed[:HEAD_BYTES])
    unpacking, head = zlib.decompressobj(-zlib.MAX_WBITS), b""
    for piece in range(0, len(packed), 4096):  # seldom more than the first piece
        head += unpacking.decompress(packed[piece:piece + 4096], HEAD_BYTES - len(head))
        if len(head) >= HEAD_BYTES or unpacking.eof:
            break
    return head


def _as_utf8(head: bytes) -> bytes:
    """The head of a part as UTF-8: a UTF-16 head (a byte-order mark, or a zero byte beside its first "<") is
    decoded first, so that what it declares is seen as the parser would see it."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        order = "utf-16"  # the mark says which byte comes first
    elif b"\x00" in head[:2]:
        order = "utf-16-be" if head[:1] == b"\x00" else "utf-16-le"
    else:
        return head
    return head.decode(order, errors="replace").encode("utf-8")


def _zip_findings(data: bytes, sheet: str) -> Iterator[Finding]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            names = {i.filename.lower() for i in infos}
            if len(names) < len(infos):  # a spreadsheet program would open one of the two; which, is not ours to guess
                same = Counter(i.filename.lower() for i in infos).most_common(1)[0][0]
                yield finding("BCF-GATE-004", sheet, found=f"two parts under one name ({same[:80]})")
                return
            kind = _kind(z, infos, names) if not any(i.flag_bits & 0x1 for i in infos) else None
            if kind:
                yield finding(DOCUMENT if kind.startswith(("a Word", "a PowerPoint")) else "BCF-GATE-002", sheet,
                              found=kind)
                return
            stop = _size_finding(infos, sheet) or _entry_finding(infos, sheet) or _content_finding(data, z, infos, sheet)
            if stop:
                yield stop
                return
            if any(n.endswith("vbaproject.bin") for n in names):
                yield finding("BCF-GATE-009", sheet)
    except DAMAGED as e:
        yield finding("BCF-GATE-004", sheet, found=damage(e))


def max_bytes() -> int:
    """The largest file the gate lets through."""
    return int(parameters()["gate"]["max_file_mb"] * MB)


def file_findings(snap: Snapshot) -> list[Finding]:
    """Findings about the file itself, from its bytes as read once; one with ``stops`` set means it cannot be read."""
    sheet, size, data = "", snap.size, snap.data
    if data is None or size > max_bytes():
        return [finding("BCF-GATE-003", sheet, found=f"{size / MB:,.1f} MB",
                        expected=f"{parameters()['gate']['max_file_mb']} MB")]
    if size == 0:
        return [finding("BCF-GATE-001", sheet, found="an empty file")]
    if data.startswith(OLE_MAGIC):
        kind = _ole_kind(data)
        if kind == "encrypted":
            return [finding("BCF-GATE-005", sheet)]
        return [finding("BCF-GATE-002", sheet, found=kind)]
    if not data.startswith(b"PK"):
        rule_id, kind = _guess(data)
        return [finding(rule_id, sheet, found=kind)] if kind else [finding("BCF-GATE-001", sheet)]
    return list(_zip_findings(data, sheet))


def _label(sub: Submission, name: str | None) -> str:
    if not name:
        return ""
    if "." in name:
        table, column = name.split(".", 1)
        return sub.spec.table(table).column(column).label
    return sub.spec.field(name).label


def _name(ret: rounds.Return) -> str:
    return f"{ret.title} ({ret.round_id} {ret.kind} return)"


def template_findings(sub: Submission, round_id: str | None = None, kind: str | None = None) -> list[Finding]:
    """Is the workbook within the reader's budgets, a known template, of the round and return it was sent
    in for (when given), in the current version, for a HWB of its round?

    Text cut to what a cell can hold is reported here too, as it is a limit of the reader, not a rule of
    the template.
    """
    too_large = next((p for p in sub.problems if p.kind == ProblemKind.TOO_LARGE), None)
    if too_large:
        return [finding("BCF-GATE-003", too_large.sheet, found=too_large.found, expected=too_large.expected)]
    own = rounds.for_template(sub.template_id)
    wanted = rounds.get(round_id).ret(kind or (own.kind if own else "plan")) if round_id else own or sub.ret
    if own is None or sub.version not in own.versions():
        found = sub.template_id and f"{sub.template_id} v{sub.version}"
        lost = LISTS_LOST if sub.template_id is None and LISTS_SHEET not in sub.sheets_found else ""
        return [finding("BCF-GATE-006", "", found=found, expected=f"{wanted.title}, version {wanted.spec().version}",
                        likely=lost)]
    if own != wanted:
        return [finding(FOREIGN, "", found=_name(own), expected=_name(wanted))]
    out = []
    current = own.spec()
    if sub.version != current.version:
        out.append(finding("BCF-GATE-007", "", found=sub.version, expected=current.version))
    hwb = sub.fields.get("hwb_name")
    cover = sub.spec.field("hwb_name").sheet if sub.spec.has("hwb_name") else None
    if hwb and sub.area is None and cover in sub.sheet_names:
        near = nearest_area(sub, str(hwb))
        out.append(finding("BCF-GATE-008", sub.sheet_of(cover), sub.field_cells.get("hwb_name"), found=hwb,
                           expected=near, likely=f'The nearest name in the list is "{near}".' if near else ""))
    for p in sub.problems:
        if p.kind == ProblemKind.TEXT_TOO_LONG:
            out.append(finding("BCF-CELL-010", p.sheet, p.cell, found=f"{p.found:,} characters", expected=p.expected,
                               label=_label(sub, p.name)))
    return out


def nearest_area(sub: Submission, typed: str) -> str | None:
    """The Health and Wellbeing Board of the round whose name is nearest to what was typed, if one is near."""
    names = [a.hwb_name for a in rounds.of(sub.spec).round.areas.all]
    near = difflib.get_close_matches(typed.strip(), names, n=1, cutoff=0.6)
    return near[0] if near else None
