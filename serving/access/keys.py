"""API keys: sha256 hashes, each mapped to a project and optionally a user and its own rate
limits and budgets; in a YAML file (RAILYARD_API_KEYS_FILE), or in the database replicas share
(RAILYARD_API_KEYS_DATABASE=true, the same entries as rows). Either is re-read when it changes,
so keys are added and revoked without a restart; `railyard keys add` writes it and prints the
new key once, `railyard keys revoke ID` removes one. The file:

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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.access.budgets import Budget, Scope
from serving.database import Database, open_database
from serving.errors import ConfigError, KeysUnavailable, Unauthorized
from serving.settings import Settings
from storage import migrations

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


class KeysBroken(Exception):
    """The keys cannot be read as they are now (the reason is the message)."""


class KeySource(Protocol):
    """Where the keys live: the YAML file, or the table replicas share."""

    def read(self) -> KeyFile | None:
        """The keys, or None when unchanged since the last read; KeysBroken when unreadable."""
        ...

    def add(self, entry: KeyEntry) -> None: ...

    def revoke(self, key_id: str) -> int:
        """Remove the keys whose id (hash prefix) is `key_id`; how many."""
        ...

    def set_project(self, project: str, budget: Budget | None) -> None:
        """Set (or, with None, remove) a project's budget."""
        ...


class FileKeys:
    """RAILYARD_API_KEYS_FILE: re-read when its mtime changes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._mtime: tuple[int, int, int] | None = None

    def __str__(self) -> str:
        return f"API keys file {self.path}"

    def read(self) -> KeyFile | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError as e:
            self._mtime = None  # a file put back is read again, whatever its mtime
            hint = " (RAILYARD_API_KEYS_FILE); create it with `railyard keys add --project NAME`"
            raise KeysBroken(f"{self} does not exist{hint}") from e
        # Two writes within one clock tick share an mtime; the size or the inode (an editor's
        # rename) tells them apart.
        mtime = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if mtime == self._mtime:
            return None
        self._mtime = mtime
        try:
            return self._parse()
        except (yaml.YAMLError, ValidationError) as e:
            raise KeysBroken(f"{self} is invalid: {e}") from e

    def _parse(self) -> KeyFile:
        current = yaml.safe_load(self.path.read_text()) if self.path.exists() else None
        return KeyFile.model_validate(current or {})

    def _write(self, parsed: KeyFile) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            yaml.safe_dump(parsed.model_dump(exclude_defaults=True), sort_keys=False)
        )
        self.path.chmod(0o600)

    def add(self, entry: KeyEntry) -> None:
        parsed = self._parse()
        parsed.keys.append(entry)
        self._write(parsed)

    def revoke(self, key_id: str) -> int:
        parsed = self._parse()
        kept = [k for k in parsed.keys if not k.sha256.startswith(key_id)]
        removed = len(parsed.keys) - len(kept)
        if removed:
            self._write(parsed.model_copy(update={"keys": kept}))
        return removed

    def set_project(self, project: str, budget: Budget | None) -> None:
        parsed = self._parse()
        projects = {k: v for k, v in parsed.projects.items() if k != project}
        if budget is not None:
            projects[project] = budget
        self._write(parsed.model_copy(update={"projects": projects}))


class DatabaseKeys:
    """RAILYARD_API_KEYS_DATABASE: the keys in the database replicas share (Postgres), read
    again at most every `refresh_s`, so a key added or revoked anywhere counts everywhere
    within that time. A database that cannot be read refuses every key (503) until it can."""

    def __init__(self, database: Database, refresh_s: float = 1.0) -> None:
        self.database, self.refresh_s = database, refresh_s
        self._read_at = -float("inf")
        database.migrate("api_keys", migrations.API_KEYS)

    def __str__(self) -> str:
        return f"API keys table in {self.database.url.split('@')[-1]}"

    def read(self) -> KeyFile | None:
        if time.monotonic() - self._read_at < self.refresh_s:
            return None
        try:
            with self.database.connect() as db:
                keys = db.execute("SELECT entry FROM railyard_api_keys").fetchall()
                projects = db.execute("SELECT project, budget FROM railyard_projects").fetchall()
        except Exception as e:  # psycopg's or sqlite3's errors, a pool timeout
            self._read_at = -float("inf")
            raise KeysBroken(f"{self} cannot be read: {e}") from e
        self._read_at = time.monotonic()
        try:
            return KeyFile(
                keys=[KeyEntry.model_validate_json(row["entry"]) for row in keys],
                projects={r["project"]: Budget.model_validate_json(r["budget"]) for r in projects},
            )
        except ValidationError as e:
            raise KeysBroken(f"{self} holds an invalid row: {e}") from e

    def add(self, entry: KeyEntry) -> None:
        with self.database.connect() as db:
            db.execute(
                "INSERT INTO railyard_api_keys VALUES (?, ?, ?)",
                (entry.sha256, entry.model_dump_json(exclude_defaults=True), time.time()),
            )

    def revoke(self, key_id: str) -> int:
        with self.database.connect() as db:
            cursor = db.execute(
                "DELETE FROM railyard_api_keys WHERE sha256 LIKE ?", (f"{key_id}%",)
            )
            return cursor.rowcount

    def set_project(self, project: str, budget: Budget | None) -> None:
        with self.database.connect() as db:
            db.execute("DELETE FROM railyard_projects WHERE project = ?", (project,))
            if budget is not None:
                db.execute(
                    "INSERT INTO railyard_projects VALUES (?, ?)",
                    (project, budget.model_dump_json()),
                )


class KeyStore:
    def __init__(self, source: KeySource) -> None:
        self.source = source
        self._lock = threading.Lock()
        self._entries: list[KeyEntry] = []
        self._projects: dict[str, Budget] = {}
        self.broken: str | None = None
        """Why no key is accepted now (the keys were removed or broken after start)."""
        try:
            self._take(source.read())
        except KeysBroken as e:  # at start: a configuration error
            raise ConfigError(str(e)) from e

    def _load(self) -> None:
        """Take the keys as they are now. Later than start, the store fails closed until
        they are mended: a deleted file or a broken edit must not keep revoked keys working."""
        try:
            self._take(self.source.read())
        except KeysBroken as e:
            self._fail(str(e))

    def _take(self, parsed: KeyFile | None) -> None:
        if parsed is not None:
            self._entries, self._projects, self.broken = parsed.keys, parsed.projects, None

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
    source: KeySource | Path | str, project: str, user: str | None = None, rpm: int | None = None,
    tpm: int | None = None, admin: bool = False, usd_per_day: float | None = None,
    usd_per_month: float | None = None, over_budget: str = "refuse",
) -> str:  # fmt: skip
    """Create a key for `project`, store its hash in `source` (a keys file's path, or a
    source), and return the key itself."""
    if isinstance(source, Path | str):
        source = FileKeys(Path(source))
    key = new_key()
    source.add(
        KeyEntry(
            sha256=digest(key), project=project, user=user, rpm=rpm, tpm=tpm, admin=admin,
            usd_per_day=usd_per_day, usd_per_month=usd_per_month, over_budget=over_budget,
        )
    )  # fmt: skip
    return key


def key_source(settings: Settings, path: Path | None = None) -> KeySource | None:
    """Where the gateway's keys are: `path`, the database, the keys file, or none."""
    if path is not None:
        return FileKeys(path)
    if settings.api_keys_database:
        return DatabaseKeys(open_database(settings, "keys.sqlite"))
    if settings.api_keys_file:
        return FileKeys(settings.api_keys_file)
    return None
