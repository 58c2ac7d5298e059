"""Who is calling (API keys, hashed at rest) and how much they may ask (rate limits, counted in
this process or, for replicas, in Redis)."""

from serving.access.keys import Caller, KeyStore
from serving.access.limits import Limiter, RateLimiter
from serving.access.shared_limits import SharedRateLimiter

__all__ = ["Caller", "KeyStore", "Limiter", "RateLimiter", "SharedRateLimiter"]
