"""A small, guarded reader for the cells of an .xlsx file.

It unzips the workbook and streams each sheet's XML with entity expansion switched off (defusedxml),
keeping for every cell its A1 reference, its value, whether it holds a formula and whether that formula
has a saved value. It reads only up to the rows and columns the caller asks for, whatever size the file
claims. Measured here it costs little more than parsing the sheet XML at all, and unlike the faster
value-only readers it keeps formulas apart from blanks.

Nothing past the limits is kept, but nothing there is lost unseen either: a non-empty cell outside them is
noted in ``SheetCells.beyond`` (up to ``MAX_BEYOND`` a sheet), so that the caller can say it was not read. The
workbook's date system (Windows, or the Mac's, four years later) is kept with the cells, as every date serial
depends on it, and so are its calculation settings (manual calculation, or everything to be calculated on
opening), as the saved values of its formulas depend on them.

Every submitted file is untrusted, so the reader also keeps to budgets: it parses at most ``MAX_ELEMENTS``
XML elements within the limits (and ``MAX_TAIL_ELEMENTS`` past them) and keeps at most ``MAX_TEXT``
characters of text in all, and clips any one cell's text to Excel's own limit of 32,767 characters. A file
that goes over a budget is not read further; the workbook says which budget and where
(``RawWorkbook.too_large``). Shared strings are parsed last and only as far as the last one a read cell
uses. Damage of any kind (to the zip, a part or the XML) is raised as ``Damaged``, a ``zipfile.BadZipFile``
whose message says in plain words what is wrong; entities in the XML raise defusedxml's own exceptions.
"""

from __future__ import annotations

import math
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import IO, Any, NamedTuple
from xml.etree.ElementTree import ParseError, XMLParser, XMLPullParser

from defusedxml import DTDForbidden

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REF = re.compile(r"([A-Z]{1,3})(\d+)")
_ROW, _C, _V, _F, _IS, _T, _R, _SI, _SHEET_DATA = (
    f"{NS}{tag}" for tag in ("row", "c", "v", "f", "is", "t", "r", "si", "sheetData"))
_MERGED = f"{NS}mergeCells/{NS}mergeCell"

MAX_CELL_TEXT = 32_767  # Excel's limit on the characters in one cell
MAX_FORMULA = 8_192  # Excel's limit on the characters in one formula
MAX_ELEMENTS = 200_000  # XML elements parsed in all; the whole template has under 9,000
MAX_TEXT = 1_000_000  # characters of cell text kept in all; the whole template has under 25,000
MAX_TAIL_ELEMENTS = 1_000_000  # elements looked through past a sheet's row limit for cells that are not empty
MAX_BEYOND = 200  # non-empty cells past the limits noted on one sheet
WHOLE_PART = 1 << 20  # bytes of sheet XML parsed whole rather than streamed; a template sheet is under 100 KB
WINDOWS_EPOCH = date(1899, 12, 30)  # day 0 of Excel's usual date serials
MAC_EPOCH = WINDOWS_EPOCH + timedelta(days=1462)  # day 0 when a workbook uses the Mac date system
MAC_DATES_ATTRIBUTE = f"date{MAC_EPOCH.year}"  # how workbook.xml says so
# what a damaged or unreadable zip raises while it is read (zipfile lets these through from zlib and struct)
DAMAGED = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, RuntimeError, NotImplementedError, OSError)


class Damaged(zipfile.BadZipFile):
    """The file is damaged; the message says how, for the person who sent it."""


def damage(e: BaseException) -> str:
    """What a low-level read error means, in plain words."""
    if isinstance(e, Damaged):
        return str(e)
    if isinstance(e, RuntimeError) and "encrypted" in str(e):
        return "a part of it is protected with a password"
    if isinstance(e, NotImplementedError):
        return "a part of it is packed in a way Excel does not use"
    if isinstance(e, zipfile.BadZipFile) and "not a zip file" in str(e):
        return "it is not a complete zip archive"
    if isinstance(e, OSError):
        return "it could not be read"
    return "a part of it is damaged"


def col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


