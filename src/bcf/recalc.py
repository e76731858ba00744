"""The template's own calculations, worked out from what a workbook's inputs hold.

Every calculated cell of a template (a ``calc`` expression, or a column's Total row) holds a formula, and what
the file saves for it is what the formula gave when the workbook was last calculated. A workbook can be saved
without being calculated: a script's library stores 0 for every formula and leaves the sums to the spreadsheet
that opens it next, and a spreadsheet with calculation switched off keeps the totals of before the last edits.
So a formula's saved value is never taken on trust. Each calculated cell is worked out here from the inputs, as
the workbook's own formulas would work it out; a cell that still holds its formula but saved another value is
given the value its inputs give, and noted (``Submission.uncalculated``), to be named once as not calculated. A
calculated cell that holds a typed value instead of its formula keeps what was typed, for the arithmetic rules to
report as typed over.

A value that cannot be read (text in an amount cell) is left out of every sum of its column, here as in the
workbook's own SUM; ``totals_leaving_out`` names the totals that so fall short, so that nothing is judged
against them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING, Any

from bcf.findings import ProblemKind
from bcf.spec import Field, Spec

if TYPE_CHECKING:
    from bcf.read import Submission
    from bcf.xlsx import RawWorkbook


@dataclass(frozen=True)
class Calculated:
    """A calculated cell whose saved value is not what its calculation gives."""

    name: str  # a field id, or "table.column"
    row: int | None  # the table row (None for a field, or for a column's Total row)
    shown: Any  # what the file saved
    gives: Any  # what the calculation gives from the inputs (None: blank)
    field: Field
    formula: bool  # the cell still holds its formula (False: a value was typed over it)
    total: bool = False  # the cell is a column's Total row


def checks(sub: Submission) -> Mapping[str, Any]:
    """The check parameters of the round the submission belongs to."""
    return sub.ret.round.values()["checks"]


def blank(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, float) and math.isnan(v))


def differs(tolerance: Mapping[str, Any], f: Field, shown: Any, want: Any) -> bool:
    """Whether a calculated cell's saved value is not its calculation, at the tolerance that fits it: money
    ties to £1k, counts are exact, rates and percentages may differ by rounding (calc_tolerance)."""
    if want is None or shown is None or (isinstance(shown, float) and math.isnan(shown)):
        return False
    if isinstance(want, str) or isinstance(shown, str):
        return str(shown) != str(want)
    gap = abs(float(shown) - float(want))
    if f.unit == "£000":
        return bool(gap >= tolerance["tie_tolerance_000"])
    if f.type == "integer":
        return gap >= 0.5
    return bool(gap > max(0.01, tolerance["calc_tolerance"] * abs(float(want))))


def as_workbook_sees(sub: Submission, name: str) -> Any:
    """A field, or a column's values, as the workbook's own formulas see them: SUM leaves out text."""
    if "." in name:
        table, col = name.split(".")
        return [None if (name, row) in sub.as_text else values[col] for row, values in sub.rows(table)]
    return sub.fields.get(name)


def _lookup(sub: Submission) -> Callable[[Any, str], Any]:
    areas = sub.ret.round.areas

    def lookup(key: Any, column: str) -> Any:
        a = areas.find(key)
        return a.get(column) if a else None
    return lookup


def _disagreement(sub: Submission, tolerance: Mapping[str, Any], f: Field, name: str, row: int | None, shown: Any,
                  want: Any, known: bool = True) -> Calculated | None:
    """The cell, if its saved value is not its calculation. A formula that gives a blank but saved a value
    disagrees too (a placeholder 0 where the template shows nothing), when every input it reads is ``known``
    (not a calculated cell left without a value); a typed value is judged only against a calculation that gives
    something. Where the cell is, and whether it holds a formula, is looked up only then."""
    wrong = differs(tolerance, f, shown, want)
    if not wrong and (want is not None or blank(shown) or not known):
        return None
    formula = sub.where(name, row) in sub.formulas
    return Calculated(name, row, shown, want, f, formula) if wrong or formula else None


def calculated(sub: Submission) -> Iterator[Calculated]:
    """Every calculated cell (fields in the order they feed one another, calculated columns row by row, Total
    rows) whose saved value is not what its calculation gives from the values as they stand when it is met.
    Totals that leave out a value that could not be read are not checked (``totals_leaving_out``)."""
    lookup, tolerance = _lookup(sub), checks(sub)
    unchecked = {name for name, _ in totals_leaving_out(sub, left_out(sub))}
    calcs = [f for f in _in_order(sub.spec) if f.id in sub.field_cells and f.id not in unchecked]
    valueless = {f.id for f in calcs if blank(sub.fields.get(f.id)) and sub.where(f.id) not in sub.uncalculated}
    for f in calcs:
        if f.calc and sub.readable(f.id):
            want = f.calc.evaluate(lambda n: as_workbook_sees(sub, n), lookup)
            known = not f.calc.names() & valueless
            if found := _disagreement(sub, tolerance, f, f.id, None, sub.fields.get(f.id), want, known):
                yield found
    for t in sub.spec.tables:
        for c in t.columns:
            name = f"{t.id}.{c.id}"
            if not sub.readable(name):
                continue
            if c.calc:
                for row, values in sub.rows(t.id):
                    if found := _disagreement(sub, tolerance, c, name, row, values[c.id], c.calc.evaluate(values.get)):
                        yield found
            if name in sub.totals and name not in unchecked:
                want = float(sum(v for v in as_workbook_sees(sub, name) if isinstance(v, float) and v == v))
                shown = sub.totals[name]
                if isinstance(shown, str) or differs(tolerance, c, shown, want):
                    yield Calculated(name, None, shown, want, c, sub.where(name) in sub.formulas, total=True)


def settle(sub: Submission, raw: RawWorkbook) -> None:
    """Give every calculated cell that still holds its formula the value its inputs give, each as soon as it is
    met, so that a calculation fed by another sees the value given to it; note each cell so settled, and why
    the workbook was not calculated."""
    for c in calculated(sub):
        if c.formula:
            _give(sub, c)
            if not (c.total and c.name in sub.short_totals):  # a SUM that leaves out rows is named for that
                sub.uncalculated.add(sub.where(c.name, c.row))
    if sub.uncalculated:
        sub.not_calculated = _why(sub, raw)


@cache
def _in_order(spec: Spec) -> tuple[Field, ...]:
    """A template's calculated fields in an order where each comes after the calculated fields it reads (any of
    them left out, the rest are still in such an order)."""
    calcs = [f for f in spec.fields if f.calc]
    by_id = {f.id: f for f in calcs}
    graph = {f.id: {n for n in (f.calc.names() if f.calc else ()) if n in by_id} for f in calcs}
    return tuple(by_id[i] for i in TopologicalSorter(graph).static_order())


def _give(sub: Submission, c: Calculated) -> None:
    """Put what a calculation gives where the reader keeps that cell's value."""
    value = math.nan if c.gives is None and c.field.numeric and c.row is not None else c.gives
    if c.total:
        sub.totals[c.name] = value
    elif c.row is None:
        sub.fields[c.name] = value
    else:
        table, column = c.name.split(".")
        next(values for row, values in sub.rows(table) if row == c.row)[column] = value


