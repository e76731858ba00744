"""A submission's tables as pandas frames, for the rules and the store that want them.

The reader keeps each table as rows of plain values; frames are built from those rows only where pandas is
wanted (the cell rules and the store, over many files at once), so a worker that only reads and checks files
never loads pandas.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bcf.spec import Field

if TYPE_CHECKING:
    from bcf.read import Row, Submission


def frame(columns: Sequence[Field], rows: Sequence[Row], **extra: Sequence[Any]) -> pd.DataFrame:
    """Rows as a frame indexed by sheet row: numbers as float64, the rest as objects, and ``extra`` columns
    (a value per row) as given. Built from arrays, which is several times quicker than a Series per column."""
    index = pd.Index(np.fromiter((r for r, _ in rows), dtype="int64", count=len(rows)), name="row")
    data: dict[str, Any] = {
        c.id: np.array([v[c.id] for _, v in rows], dtype="float64") if c.numeric
        else pd.Series([v[c.id] for _, v in rows], index=index, dtype=object, copy=False) for c in columns}
    data.update({name: np.asarray(values) for name, values in extra.items()})
    return pd.DataFrame(data, index=index, copy=False)


class Frames(Mapping[str, pd.DataFrame]):
    """A submission's tables as frames, each built when first asked for."""

    def __init__(self, sub: Submission):
        self.sub, self.built = sub, dict[str, pd.DataFrame]()

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in self.built:
            self.built[table] = frame(self.sub.spec.table(table).columns, self.sub.table_rows[table])
        return self.built[table]

    def __iter__(self) -> Iterator[str]:
        return iter(self.sub.table_rows)

    def __len__(self) -> int:
        return len(self.sub.table_rows)


