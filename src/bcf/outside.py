"""Cells outside the places the template reads: nothing typed on a template sheet is ignored unsaid.

An extra benefit typed under the Benefits total, a figure in a column the template does not have, a note
beside the Cover: each would otherwise vanish from the plan and from the national figures. Every non-empty
cell of a template sheet that is neither read nor the template's own text becomes a problem at that cell,
saying where such an entry belongs; rows pasted whole (a block over several rows) are one problem that names
the block, so a pasted table is one finding, not a hundred. Sheets the template does not have are the
submitter's own business.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache

from bcf import spec as specs
from bcf.findings import ProblemKind
from bcf.locate import Problem, TablePlace, norm
from bcf.spec import Spec, Table, col_letter, split_ref
from bcf.xlsx import Cell, SheetCells, col_number

BLOCK_ROWS, BLOCK_ENTRIES = 3, 10  # rows pasted whole (a copied table, a second plan): named once, not cell by cell
# reference sheets: the columns the template writes on them; anything in another column was typed there
REFERENCE_COLUMNS = {"Guidance": {1, 2}, specs.CHECKLIST_SHEET: {1, 2, 3, 4, 5}}


@dataclass(frozen=True)
class Found:
    """A table as found on its sheet (for saying where an entry belongs)."""

    table: Table
    place: TablePlace


@cache
def template_texts(spec: Spec, sheet: str) -> frozenset[str]:
    """Every text the template itself writes on a data sheet, normalised: titles, labels, headings, tags."""
    s = next(s for s in spec.sheets if s.name == sheet)
    texts = {s.title, specs.version_line(spec.version), "Total", *s.texts.values()}
    for f in s.fields:
        texts |= {f.label, f.id}
    for t in s.tables:
        texts |= {t.label, t.start_tag, t.end_tag, *(c.label for c in t.columns)}
        texts |= {str(v) for row in t.fixed_rows for v in row.values()}
    return frozenset(norm(x) for x in texts)


def _empty(c: Cell) -> bool:
    return not c.formula and c.error is None and (c.value is None or (isinstance(c.value, str) and not c.value.strip()))


def _belongs(col: int, row: int, tables: list[Found]) -> str:
    """Where an entry at (col, row) should go, in words for the fix."""
    for f in tables:
        cols = f.place.columns.values()
        if cols and f.place.start <= row <= f.place.end and col > max(cols):
            return f"a column of the {f.table.label} table, or its comment column if it has one"
        if cols and f.place.start < row < f.place.end and min(cols) < col < max(cols):
            return f"a column of the {f.table.label} table, not a column added to it"
    above = [f for f in tables if f.place.end < row and f.place.columns]
    if above:
        f = max(above, key=lambda f: f.place.end)
        if not any(g.place.start > f.place.end and g.place.start < row for g in tables):
            return f"a new row of the {f.table.label} table, inserted above its Total row"
    return "the yellow input cell it belongs to"


def outside_cells(sheet: SheetCells, read: set[tuple[int, int]], texts: frozenset[str], tables: list[Found],
                  columns: set[int] | None = None) -> Iterator[Problem]:
    """A problem for every non-empty cell that is not read and is not the template's own text; a block of such
    cells over several rows together (rows pasted whole) is one problem at its first cell that names the block.

    ``columns``, for a reference sheet, are the only columns the template writes on it."""
    return _in_blocks(list(_each(sheet, read, texts, tables, columns)))


def _in_blocks(problems: list[Problem]) -> Iterator[Problem]:
    """The problems, each run of at least ``BLOCK_ROWS`` rows in a row holding ``BLOCK_ENTRIES`` or more as one."""
    runs: list[list[tuple[int, int, Problem]]] = []  # (row, column, problem), in row order
    for p in problems:
        letters, row = split_ref(p.cell or "A1")
        if runs and row - runs[-1][-1][0] <= 1:
            runs[-1].append((row, col_number(letters), p))
        else:
            runs.append([(row, col_number(letters), p)])
    for run in runs:
        rows, cols = {r for r, _, _ in run}, [c for _, c, _ in run]
        if len(rows) < BLOCK_ROWS or len(run) < BLOCK_ENTRIES:
            yield from (p for _, _, p in run)
            continue
        block = f"{col_letter(min(cols))}{min(rows)}:{col_letter(max(cols))}{max(rows)}"
        figure = any(p.kind == ProblemKind.OUTSIDE_FIGURE for _, _, p in run)
        yield replace(run[0][2], kind=ProblemKind.OUTSIDE_FIGURE if figure else ProblemKind.OUTSIDE_TEXT,
                      also=f"as are {len(run) - 1} more entries in {block}")


def _each(sheet: SheetCells, read: set[tuple[int, int]], texts: frozenset[str], tables: list[Found],
          columns: set[int] | None) -> Iterator[Problem]:
    unread = [(at, c) for at, c in (*sheet.cells.items(), *sheet.beyond.items()) if at not in read and not _empty(c)]
    for (row, col), c in sorted(unread):  # few: sorted after the cells read are left out
        if columns is not None:
            if col in columns:
                continue
        elif isinstance(c.value, str) and not c.formula and norm(c.value) in texts:
            continue
        shows_nothing = c.formula and c.cached and isinstance(c.value, str) and not c.value.strip()  # =IF(…,"",…)
        figure = (c.formula and not shows_nothing) or c.error is not None or not isinstance(c.value, str)
        kind = ProblemKind.OUTSIDE_FIGURE if figure else ProblemKind.OUTSIDE_TEXT
        found = "a formula that shows nothing" if shows_nothing else c.error or c.value if c.cached else "a formula"
        yield Problem(kind, sheet.name, f"{col_letter(col)}{row}", found, _belongs(col, row, tables))