class Cell(NamedTuple):
    """One cell as stored: value is str, float, bool or None; ``error`` holds e.g. '#REF!'."""

    value: Any
    formula: bool = False
    cached: bool = True  # False: a formula with no saved value
    error: str | None = None
    clipped: int = 0  # the text's full length when it was longer than a cell can hold, and was cut
    source: str = ""  # the text of a formula whose value is a number (a shared formula's copies have none)


class Limits(NamedTuple):
    """What to read of one sheet: rows and columns kept, and whether to note non-empty cells past them."""

    rows: int
    cols: int
    beyond: bool = True


@dataclass
class SheetCells:
    name: str
    state: str  # visible | hidden | veryHidden
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    beyond: dict[tuple[int, int], Cell] = field(default_factory=dict)  # non-empty cells past the limits
    merged: list[str] = field(default_factory=list)  # the ranges of merged cells ("C5:E5"), when the part was read whole
    _by_row: dict[int, dict[int, Cell]] | None = field(default=None, repr=False, compare=False)

    def get(self, row: int, col: int) -> Cell | None:
        return self.cells.get((row, col))

    def row(self, row: int) -> dict[int, Cell]:
        """The cells of one row, by column (indexed on first use, once the sheet has been read)."""
        return self._rows().get(row, {})

    def rows(self) -> Iterable[int]:
        """The numbers of the rows that have cells."""
        return self._rows().keys()

    def _rows(self) -> dict[int, dict[int, Cell]]:
        if self._by_row is None:
            self._by_row = {}
            for (r, col), c in self.cells.items():
                self._by_row.setdefault(r, {})[col] = c
        return self._by_row


@dataclass(frozen=True)
class TooLarge:
    """A budget the file went over: where, what was found, and the budget."""

    sheet: str
    found: str
    expected: str


@dataclass
class RawWorkbook:
    sheets: dict[str, SheetCells]  # in workbook order
    too_large: TooLarge | None = None  # set when reading stopped at a budget; the sheets are then partial
    mac_dates: bool = False  # date serials count from the Mac epoch (Excel for Mac's old default), 1,462 days on
    manual_calc: bool = False  # calculation was set to manual when it was saved (calcPr calcMode="manual")
    full_calc_on_load: bool = False  # the writer asked for every formula to be calculated on opening (fullCalcOnLoad)

    @property
    def names(self) -> list[str]:
        return list(self.sheets)


class _OverBudget(Exception):
    def __init__(self, found: str, expected: str):
        super().__init__(found)
        self.found, self.expected, self.sheet = found, expected, ""


class _Budget:
    """What is left of the element and text budgets for one workbook."""

    def __init__(self) -> None:
        self.elements, self.text = MAX_ELEMENTS, MAX_TEXT

    def parse(self, f: IO[bytes]) -> Iterator[Any]:
        """The elements of an XML part as they end, charging each to the budget; a document type declaration is
        refused before anything is parsed, as in a sheet (``_chunks``)."""
        parser: XMLPullParser[Any] = XMLPullParser(events=("end",))
        for data in _chunks(f):
            parser.feed(data) if data else parser.close()
            events: Iterator[tuple[str, Any]] = parser.read_events()  # type: ignore[assignment]  # "end" only
            for _, el in events:
                self.elements -= 1
                if self.elements < 0:
                    raise self.over()
                yield el

    @staticmethod
    def over() -> _OverBudget:
        return _OverBudget(f"more than {MAX_ELEMENTS:,} cells and other items", f"{MAX_ELEMENTS:,} items")

    def spend_text(self, n: int) -> None:
        self.text -= n
        if self.text < 0:
            raise _OverBudget(f"more than {MAX_TEXT:,} characters of text in its cells", f"{MAX_TEXT:,} characters")


def _text(el: Any) -> str:
    """The text of a string item (<si> or <is>): plain or in rich-text runs, without phonetic guides.

    It stops once more than a cell can hold has been gathered."""
    if len(el) == 1 and el[0].tag == _T:  # plain text, as nearly every item is
        return el[0].text or ""
    parts, n = [], 0
    for child in el:
        texts = [child] if child.tag == _T else child.findall(_T) if child.tag == _R else []
        for t in texts:
            parts.append(t.text or "")
            n += len(parts[-1])
        if n > MAX_CELL_TEXT:
            break
    return "".join(parts)


