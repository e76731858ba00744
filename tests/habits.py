"""A corpus of what officers do to a workbook under deadline pressure, each edit saved through LibreOffice.

Every habit starts from the same clean plan (Leeds, as in tests/corpus.py), makes one edit with openpyxl
the way an officer would make it in a spreadsheet (rows and columns inserted or deleted carry every
formula that refers to them along, as a spreadsheet program does), and is then opened and saved by
LibreOffice, which recalculates every formula and writes the file as a real spreadsheet program would.
Each habit says, decided before it was ever run, exactly which findings the self-check must give:
(rule, sheet, cell). An empty tuple means the edit is harmless and must give no finding at all.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.workbook.workbook import Workbook

from tests.corpus import base

Edit = Callable[[Workbook], None]
Expect = tuple[tuple[str, str, str | None], ...]


@dataclass(frozen=True)
class Habit:
    name: str
    edit: Edit
    expect: Expect  # exactly the findings (rule, sheet, cell) the check must give

    @property
    def file(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") + ".xlsx"


HABITS: dict[str, Habit] = {}


def habit(name: str, *expect: tuple[str, str, str | None]) -> Callable[[Edit], Edit]:
    def register(fn: Edit) -> Edit:
        HABITS[name] = Habit(name, fn, tuple(expect))
        return fn
    return register


def put(sheet: str, **cells: object) -> Edit:
    """An edit that types values (or formulas) into cells: put("Cover", C9=53336)."""
    def edit(wb: Workbook) -> None:
        for ref, value in cells.items():
            wb[sheet][ref] = value
    return edit


def _shown(sheet: str, ref: str) -> object:
    """What the clean plan shows at a cell (its saved value), so a habit can type it again as an officer would."""
    return _BASE[sheet][ref].value


def _risk_row(test: Callable[[openpyxl.worksheet.worksheet.Worksheet, int], bool]) -> int:
    """The first row of the clean plan's risks that passes ``test``."""
    ws = _BASE["Risks"]
    return next(r for r in range(5, ws.max_row + 1) if ws[f"B{r}"].value and test(ws, r))


_BASE = openpyxl.load_workbook(io.BytesIO(base()), data_only=True)
HIGH = _risk_row(lambda ws, r: float(ws[f"G{r}"].value or 0) >= 12)  # a risk that needs a mitigation
HEALTH = _risk_row(lambda ws, r: ws[f"D{r}"].value == "Health\u2013social care")
SPEND = int(float(_shown("Schemes", "K6") or 0))


def one(name: str, sheet: str, expect: Expect, **cells: object) -> None:
    habit(name, *expect)(put(sheet, **cells))


# -- rows and columns inserted or deleted, with formulas following them as a spreadsheet program does ---------
_REF = re.compile(r"((?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?(\$?[A-Z]{1,3}\$?\d+)(?::(\$?[A-Z]{1,3}\$?\d+))?(?![\w(])")
_CELL = re.compile(r"(\$?)([A-Z]{1,3})(\$?)(\d+)")


def _shift_formulas(wb: Workbook, sheet: str, axis: str, at: int, n: int) -> None:
    """Move every reference into ``sheet`` at or past row/column ``at`` by ``n``, in every formula."""
    def shift(ref: str) -> str:
        d1, col, d2, row = _CELL.fullmatch(ref).groups()  # type: ignore[union-attr]
        c, r = openpyxl.utils.column_index_from_string(col), int(row)
        c += n if axis == "col" and c >= at else 0
        r += n if axis == "row" and r >= at else 0
        return f"{d1}{openpyxl.utils.get_column_letter(c)}{d2}{r}"

    def fix(text: str, here: str) -> str:
        def one_ref(m: re.Match[str]) -> str:
            prefix, first, last = m.groups()
            target = prefix[:-1].strip("'").replace("''", "'") if prefix else here
            if target != sheet:
                return m.group(0)
            return f"{prefix or ''}{shift(first)}" + (f":{shift(last)}" if last else "")
        return _REF.sub(one_ref, text)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.value = fix(cell.value, ws.title)


def insert_cols(sheet: str, at: int, n: int = 1, **cells: object) -> Edit:
    def edit(wb: Workbook) -> None:
        wb[sheet].insert_cols(at, n)
        _shift_formulas(wb, sheet, "col", at, n)
        put(sheet, **cells)(wb)
    return edit


