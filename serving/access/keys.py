"""API keys: a YAML file of sha256 hashes, each mapped to a project and optionally a user and
its own rate limits. The file is re-read when it changes, so keys are added and revoked without
a restart; `railyard keys add` writes it and prints the new key once.

    keys:
      - sha256: 9f86d0...        # sha256 of the key, hex
        project: payroll-bot
        user: alice              # optional
        rpm: 60                  # optional: requests per minute (default RAILYARD_RATE_LIMIT_RPM)
        tpm: 40000               # optional: tokens per minute (default RAILYARD_RATE_LIMIT_TPM)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.errors import ConfigError, Unauthorized

PREFIX = "ry-"


class KeyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    project: str = Field(min_length=1)
    user: str | None = None
    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)


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
        self._load()

    def _load(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError as e:
            raise ConfigError(
                f"API keys file {self.path} does not exist (RAILYARD_API_KEYS_FILE); create it "
                "with `railyard keys add --project NAME`"
            ) from e
        if mtime == self._mtime:
            return
        try:
            parsed = KeyFile.model_validate(yaml.safe_load(self.path.read_text()) or {})
        except (yaml.YAMLError, ValidationError) as e:
            if self._mtime is None:
                raise ConfigError(f"API keys file {self.path} is invalid: {e}") from e
            return  # a broken edit keeps the keys already loaded
        self._entries, self._mtime = parsed.keys, mtime

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller for an `Authorization: Bearer <key>` header; 401 otherwise."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
            )
        with self._lock:
            self._load()
            entries = self._entries
        hashed = digest(key.strip())
        for entry in entries:
            if hmac.compare_digest(entry.sha256, hashed):
                return Caller(hashed[:12], entry.project, entry.user, entry.rpm, entry.tpm)
        raise Unauthorized("Incorrect API key provided.")


def add_key(
    path: Path, project: str, user: str | None = None, rpm: int | None = None,
    tpm: int | None = None,
) -> str:  # fmt: skip
    """Create a key for `project`, store its hash in `path`, and return the key itself."""
    path = Path(path)
    current = yaml.safe_load(path.read_text()) if path.exists() else None
    parsed = KeyFile.model_validate(current or {})
    key = new_key()
    entry = KeyEntry(sha256=digest(key), project=project, user=user, rpm=rpm, tpm=tpm)
    parsed.keys.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(parsed.model_dump(exclude_none=True), sort_keys=False))
    path.chmod(0o600)
    return key