def _shared_strings(z: zipfile.ZipFile, path: str | None, wanted: int, budget: _Budget) -> list[str]:
    """The shared strings up to index ``wanted`` (the last one a read cell uses)."""
    out: list[str] = []
    if path is None or wanted < 0:
        return out
    with z.open(path) as f:
        for el in budget.parse(f):
            if el.tag == _SI:
                out.append(_text(el))
                el.clear()
                if len(out) > wanted:
                    break
    return out


class _Package:
    """The zip's parts, looked up the way OPC names them: case-insensitively."""

    def __init__(self, z: zipfile.ZipFile):
        self.z = z
        self.parts = {i.filename.lower(): i.filename for i in z.infolist()}

    def find(self, part: str) -> str | None:
        return self.parts.get(part.lower())

    def size(self, part: str) -> int:
        """The unpacked size the zip declares for a part (reading never yields more)."""
        return self.z.getinfo(self.parts[part.lower()]).file_size

    def open(self, part: str, what: str) -> IO[bytes]:
        name = self.find(part)
        if name is None:
            raise Damaged(f"{what} cannot be found")
        return self.z.open(name)


def _resolve(base: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))


def _sheet_paths(pkg: _Package, budget: _Budget, wb: RawWorkbook) -> tuple[list[tuple[str, str, str]], str | None]:
    """(name, state, part path) for every worksheet in workbook order, and the shared strings part; notes the
    workbook's date system and calculation settings."""
    rels, strings = {}, None
    with pkg.open("xl/_rels/workbook.xml.rels", "the list of the workbook's parts") as f:
        for el in budget.parse(f):
            if el.tag == f"{PKG_REL_NS}Relationship":
                rels[el.get("Id")] = target = _resolve("xl", el.get("Target", ""))
                if el.get("Type", "").endswith("/sharedStrings"):
                    strings = target
    out = []
    with pkg.open("xl/workbook.xml", "the list of the workbook's sheets") as f:
        for el in budget.parse(f):
            if el.tag == f"{NS}sheet":
                out.append((el.get("name", ""), el.get("state", "visible"), rels.get(el.get(f"{REL_NS}id"), "")))
            elif el.tag == f"{NS}workbookPr":
                wb.mac_dates = _true(el.get(MAC_DATES_ATTRIBUTE))
            elif el.tag == f"{NS}calcPr":
                wb.manual_calc = el.get("calcMode", "auto") == "manual"
                wb.full_calc_on_load = _true(el.get("fullCalcOnLoad"))
    return out, pkg.find(strings or "xl/sharedStrings.xml")


def _true(text: str | None) -> bool:
    """An XML boolean attribute: "1" or "true"."""
    return (text or "").lower() in ("1", "true")


def _int(text: str | None) -> int | None:
    """A whole number written in ASCII digits, as XML attributes and indexes are; anything else is None."""
    return int(text) if text and text.isascii() and text.isdigit() else None