def insert_rows(sheet: str, at: int, n: int = 1) -> Edit:
    def edit(wb: Workbook) -> None:
        wb[sheet].insert_rows(at, n)
        _shift_formulas(wb, sheet, "row", at, n)
    return edit


def delete_row(sheet: str, at: int) -> Edit:
    def edit(wb: Workbook) -> None:
        wb[sheet].delete_rows(at)
        _shift_formulas(wb, sheet, "row", at + 1, -1)
    return edit


# == Data typed where the template does not read it ==========================================================
one("contribution typed under the Funding total", "Funding",
    (("BCF-STRUCT-010", "Funding", "B43"), ("BCF-STRUCT-010", "Funding", "C43"), ("BCF-STRUCT-010", "Funding", "D43"),
     ("BCF-STRUCT-009", "Funding", "F43")),
    B43="Local Authority", C43="Leeds Council", D43="Other", F43=500)
one("benefit typed under the Benefits total", "Benefits",
    (("BCF-STRUCT-010", "Benefits", "B46"), ("BCF-STRUCT-010", "Benefits", "D46"), ("BCF-STRUCT-009", "Benefits", "I46")),
    B46="B05", D46="Fewer delayed days", I46=120)
one("note beside the Schemes table", "Schemes", (("BCF-STRUCT-010", "Schemes", "N6"),), N6="check with finance")
one("working formula beside the Funding table", "Funding", (("BCF-STRUCT-009", "Funding", "H12"),), H12="=F12*1.02")
one("note beside a Cover field", "Cover", (("BCF-STRUCT-010", "Cover", "D9"),), D9="incl. iBCF")
one("figure far down the Risks sheet", "Risks", (("BCF-STRUCT-009", "Risks", "B500"),), B500=1234)
one("figure far to the right of the Schemes table", "Schemes", (("BCF-STRUCT-009", "Schemes", "AZ5"),), AZ5=99)
one("note typed on the Checklist", "Checklist", (("BCF-STRUCT-010", "Checklist", "G5"),), G5="done")
one("note typed in the Guidance", "Guidance", (("BCF-STRUCT-010", "Guidance", "D3"),), D3="ask Sue")


@habit("extra sheet of workings", ("BCF-STRUCT-013", "Workings", "A1"))  # named, as nothing on it is read
def _workings(wb: Workbook) -> None:
    ws = wb.create_sheet("Workings")
    ws["A1"], ws["B1"], ws["B2"] = "Scheme", 6807, "=B1*1.02"


# == Calculated cells and totals typed over =================================================================
one("Cover total typed over, 250k out", "Cover", (("BCF-ARITH-002", "Cover", "C9"),), C9=53336)
one("Cover total typed over with its own value", "Cover", (), C9=_shown("Cover", "C9"))
one("Funding total typed over", "Funding", (("BCF-ARITH-009", "Funding", "F42"),), F42=53336)
one("Schemes total typed over", "Schemes", (("BCF-ARITH-009", "Schemes", "K65"),), K65=1000)
one("risk score typed over", "Risks", (("BCF-ARITH-004", "Risks", "G5"),), G5=6)
one("rate typed over", "Metrics", (("BCF-ARITH-003", "Metrics", "J5"),), J5=512)
one("ONS code pasted as a value", "Cover", (), C5="E08000035")

# == Columns inserted, moved or lost ========================================================================
habit("column inserted in Funding for notes",
      ("BCF-STRUCT-010", "Funding", "E11"), ("BCF-STRUCT-010", "Funding", "E12"))(
    insert_cols("Funding", 5, E11="Notes", E12="agreed at JCB"))
habit("blank column inserted in the Schemes table")(insert_cols("Schemes", 4))
habit("two columns inserted in the Benefits table")(insert_cols("Benefits", 8, 2))
one("heading retyped", "Risks", (("BCF-STRUCT-005", "Risks", "K4"),), K4="Lead officer")
one("heading typed in capitals with spaces", "Schemes", (), K4="  2015/16 SPEND (£000) ")
habit("heading cleared beside an inserted column", ("BCF-STRUCT-011", "Benefits", "H4"))(
    insert_cols("Benefits", 8, I4=None))
one("two neighbouring headings retyped", "Schemes", (("BCF-STRUCT-011", "Schemes", "C4"),
                                                     ("BCF-STRUCT-011", "Schemes", "D4")), C4="Name", D4="Type")

