"""The shape of the code: faces hold no SQL, functions stay short, and no two modules import each other.

SQL lives in ``aggregator/`` as named queries; outside it only the store creates its tables and inserts its
rows. These tests read the source itself, so a new module that breaks the layering fails here, not in review.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "bcf"
MODULES = {".".join(p.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__"): p
           for p in sorted(SRC.rglob("*.py"))}
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WITH)\s", re.S)
STORE_OWN = {"bcf.store"}  # the store's own table creation and inserts
STORE_DDL = ("CREATE", "ALTER", "INSERT")
FACES = ("bcf.cli", "bcf.web", "bcf.letters", "bcf.report", "bcf.monitoring_report", "bcf.workbook_export", "bcf.present")


def _tree(module: str) -> ast.Module:
    return ast.parse(MODULES[module].read_text(encoding="utf-8"))


def _typing_only(tree: ast.Module) -> set[int]:
    """The ids of the import statements under ``if TYPE_CHECKING:`` (for type hints only, never run)."""
    return {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and isinstance(block.test, ast.Name)
            and block.test.id == "TYPE_CHECKING" for n in ast.walk(block)}


def _imports(module: str) -> set[str]:
    """The bcf modules a module imports when it runs, at the top or inside a function."""
    out = set()
    tree = _tree(module)
    hints = _typing_only(tree)
    for node in (n for n in ast.walk(tree) if id(n) not in hints):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names}
    return {m for m in out if m in MODULES and m != module}


def _sql(module: str) -> list[str]:
    """The SQL statements written as Python strings (plain or f-strings) in a module."""
    found = []
    for n in ast.walk(_tree(module)):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            found.append(n.value)
        elif isinstance(n, ast.JoinedStr) and n.values and isinstance(n.values[0], ast.Constant):
            found.append(str(n.values[0].value))
    return [s for s in found if SQL.match(s)]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_sql_outside_the_aggregator_folder(module: str) -> None:
    """Queries are named in aggregator/*.sql; the store may only create its tables and insert its rows itself."""
    allowed = STORE_DDL if module in STORE_OWN else ()
    assert [s for s in _sql(module) if not s.lstrip().upper().startswith(allowed)] == []


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith(FACES)])
def test_faces_never_open_duckdb(module: str) -> None:
    assert "duckdb" not in {n.split(".")[0] for n in _imports_raw(module)}


def _imports_raw(module: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_function_is_longer_than_60_lines() -> None:
    long = [(m, n.name, n.end_lineno - n.lineno + 1) for m in MODULES for n in ast.walk(_tree(m))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.end_lineno and n.end_lineno - n.lineno >= 60]
    assert long == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that import one another, directly or round a loop (Tarjan's strongly connected
    components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            if group:
                out.append(sorted([v, *group]))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    """A package may import its own modules (its door); otherwise no module reaches back to one that imports it."""
    def related(a: str, b: str) -> bool:
        return a.startswith(b + ".") or b.startswith(a + ".")

    graph = {m: {n for n in _imports(m) if not related(m, n)} for m in MODULES}
    assert _cycles(graph) == []


def test_no_test_imports_another_test_module() -> None:
    """What two test modules share lives in tests/support.py (or a corpus module beside it), never in a test."""
    tests = Path(__file__).parent
    reached = {(p.name, node.module) for p in tests.glob("*.py") for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
               if isinstance(node, ast.ImportFrom) and node.module
               and node.module.startswith(("tests.test_", "tests.conftest"))}
    assert reached == set()