class _SheetReader:
    """Streams one sheet's rows within the limits; shared strings are noted by index, resolved later.

    Past the limits nothing is kept but non-empty cells, noted in ``beyond``."""

    def __init__(self, sheet: SheetCells, limits: Limits):
        self.sheet, self.limits = sheet, limits
        self.max_row, self.max_col = limits.rows, limits.cols
        self.shared: dict[tuple[int, int], tuple[int, bool]] = {}  # (row, col) -> (string index, formula)
        self.shared_beyond: dict[tuple[int, int], tuple[int, bool]] = {}

    def read(self, f: IO[bytes], budget: _Budget, size: int) -> None:
        """Every row up to max_row, then (when asked) the rest for non-empty cells.

        A part of at most ``WHOLE_PART`` bytes is parsed whole by the C parser, its elements charged to the
        budget at once (the quickest way, as no Python runs per element); a larger part, or one of which only
        the first rows are wanted, is streamed, each element charged as it ends."""
        if self.limits.beyond and size <= WHOLE_PART:
            self._whole(f, budget)
        else:
            self._stream(f, budget)

    def _whole(self, f: IO[bytes], budget: _Budget) -> None:
        parser = XMLParser()
        for data in _chunks(f):
            parser.feed(data)
        root = parser.close()
        budget.elements -= len(list(root.iter()))
        if budget.elements < 0:
            raise budget.over()
        rows = root.find(_SHEET_DATA)
        row = 0
        for el in rows if rows is not None else ():
            if el.tag == _ROW:
                row = _int(el.get("r")) or row + 1  # a row without r follows the one before it
                self.row(el, row, budget)
        self.sheet.merged = [m.get("ref", "")[:20] for m in root.iterfind(_MERGED)]

    def _stream(self, f: IO[bytes], budget: _Budget) -> None:
        """Rows as they end; past max_row only non-empty cells are kept, charged to their own allowance. When only
        the first rows are wanted, the part is fed in small pieces, so that little past them is parsed."""
        parser: XMLPullParser[Any] = XMLPullParser(events=("end",))
        row, left, tail = 0, budget.elements, MAX_TAIL_ELEMENTS
        try:
            for data in _chunks(f, 1 << 16 if self.limits.beyond else 1 << 12):
                parser.feed(data) if data else parser.close()
                events: Iterator[tuple[str, Any]] = parser.read_events()  # type: ignore[assignment]  # "end" only
                for _, el in events:
                    if row <= self.max_row:
                        left -= 1
                        if left < 0:
                            raise budget.over()
                    else:
                        tail -= 1
                        if tail < 0:
                            raise budget.over()
                    tag = el.tag
                    if tag == _ROW:
                        row = _int(el.get("r")) or row + 1  # a row without r follows the one before it
                        if row > self.max_row and not self.limits.beyond:
                            return
                        self.row(el, row, budget)
                        el.clear()
                    elif tag == _SHEET_DATA:
                        return
        finally:
            budget.elements = left

    def row(self, el: Any, row: int, budget: _Budget) -> None:
        max_row, max_col, cells, shared = self.max_row, self.max_col, self.sheet.cells, self.shared
        columns: list[int] = []  # each cell's column, worked out once a row has a cell without its reference
        text = 0  # characters of text kept from this row, charged to the budget at its end
        for i, c in enumerate(el):
            t = c.get("t")
            if (not len(c) and t != "inlineStr") or c.tag != _C:
                continue  # a cell with no value, formula or text (perhaps formatted); an empty inline string is ""
            at = _ref(c.get("r", ""))
            if at is None:
                columns = columns or _columns(el)
                at = (row, columns[i])
            outside = at[0] > max_row or at[1] > max_col
            if outside and (not self.limits.beyond or not len(c) or len(self.sheet.beyond) >= MAX_BEYOND):
                continue
            v = c.find(_V)
            if t == "s" and v is not None and v.text:
                index = _int(v.text)
                if index is None:
                    raise Damaged(f"cell {c.get('r', '')[:10]} of the {self.sheet.name[:31]} sheet is damaged")
                (self.shared_beyond if outside else shared)[at] = (index, c.find(_F) is not None)
                continue
            cell = _cell(c, t or "n", v)
            if cell is not None:
                if type(cell.value) is str:
                    text += len(cell.value)
                (self.sheet.beyond if outside else cells)[at] = cell
        if text:
            budget.spend_text(text)


_DOCTYPE = tuple("<!DOCTYPE".encode(code) for code in ("utf-8", "utf-16-le", "utf-16-be"))  # as each encoding spells it


