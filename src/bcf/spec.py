"""The template specification: one declarative description of the workbook, loaded into typed objects.

``bcf_templates/<round>/<return>/template.yaml`` describes every sheet, field and table of the current
version; older versions are short overlays on it (``drop``/``move``). The generator, the reader, the cell
rules and the store's tables all work from the objects built here and from nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any

from bcf import content
from bcf.calc import Expr
from bcf.errors import UnknownVersion

TAG_COLUMN = "A"
LISTS_SHEET = "Lists"  # hidden: template id, version and the lists behind the dropdowns
CHECKLIST_SHEET = "Checklist"
FIRST_TABLE_COLUMN = 2  # tables start in column B


def version_line(version: str) -> str:
    """The line under each data sheet's title."""
    return f"Version {version}. Fill in the yellow cells; * marks a required item."


@lru_cache(maxsize=4096)
def col_letter(n: int) -> str:
    """1 → A, 28 → AB."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


@lru_cache(maxsize=16384)
def split_ref(ref: str) -> tuple[str, int]:
    """'C14' → ('C', 14)."""
    m = re.fullmatch(r"([A-Z]{1,3})(\d+)", ref)
    if not m:
        raise ValueError(f"not a cell reference: {ref}")
    return m.group(1), int(m.group(2))


@dataclass(frozen=True)
class Field:
    """A single-value field or a table column: what may be entered and where."""

    id: str
    label: str
    sheet: str
    type: str = "text"  # text | number | integer | date | email
    required: bool = False
    min: float | None = None
    max: float | None = None
    list: str | None = None
    unit: str | None = None
    example: str | None = None
    help: str | None = None
    calc: Expr | None = None
    unique: bool = False
    fixed: bool = False  # pre-filled by the template (row labels), not an input
    total: bool = False  # summed on the table's totals row
    width: int | None = None
    cell: str | None = None  # fields only: where the generator puts it

    @property
    def is_input(self) -> bool:
        return self.calc is None and not self.fixed

    @property
    def numeric(self) -> bool:
        return self.type in ("number", "integer")


@dataclass(frozen=True)
class Table:
    """A block that grows downwards from a header row, closed by a totals row."""

    id: str
    label: str
    sheet: str
    header_row: int
    columns: tuple[Field, ...]
    max_rows: int
    required: bool = False
    fixed_rows: tuple[dict[str, Any], ...] = ()
    key: tuple[str, ...] = ()  # the columns that identify a row: a unique id, the fixed label, or as declared

    @property
    def end_row(self) -> int:
        return self.header_row + self.max_rows + 1

    @property
    def start_tag(self) -> str:
        return f"{self.id}-START"

    @property
    def end_tag(self) -> str:
        return f"{self.id}-END"

    def column(self, column_id: str) -> Field:
        return next(c for c in self.columns if c.id == column_id)

    @cached_property
    def letters(self) -> dict[str, str]:
        """Column id → column letter."""
        return {c.id: col_letter(FIRST_TABLE_COLUMN + i) for i, c in enumerate(self.columns)}

    def letter(self, column_id: str) -> str:
        return self.letters[column_id]


@dataclass(frozen=True)
class Sheet:
    name: str
    title: str = ""
    fields: tuple[Field, ...] = ()
    tables: tuple[Table, ...] = ()
    texts: dict[str, str] = field(default_factory=dict)
    guidance: bool = False
    optional: bool = False  # a workbook without this sheet is still complete (no finding)
    store: str | None = None  # the store table holding the sheet's single-value fields


@dataclass(frozen=True, eq=False)  # one object per loaded version: compared and hashed by identity
class Spec:
    """One version of one return's template."""

    round_id: str
    kind: str  # the return: plan, quarterly
    template_id: str
    version: str
    title: str
    released: date
    deadline: date
    lists: dict[str, tuple[str, ...]]
    sheets: tuple[Sheet, ...]
    superseded_by: str | None = None
    period_field: str | None = None  # the field saying which period a return covers (quarterly returns)
    how_to: tuple[str, ...] = ()  # the steps printed on the Guidance sheet

    # A specification never changes once loaded, so what is found in it is worked out once (every check asks).
    @cached_property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for s in self.sheets for f in s.fields)

    @cached_property
    def tables(self) -> tuple[Table, ...]:
        return tuple(t for s in self.sheets for t in s.tables)

    @cached_property
    def data_sheets(self) -> tuple[Sheet, ...]:
        return tuple(s for s in self.sheets if not s.guidance)

    @cached_property
    def _by_id(self) -> dict[str, Field | Table]:
        return {**{t.id: t for t in self.tables}, **{f.id: f for f in self.fields}}  # a field first, as before

    def field(self, field_id: str) -> Field:
        found = self._by_id.get(field_id)
        if not isinstance(found, Field):
            raise KeyError(f"{self.template_id} has no field {field_id!r}")
        return found

    def table(self, table_id: str) -> Table:
        return next(t for t in self.tables if t.id == table_id)

    def has(self, name: str) -> bool:
        return name in self._by_id


