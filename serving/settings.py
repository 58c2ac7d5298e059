"""The one Settings object: every knob railyard reads, from RAILYARD_* variables or railyard.yaml.

Built once by the CLI or a test and handed down (`create_app(settings)`); nothing reads the
environment elsewhere. Precedence: init arguments > environment > railyard.yaml > defaults.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
PACKAGE_DIR = Path(__file__).parent
DEFAULT_POLICY = PACKAGE_DIR / "llm" / "policy.yaml"
DEFAULT_PROMPT = Path(__file__).parents[1] / "graph" / "prompts" / "answer.yaml"
PACKAGED_RAILS = Path(__file__).parents[1] / "rails"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAILYARD_",
        yaml_file="railyard.yaml",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Field(
        Path(".railyard"),
        description="All state: vector store, traces, checkpoints, the converted local model.",
    )
    models_dir: Path | None = Field(
        None, description="Where the converted local model is cached; default DATA_DIR/models."
    )
    host: str = Field("127.0.0.1", description="Address the gateway listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the gateway listens on.")

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
    prompt_file: Path = Field(
        DEFAULT_PROMPT,
        description="Versioned answer prompt (YAML); the prompt files beside it with the same id "
        "are its other released versions.",
    )
    prompt_rollout: str = Field(
        "",
        description="Which prompt versions serve and their shares in percent, e.g. "
        "'answer@v2=90,answer@v3=10' (sticky per thread, else user, else API key); empty: the "
        "prompt file's version alone. A rollout recorded with `railyard prompts` overrides it.",
    )
    prompt_refresh_s: float = Field(
        5.0, gt=0, description="How often a gateway reads the newest recorded prompt rollout."
    )

    milvus_uri: str | None = Field(
        None, description="URI of a Milvus server; default the embedded milvus-lite."
    )
    knowledge_base: list[Path] = Field(
        default_factory=list,
        description="Folders `serve` indexes at start when the index is empty (make serve: "
        "examples/knowledge-base).",
    )
    retrieval_k: int = Field(4, ge=1, le=50, description="Chunks retrieved per question.")
    retrieval_min_score: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="Cosine similarity below which a retrieved chunk is dropped before the "
        "answer step; with none left the answer is 'I don't know' and no model is called. "
        "Empty (default): 0 in answer mode select (no absolute gate: the answerability model "
        "decides after the model has looked), 0.35 in generate mode.",
    )
    retrieval_timeout_s: float = Field(
        10, gt=0, description="Longest wait for the vector store; past it (or on its error) "
        "the request gets 503 vector_store_unavailable instead of hanging.",
    )  # fmt: skip
    retrieval_context_chunks: int = Field(3, ge=1, description="Chunks put into the prompt.")
    retrieval_extractive: Literal["fallback", "never", "always"] = Field(
        "fallback",
        description="Generated answers (answer_mode generate, or the fallback's): answer with "
        "the best retrieved sentences when the model's text is not supported by the context "
        "(fallback), never, or always (no model call: for measurements only).",
    )
    answer_mode: Literal["auto", "select", "generate"] = Field(
        "auto",
        description="How the model answers from retrieved passages: 'select' (the model "
        "scores the passages' sentences by how well each explains the question, and the answer "
        "quotes the best in document order; right for a small base model), 'generate' (the "
        "model writes the answer, checked by the output rails; right for an instruct model). "
        "'auto': select for the packaged 270M base model, generate for other models.",
    )
    answer_spotlight: bool = Field(
        True,
        description="Generated answers: datamark the retrieved passages in the prompt (their "
        "words joined by ^, which the system prompt says marks data, not instructions: "
        "spotlighting against injected instructions) and take the marks out of the answer.",
    )
    answer_candidates: int = Field(
        6, ge=1, le=50, description="select: candidate sentences scored per question part."
    )
    answer_min_confidence: float | None = Field(
        None,
        description="select: the calibrated probability (0..1, graph/answerability.json, "
        "fitted by `railyard train answerability`) at or above which the chosen sentences are "
        "given as the answer; below it the closest passage is offered as possibly not "
        "answering, or the fallback model is asked when one is configured. Empty: the fitted "
        "model's own threshold.",
    )
    answer_unsure_confidence: float | None = Field(
        None,
        description="select: the probability below which the answer is 'I don't know' (naming "
        "the nearest page when the search agrees on one) instead of the closest passage. "
        "Empty: the fitted model's own threshold.",
    )

    rails_enabled: bool = Field(
        True,
        description="Run the guardrails (input, retrieved-content and output rails). Off only "
        "to measure what they cost.",
    )
    rails_dir: Path = Field(
        PACKAGED_RAILS,
        description="The NeMo Guardrails policy folder (config.yml + Colang flows + actions); "
        "edits take effect without a restart.",
    )

    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_messages: int = Field(256, ge=1, description="Most messages accepted in one request.")
    max_completion_tokens: int = Field(
        512, ge=1, description="Ceiling and default for max_tokens per request."
    )
    request_timeout_s: float = Field(
        300, gt=0, description="Longest a chat completion may run, streamed or not (504 after)."
    )
    shutdown_grace_s: float = Field(
        25, ge=0, description="On SIGTERM, how long in-flight streams may run to their end."
    )
    api_keys_file: Path | None = Field(
        None,
        description="YAML file of hashed API keys (`railyard keys add`); when set, requests "
        "without a valid `Authorization: Bearer` key get 401, and traces carry the key's "
        "project and user.",
    )
    api_keys_database: bool = Field(
        False,
        description="Keep the API keys in the database instead of a file: RAILYARD_DATABASE_URL's "
        "(Postgres, shared by replicas: a key added or revoked on one counts on all within a "
        "second), else DATA_DIR/keys.sqlite. `railyard keys` writes there.",
    )
    allow_unauthenticated: bool = Field(
        False,
        description="Serve without API keys on an address other than loopback. Off, "
        "`serve` refuses to listen beyond 127.0.0.1/::1 unless RAILYARD_API_KEYS_FILE is set: "
        "anyone who can reach the port could otherwise chat (spending on the fallback API), "
        "read traces and start ingestion.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="When set, GET /metrics needs `Authorization: Bearer <token>` (metrics name "
        "projects, costs and budgets). Unset: /metrics is open.",
    )
    ingest_roots: list[Path] = Field(
        default_factory=list,
        description="Folders `POST /v1/admin/ingest` (and `railyard ingest run` handed to a "
        "running server) may index; every path must lie under one once symlinks are resolved. "
        "Default: the knowledge base folders (RAILYARD_KNOWLEDGE_BASE).",
    )
    ingest_max_file_mb: float = Field(
        50, gt=0, description="Documents larger than this are skipped and reported by "
        "ingestion, never read.",
    )  # fmt: skip
    eval_set: Path | None = Field(
        None,
        description="QA file (JSONL: question, source or sources, answerable) searched on the "
        "new index after every ingestion run that changes it (server, `ingest run`, `watch`, "
        "`schedule`): source hit@1/@5 and MRR recorded per index version (`railyard eval "
        "history`). Unset: no check.",
    )
    eval_drop_alert: float = Field(
        0.1, gt=0, le=1, description="Alert (eval_drop) when a figure of the eval set falls by "
        "more than this from the previous index version.",
    )  # fmt: skip
    experiments_dir: Path = Field(
        Path("experiments"),
        description="Where the console (/ui) reads `railyard experiment fallback` reports: each "
        "folder under it with a report.json (the command's default --out, experiments/fallback, "
        "is one), newest first.",
    )
    client_api_key: SecretStr | None = Field(
        None,
        description="Key the CLI sends when it hands work to a running server that has API "
        "keys on (e.g. `railyard ingest run` while the server owns the index); an admin key "
        "(`railyard keys add --admin`).",
    )
    rate_limit_rpm: int | None = Field(
        300, ge=1, description="Requests per minute per API key (per client address without "
        "keys), for chat and, counted apart, for the other /v1 endpoints; a key's own `rpm` "
        "overrides it. There is no unlimited default: raise it for heavy callers.",
    )  # fmt: skip
    rate_limit_tpm: int | None = Field(
        200_000, ge=1, description="Tokens per minute per API key (prompt estimate + max_tokens "
        "reserved, then the real usage); a key's own `tpm` overrides it. Bounds what one "
        "caller can spend on the fallback.",
    )  # fmt: skip
    trusted_proxies: list[str] = Field(
        [], description="Addresses or networks (CIDR) of reverse proxies in front of the "
        "gateway: from them, X-Forwarded-For names the client (for per-address rate limits and "
        "logs; uvicorn's forwarded_allow_ips). Empty: the header is ignored and the connecting "
        "address is the client.",
    )  # fmt: skip
    database_url: SecretStr | None = Field(
        None, description="Postgres shared by every gateway replica "
        "(postgresql://railyard@db-host:5432/railyard; a password in it or in PGPASSWORD): "
        "traces, feedback and conversation threads (LangGraph's checkpoints). Its schema is "
        "created and migrated on start. Unset: SQLite files in DATA_DIR.",
    )  # fmt: skip
    redis_url: str | None = Field(
        None, description="Redis shared by every gateway replica (redis://host:6379/0): rate "
        "limits and the fallback budget are counted there, across replicas and restarts. "
        "Unset: counted in this process.",
    )  # fmt: skip
    log_level: str = Field("info", description="Log level of the gateway.")
    cache_enabled: bool = Field(
        True,
        description="Serve paraphrases of answered single-question requests from the semantic "
        "cache (route `cache`; the rails still run).",
    )
    cache_similarity: float = Field(
        0.9, gt=0, le=1, description="MiniLM cosine at which a question counts as a paraphrase."
    )
    cache_max_entries: int = Field(10_000, ge=1, description="Answers kept (least recent go).")
    cache_ttl_s: float = Field(86_400, gt=0, description="Seconds a cached answer is served.")
    cache_signing_key: SecretStr | None = Field(
        None, description="Key the replicas sign the answers they share through Redis with "
        "(the same on every replica; `openssl rand -hex 32`); an entry that fails the check is "
        "dropped. Unset with RAILYARD_REDIS_URL: each replica keeps its cache to itself.",
    )  # fmt: skip
    alert_webhook_url: str | None = Field(
        None,
        description="Webhook that receives a JSON alert on a failed ingestion run and on an "
        "error- or fallback-rate spike.",
    )
    alert_window_s: float = Field(300, gt=0, description="Window the alert rates are taken on.")
    alert_min_requests: int = Field(
        20, ge=1, description="Requests in the window before a rate can alert."
    )
    alert_error_rate: float = Field(0.2, gt=0, le=1, description="Error rate that alerts.")
    alert_fallback_rate: float = Field(0.5, gt=0, le=1, description="Fallback rate that alerts.")
    trace_retention_days: float = Field(
        30, gt=0, description="Traces (DATA_DIR/traces.sqlite) older than this are deleted."
    )
    otlp_endpoint: str | None = Field(
        None,
        description="OpenTelemetry collector base URL, OTLP over HTTP (e.g. "
        "http://otel-collector:4318): every request is exported as a trace (a span per graph "
        "node, the model call as a GenAI client span, rail verdicts as events) and the GenAI "
        "token-usage and duration metrics. Unset: no export.",
    )
    otlp_service_name: str = Field("railyard", description="OTel `service.name`.")
    otlp_export_interval_s: float = Field(
        15, gt=0, description="How often metrics are pushed to the OTLP endpoint."
    )
    trace_content: bool = Field(
        True,
        description="Keep the question and the answer in each trace (PII masked with the "
        "input rail's placeholders; a question the input rails blocked is not kept): the "
        "console, `railyard feedback export` and `railyard drift` read them. False keeps ids, "
        "scores, timings and costs only.",
    )
    thread_retention_days: float = Field(
        30, gt=0, description="Conversation threads (X-Railyard-Thread-Id; checkpoints in "
        "DATA_DIR/checkpoints.sqlite) unused for this long are deleted. Requests without a "
        "thread id are never checkpointed.",
    )  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, values: Any) -> Any:
        old, new = "RAILYARD_ROUTING_POLICY", "RAILYARD_ROUTER_CONFIG"
        if os.environ.get(old) and not os.environ.get(new):
            logging.getLogger("railyard.settings").warning(
                "RAILYARD_ROUTING_POLICY is deprecated: name the router's file "
                "RAILYARD_ROUTER_CONFIG (RAILYARD_ROUTING_MODE is the routing policy)"
            )
        return values

    @field_validator("routing_mode")
    @classmethod
    def _known_routing_mode(cls, mode: str) -> str:
        from graph.routing import POLICIES  # the policies are defined once, in graph/routing.py

        if mode not in POLICIES:
            raise ValueError(f"unknown routing mode {mode!r}; choose from {', '.join(POLICIES)}")
        return mode

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def fallback_configured(self) -> bool:
        """True when a fallback model can really be reached (a key, or a base URL of one)."""
        return self.openai_api_key is not None or self.fallback_base_url is not None

    @property
    def loopback_only(self) -> bool:
        """True when the gateway listens on a loopback address only."""
        return self.host in LOOPBACK_HOSTS

    @property
    def resolved_ingest_roots(self) -> list[Path]:
        return [p.resolve() for p in (self.ingest_roots or self.knowledge_base)]

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