def _why(sub: Submission, raw: RawWorkbook) -> str:
    """What the file says about why its formulas' saved values are not their results."""
    if raw.manual_calc:
        return "calculation was set to manual when it was saved"
    saved = [sub.raw.get(at) for at in sub.formulas]
    if saved and all(v == 0 for v in saved):
        return "every calculated cell was saved as 0"
    if raw.full_calc_on_load:
        return "the program that wrote it left its formulas to be calculated when it is next opened"
    return "it was saved without being calculated, or a formula was changed"


def left_out(sub: Submission) -> dict[str, list[tuple[str, str]]]:
    """The numeric columns holding a value that could not be read (text, or an error), with where each such
    value is: every sum of such a column leaves it out, as the workbook's own SUM does."""
    out: dict[str, list[tuple[str, str]]] = {}
    for p in sub.problems:
        if p.kind in (ProblemKind.WRONG_TYPE, ProblemKind.ERROR_VALUE) and p.cell and p.name and "." in p.name:
            table, column = p.name.split(".")
            if sub.spec.table(table).column(column).numeric:
                out.setdefault(p.name, []).append((p.sheet, p.cell))
    return out


def totals_leaving_out(sub: Submission, missing: Collection[str]) -> list[tuple[str, Field]]:
    """The totals (a column's Total row, a calculated field) that add up a value of one of the ``missing``
    columns, directly or through another such total, in template order: fields, then tables."""
    fed = set(missing)
    calcs = [f for f in sub.spec.fields if f.calc and f.id in sub.field_cells]
    while grown := [f.id for f in calcs if f.id not in fed and f.calc and f.calc.names() & fed]:
        fed.update(grown)  # a total of a total: followed as far as the chain goes
    totals: list[tuple[str, Field]] = [(f.id, f) for f in calcs if f.id in fed]
    for t in sub.spec.tables:
        totals += [(n, c) for c in t.columns if c.total and (n := f"{t.id}.{c.id}") in fed and t.id in sub.end_rows]
    return totals
