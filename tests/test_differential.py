"""The guarded cell reader against openpyxl, on every cell of the sample round and of both corpora.

For every sheet, every cell openpyxl sees within the reader's limits must come back with the same value
and type (numbers as floats, dates as the serial the workbook stores, booleans, text, error values), the
same formula/blank distinction (a formula with no saved value is neither blank nor a value), and nothing
more; every non-empty cell past the limits must be among the cells the reader notes as not read.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.datetime import to_excel

from bcf import xlsx
from bcf.read import _limits
from bcf.xlsx import Cell, read_cells
from tests.corpus import CASES, build_case

Seen = dict[tuple[str, int, int], tuple[Any, bool]]  # (sheet, row, col) -> (value, is formula)


def _plain(v: Any, epoch: datetime) -> Any:
    """openpyxl's value as the file stores it: dates back to their serial, numbers as floats."""
    if isinstance(v, (datetime, date, time)):
        return float(to_excel(v, epoch))
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def by_openpyxl(path: Path) -> tuple[Seen, Seen]:
    """(cells within the reader's limits, non-empty cells past them), as openpyxl reads them."""
    formulas = openpyxl.load_workbook(path, read_only=True)
    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    inside: Seen = {}
    outside: Seen = {}
    for ws_f, ws_v in zip(formulas.worksheets, values.worksheets, strict=True):
        ws_f.reset_dimensions()  # never trust a sheet's declared size (the reader does not either)
        ws_v.reset_dimensions()
        lim = _limits(ws_f.title)
        for row_f, row_v in zip(ws_f.iter_rows(), ws_v.iter_rows(), strict=True):
            for cf, cv in zip(row_f, row_v, strict=True):
                if getattr(cf, "row", None) is None:
                    continue
                formula = cf.data_type == "f"
                if cv.value is None and not formula:
                    continue
                value = (cv.value, "e") if cv.data_type == "e" else _plain(cv.value, values.epoch)
                key = (ws_f.title, cf.row, cf.column)
                if cf.row <= lim.rows and cf.column <= lim.cols:
                    inside[key] = (value, formula)
                elif lim.beyond:
                    outside[key] = (value, formula)
    formulas.close()
    values.close()
    return inside, outside


def _ours(c: Cell) -> tuple[Any, bool]:
    if c.error:
        return (c.error, "e"), c.formula
    return (None if c.formula and not c.cached else c.value), c.formula


def by_reader(path: Path) -> tuple[Seen, Seen]:
    raw = read_cells(str(path), _limits)
    inside = {(s.name, r, c): _ours(cell) for s in raw.sheets.values() for (r, c), cell in s.cells.items()}
    outside = {(s.name, r, c): _ours(cell) for s in raw.sheets.values() for (r, c), cell in s.beyond.items()}
    return inside, outside


def differences(path: Path) -> list[tuple[Any, ...]]:
    """Every cell where the reader and openpyxl disagree: (sheet, row, col, reader's, openpyxl's)."""
    (ours, ours_out), (theirs, theirs_out) = by_reader(path), by_openpyxl(path)
    out = []
    for key in sorted(set(ours) | set(theirs)):
        a, b = ours.get(key), theirs.get(key)
        if a is not None and a[0] == "" and (b is None or b[0] is None):
            continue  # an empty text (typed, or a formula's ""): openpyxl reads it as None, both are blank
        if a != b:
            out.append((*key, a, b))
    out += [(*key, None, theirs_out[key]) for key in sorted(set(theirs_out) - set(ours_out))]
    return out


@pytest.mark.slow  # every cell of 151 workbooks, twice through openpyxl: `make test-all` and CI run it
def test_reader_matches_openpyxl_on_every_cell_of_the_sample_round(sample_round: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = sample_round
    diffs = {f["file"]: differences(folder / f["file"]) for f in manifest["files"]}
    assert {f: d[:5] for f, d in diffs.items() if d} == {}


# readable cases, less those openpyxl cannot take (a million styled rows or cells, a row number in superscript
# digits), reads past a cell's limit, or holds past the limits where the reader notes only the first cells
BEYOND_OPENPYXL = ("1,048,576", "100,000 blank", "a million", "1 MB of text", "NaN", "superscript", "40,000 cells")
READABLE = [n for n, c in CASES.items() if c.exit != 2 and c.needs is None and not any(w in n for w in BEYOND_OPENPYXL)]


@pytest.mark.parametrize("name", READABLE)
def test_reader_matches_openpyxl_on_the_hostile_corpus(name: str, tmp_path: Path) -> None:
    assert differences(build_case(CASES[name], tmp_path)) == []


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_reader_matches_openpyxl_on_every_habit(habit_files: dict[str, Path]) -> None:
    diffs = {name: differences(path) for name, path in habit_files.items()}
    assert {n: d[:5] for n, d in diffs.items() if d} == {}


READ_AS_PARTS = [n for n, c in CASES.items() if c.exit != 2 and c.needs is None]


@pytest.mark.parametrize("name", READ_AS_PARTS)
def test_a_sheet_parsed_whole_reads_as_the_same_sheet_streamed(name: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Small sheets are parsed whole and large ones streamed: the two ways give the same cells and budgets."""
    path = build_case(CASES[name], tmp_path)
    whole = read_cells(str(path), _limits)
    monkeypatch.setattr(xlsx, "WHOLE_PART", 0)
    streamed = read_cells(str(path), _limits)
    assert [(s.name, s.cells, s.beyond) for s in whole.sheets.values()] == \
        [(s.name, s.cells, s.beyond) for s in streamed.sheets.values()]
    assert (whole.too_large, whole.mac_dates) == (streamed.too_large, streamed.mac_dates)
