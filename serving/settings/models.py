"""The model settings: the local vLLM pool, the paid fallback, and how requests are routed
between them (RAILYARD_LOCAL_*, RAILYARD_FALLBACK_*, OPENAI_API_KEY, RAILYARD_ROUTING_*,
RAILYARD_ROUTER_CONFIG). Part of `Settings` (serving/settings/__init__.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator

from serving.settings.paths import DEFAULT_POLICY


class ModelSettings(BaseModel):
    local_base_url: str | None = Field(
        None,
        description="OpenAI-compatible base URL (…/v1) of an already-running vLLM; when set, "
        "`railyard serve` launches no local model server.",
    )
    local_base_urls: list[str] = Field(
        [], description="A pool of already-running vLLM servers (…/v1 each), serving the same "
        "model under LOCAL_SERVED_NAME: one LiteLLM model group, balanced by the routing "
        "policy's `strategy`, each server with its own health and cooldown; the fallback stays "
        "the last resort. When set, `railyard serve` launches no local model server.",
    )  # fmt: skip
    local_port: int = Field(
        8001, ge=1, le=65535, description="Port of the vLLM server that `serve`/`vllm` launch."
    )
    local_model: str | None = Field(
        None,
        description="Model vLLM serves: a Hugging Face id or folder (e.g. an instruct model on a "
        "GPU server). Default: the packaged Gemma 3 270M, converted on first use.",
    )
    local_served_name: str = Field("local", description="Model name the vLLM server exposes.")
    local_prompt_style: Literal["auto", "completion", "chat"] = Field(
        "auto",
        description="'completion' renders chats as a few-shot Question/Answer prompt (for base "
        "models); 'chat' uses the model's own chat template; 'auto' picks completion for the "
        "packaged base model and chat otherwise.",
    )
    local_device: Literal["auto", "cpu", "gpu"] = Field(
        "auto", description="Flags for vLLM: 'auto' picks gpu when nvidia-smi is present."
    )
    local_max_model_len: int = Field(2048, ge=256, description="vLLM --max-model-len.")
    local_kv_cache_gib: int = Field(
        2, ge=1, description="KV cache size on CPU (VLLM_CPU_KVCACHE_SPACE), GiB."
    )
    local_gpu_memory_utilization: float = Field(
        0.85, gt=0, le=1, description="vLLM --gpu-memory-utilization on a GPU."
    )
    local_start_timeout_s: float = Field(
        600, gt=0, description="How long `serve` waits for vLLM to answer /health."
    )
    local_extra_args: list[str] = Field(
        default_factory=list, description="Extra command-line arguments passed to vLLM."
    )

    fallback_base_url: str | None = Field(
        None, description="OpenAI-compatible base URL of the fallback; default OpenAI's API."
    )
    fallback_model: str = Field("gpt-4o-mini", description="Model name asked of the fallback.")
    fallback_budget_usd_per_day: float | None = Field(
        None, gt=0, description="What the fallback may cost per UTC day (this gateway's "
        "requests, counted from the traces at start). Spent: local failures are no longer "
        "handed to the fallback, and requests routed to it get 429 insufficient_quota until "
        "midnight UTC. Unset: no cap (rate limits still bound each caller).",
    )  # fmt: skip
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "RAILYARD_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"
        ),
        description="Key for the fallback (OPENAI_API_KEY).",
    )
    routing_policy: Path = Field(
        DEFAULT_POLICY,
        validation_alias=AliasChoices(
            "RAILYARD_ROUTER_CONFIG", "router_config", "RAILYARD_ROUTING_POLICY", "routing_policy"
        ),
        description="RAILYARD_ROUTER_CONFIG: the LiteLLM router's file (timeouts, retries, "
        "cooldown, prices). Its old name, RAILYARD_ROUTING_POLICY, is still read, with a "
        "warning: the routing policy is RAILYARD_ROUTING_MODE.",
    )
    routing_mode: str = Field(
        "local-first",
        description="The routing policy (graph/routing.py): local-first (fallback on local "
        "errors), local-only, api-only, quality-gated (also escalate answers the output rails "
        "reject) or difficulty (hard questions to the fallback first). Compare them with "
        "`railyard experiment fallback`.",
    )
    routing_max_difficulty: float = Field(
        0.4,
        ge=0,
        le=1,
        description="The difficulty routing mode sends questions scoring above this "
        "(graph/difficulty.py, 0..1) to the fallback first.",
    )

    @field_validator("routing_mode")
    @classmethod
    def _known_routing_mode(cls, mode: str) -> str:
        from graph.routing import POLICIES  # the policies are defined once, in graph/routing.py

        if mode not in POLICIES:
            raise ValueError(f"unknown routing mode {mode!r}; choose from {', '.join(POLICIES)}")
        return mode

    @property
    def managed_local(self) -> bool:
        """True when railyard launches and supervises vLLM itself."""
        return self.local_base_url is None and not self.local_base_urls

    @property
    def local_url(self) -> str:
        """The first local server (the one `serve` launches, when it launches one)."""
        return self.local_urls[0]

    @property
    def local_urls(self) -> list[str]:
        """Every local server of the pool."""
        if self.local_base_urls:
            return list(self.local_base_urls)
        return [self.local_base_url or f"http://127.0.0.1:{self.local_port}/v1"]

    @property
    def fallback_configured(self) -> bool:
        """True when a fallback model can really be reached (a key, or a base URL of one)."""
        return self.openai_api_key is not None or self.fallback_base_url is not None
