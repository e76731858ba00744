"""Text from a submission made safe to show to people and to keep: file names and cell text are data.

A file name may be bytes that are not UTF-8 (legacy zips, Windows shares) and may hold control characters;
a cell or a name may hold characters that reorder the text around them (bidirectional overrides), so that
``plan‮xslx.exe`` reads as something else. Such characters are written as visible escapes (``\\x1b``,
``\\u202e``) wherever a person reads them: the terminal, pages and letters, the store and its exports.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# C0 and C1 controls, DEL, the characters that change the direction of the text around them, and those that take
# no room at all (so "Yes" and "Yes" with a zero-width space after it look the same until it is shown)
DIRECTION = ("\N{ARABIC LETTER MARK}\N{LEFT-TO-RIGHT MARK}\N{RIGHT-TO-LEFT MARK}"
             "\N{LEFT-TO-RIGHT EMBEDDING}-\N{RIGHT-TO-LEFT OVERRIDE}\N{LEFT-TO-RIGHT ISOLATE}-\N{POP DIRECTIONAL ISOLATE}"
             "\N{SOFT HYPHEN}\N{ZERO WIDTH SPACE}-\N{ZERO WIDTH JOINER}\N{WORD JOINER}\N{ZERO WIDTH NO-BREAK SPACE}")
HIDDEN = re.compile(f"[\x00-\x1f\x7f-\x9f{DIRECTION}]")
HIDDEN_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{DIRECTION}]")


def escaped(text: str, lines: bool = False) -> str:
    """The text with every control and direction-changing character written as a visible escape.

    ``lines`` keeps tabs and line breaks, for a page or a spreadsheet cell where they are layout; on one line of a
    terminal they are escaped too (a carriage return could hide what came before it).
    """
    return (HIDDEN_IN_TEXT if lines else HIDDEN).sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def file_name(path: Path | str) -> str:
    """A file's name as text any store, page or terminal can hold: bytes that are not UTF-8 as ``\\xNN``."""
    return escaped(os.fsencode(Path(path).name).decode("utf-8", "backslashreplace"))
