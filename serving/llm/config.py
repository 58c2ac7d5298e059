"""The router's configuration file (RAILYARD_ROUTER_CONFIG, default policy.yaml): timeouts,
retries, cooldown and prices per route. Which failures reach the fallback is the routing
policy's (graph/routing.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError, model_validator

from serving.errors import ConfigError


class Price(BaseModel):
    """Either per-token prices, or an hourly machine price and the throughput measured on it."""

    model_config = ConfigDict(extra="forbid")

    input_cost_per_token: PositiveFloat | None = None
    output_cost_per_token: PositiveFloat | None = None
    hourly_usd: PositiveFloat | None = None
    input_tokens_per_second: PositiveFloat | None = None
    output_tokens_per_second: PositiveFloat | None = None

    @model_validator(mode="after")
    def _complete(self) -> Price:
        per_token = (self.input_cost_per_token, self.output_cost_per_token)
        hourly = (self.hourly_usd, self.input_tokens_per_second, self.output_tokens_per_second)
        if all(v is not None for v in per_token) or all(v is not None for v in hourly):
            return self
        raise ValueError(
            "give input_cost_per_token and output_cost_per_token, or hourly_usd with "
            "input_tokens_per_second and output_tokens_per_second"
        )

    def per_token(self) -> tuple[float, float]:
        if self.input_cost_per_token is not None and self.output_cost_per_token is not None:
            return self.input_cost_per_token, self.output_cost_per_token
        per_second = self.hourly_usd / 3600  # type: ignore[operator]
        return (
            per_second / self.input_tokens_per_second,  # type: ignore[operator]
            per_second / self.output_tokens_per_second,  # type: ignore[operator]
        )


class RouteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout_s: PositiveFloat = 60
    stream_timeout_s: PositiveFloat = 30
    price: Price | None = None


class RouterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    local: RouteConfig
    fallback: RouteConfig
    strategy: Literal["simple-shuffle", "least-busy", "usage-based-routing-v2"] = "simple-shuffle"
    """How LiteLLM picks among several local servers (RAILYARD_LOCAL_BASE_URLS). With
    `simple-shuffle` a request that fails on one server is retried on another before the
    fallback (LiteLLM's same-group failover); the others fall back at once."""
    retries: int = Field(0, ge=0)
    allowed_fails: int = Field(1, ge=0)
    cooldown_s: PositiveFloat = 30

    @model_validator(mode="after")
    def _local_priced(self) -> RouterConfig:
        if self.local.price is None:
            raise ValueError("local.price is required: a local answer is never free")
        return self


def load_router_config(path: Path) -> RouterConfig:
    try:
        return RouterConfig.model_validate(yaml.safe_load(Path(path).read_text()))
    except FileNotFoundError as e:
        raise ConfigError(
            f"router configuration {path} does not exist (RAILYARD_ROUTER_CONFIG)"
        ) from e
    except (yaml.YAMLError, ValidationError) as e:
        raise ConfigError(f"router configuration {path} is invalid: {e}") from e
