"""The registry every logic rule is filed in, and the small helpers rules share.

A rule is a function over a submission, registered under its catalogue id with the fields and table columns it
reads (``rule``); ``bcf.validate.logic`` runs every registered rule where it is in force. Rule families live in
modules of their own (``logic``, ``quoted``) and all register here, so none imports another.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from bcf.findings import Finding
from bcf.read import Submission

Rule = Callable[[Submission], Iterator[Finding]]
RULES: dict[str, tuple[tuple[str, ...], Rule]] = {}  # rule id -> (fields and "table.column"s it reads, function)


def rule(rule_id: str, *reads: str) -> Callable[[Rule], Rule]:
    """Register a rule under its catalogue id, with the field ids and "table.column"s it reads."""
    def register(fn: Rule) -> Rule:
        RULES[rule_id] = (reads, fn)
        return fn
    return register


def p(sub: Submission, name: str) -> Any:
    """A check parameter of the round the submission belongs to."""
    return sub.ret.round.values()["checks"][name]


def blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def num(v: Any) -> float | None:
    return None if blank(v) else float(v)
