"""Find the project's content folders (template specs, rules, SQL, report templates, samples).

The folders sit at the top of the source tree and are copied into the wheel under ``bcf/_content``;
this module is the one place that knows both layouts. A central team may keep its own content (a new
round, reworded rules, an official peer-group file in ``reference/``) in a folder of the same layout and point
``BCF_CONTENT`` at it. Its YAML is read here too.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

FOLDERS = ("bcf_templates", "rules", "aggregator", "reports", "sample_submissions", "reference")
# libyaml's parser when PyYAML was built with it: the same safe types as SafeLoader, about ten times faster
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def root() -> Path:
    """The folder holding the content folders: ``$BCF_CONTENT`` if set, the wheel's copy if present, else the
    source tree."""
    return _chosen_root(os.environ.get("BCF_CONTENT", ""))


def _chosen_root(chosen: str) -> Path:
    return Path(chosen) if chosen else _installed()


@cache
def _installed() -> Path:
    """The content installed with bcf, looked for once (it is asked for many times in every check)."""
    packaged = Path(__file__).parent / "_content"
    if (packaged / "bcf_templates").is_dir():
        return packaged
    return Path(__file__).resolve().parents[2]


def path(*parts: str) -> Path:
    """A path inside the content, e.g. ``path("rules", "catalogue.yaml")``."""
    if parts[0] not in FOLDERS:
        raise ValueError(f"{parts[0]!r} is not a content folder")
    return _joined(os.environ.get("BCF_CONTENT", ""), parts)


@cache
def _joined(chosen: str, parts: tuple[str, ...]) -> Path:
    """A path inside the content of ``$BCF_CONTENT`` (or the installed content): made once, asked for in every
    check many times."""
    return _chosen_root(chosen).joinpath(*parts)


def parse_yaml(text: str) -> Any:
    """YAML text as plain Python values (what ``yaml.safe_load`` gives)."""
    return yaml.load(text, Loader=YAML_LOADER)
