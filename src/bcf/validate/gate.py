"""The gate: what a file is, before any parser touches it, and whether it is our template.

Checks run cheapest first on the raw bytes: size, magic bytes (so a renamed .xls, .ods, .csv or PDF is
named for what it is), an encrypted Office file, and the zip's own directory (declared uncompressed
sizes, entry count, XML that declares entities, macros). Only a file that passes is parsed at all.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from bcf import areas
from bcf import spec as specs
from bcf.read import Submission
from bcf.validate.catalogue import Finding, finding, parameters

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MB = 1024 * 1024


def _ole_kind(data: bytes) -> str:
    """An OLE compound file is either an encrypted OOXML package or a legacy .xls (or .doc)."""
    return "encrypted" if "EncryptedPackage".encode("utf-16-le") in data else "an old Excel 97-2003 workbook (.xls)"


def _guess(data: bytes) -> str:
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head[:5].lower() in (b"<html", b"<!doc") or head.startswith(b"<?xml"):
        return "a web page or XML file"
    try:
        text = data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return "a CSV or text file" if ("," in text or "\t" in text or ";" in text) else "a text file"


def _zip_findings(path: Path, sheet: str) -> Iterator[Finding]:
    p = parameters()["gate"]
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        yield finding("BCF-GATE-004", sheet, found=str(e) or "not a complete zip archive")
        return
    with z:
        infos = z.infolist()
        names = {i.filename for i in infos}
        if "mimetype" in names and b"opendocument" in z.read("mimetype")[:100]:
            yield finding("BCF-GATE-002", sheet, found="an OpenDocument spreadsheet (.ods)")
            return
        if "xl/workbook.xml" not in names:
            kind = "a Word document" if "word/document.xml" in names else "a zip archive, not an Excel workbook"
            yield finding("BCF-GATE-002", sheet, found=kind)
            return
        total = sum(i.file_size for i in infos)
        biggest = max(infos, key=lambda i: i.file_size)
        if len(infos) > p["max_entries"]:
            yield finding("BCF-GATE-003", sheet, found=f"{len(infos)} parts", expected=f"{p['max_entries']} parts")
        elif total > p["max_unzipped_mb"] * MB or biggest.file_size > p["max_part_mb"] * MB:
            yield finding("BCF-GATE-003", sheet, found=f"{total / MB:,.0f} MB when unpacked",
                          expected=f"{p['max_unzipped_mb']} MB")
        else:
            for i in infos:
                if i.filename.endswith((".xml", ".rels")) and i.file_size:
                    with z.open(i) as f:
                        head = f.read(2048)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        yield finding("BCF-GATE-010", sheet, found=f"a document type declaration in {i.filename}")
                        return
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                yield finding("BCF-GATE-009", sheet)


def file_findings(path: Path) -> list[Finding]:
    """Findings about the file itself; one with ``stops`` set means it cannot be read."""
    p = parameters()["gate"]
    sheet = ""
    try:
        size = path.stat().st_size
        if size > p["max_file_mb"] * MB:
            return [finding("BCF-GATE-003", sheet, found=f"{size / MB:,.1f} MB", expected=f"{p['max_file_mb']} MB")]
        with path.open("rb") as f:
            data = f.read(min(size, 64 * 1024) if size else 0)
    except OSError as e:
        return [finding("BCF-GATE-004", sheet, found=e.strerror or "unreadable")]
    if size == 0:
        return [finding("BCF-GATE-001", sheet, found="an empty file")]
    if data.startswith(OLE_MAGIC):
        with path.open("rb") as f:
            kind = _ole_kind(f.read())
        if kind == "encrypted":
            return [finding("BCF-GATE-005", sheet)]
        return [finding("BCF-GATE-002", sheet, found=kind)]
    if not data.startswith(b"PK"):
        kind = _guess(data)
        return [finding("BCF-GATE-002", sheet, found=kind)] if kind else [finding("BCF-GATE-001", sheet)]
    return list(_zip_findings(path, sheet))


def template_findings(sub: Submission) -> list[Finding]:
    """Is the workbook our template, in the current version, for a known HWB?"""
    current = specs.load()
    expected = f"{current.title}, version {current.version}"
    if sub.template_id != current.template_id or sub.version not in specs.versions():
        found = sub.template_id and f"{sub.template_id} v{sub.version}"
        return [finding("BCF-GATE-006", "", found=found, expected=expected)]
    out = []
    if sub.version != current.version:
        out.append(finding("BCF-GATE-007", "", found=sub.version, expected=current.version))
    hwb = sub.fields.get("hwb_name")
    if hwb and areas.find(hwb) is None and "Cover" in sub.sheet_names:
        out.append(finding("BCF-GATE-008", sub.sheet_of("Cover"), sub.field_cells.get("hwb_name"), found=hwb))
    return out
