"""The gate names what a file is before any parser runs, and stops with one clear finding."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from bcf import generate, rounds
from bcf.spec import LISTS_SHEET
from bcf.validate import check_file, gate
from tests.gate_cases import COVER, GATE_CASES, OLE, UTF16_DTD, _rezip, other_workbook
from tests.support import PLAN


@pytest.fixture(scope="module")
def template_bytes() -> bytes:
    buf = io.BytesIO()
    generate.write_workbook(PLAN.spec(), buf, generate.Filled(fields={"hwb_name": "Leeds"}))
    return buf.getvalue()


@pytest.mark.parametrize("case", sorted(GATE_CASES))
def test_gate_case(case: str, tmp_path: Path, template_bytes: bytes) -> None:
    rule_id, build = GATE_CASES[case]
    path = tmp_path / "return.xlsx"
    path.write_bytes(build(template_bytes))
    report = check_file(path)
    assert report.findings[0].rule_id == rule_id
    if report.findings[0].stops:
        assert len(report.findings) == 1 and report.exit_code == 2
    else:  # macros: named, never run, and the rest of the workbook is still checked
        assert report.submission is not None and report.exit_code == 1


def test_a_pdf_gets_advice_that_fits_a_pdf_and_a_csv_is_named_as_one(tmp_path: Path) -> None:
    pdf, csv = tmp_path / "plan.xlsx", tmp_path / "plan2.xlsx"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    csv.write_bytes("Scheme,Spend (£000)\r\nCarers’ breaks,1250\r\n".encode("cp1252"))
    (doc,), (sheet,) = check_file(pdf).findings, check_file(csv).findings
    assert doc.message == "This file is a PDF document, not the Excel workbook made from the template."
    assert "cannot be turned back into the workbook" in doc.fix and "Save As" not in doc.fix
    assert sheet.message == "This file is a CSV or text file, not an Excel workbook (.xlsx) made from the template."


def test_gate_via_the_command_exit_code_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "plan.xls"
    path.write_bytes(OLE + b"\x00" * 600)
    proc = subprocess.run([sys.executable, "-m", "bcf", "check", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Excel 97-2003" in proc.stdout and "Save As" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("ret", [r for rnd in rounds.all_rounds().values() for r in rnd.returns.values()],
                         ids=lambda r: f"{r.round_id}-{r.kind}")
def test_a_workbook_whose_lists_sheet_was_deleted_is_refused_as_its_own_round_and_return(
        ret: rounds.Return, tmp_path: Path) -> None:
    """Without its stamp a workbook is still told by what it shows: the refusal names its own round and return,
    not the latest round's plan."""
    buf = io.BytesIO()
    generate.write_workbook(ret.spec(), buf, generate.Filled(fields={"hwb_name": "Leeds"}))
    wb = openpyxl.load_workbook(buf)
    del wb[LISTS_SHEET]
    wb.save(tmp_path / "no-lists.xlsx")
    report = check_file(tmp_path / "no-lists.xlsx")
    (f,) = report.findings
    assert f.rule_id == "BCF-GATE-006" and report.exit_code == 2
    assert f.expected == f"{ret.title}, version {ret.spec().version}"
    assert "hidden Lists sheet" in f.message and "has been deleted" in f.message  # why it is not the template
    assert ret.title in f.message and all(other.title not in f.message for rnd in rounds.all_rounds().values()
                                          for other in rnd.returns.values() if other.title != ret.title)


def test_a_workbook_that_shows_no_template_is_still_refused_against_the_latest_plan(tmp_path: Path) -> None:
    (tmp_path / "other.xlsx").write_bytes(other_workbook())
    (f,) = check_file(tmp_path / "other.xlsx").findings
    assert f.rule_id == "BCF-GATE-006" and f.expected.startswith(rounds.latest().ret("plan").title)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be", "utf-16"])
