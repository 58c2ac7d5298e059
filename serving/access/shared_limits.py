"""Rate limits counted in Redis, so every gateway replica counts toward the same limits: the
same sliding minute as `RateLimiter` (requests, and tokens reserved then settled), kept per
caller in one sorted set (member `ticket:tokens`, score: Redis's own clock in ms, so replicas'
clocks need not agree). Admission is one Lua script: atomic across replicas. If Redis does not
answer within its timeout the request is counted by this process's own limiter instead (limits
per replica, logged), rather than refusing every caller or hanging."""

from __future__ import annotations

import logging
import math
import time
import uuid

from serving.access.limits import WINDOW_S, RateLimiter, Ticket
from serving.errors import RateLimited
from storage.redis import PREFIX, redis_client

log = logging.getLogger("railyard")

_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local rpm, tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
if rpm > 0 and count >= rpm then
  local oldest = redis.call('ZRANGE', KEYS[1], count - rpm, count - rpm, 'WITHSCORES')
  return {'requests', tostring(tonumber(oldest[2]) + window - now), '0'}
end
if tpm > 0 then
  if tokens > tpm then return {'too_large', '0', '0'} end
  local events = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  local used = 0
  for i = 1, #events, 2 do
    used = used + tonumber(string.match(events[i], ':(%d+)$'))
  end
  if used + tokens > tpm then
    local excess, freed, wait = used + tokens - tpm, 0, window
    for i = 1, #events, 2 do
      freed = freed + tonumber(string.match(events[i], ':(%d+)$'))
      if freed >= excess then wait = tonumber(events[i + 1]) + window - now break end
    end
    return {'tokens', tostring(wait), tostring(used)}
  end
end
redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {'ok', tostring(now), '0'}
"""

_SETTLE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[1], score, ARGV[2])
end
return 0
"""


class SharedRateLimiter:
    """`RateLimiter`'s contract over Redis (a `serving.access.limits.Limiter`)."""

    def __init__(self, url: str, rpm: int | None, tpm: int | None) -> None:
        self.rpm, self.tpm = rpm, tpm
        self.redis = redis_client(url)
        self._admit = self.redis.register_script(_ADMIT)
        self._settle = self.redis.register_script(_SETTLE)
        self.local = RateLimiter(rpm, tpm)
        self._warned = 0.0

    def admit(
        self, caller: str, tokens: int, rpm: int | None = None, tpm: int | None = None
    ) -> Ticket:
        rpm, tpm = rpm or self.rpm, tpm or self.tpm
        if rpm is None and tpm is None:
            return Ticket(caller, time.monotonic(), tokens)
        ticket_id = uuid.uuid4().hex
        try:
            verdict, value, used = self._admit(
                keys=[self._key(caller)],
                args=[rpm or 0, tpm or 0, tokens, ticket_id, int(WINDOW_S * 1000)],
            )
        except Exception as e:  # redis.RedisError, a timeout: count here instead
            self._unreachable(e)
            return self.local.admit(caller, tokens, rpm, tpm)
        wait = float(value) / 1000
        if verdict == "requests":
            raise RateLimited(
                f"Rate limit reached: {rpm} requests per minute. Retry after "
                f"{math.ceil(wait)} s.", retry_after=wait, kind="requests",
            )  # fmt: skip
        if verdict == "too_large":
            raise RateLimited(
                f"Request too large for the rate limit: about {tokens} tokens, limit "
                f"{tpm} tokens per minute. Lower max_tokens or shorten the messages.",
                retry_after=None, kind="tokens",
            )  # fmt: skip
        if verdict == "tokens":
            raise RateLimited(
                f"Rate limit reached: {tpm} tokens per minute (used {used}, requested "
                f"{tokens}). Retry after {math.ceil(wait)} s.", retry_after=wait, kind="tokens",
            )  # fmt: skip
        return Ticket(caller, wait, tokens, ticket_id)

    def settle(self, ticket: Ticket, tokens: int) -> None:
        if not ticket.id:  # admitted by the local limiter, or unlimited
            self.local.settle(ticket, tokens)
            return
        old, ticket.tokens = f"{ticket.id}:{ticket.tokens}", max(0, int(tokens))
        new = f"{ticket.id}:{ticket.tokens}"
        try:
            self._settle(keys=[self._key(ticket.caller)], args=[old, new])
        except Exception as e:
            self._unreachable(e)

    @staticmethod
    def _key(caller: str) -> str:
        return f"{PREFIX}limit:{caller}"

    def _unreachable(self, error: Exception) -> None:
        if time.monotonic() - self._warned > 30:
            self._warned = time.monotonic()
            log.warning("Redis unreachable (%s): rate limits counted per replica", error)