def _chunks(f: IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """An XML part's bytes in chunks, then b"" for its end (which adds nothing to what is parsed).

    Entities are refused as defusedxml would: a document type declaration, the only place an entity can be
    declared, is looked for in the raw bytes, as UTF-8 or UTF-16 spells it (overlapping chunks, so it cannot straddle
    two) before parsing.
    """
    tail = b""
    while data := f.read(size):
        window = tail + data
        if any(p in window for p in _DOCTYPE):  # looked for whole: "<" alone is in every other byte of a sheet
            raise DTDForbidden(None, None, None)
        tail = data[-32:]
        yield data
    yield b""


@lru_cache(maxsize=16384)
def _ref(ref: str) -> tuple[int, int] | None:
    """'C14' → (14, 3); None for anything that is not a cell reference."""
    m = _REF.fullmatch(ref)
    return (int(m.group(2)), col_number(m.group(1))) if m else None


def _columns(row: Any) -> list[int]:
    """The column of each of a row's elements, in one pass: a cell's reference's, or for a cell without one, the
    column after the cell before it (the first cell: column A); 0 for an element that is not a cell."""
    out, last = [], 0
    for c in row:
        if c.tag == _C:
            at = _ref(c.get("r", ""))
            last = at[1] if at else last + 1
        out.append(last if c.tag == _C else 0)
    return out


def _cell(el: Any, t: str, v: Any) -> Cell | None:
    f = el.find(_F)
    text = v.text if v is not None else None
    formula = f is not None
    if t == "inlineStr":
        is_ = el.find(_IS)
        return _string(_text(is_) if is_ is not None else "", formula)
    if not text:
        if formula:  # Excel stores a formula that gives "" as t="str" with an empty value
            return Cell("", True) if t == "str" else Cell(None, True, cached=False)
        return None
    if t == "b":
        return Cell(text == "1", formula)
    if t == "e":
        return Cell(None, formula, error=text[:40])
    if t in ("str", "d"):
        return _string(text, formula)
    try:
        value = float(text)
    except ValueError:
        return _string(text, formula)
    if not math.isfinite(value):
        return _string(text, formula)  # NaN, INF: as typed
    return Cell(value, True, source=(f.text or "")[:MAX_FORMULA]) if formula else Cell(value)


def _string(text: str, formula: bool) -> Cell:
    """A text cell, cut to what one cell can hold (its full length kept when it was cut)."""
    if len(text) <= MAX_CELL_TEXT:
        return Cell(text, formula)
    return Cell(text[:MAX_CELL_TEXT], formula, clipped=len(text))


def _read(z: zipfile.ZipFile, limits: Callable[[str], Limits], wb: RawWorkbook) -> None:
    budget, pkg = _Budget(), _Package(z)
    paths, strings_part = _sheet_paths(pkg, budget, wb)
    readers = []
    for name, state, part in paths:
        sheet = wb.sheets[name] = SheetCells(name, state)
        lim = limits(name)
        if lim.rows:
            reader = _SheetReader(sheet, lim)
            readers.append(reader)
            with pkg.open(part, f"the contents of the {name[:31]} sheet") as f:
                try:
                    reader.read(f, budget, pkg.size(part))
                except _OverBudget as e:
                    e.sheet = name
                    raise
                except ParseError as e:
                    raise Damaged(f"the {name[:31]} sheet is not readable") from e
    wanted = max((i for r in readers for i, _ in (*r.shared.values(), *r.shared_beyond.values())), default=-1)
    strings = _shared_strings(z, strings_part, wanted, budget)
    for reader in readers:
        try:
            for into, shared in ((reader.sheet.cells, reader.shared), (reader.sheet.beyond, reader.shared_beyond)):
                for (row, col), (i, formula) in shared.items():
                    text = strings[i] if 0 <= i < len(strings) else ""
                    budget.spend_text(len(text))
                    into[(row, col)] = _string(text, formula)
        except _OverBudget as e:
            e.sheet = reader.sheet.name
            raise


def read_cells(source: str | IO[bytes], limits: Callable[[str], Limits]) -> RawWorkbook:
    """The cells of every worksheet within the ``limits(sheet name)``, and the non-empty cells past them."""
    wb = RawWorkbook({})
    try:
        with zipfile.ZipFile(source) as z:
            _read(z, limits, wb)
    except _OverBudget as e:
        wb.too_large = TooLarge(e.sheet, e.found, e.expected)
    except ParseError as e:
        raise Damaged("the list of its sheets or its text is not readable") from e
    except DAMAGED as e:
        raise e if isinstance(e, Damaged) else Damaged(damage(e)) from e
    return wb
