"""A rollout: the prompt versions that serve and their shares, and the sticky draw of one for a
request.

A request's key (its thread, else its user, else its API key, else the request itself) hashes
to a point in [0, 1); the versions cover that interval in the rollout's order, each with its
share. So a key keeps its version while the shares stay, and a canary that grows from 10 % to
20 % (the candidate listed last) keeps the users it already had."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_PART = re.compile(r"^\s*([A-Za-z0-9_.-]+@v\d+)\s*[=:]\s*(\d+(?:\.\d+)?)\s*%?\s*$")


@dataclass(frozen=True)
class Rollout:
    shares: tuple[tuple[str, float], ...]
    """(version id, share in percent) in draw order; the shares sum to 100."""

    @classmethod
    def parse(cls, parts: str | list[str]) -> Rollout:
        """`answer@v2=90,answer@v3=10` (or the parts as a list; `:` and `%` are accepted)."""
        if isinstance(parts, str):
            parts = [p for p in parts.split(",") if p.strip()]
        shares = []
        for part in parts:
            match = _PART.match(part)
            if match is None:
                raise ValueError(
                    f"a rollout part is VERSION=PERCENT, such as answer@v3=10, not {part!r}"
                )
            shares.append((match.group(1), float(match.group(2))))
        return cls.of(shares)

    @classmethod
    def of(cls, shares: list[tuple[str, float]] | dict[str, float]) -> Rollout:
        items = list(shares.items()) if isinstance(shares, dict) else list(shares)
        versions = [v for v, _ in items]
        if not items:
            raise ValueError("a rollout names at least one prompt version")
        if len(set(versions)) != len(versions):
            raise ValueError(f"a prompt version is named twice in {versions}")
        if any(share < 0 for _, share in items):
            raise ValueError("shares are percentages from 0 to 100")
        if abs(sum(share for _, share in items) - 100) > 1e-6:
            total = sum(share for _, share in items)
            raise ValueError(f"the shares add up to {total:g} %, not 100 %")
        return cls(tuple((v, float(s)) for v, s in items))

    @classmethod
    def single(cls, version: str) -> Rollout:
        return cls(((version, 100.0),))

    @property
    def versions(self) -> list[str]:
        return [v for v, _ in self.shares]

    def as_dict(self) -> dict[str, float]:
        return dict(self.shares)

    def __str__(self) -> str:
        return ", ".join(f"{v}={s:g}%" for v, s in self.shares)

    def draw(self, key: str) -> str:
        """The version for `key`, the same every time for the same shares."""
        digest = hashlib.sha256(key.encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * 100
        edge = 0.0
        live = [(v, s) for v, s in self.shares if s > 0]
        for version, share in live:
            edge += share
            if point < edge:
                return version
        return live[-1][0]
