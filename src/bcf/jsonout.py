"""JSON for scripts: every command's ``--format json`` goes through here, so numbers, blanks and dates come out
the same way everywhere (NaN and NaT as null, numpy numbers as plain numbers, dates as ISO text)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from typing import Any


def plain(v: Any) -> Any:
    """A value JSON can hold."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return plain(v.as_dict() if hasattr(v, "as_dict") else dataclasses.asdict(v))
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [plain(x) for x in v]
    if hasattr(v, "to_dict") and hasattr(v, "columns"):  # a pandas frame: its rows
        return plain(v.to_dict("records"))
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if str(v) in ("NaT", "<NA>", "nan"):
        return None
    return str(v)


def dumps(v: Any) -> str:
    return json.dumps(plain(v), indent=1, ensure_ascii=False)
