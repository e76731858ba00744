"""The one door to the national store: open it for reading or writing, and pick the round and return shown.

Every view of the store is of one round and one return. The default round is the latest the store holds a
return of that kind for; a round asked for that has none is one sentence naming the rounds that do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from bcf import rounds, store
from bcf.errors import StoreError
from bcf.national import queries
from bcf.words import RETURN_WORDS


@dataclass(frozen=True)
class Scope:
    """One round and one return of it: what a view shows."""

    round: str
    kind: str = "plan"


class National:
    """An open national store. Use as a context manager; ``con`` is for the services, never for faces."""

    def __init__(self, db: Path, write: bool = False, state: Path | None = None,
                 con: duckdb.DuckDBPyConnection | None = None):
        self.db = Path(db)
        if con is None:  # an older store is read through today's views: written when writing, for this run otherwise
            con = (store.Store(self.db, state=state).con if write
                   else store.with_current_views(store.connect(self.db, read_only=True, state=state)))
        self.con = con

    @classmethod
    def around(cls, opened: store.Store) -> National:
        """The services over a store already open (the self-check's store in memory)."""
        return cls(Path(":memory:"), con=opened.con)

    def __enter__(self) -> National:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def rounds_with(self, kind: str | None = None) -> list[str]:
        """The rounds holding files (of one return, if given), oldest first as the content orders them."""
        order = list(rounds.all_rounds())
        try:
            held = [r for (r,) in queries.execute(self.con, "door.rounds", kind=kind).fetchall()]
        except duckdb.CatalogException as e:
            raise StoreError("This DuckDB file is not a bcf store: it has no submissions. Check the --db path.") from e
        return sorted(held, key=lambda r: (order.index(r) if r in order else len(order), r))

    def scope(self, round_: str | None = None, kind: str = "plan") -> Scope:
        """The round asked for, or the latest holding ``kind`` returns; one sentence when there is none."""
        held = self.rounds_with(kind)
        what = RETURN_WORDS.get(kind, kind)
        if round_ is None:
            if not held:
                others = self.rounds_with()
                raise StoreError(f"The store holds no {what} yet" + (
                    f" (it holds files for {', '.join(others)})." if others else ". Run `bcf batch` first."))
            return Scope(held[-1], kind)
        if round_ not in held:
            raise StoreError(f"The store holds no {what} for round {round_}. "
                             f"Rounds with {what}: {', '.join(held) or 'none yet'}.")
        return Scope(round_, kind)

    def frame(self, ref: str, **params: Any) -> pd.DataFrame:
        return queries.frame(self.con, ref, **params)

    def rows(self, ref: str, **params: Any) -> list[dict[str, Any]]:
        return queries.rows(self.con, ref, **params)

    def scalar(self, ref: str, **params: Any) -> Any:
        return queries.scalar(self.con, ref, **params)


def open_store(db: Path, write: bool = False, state: Path | None = None) -> National:
    """The store at ``db``; reading needs an existing bcf store (one sentence otherwise). Its decisions come from
    the state store ``state`` (default: beside the store)."""
    return National(db, write, state)
