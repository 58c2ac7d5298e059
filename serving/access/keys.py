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
        usd_per_day: 5           # optional: this key's spend budgets (serving/access/budgets.py)
        usd_per_month: 100
        over_budget: refuse      # or local-only: answered by the local model, no paid call
    projects:                    # optional: budgets per project, across its keys
      payroll-bot: {usd_per_day: 20, usd_per_month: 400, over_budget: local-only}
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.access.budgets import Budget, Scope
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
    usd_per_day: float | None = Field(None, gt=0)
    usd_per_month: float | None = Field(None, gt=0)
    over_budget: Literal["refuse", "local-only"] = "refuse"

    def budget(self) -> Budget | None:
        if self.usd_per_day is None and self.usd_per_month is None:
            return None
        return Budget(
            usd_per_day=self.usd_per_day,
            usd_per_month=self.usd_per_month,
            over_budget=self.over_budget,
        )


class KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyEntry] = []
    projects: dict[str, Budget] = {}


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
    budgets: tuple[Scope, ...] = ()
    """Its key's and its project's spend budgets, where set."""


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
        self._projects: dict[str, Budget] = {}
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
        self._projects = parsed.projects

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
            entries, broken, projects = self._entries, self.broken, self._projects
        if broken:
            raise KeysUnavailable(
                "API keys cannot be checked right now; the gateway's operator has been alerted."
            )
        hashed = digest(key.strip())
        for entry in entries:
            if hmac.compare_digest(entry.sha256, hashed):
                budgets = []
                if (own := entry.budget()) is not None:
                    budgets.append(Scope(f"key:{hashed[:12]}", own))
                if (shared := projects.get(entry.project)) is not None:
                    budgets.append(Scope(f"project:{entry.project}", shared))
                return Caller(
                    hashed[:12], entry.project, entry.user, entry.rpm, entry.tpm, entry.admin,
                    budgets=tuple(budgets),
                )  # fmt: skip
        raise Unauthorized("Incorrect API key provided.")


def add_key(
    path: Path, project: str, user: str | None = None, rpm: int | None = None,
    tpm: int | None = None, admin: bool = False, usd_per_day: float | None = None,
    usd_per_month: float | None = None, over_budget: str = "refuse",
) -> str:  # fmt: skip
    """Create a key for `project`, store its hash in `path`, and return the key itself."""
    path = Path(path)
    current = yaml.safe_load(path.read_text()) if path.exists() else None
    parsed = KeyFile.model_validate(current or {})
    key = new_key()
    entry = KeyEntry(
        sha256=digest(key), project=project, user=user, rpm=rpm, tpm=tpm, admin=admin,
        usd_per_day=usd_per_day, usd_per_month=usd_per_month, over_budget=over_budget,
    )  # fmt: skip
    parsed.keys.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(parsed.model_dump(exclude_defaults=True), sort_keys=False))
    path.chmod(0o600)
    return key
