"""The tool's own errors, each carrying the exit status a script can rely on.

Findings about a workbook are values, never exceptions (see ``bcf.findings``). What is raised here is a
command that cannot do its job: a wrong option, a missing store, a round that does not exist. The command
line turns any ``BcfError`` into one plain sentence and its ``exit_code``; anything else that escapes is a
fault of the tool itself and is reported as such, never as a problem with the user's file.
"""

from __future__ import annotations


class BcfError(Exception):
    """A command could not do its job; the message is one sentence for the person who ran it."""

    exit_code = 2


class UnknownRound(BcfError):
    """A round or return that the content does not hold."""


class UnknownArea(BcfError):
    """A Health and Wellbeing Board that is not in the round's list."""


class UnknownVersion(BcfError):
    """A template version that the return does not know."""


class BadParameter(BcfError):
    """A --param override that names no parameter or has the wrong kind of value."""


class StoreError(BcfError):
    """The national store is missing, in use by another run, or not a bcf store."""


class StoreBusy(StoreError):
    """Another process has the store open for writing."""


class StoreFull(StoreError):
    """The disk that holds the store has no space left."""


class NotAStore(StoreError):
    """The file given as the store is something else: another kind of file, a damaged store, another database."""


class CheckerFault(Exception):
    """The checker itself failed on a file: a fault of the tool, never a verdict on the file (exit 3)."""

    exit_code = 3
