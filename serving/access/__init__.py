"""Who is calling (API keys, hashed at rest) and how much they may ask (rate limits)."""

from serving.access.keys import Caller, KeyStore
from serving.access.limits import RateLimiter

__all__ = ["Caller", "KeyStore", "RateLimiter"]
