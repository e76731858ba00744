"""Official statistics the tool ships and reads: each a file in ``reference/`` with a small YAML beside it.

The YAML says what the file is, who publishes it, under what licence, which vintage it is, what it stands in
for and its checksum, so that every figure taken from it can be quoted with its source. The rounds' populations,
the default peer groups and the rules that check the figures a return quotes (``checks``, from
``reference/checks.yaml``) all read it through here. A file
that is absent is ``ReferenceMissing``: whoever asked says "not checked", never "passed".
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bcf import content
from bcf.areas import Areas
from bcf.errors import BcfError

FOLDER = "reference"
POPULATION = "population"  # the role of the file every round takes its populations from (``role:`` in its YAML)
ENGLAND = "E92000001"


class ReferenceMissing(BcfError):
    """A reference file (or the YAML that describes it) is not in the content folder."""


@dataclass(frozen=True)
class Source:
    """One reference file and what is known of it."""

    name: str
    path: Path
    title: str
    publisher: str
    licence: str
    vintage: str
    stands_in_for: str
    sha256: str
    key: str

    @property
    def cite(self) -> str:
        """The source as a sentence quotes it: publisher, vintage, licence."""
        return f"{self.publisher}, {self.vintage} ({self.licence})"

    def checksum(self) -> str:
        """The SHA-256 of the file as it is now."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@cache
def _by_role(root: Path) -> dict[str, str]:
    """File name (without .yaml) of each reference file that declares a ``role:``."""
    out = {}
    for meta in sorted((root / FOLDER).glob("*.yaml")):
        data = content.parse_yaml(meta.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("role"), str):
            out[data["role"]] = meta.stem
    return out


@cache
def _source(root: Path, name: str) -> Source:
    name = _by_role(root).get(name, name) if (root / FOLDER).is_dir() else name
    meta_path = root / FOLDER / f"{name}.yaml"  # root is part of the cache key: BCF_CONTENT may change
    if not meta_path.is_file():
        raise ReferenceMissing(f"The reference file {name} is not installed (no {meta_path.name} in {FOLDER}/).")
    meta: dict[str, Any] = content.parse_yaml(meta_path.read_text(encoding="utf-8"))
    path = root / FOLDER / meta["file"]
    if not path.is_file():
        raise ReferenceMissing(f"The reference file {meta['file']} is not installed in {FOLDER}/.")
    return Source(name, path, meta["title"], meta["publisher"], meta["licence"], str(meta["vintage"]),
                  " ".join(str(meta.get("stands_in_for", "")).split()), meta["sha256"], meta.get("key", "ons_code"))


def source(name: str = POPULATION) -> Source:
    """A reference file's description, by its name or its role; ``ReferenceMissing`` when it is not there."""
    return _source(content.root(), name)


@cache
def _table(root: Path, name: str) -> dict[str, dict[str, str]]:
    src = _source(root, name)
    with src.path.open(encoding="utf-8", newline="") as f:
        return {r[src.key]: r for r in csv.DictReader(line for line in f if not line.startswith("#"))}


def table(name: str = POPULATION) -> dict[str, dict[str, str]]:
    """A reference file's rows by their key (the ONS code), every value as text."""
    return _table(content.root(), name)


def value(name: str, code: str, columns: list[str] | tuple[str, ...]) -> float:
    """The sum of some columns of one row (``KeyError`` when the row is not there)."""
    row = table(name)[code]
    return sum(float(row[c]) for c in columns)


def plan_value(areas: Areas, plan_code: str, columns: list[str] | tuple[str, ...], name: str = POPULATION) -> int:
    """A figure for the whole area of a plan: the councils planning together (Cornwall with the Isles of Scilly)
    added up."""
    return round(sum(value(name, a.ons_code, columns) for a in areas.all if a.plan_code == plan_code))


def available(name: str = POPULATION) -> bool:
    """Whether a reference file is installed."""
    try:
        source(name)
    except ReferenceMissing:
        return False
    return True


@dataclass(frozen=True)
class Check:
    """One figure of a return and the reference figure it should match."""

    rule: str
    reads: str  # a field id or "table.column"
    what: str
    source: str
    columns: tuple[str, ...]
    row: dict[str, str] = field(default_factory=dict)  # for a table: the fixed cells of the row meant


def checks() -> list[Check]:
    """The checks the content defines (none when it has no ``reference/checks.yaml``)."""
    path = content.path("reference", "checks.yaml")
    if not path.is_file():
        return []
    return [Check(c["rule"], c["reads"], c["what"], c["source"], tuple(c["columns"]), dict(c.get("row") or {}))
            for c in content.parse_yaml(path.read_text(encoding="utf-8"))]