# == Anchors lost =============================================================================================
one("a table's hidden marks cleared", "Risks", (), A4=None, A35=None)
one("every hidden mark on the Cover cleared", "Cover", (),
    **{f"A{r}": None for r in (4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 17, 26, 28, 39)})


@habit("a row copied with its hidden mark below the others", ("BCF-STRUCT-009", "Governance", "C20"))
def _row_copied_with_its_mark(wb: Workbook) -> None:
    ws = wb["Governance"]
    for col in "ABC":  # the hidden mark, the label and the value, pasted lower down and the value changed
        ws[f"{col}20"] = ws[f"{col}12"].value
    ws["C20"] = 999


@habit("a table's first rows pasted again below its total", ("BCF-STRUCT-009", "Schemes", "B70"))
def _rows_pasted_below(wb: Workbook) -> None:
    ws = wb["Schemes"]
    for offset in range(6):  # rows 5 to 10, without the hidden marks, pasted at rows 70 to 75: one finding names them
        for col in "BCDEFGHIJKL":
            ws[f"{col}{70 + offset}"] = ws[f"{col}{5 + offset}"].value


@habit("every benefit row cleared", ("BCF-CELL-015", "Benefits", "B5"))
def _benefits_cleared(wb: Workbook) -> None:
    ws = wb["Benefits"]
    for row in ws.iter_rows(min_row=5, max_row=44, min_col=2):
        for cell in row:
            if not (isinstance(cell.value, str) and cell.value.startswith("=")):
                cell.value = None


@habit("a table's marks and headings cleared", ("BCF-STRUCT-003", "Benefits", "B4"))
def _table_gone(wb: Workbook) -> None:
    for col in "ABCDEFGHIJKLM":
        wb["Benefits"][f"{col}4"] = None


# == Rows inserted, deleted and sorted =======================================================================
habit("rows inserted above the risk log", ("BCF-STRUCT-004", "Risks", "B6"), ("BCF-STRUCT-004", "Risks", "B40"))(
    insert_rows("Risks", 3, 2))
habit("rows inserted inside the Schemes table")(insert_rows("Schemes", 8, 3))
habit("a benefit row deleted")(delete_row("Benefits", 6))


@habit("schemes sorted by spend")
def _sorted(wb: Workbook) -> None:
    ws = wb["Schemes"]
    rows = [[ws.cell(r, c).value for c in range(2, 14)] for r in range(5, 16)]
    for r, values in enumerate(sorted(rows, key=lambda v: -v[9]), 5):
        for c, v in enumerate(values, 2):
            ws.cell(r, c).value = v


# == Values typed the way officers type them ===============================================================
one("number stored as text", "Funding", (("BCF-CELL-013", "Funding", "F13"),), F13=f"{float(_shown('Funding', 'F13') or 0):.0f}")
one("amount typed with a pound sign and commas", "Funding",
    (("BCF-CELL-002", "Funding", "F13"), ("BCF-ARITH-010", "Cover", "C9")), F13="£27,512")
# one amount that cannot be read: found where it was typed; the totals that leave it out are named once as not
# checked, and nothing is judged against them (no amount is "more than the whole pooled budget" left without it)
one("amount typed in thousands with a k", "Funding",
    (("BCF-CELL-002", "Funding", "F13"), ("BCF-ARITH-010", "Cover", "C9")), F13="£27,512k")
one("the largest contribution typed with a k", "Funding",
    (("BCF-CELL-002", "Funding", "F13"), ("BCF-ARITH-010", "Cover", "C9")), F12=2202, F13="£40,512k")
one("a scheme's spend typed with a k", "Schemes",
    (("BCF-CELL-002", "Schemes", "K5"), ("BCF-ARITH-010", "Schemes", "K65")), K5="6,807k")
