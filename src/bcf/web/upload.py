"""One uploaded file, read from a multipart form in chunks straight to a file the server names, within a cap.

The request body is never held in memory: each chunk is parsed as it arrives and the file's bytes are
written to disk. A declared length over the cap is refused before anything is read; a body that grows over
the cap while arriving is refused as soon as it does. The submitter's file name is kept only for display.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

FIELD = "workbook"  # the file input's name on the form
OVERHEAD = 64 * 1024  # the form's own bytes (boundaries, part headers, other fields) on top of the file
NAME_CHARS = 120


class Refused(Exception):
    """The upload cannot be taken; ``status`` is the HTTP status and the message is shown to the submitter."""

    status = 400


class TooLarge(Refused):
    status = 413


class NoFile(Refused):
    """The form was sent without a file chosen."""


class TooSlow(Refused):
    """The body did not arrive within the time allowed (a connection trickling bytes holds a server slot)."""

    status = 408


@dataclass
class Upload:
    path: Path  # where the server wrote it, under a name the server chose
    name: str  # the submitter's own file name, for display only (always escaped when shown)
    size: int


def display_name(raw: str) -> str:
    """The submitted name without a Windows folder part or control characters, cut to a sensible length.

    It is only ever shown (escaped), never used as a path, so anything else in it may stay.
    """
    base = raw.rsplit("\\", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:NAME_CHARS] or "(no name)"


class _Form:
    """Callbacks for python-multipart: the first part named FIELD with a filename goes to ``out``."""

    def __init__(self, out: IO[bytes], cap: int):
        self.out, self.cap = out, cap
        self.header_name = self.header_value = b""
        self.disposition = b""
        self.in_file = False
        self.found = False
        self.name = ""
        self.size = 0

    def on_part_begin(self) -> None:
        self.disposition, self.in_file = b"", False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]
        if len(self.header_value) > 8192:
            raise Refused("The form was not sent as this page sends it.")

    def on_header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if options.get(b"name") == FIELD.encode() and b"filename" in options and not self.found:
            self.in_file = self.found = True
            self.name = options[b"filename"].decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.size += end - start
            if self.size > self.cap:
                raise TooLarge
            self.out.write(data[start:end])

    def callbacks(self) -> dict[str, object]:
        return {"on_part_begin": self.on_part_begin, "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished, "on_part_data": self.on_part_data}


async def receive(request: Request, dest: Path, cap: int, seconds: float = 120.0) -> Upload:
    """Read the form's file into ``dest`` (a name the server chose) within ``seconds``; raises Refused, TooLarge,
    TooSlow or NoFile."""
    ctype, params = parse_options_header(request.headers.get("content-type"))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise Refused("The form was not sent as this page sends it.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap + OVERHEAD:
        raise TooLarge
    received = 0
    with dest.open("xb") as out:
        form = _Form(out, cap)
        parser = MultipartParser(params[b"boundary"], form.callbacks())  # type: ignore[arg-type]
        try:
            async with asyncio.timeout(seconds):
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > cap + OVERHEAD:
                        raise TooLarge
                    parser.write(chunk)
            parser.finalize()
        except TimeoutError as e:
            raise TooSlow(f"The upload took longer than {seconds:g} seconds, so it was stopped. Check your connection, "
                          "then choose the file again.") from e
        except FormParserError as e:
            raise Refused("The form was not sent as this page sends it.") from e
        except ClientDisconnect as e:
            raise Refused("The upload stopped before it finished.") from e
    if not form.found or (form.size == 0 and not form.name):
        raise NoFile("Choose the workbook to check.")
    return Upload(dest, display_name(form.name), form.size)
