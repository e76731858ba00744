"""The console's sessions and sign-in limits, kept in the state store so that every server sees the same ones.

A session is a row in the state store; the cookie carries only a random id (the store keeps its hash). Signing
out deletes the row, so a copied cookie opens nothing afterwards. Each request reads the account afresh from the
accounts file: a removed account, or one whose role, region or password changed, ends its sessions at once.
Sessions end after ``idle`` seconds unused and ``absolute`` seconds after sign-in. Sign-in attempts are counted
per account and per client address in the same transaction that checks the limit (the write lock is taken
first), so attempts sent at once cannot all pass the check before any is counted. The client address is the
connection's, unless it comes from a proxy named as trusted; only then is X-Forwarded-For believed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

from bcf.national.state import open_state
from bcf.web.accounts import Account, Accounts

IDLE = 30 * 60.0  # a session unused this long ends
ABSOLUTE = 8 * 3600.0  # and every session ends this long after sign-in
SEEN_EVERY = 60.0  # how often a session's last use is written


@dataclass(frozen=True)
class Session:
    """A signed-in browser: whose it is, its form token, and a message waiting for its next page."""

    id_hash: str
    account: Account
    csrf: str
    flash: str | None = None


@dataclass(frozen=True)
class Limit:
    attempts: int = 5  # sign-in attempts that fail, per account and per address,
    window: float = 300.0  # in this many seconds


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time equality of two tokens (an empty one never matches)."""
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


class Sessions:
    """Sessions and sign-in attempts in the state store at ``path``."""

    def __init__(self, path: Path, accounts: Accounts, secret: str = "", limit: Limit | None = None,
                 idle: float = IDLE, absolute: float = ABSOLUTE):
        self.path, self.accounts, self.limit, self.idle, self.absolute = Path(path), accounts, limit or Limit(), idle, absolute
        with open_state(self.path) as st:  # shared by every server on this state store, unless given
            self.secret = (secret or st.meta("console-secret", secrets.token_urlsafe(32))).encode()

    def sign(self, *parts: object) -> str:
        """A signature of what a page put in a form, so the server knows it made it."""
        return hmac.new(self.secret, "\x1f".join(map(str, parts)).encode(), hashlib.sha256).hexdigest()

    def start(self, account: Account) -> str:
        """A new session for ``account``; returns the cookie's value."""
        cookie, now = secrets.token_urlsafe(32), time.time()
        with open_state(self.path) as st:
            st.run("sessions_expire", idle_since=now - self.idle, started_since=now - self.absolute)
            st.run("session_start", id_hash=_hash(cookie), account=account.name, stamp=self.accounts.stamp(account.name),
                   csrf=secrets.token_urlsafe(32), now=now)
        return cookie

    def find(self, cookie: str) -> Session | None:
        """The live session of a cookie; an expired one, or one whose account went or changed, is ended."""
        if not cookie:
            return None
        id_hash, now = _hash(cookie), time.time()
        with open_state(self.path) as st, st.write():
            rows = st.rows("session", id_hash=id_hash)
            if not rows:
                return None
            row = rows[0]
            account = self.accounts.get(row["account"])
            if (account is None or self.accounts.stamp(row["account"]) != row["stamp"]
                    or row["seen"] < now - self.idle or row["started"] < now - self.absolute):
                st.run("session_end", id_hash=id_hash)
                return None
            if row["flash"]:
                st.run("session_flash", id_hash=id_hash, flash=None)
            if row["seen"] < now - min(SEEN_EVERY, self.idle / 4):  # written now and then, not on every request
                st.run("session_seen", id_hash=id_hash, now=now)
        return Session(id_hash, account, row["csrf"], row["flash"])

    def flash(self, session: Session, message: str) -> None:
        with open_state(self.path) as st:
            st.run("session_flash", id_hash=session.id_hash, flash=message)

    def end(self, session: Session) -> None:
        with open_state(self.path) as st:
            st.run("session_end", id_hash=session.id_hash)

    def end_all(self, name: str) -> int:
        """End every session of an account; how many there were."""
        with open_state(self.path) as st:
            return st.run("sessions_end_account", account=name)

    def admit(self, *keys: str) -> float | None:
        """Count one sign-in attempt against each key, in the transaction that checks the limit; the moment it was
        counted at, or None when a key is at its limit (nothing is counted then)."""
        now = time.time()
        with open_state(self.path) as st, st.write():
            st.run("attempts_forget", since=now - self.limit.window)
            if any(st.value("attempts", key=k) >= self.limit.attempts for k in keys):
                return None
            for k in keys:
                st.run("attempt", key=k, at=now)
        return now

    def refund(self, at: float, *keys: str) -> None:
        """A sign-in that succeeded does not count against the limit."""
        with open_state(self.path) as st, st.write():
            for k in keys:
                st.run("attempt_refund", key=k, at=at)


def client_address(request: Request, trusted: frozenset[str]) -> str:
    """The address a request came from: the connection's, or, from a trusted proxy only, the last address in
    X-Forwarded-For that is not itself a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    return next((h for h in reversed(hops) if h not in trusted), peer)