def _field(raw: dict[str, Any], sheet: str, kinds: dict[str, dict[str, Any]]) -> Field:
    raw = dict(raw)
    merged = {**kinds.get(raw.pop("kind", ""), {}), **raw}
    if "calc" in merged:
        merged["calc"] = Expr(merged["calc"])
    return Field(sheet=sheet, **merged)


def _key(table: dict[str, Any]) -> list[str]:
    """A table's row key when its spec does not declare one: its unique id column, else its fixed label."""
    columns = table["columns"]
    return ([c["id"] for c in columns if c.get("unique")][:1] or [c["id"] for c in columns if c.get("fixed")][:1])


def _build(doc: dict[str, Any], round_id: str, kind: str) -> Spec:
    kinds = doc.get("kinds", {})
    sheets = []
    for s in doc["sheets"]:
        name = s["name"]
        tables = []
        for t in s.get("tables", []):
            rows = tuple(t.get("rows", ()))
            tables.append(Table(
                id=t["id"], label=t["label"], sheet=name, header_row=t["header_row"],
                columns=tuple(_field(c, name, kinds) for c in t["columns"]),
                max_rows=len(rows) or t["max_rows"], required=t.get("required", False), fixed_rows=rows,
                key=tuple(t.get("key") or _key(t))))
        sheets.append(Sheet(
            name=name, title=s.get("title", name), guidance=s.get("guidance", False), optional=s.get("optional", False),
            texts=s.get("texts", {}), tables=tuple(tables), store=s.get("store"),
            fields=tuple(_field(f, name, kinds) for f in s.get("fields", []))))
    return Spec(
        round_id=round_id, kind=kind, template_id=doc["template_id"], version=str(doc["version"]), title=doc["title"],
        released=doc["released"], deadline=doc["deadline"], lists={k: tuple(v) for k, v in doc["lists"].items()},
        sheets=tuple(sheets), superseded_by=doc.get("superseded_by"), period_field=doc.get("period_field"),
        how_to=tuple(doc.get("how_to", ())))


def _apply_overlay(doc: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    drop, move = set(overlay.get("drop", ())), overlay.get("move", {})
    sheets = []
    for s in doc["sheets"]:
        s = dict(s)
        s["fields"] = [{**f, "cell": move.get(f["id"], f["cell"])} for f in s.get("fields", []) if f["id"] not in drop]
        s["tables"] = [t for t in s.get("tables", []) if t["id"] not in drop]
        sheets.append(s)
    return {**doc, **{k: overlay[k] for k in ("version", "released", "superseded_by")}, "sheets": sheets}


@cache
def _current_doc(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = content.parse_yaml((folder / "template.yaml").read_text(encoding="utf-8"))
    return doc


def versions(folder: Path) -> dict[str, str]:
    """Every version of a return's template, mapped to its overlay file ('' for the current one)."""
    doc = _current_doc(folder)
    return {str(doc["version"]): "", **{str(k): v for k, v in doc.get("superseded", {}).items()}}


@cache
def load(folder: Path, version: str | None = None) -> Spec:
    """The specification in a return's folder (``bcf_templates/<round>/<return>``), one version of it."""
    doc = _current_doc(folder)
    overlay_file = versions(folder).get(version or str(doc["version"]))
    if overlay_file is None:
        raise UnknownVersion(f"Version {version} of {doc['template_id']} is not known. "
                             f"Known: {', '.join(versions(folder))}.")
    if overlay_file:
        doc = _apply_overlay(doc, content.parse_yaml((folder / overlay_file).read_text(encoding="utf-8")))
    return _build(doc, folder.parent.name, folder.name)
