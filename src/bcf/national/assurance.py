"""Assure a round: open the store for writing, run the stress test with the run's parameters, and hand the
faces the store, the parameters and the round's national figures.

Every command that shows categories (``bcf stress``, ``bcf letters``, ``bcf report national``) starts here, so
each states the figures of the same run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bcf import rounds
from bcf.errors import StoreError
from bcf.national import stress
from bcf.national.door import National, open_store
from bcf.national.summary import Summary, summary
from bcf.params import Assumptions
from bcf.store import transaction


@dataclass(frozen=True)
class Assured:
    """A round just stress-tested: the open store, the parameters used and the national figures."""

    nat: National
    round: str
    params: Assumptions
    summary: Summary


@contextmanager
def assure(db: Path, round_: str | None, overrides: dict[str, str] | None = None) -> Iterator[Assured]:
    """Run one round's stress test (default: the latest round with plans) and yield what it decided.

    A run with ``overrides`` is a what-if: its results are yielded for the caller to show and write, then
    dropped, so the round's stored results, which the console and every later output read, stay those of the
    round's own parameters."""
    if not Path(db).exists():
        raise StoreError(f"There is no store at {db}. Run `bcf batch` first.")
    with open_store(db, write=True) as nat:
        scope = nat.scope(round_, "plan")
        params = rounds.get(scope.round).params(overrides)
        what_if = bool(params.overridden())
        with transaction(nat.con, keep=not what_if):  # the round's old results stay whole until the new ones are in
            stress.run(nat, scope.round, params)
            if what_if:
                yield Assured(nat, scope.round, params, summary(nat, scope.round))
        if not what_if:
            yield Assured(nat, scope.round, params, summary(nat, scope.round))


def plans(nat: National, round_: str, plan_code: str | None = None) -> list[dict[str, Any]]:
    """Every assessed plan of the round (or one) with its category, counts and figures (its optimism ratio as the
    stress test stored it: none when nothing is backed), by name."""
    return nat.rows("assurance.plans", round=round_, plan_code=plan_code)
