"""The prompt versions a gateway serves: the released versions beside RAILYARD_PROMPT_FILE, the
configured rollout (RAILYARD_PROMPT_ROLLOUT, else the prompt file's version alone), overridden
by the newest rollout recorded with `railyard prompts` (read again every
RAILYARD_PROMPT_REFRESH_S seconds, so every replica follows a promotion or a rollback)."""

from __future__ import annotations

import asyncio
import logging
import time

from graph.prompt import Prompt, released
from serving.prompts.rollout import Rollout
from serving.prompts.store import RolloutStore
from serving.settings import Settings

log = logging.getLogger("railyard.prompts")


class ServedPrompts:
    def __init__(
        self, versions: dict[str, Prompt], configured: Rollout, refresh_s: float = 5.0
    ) -> None:
        self.versions = versions
        check(configured, versions)
        self.configured = configured
        self.rollout = configured
        """What serves now."""
        self.refresh_s = refresh_s
        self._store: RolloutStore | None = None
        self._read_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ServedPrompts:
        versions = released(settings.prompt_file)
        default = Prompt.load(settings.prompt_file)
        configured = (
            Rollout.parse(settings.prompt_rollout)
            if settings.prompt_rollout.strip()
            else Rollout.single(default.version_id)
        )
        return cls(versions, configured, settings.prompt_refresh_s)

    def follow(self, store: RolloutStore) -> None:
        """Serve the newest rollout recorded in `store` from now on."""
        self._store = store
        self._read_at = 0.0

    async def refresh(self) -> Rollout:
        """The rollout to serve, read from the store when the last read is older than
        refresh_s. A recorded rollout naming a version this gateway does not have is logged and
        ignored (the previous one keeps serving)."""
        if self._store is None or time.monotonic() - self._read_at < self.refresh_s:
            return self.rollout
        self._read_at = time.monotonic()
        try:
            recorded = await asyncio.to_thread(self._store.current)
        except Exception as exc:
            log.warning("prompt rollouts unreadable (%s); serving %s", exc, self.rollout)
            return self.rollout
        recorded = recorded or self.configured
        if recorded != self.rollout:
            try:
                check(recorded, self.versions)
            except ValueError as exc:
                log.error("recorded prompt rollout ignored: %s", exc)
                return self.rollout
            log.info("prompt rollout: %s (was %s)", recorded, self.rollout)
            self.rollout = recorded
        return self.rollout

    async def draw(self, key: str) -> Prompt:
        rollout = await self.refresh()
        return self.versions[rollout.draw(key)]


def check(rollout: Rollout, versions: dict[str, Prompt]) -> None:
    unknown = [v for v in rollout.versions if v not in versions]
    if unknown:
        raise ValueError(
            f"the rollout names {', '.join(unknown)}, but the released prompt versions are "
            f"{', '.join(sorted(versions))}"
        )