one("saving typed in pounds", "Benefits", (("BCF-CELL-014", "Benefits", "I6"),), I6=955000)
one("a contribution typed in pounds", "Funding", (("BCF-CELL-014", "Funding", "F16"),), F16=1400000)
one("contingency typed in pounds", "Governance", (("BCF-CELL-014", "Governance", "C12"),), C12=1739000)
one("TBC for a high risk's mitigation", "Risks", (("BCF-POL-008", "Risks", f"J{HIGH}"),), **{f"J{HIGH}": "TBC"})
one("TBC in a required answer", "Governance", (("BCF-CELL-011", "Governance", "C7"),), C7="TBC")
one("a dash for the lead council", "Cover", (("BCF-CELL-011", "Cover", "C7"),), C7="-")
one("see above for a benefit's unit", "Benefits", (("BCF-CELL-011", "Benefits", "E6"),), E6="see above")
one("n/a in an optional comment", "Funding", (), G12="n/a")
one("lower-case yes for the chair's sign-off", "Cover", (("BCF-CELL-012", "Cover", "C29"),), C29="yes")
one("board typed in lower case with a trailing space", "Cover", (("BCF-CELL-012", "Cover", "C4"),), C4="leeds ")
one("Y for a sign-off", "Cover", (("BCF-CELL-004", "Cover", "C30"),), C30="Y")
one("hyphen for a dash in a boundary", "Risks", (("BCF-CELL-012", "Risks", f"D{HEALTH}"),),
    **{f"D{HEALTH}": "Health-social care"})
one("curly apostrophe in a scheme type", "Schemes", (("BCF-CELL-012", "Schemes", "D8"),), D8="carers\u2019 support")
one("double space in an option", "Schemes", (("BCF-CELL-012", "Schemes", "E11"),), E11="Social  care")
one("email pasted from a link, mailto: and all", "Cover", (("BCF-CELL-006", "Cover", "C12"),),
    C12="mailto:sam.patel@council.gov.uk")
one("date typed as text", "Cover", (("BCF-CELL-002", "Cover", "C14"),), C14="11/09/2014")
one("a formula that divides by zero", "Governance", (("BCF-CELL-016", "Governance", "C12"),), C12="=C11/0")
one("a check formula beside a table that shows nothing", "Funding", (("BCF-STRUCT-010", "Funding", "H12"),),
    H12='=IF(F12>0,"","check")')
one("submitted in 2104", "Cover", (("BCF-CELL-009", "Cover", "C15"),), C15=datetime(2104, 9, 15))
one("percentage typed with a % sign", "Governance", (("BCF-CELL-002", "Governance", "C9"),), C9="80%")
one("shares typed as fractions", "Governance", (("BCF-ARITH-005", "Governance", "C11"),), C9=0.8, C10=0.2)
one("a space typed in a required cell", "Cover", (("BCF-CELL-001", "Cover", "C11"),), C11=" ")
one("a spend typed as a sum", "Schemes", (), K6=f"={SPEND - 406}+406")
one("trailing space in a scheme id", "Schemes", (), B5="S01 ")


@habit("workbook in the 1904 date system")
def _mac(wb: Workbook) -> None:
    wb.epoch = CALENDAR_MAC_1904


# == Sheets ====================================================================================================
@habit("sheet renamed", ("BCF-STRUCT-002", "Governance v2", None))
def _renamed(wb: Workbook) -> None:
    wb["Governance"].title = "Governance v2"


@habit("sheet hidden", ("BCF-STRUCT-007", "Metrics", None))
def _hidden(wb: Workbook) -> None:
    wb["Metrics"].sheet_state = "hidden"


@habit("sheets reordered")
def _reordered(wb: Workbook) -> None:
    wb.move_sheet("Risks", offset=-5)


# == Building the files ======================================================================================
def edited(h: Habit) -> bytes:
    """The clean plan with the habit's edit, as openpyxl saves it (no saved formula values yet)."""
    wb = openpyxl.load_workbook(io.BytesIO(base()))
    h.edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def save_through_libreoffice(files: dict[str, bytes], folder: Path) -> dict[str, Path]:
    """Each file opened and saved by LibreOffice (one run for all), written into ``folder``."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "src")
        src.mkdir()
        for name, data in files.items():
            (src / name).write_bytes(data)
        profile = Path(tmp, "profile").as_uri()
        subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--calc", "--convert-to", "xlsx",
                        "--outdir", str(folder), *sorted(str(p) for p in src.iterdir())],
                       check=True, capture_output=True, timeout=600)
    return {name: folder / name for name in files}


def build_all(folder: Path) -> dict[str, Path]:
    """Every habit's file, saved through LibreOffice, by habit name."""
    paths = save_through_libreoffice({h.file: edited(h) for h in HABITS.values()}, folder)
    return {h.name: paths[h.file] for h in HABITS.values()}