@pytest.mark.parametrize("padding", [0, 8_000, (1 << 16) - 30, 70_000], ids=lambda n: f"after {n} characters")
def test_entities_declared_anywhere_before_a_sheet_begins_are_refused_in_every_encoding(
        encoding: str, padding: int, tmp_path: Path, template_bytes: bytes) -> None:
    """Past the gate's look at each part's head (and across the reader's 64 KB pieces, straddling one), the reader
    refuses the document type declaration itself, the only place an entity can be declared."""
    sheet = ("<!--" + " " * padding + "-->" + UTF16_DTD.split("?>", 1)[1].replace("<sheetData/>", "<sheetData>"
             '<row r="4"><c r="C4" t="inlineStr"><is><t>&who;</t></is></c></row></sheetData>'))
    path = tmp_path / "plan.xlsx"
    path.write_bytes(_rezip(template_bytes, {COVER: sheet.encode(encoding)}))
    assert [f.rule_id for f in check_file(path).findings] == ["BCF-GATE-010"]


class _Flushing:
    """A deflater that packs every byte in a block of its own: 2 KB of a part then takes some 12 KB of packed bytes."""

    def __init__(self) -> None:
        self.packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        return b"".join(self.packer.compress(data[i:i + 1]) + self.packer.flush(zlib.Z_FULL_FLUSH)
                        for i in range(len(data)))

    def flush(self) -> bytes:
        return self.packer.flush()


def test_the_gate_reads_each_parts_head_as_zipfile_does(template_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deflated, stored, packed thinly, named in UTF-8, random: the head the gate looks at is zipfile's, byte for byte;
    and a part whose own header is damaged fails as zipfile fails."""
    names = zipfile.ZipFile(io.BytesIO(template_bytes)).namelist()
    stored, thin = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as z:
        for name in names:
            z.writestr(name, zipfile.ZipFile(io.BytesIO(template_bytes)).read(name))
    with monkeypatch.context() as m:
        m.setattr(zipfile, "_get_compressor", lambda *args, **kw: _Flushing())
        with zipfile.ZipFile(thin, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(COVER, zipfile.ZipFile(io.BytesIO(template_bytes)).read(COVER))
    odd = _rezip(template_bytes, {"xl/média/notes é.xml": b"<?xml version='1.0'?><notes/>", "xl/random.bin":
                                  random.Random(1).randbytes(50_000)})
    for data in (template_bytes, stored.getvalue(), thin.getvalue(), odd):
        z = zipfile.ZipFile(io.BytesIO(data))
        for info in z.infolist():
            assert gate._head(data, z, info) == z.open(info).read(gate.HEAD_BYTES), info.filename
    assert zipfile.ZipFile(thin).infolist()[0].compress_size > 3 * 4096  # its head took several pieces
    info = zipfile.ZipFile(io.BytesIO(template_bytes)).getinfo(COVER)
    at = info.header_offset + 30
    damaged = template_bytes[:at] + b"X" + template_bytes[at + 1:]  # the part's own header names another part
    z = zipfile.ZipFile(io.BytesIO(damaged))
    with pytest.raises(zipfile.BadZipFile):
        z.open(info)
    with pytest.raises(zipfile.BadZipFile):
        gate._head(damaged, z, info)


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/_rels/workbook.xml.rels"])
@pytest.mark.parametrize("padding", [8_000, (1 << 16) - 30])
def test_entities_declared_past_the_head_of_the_workbooks_own_parts_are_refused(
        part: str, padding: int, tmp_path: Path, template_bytes: bytes) -> None:
    body = zipfile.ZipFile(io.BytesIO(template_bytes)).read(part)
    declaration, _, rest = body.partition(b"?>") if body.startswith(b"<?xml") else (b"", b"", body)
    dtd = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    padded = (declaration + b"?>" if declaration else b"") + b"<!--" + b" " * padding + b"-->" + dtd + rest
    path = tmp_path / "plan.xlsx"
    path.write_bytes(_rezip(template_bytes, {part: padded}))
    assert [f.rule_id for f in check_file(path).findings] == ["BCF-GATE-010"]
