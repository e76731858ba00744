"""A submitted file read once, so that the bytes checked are the bytes hashed and the bytes stored.

While a batch runs, a sync client may re-save a file, a file may be replaced by another or removed. Reading
a file twice (once to hash it, once to check it) could then check one version and store it under another's
hash. So a file is read here, once, into a ``Snapshot``: its bytes, their SHA-256 and when the file was last
changed, taken from the same open file. What goes wrong while reading (the file vanished, changed while it
was read, an I/O error) is about the file system, not the file: it is raised as ``Unavailable`` so that it is
reported and tried again by the next run, never recorded as the file's verdict. Only regular files are read:
a pipe or a device given as a file is refused at once instead of waiting for data forever.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bcf.errors import BcfError
from bcf.shown import file_name

CHUNK = 1 << 20


class Unavailable(BcfError):
    """The file could not be read just now; nothing is decided about it and a later run tries it again."""


class NotAFile(BcfError):
    """A pipe, a device or a folder where a workbook file was expected."""


@dataclass(frozen=True)
class Snapshot:
    """One reading of a file: its bytes (``None`` past the size kept), their SHA-256, size and change time."""

    name: str  # the file's name, safe to show and store (see bcf.shown)
    data: bytes | None
    size: int
    sha256: str
    received_at: datetime  # when the file was last changed, as read from the open file


def _why(e: OSError, path: Path) -> str:
    if e.errno == errno.ENOENT:
        return "it is a link to a file that does not exist" if path.is_symlink() else "it was removed before it could be read"
    if e.errno == errno.EISDIR:
        return "it is a folder"
    if e.errno == errno.ELOOP:
        return "it is a link that leads back to itself"
    if e.errno == errno.ENXIO:
        return "it is not a file (a socket or a device)"
    return f"it could not be read ({e.strerror or 'input/output error'})"


def read(path: Path | str, keep: int | None = None, hashed: bool = True) -> Snapshot:
    """Read the file once; keep at most ``keep`` bytes (all when None), hashing them all. ``hashed=False``, for a
    check that stores nothing: a file larger than ``keep`` is not read at all (its hash is left empty), so a
    file of many gigabytes is refused at once rather than read through.

    Raises ``NotAFile`` for anything but a regular file and ``Unavailable`` when the file cannot be read now
    or changed while it was read.
    """
    path, name = Path(path), file_name(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a pipe opens at once instead of waiting for a writer
    except OSError as e:
        lasting = e.errno in (errno.EISDIR, errno.ELOOP, errno.ENXIO) or (e.errno == errno.ENOENT and path.is_symlink())
        raise (NotAFile if lasting else Unavailable)(f"{name}: {_why(e, path)}.") from e
    before = os.fstat(fd)
    if not stat.S_ISREG(before.st_mode):  # asked of the open file, before Python would refuse a folder itself
        os.close(fd)
        raise NotAFile(f"{name} is not a file (it is a pipe, a device or a folder). Give the workbook file itself.")
    if not hashed and keep is not None and before.st_size > keep:
        os.close(fd)
        return Snapshot(name, None, before.st_size, "", datetime.fromtimestamp(before.st_mtime))
    with os.fdopen(fd, "rb", buffering=0) as f:
        try:
            digest, kept, size = hashlib.sha256(), bytearray(), 0
            while block := f.read(CHUNK):
                digest.update(block)
                size += len(block)
                if keep is None or len(kept) + len(block) <= keep:
                    kept += block
            after = os.fstat(fd)
        except OSError as e:
            raise Unavailable(f"{name}: {_why(e, path)}.") from e
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or size != after.st_size:
        raise Unavailable(f"{name}: it changed while it was being read.")
    data = bytes(kept) if keep is None or size <= keep else None
    return Snapshot(name, data, size, digest.hexdigest(), datetime.fromtimestamp(before.st_mtime))
