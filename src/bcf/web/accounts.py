"""Accounts of the assurers' console: a file an administrator manages with ``bcf users``, and sign-in limits.

Passwords are kept only as argon2 hashes (argon2-cffi), never in clear and never logged. A national
account sees every plan; a regional account sees its region's plans only. Sign-in attempts are limited per
account and per address (``bcf.web.sessions``), so that a password cannot be guessed by trying. The file is
read on every request, so removing an account or changing its role or region takes effect at once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bcf.errors import BcfError

ROLES = ("national", "regional")
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("an account that does not exist")  # checked against, so that unknown names take as long


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    region: str | None = None

    def may_see(self, region: str) -> bool:
        return self.role == "national" or region == self.region


class Accounts:
    """The accounts file: ``{name: {"hash": ..., "role": ..., "region": ...}}``, written atomically."""

    def __init__(self, path: Path):
        if not path.parent.is_dir():
            raise BcfError(f"The folder {path.parent} does not exist. Create it, or choose another place for the accounts file.")
        self.path = path

    def _read(self) -> dict[str, dict[str, str | None]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict) or not all(isinstance(v, dict) and isinstance(v.get("hash"), str)
                                                 and v.get("role") in ROLES for v in data.values()):
            raise BcfError(f"The accounts file {self.path} is damaged: it is not the list of accounts `bcf users add` "
                           "writes. Restore it from a backup, or move it aside and add the accounts again.")
        return data

    def _write(self, data: dict[str, dict[str, str | None]]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def add(self, name: str, password: str, role: str, region: str | None = None) -> Account:
        """Add an account, or replace its password and role."""
        if role not in ROLES:
            raise BcfError(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
        if (role == "regional") != bool(region):
            raise BcfError("A regional account needs its region (--region); a national one has none.")
        if len(password) < 12:
            raise BcfError("Choose a password of at least 12 characters.")
        data = self._read()
        account = Account(name.strip(), role, region)
        data[account.name] = {"hash": _hasher.hash(password), **{k: v for k, v in asdict(account).items() if k != "name"}}
        self._write(data)
        return account

    def remove(self, name: str) -> None:
        data = self._read()
        if name not in data:
            raise BcfError(f"There is no account called {name!r}.")
        del data[name]
        self._write(data)

    def names(self) -> list[Account]:
        return [Account(n, str(v["role"]), v.get("region")) for n, v in sorted(self._read().items())]

    def get(self, name: str) -> Account | None:
        """The account as the file holds it now (None once removed)."""
        entry = self._read().get(name)
        return Account(name, str(entry["role"]), entry.get("region")) if entry else None

    def stamp(self, name: str) -> str:
        """A digest of the account's entry: it changes with its role, region or password (empty once removed)."""
        entry = self._read().get(name)
        return hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest() if entry else ""

    def verify(self, name: str, password: str) -> Account | None:
        """The account if the password is right; None otherwise (in the same time either way)."""
        entry = self._read().get(name)
        try:
            _hasher.verify(str(entry["hash"]) if entry else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        return Account(name, str(entry["role"]), entry.get("region")) if entry else None
