"""Calculated cells: one small expression becomes both an Excel formula and a Python computation.

The template specification writes ``calc: "num_plan / den_plan * per"``. The generator turns that into
``=IFERROR(I5/J5*D5,"")`` and the sample writer and the arithmetic rules evaluate the very same expression,
so the workbook's formulas and the checker's arithmetic cannot drift apart.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable
from typing import Any, Protocol

_OPS: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
}
_FUNCS = {"sum", "min", "max", "lookup"}


class Resolver(Protocol):
    """What an expression needs from the workbook being written."""

    def ref(self, name: str) -> str: ...
    def column_range(self, table: str, column: str) -> str: ...
    def lookup(self, key_ref: str, column: str) -> str: ...


class Expr:
    """A parsed ``calc`` expression."""

    def __init__(self, text: str):
        self.text = text
        self.tree = ast.parse(text, mode="eval").body
        read = set()  # the names it reads, worked out once
        for node in ast.walk(self.tree):
            ok = isinstance(node, (ast.BinOp, ast.UnaryOp, ast.USub, ast.Name, ast.Attribute, ast.Call,
                                   ast.Constant, ast.Load, *_OPS))
            if not ok or (isinstance(node, ast.Call) and getattr(node.func, "id", None) not in _FUNCS):
                raise ValueError(f"calc {text!r}: {type(node).__name__} is not allowed")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                read.add(f"{node.value.id}.{node.attr}")
            elif isinstance(node, ast.Name) and node.id not in _FUNCS:
                read.add(node.id)
        self._names = frozenset(n for n in read if not any(o.startswith(n + ".") for o in read))

    def names(self) -> frozenset[str]:
        """Field or column ids the expression reads (``table.column`` for whole columns), worked out once."""
        return self._names

    def to_excel(self, res: Resolver) -> str:
        """The Excel formula: blank while an input is blank (as in Python) or when it fails (a division by zero)."""
        body = f'IFERROR({self._xl(self.tree, res)},"")'
        calls = {getattr(n.func, "id", "") for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        inputs = sorted({n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name) and n.id not in _FUNCS})
        if inputs and not calls & {"sum", "lookup"}:
            body = f'IF(COUNT({",".join(res.ref(n) for n in inputs)})<{len(inputs)},"",{body})'
        return "=" + body

    def _xl(self, node: ast.AST, res: Resolver) -> str:
        if isinstance(node, ast.BinOp):
            return f"({self._xl(node.left, res)}{_OPS[type(node.op)][0]}{self._xl(node.right, res)})"
        if isinstance(node, ast.UnaryOp):
            return f"-{self._xl(node.operand, res)}"
        if isinstance(node, ast.Constant):
            return repr(node.value) if isinstance(node.value, (int, float)) else '"' + str(node.value) + '"'
        if isinstance(node, ast.Name):
            return res.ref(node.id)
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        fn, args = node.func.id, node.args
        if fn == "sum":
            col = args[0]
            assert isinstance(col, ast.Attribute) and isinstance(col.value, ast.Name)
            return f"SUM({res.column_range(col.value.id, col.attr)})"
        if fn == "lookup":
            key, column = args
            assert isinstance(column, ast.Constant)
            return res.lookup(self._xl(key, res), str(column.value))
        return f"{fn.upper()}({','.join(self._xl(a, res) for a in args)})"

    def evaluate(self, get: Callable[[str], Any], lookup: Callable[[Any, str], Any] | None = None) -> Any:
        """Compute the value from inputs; ``None`` where an input is blank or not a number."""
        return _eval(self.tree, get, lookup)


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _eval(node: ast.AST, get: Callable[[str], Any], lookup: Callable[[Any, str], Any] | None) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return _number(get(node.id))
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, get, lookup)
        return None if v is None else -v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, get, lookup), _eval(node.right, get, lookup)
        if a is None or b is None or (isinstance(node.op, ast.Div) and b == 0):
            return None
        return _OPS[type(node.op)][1](a, b)
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    fn = node.func.id
    if fn == "sum":
        col = node.args[0]
        assert isinstance(col, ast.Attribute) and isinstance(col.value, ast.Name)
        values: Iterable[Any] = get(f"{col.value.id}.{col.attr}") or []
        return float(sum(v for v in map(_number, values) if v is not None))
    if fn == "lookup":
        assert lookup is not None and isinstance(node.args[1], ast.Constant)
        return lookup(get(node.args[0].id), str(node.args[1].value))  # type: ignore[attr-defined]
    args = [_eval(a, get, lookup) for a in node.args]
    if any(a is None for a in args):
        return None
    return {"min": min, "max": max}[fn](args)
