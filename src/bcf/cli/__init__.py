"""The ``bcf`` command: one click group (``base``) and its commands, filed by who meets them: a local officer
(``officer``), the central team (``central``) and the resubmission cycle (``cycle``)."""

from bcf.cli import central, cycle, officer  # noqa: F401  (each registers its commands on the group)
from bcf.cli.base import main

__all__ = ["main"]
