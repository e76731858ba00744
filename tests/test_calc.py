"""One calc expression gives the Excel formula and the same value in Python."""

from __future__ import annotations

import pytest

from bcf.calc import Expr


class Refs:
    def ref(self, name: str) -> str:
        return {"a": "C4", "b": "C5", "hwb": "C3"}[name]

    def column_range(self, table: str, column: str) -> str:
        return f"'{table}'!$F$12:$F$41"

    def lookup(self, key_ref: str, column: str) -> str:
        return f"VLOOKUP({key_ref},L,{column})"


def test_formula_and_value_agree() -> None:
    e = Expr("max(min(a * b / 1000, 5000), 0)")  # the P4P value of the reference's worked example
    assert e.to_excel(Refs()) == '=IF(COUNT(C4,C5)<2,"",IFERROR(MAX(MIN(((C4*C5)/1000),5000),0),""))'
    assert e.evaluate({"a": 1260, "b": 1490}.get) == pytest.approx(1877.4)
    assert e.evaluate({"a": 1260, "b": 9000}.get) == 5000
    assert e.evaluate({"a": -10, "b": 1490}.get) == 0


def test_blank_or_text_input_gives_blank_and_division_by_zero_too() -> None:
    e = Expr("a / b * 100")
    assert e.evaluate({"a": 5.0, "b": None}.get) is None
    assert e.evaluate({"a": "n/a", "b": 2.0}.get) is None
    assert e.evaluate({"a": 5.0, "b": 0.0}.get) is None
    assert e.evaluate({"a": 5.0, "b": 20.0}.get) == 25.0


def test_sum_of_a_table_column() -> None:
    e = Expr("sum(funding.amount)")
    assert e.to_excel(Refs()) == "=IFERROR(SUM('funding'!$F$12:$F$41),\"\")"
    assert e.evaluate({"funding.amount": [1.0, None, "£5", 2.5]}.get) == 3.5
    assert e.names() == {"funding.amount"}


def test_lookup() -> None:
    e = Expr("lookup(hwb, 'region_name')")
    assert e.to_excel(Refs()) == '=IFERROR(VLOOKUP(C3,L,region_name),"")'
    assert e.evaluate({"hwb": "Kent"}.get, lambda k, c: f"{k}:{c}") == "Kent:region_name"


@pytest.mark.parametrize("text", ["__import__('os')", "a if b else 1", "open('x')", "a ** 2"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Expr(text)
