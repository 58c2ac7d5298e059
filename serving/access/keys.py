"""API keys: a YAML file of sha256 hashes, each mapped to a project and optionally a user and
its own rate limits. The file is re-read when it changes, so keys are added and revoked without
a restart; `railyard keys add` writes it and prints the new key once.

    keys:
      - sha256: 9f86d0...        # sha256 of the key, hex
        project: payroll-bot
        user: alice              # optional
        rpm: 60                  # optional: requests per minute (default RAILYARD_RATE_LIMIT_RPM)
        tpm: 40000               # optional: tokens per minute (default RAILYARD_RATE_LIMIT_TPM)
        admin: true              # optional: may use /v1/admin/*, /docs and /openapi.json
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.errors import ConfigError, KeysUnavailable, Unauthorized

PREFIX = "ry-"
log = logging.getLogger("railyard.access")


class KeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    project: str = Field(min_length=1)
    user: str | None = None
    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)
    admin: bool = False


class KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyEntry] = []


@dataclass(frozen=True)
class Caller:
    """Who a request is from: its key (by hash prefix), project and user, and its limits."""

    key_id: str
    project: str = "default"
    user: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    admin: bool = False
    """May use the admin endpoints (ingestion) and the API docs."""
    anonymous: bool = False
    """No key (a gateway without keys): known by its address only."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


class KeyStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._entries: list[KeyEntry] = []
        self.broken: str | None = None
        """Why no key is accepted now (the file was removed or broken after start)."""
        self._load()

    def _load(self) -> None:
        """Take the file as it is now. At start a missing or invalid file is a configuration
        error; later, the store fails closed until it is mended: a deleted file or a broken
        edit must not keep revoked keys working."""
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError as e:
            if self._mtime is None:
                raise ConfigError(
                    f"API keys file {self.path} does not exist (RAILYARD_API_KEYS_FILE); create "
                    "it with `railyard keys add --project NAME`"
                ) from e
            self._mtime = -1.0  # a file put back is read again, whatever its mtime
            self._fail(f"API keys file {self.path} was removed")
            return
        if mtime == self._mtime:
            return
        try:
            parsed = KeyFile.model_validate(yaml.safe_load(self.path.read_text()) or {})
        except (yaml.YAMLError, ValidationError) as e:
            if self._mtime is None:
                raise ConfigError(f"API keys file {self.path} is invalid: {e}") from e
            self._mtime = mtime
            self._fail(f"API keys file {self.path} is invalid: {e}")
            return
        self._entries, self._mtime, self.broken = parsed.keys, mtime, None

    def _fail(self, reason: str) -> None:
        if self.broken != reason:
            log.error("%s: every request is refused until it is mended", reason)
        self._entries, self.broken = [], reason

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller for an `Authorization: Bearer <key>` header; 401 otherwise."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
            )
        with self._lock:
            self._load()
            entries, broken = self._entries, self.broken
        if broken:
            raise KeysUnavailable(
                "API keys cannot be checked right now; the gateway's operator has been alerted."
            )
        hashed = digest(key.strip())
        for entry in entries:
            if hmac.compare_digest(entry.sha256, hashed):
                return Caller(
                    hashed[:12], entry.project, entry.user, entry.rpm, entry.tpm, entry.admin
                )
        raise Unauthorized("Incorrect API key provided.")


def add_key(
    path: Path, project: str, user: str | None = None, rpm: int | None = None,
    tpm: int | None = None, admin: bool = False,
) -> str:  # fmt: skip
    """Create a key for `project`, store its hash in `path`, and return the key itself."""
    path = Path(path)
    current = yaml.safe_load(path.read_text()) if path.exists() else None
    parsed = KeyFile.model_validate(current or {})
    key = new_key()
    entry = KeyEntry(sha256=digest(key), project=project, user=user, rpm=rpm, tpm=tpm, admin=admin)
    parsed.keys.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(parsed.model_dump(exclude_defaults=True), sort_keys=False))
    path.chmod(0o600)
    return key
