"""API keys and what they may do: who is calling (a named key, or nobody), and with which scope.

Scopes follow Qdrant's own keys (a read-only key, a full key, and JWT access levels), from least to
most: `read` (search, events, related, timelines, facets, live streams, the MCP read tools), `write`
(also notes: store and forget; MCP `qdrant-store`, `forget`), `admin` (also rules: notes in the
`mechanics` category, which agents are told to trust). Each scope includes the ones before it.

Keys are configured as their SHA-256, never in clear (`API_KEYS` holds a JSON list, `API_KEYS_FILE`
names a file holding one):

    [{"name": "game-backend", "sha256": "<hex>", "scope": "read"}, ...]

A key is a random 256-bit secret, so a plain SHA-256 is enough to keep it from whoever reads the
configuration (a password would need a slow hash; a key does not). Two entries with the same name are
both valid: that is how a key is rotated (add the new one, move the clients, remove the old one).
`python -m service.auth new NAME SCOPE` makes a key and prints it once, with its entry.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import sys
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: The prefix of keys this service makes (so a leaked one is easy to recognise).
KEY_PREFIX = "gwk_"


class Scope(IntEnum):
    """What a key may do; each includes every scope below it."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def named(cls, name: str) -> Scope:
        return cls[name.upper()]


class KeyEntry(BaseModel):
    """One configured key: its name (in logs and metrics), the SHA-256 of the secret, its scope."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[\w.-]+$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scope: str = Field(pattern=r"^(read|write|admin)$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name and scope, or `anonymous` when the service runs open."""

    name: str
    scope: Scope

    def may(self, needed: Scope) -> bool:
        return self.scope >= needed


#: The caller of a service that runs without keys (loopback, or AUTH_DISABLED): may do anything.
OPEN = Principal("anonymous", Scope.ADMIN)


class KeyConfigError(ValueError):
    """The key configuration cannot be read: the service refuses to start and says why."""


class KeyRing:
    """The configured keys, by the hash of their secret."""

    def __init__(self, entries: list[KeyEntry]) -> None:
        self._by_hash = {e.sha256: Principal(e.name, Scope.named(e.scope)) for e in entries}

    @classmethod
    def load(cls, inline: str | None, file: Path | None) -> KeyRing:
        """Keys from `API_KEYS` (JSON) and the file `API_KEYS_FILE` names (JSON), together."""
        entries: list[KeyEntry] = []
        for where, text in [("API_KEYS", inline), (f"API_KEYS_FILE ({file})", _read(file))]:
            if text and text.strip():
                entries += _entries(where, text)
        return cls(entries)

    @property
    def enabled(self) -> bool:
        """Whether any key is configured (then every protected route needs one)."""
        return bool(self._by_hash)

    def verify(self, secret: str) -> Principal | None:
        """The key's principal, or None when no configured key has this secret."""
        return self._by_hash.get(digest(secret))

    def names(self) -> list[str]:
        return sorted({p.name for p in self._by_hash.values()})


def digest(secret: str) -> str:
    """The SHA-256 (hex) under which a key is configured."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _read(file: Path | None) -> str | None:
    if file is None:
        return None
    try:
        return file.read_text()
    except OSError as exc:
        raise KeyConfigError(f"API_KEYS_FILE: cannot read {file}: {exc.strerror}") from None


def _entries(where: str, text: str) -> list[KeyEntry]:
    try:
        raw: Any = json.loads(text)
        if not isinstance(raw, list):
            raise KeyConfigError(f'{where}: expected a JSON list of {{"name", "sha256", "scope"}}')
        return [KeyEntry.model_validate(item) for item in raw]
    except json.JSONDecodeError as exc:
        raise KeyConfigError(f"{where}: not JSON ({exc.msg})") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise KeyConfigError(f"{where}: {problems}") from None


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the service on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refusal(keys: KeyRing, host: str, auth_disabled: bool) -> str | None:
    """Why the service must not start as configured, or None. Without keys it runs open only on loopback
    (or when AUTH_DISABLED says so explicitly)."""
    if keys.enabled or auth_disabled or is_loopback(host):
        return None
    return (
        f"refusing to start: API_HOST={host} is reachable from other machines and no API key is configured. "
        "Configure keys (API_KEYS or API_KEYS_FILE; `python -m service.auth new NAME SCOPE` makes one), "
        "bind to 127.0.0.1, or set AUTH_DISABLED=true to run open on purpose."
    )


def new_key(name: str, scope: str) -> tuple[str, KeyEntry]:
    """A fresh secret and the entry that configures it."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, KeyEntry(name=name, sha256=digest(secret), scope=scope)


def main(argv: list[str]) -> int:
    """`python -m service.auth new NAME SCOPE`: print a new key (once) and its configuration entry."""
    if len(argv) != 3 or argv[0] != "new":
        print("usage: python -m service.auth new NAME read|write|admin", file=sys.stderr)
        return 2
    try:
        secret, entry = new_key(argv[1], argv[2])
    except ValidationError as exc:
        print(f"invalid: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    print(f"key (shown once; give it to the client): {secret}")
    print(f"entry (add it to API_KEYS or API_KEYS_FILE): {entry.model_dump_json()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
