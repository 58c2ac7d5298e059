"""The one Settings object: every knob railyard reads, from RAILYARD_* variables or railyard.yaml.

Its fields come in groups: the models and routing (models.py), the answer (answers.py), and
the gateway's own (here). Built once by the CLI or a test and handed down
(`create_app(settings)`); nothing reads the environment elsewhere. Precedence: init arguments >
environment > railyard.yaml > defaults.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from serving.settings.answers import AnswerSettings
from serving.settings.models import ModelSettings
from serving.settings.paths import DEFAULT_POLICY, DEFAULT_PROMPT, PACKAGED_RAILS

__all__ = ["DEFAULT_POLICY", "DEFAULT_PROMPT", "LOOPBACK_HOSTS", "PACKAGED_RAILS", "Settings"]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Settings(ModelSettings, AnswerSettings, BaseSettings):
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
    alert_webhook_url: str | None = Field(
        None,
        description="Webhook that receives a JSON alert on a failed ingestion run and on an "
        "error- or fallback-rate spike.",
    )
    alert_webhook_format: Literal["json", "slack", "teams"] = Field(
        "json",
        description="The alert's shape: railyard's JSON, a Slack incoming webhook's `text`, or a "
        "Microsoft Teams workflow webhook's message with an Adaptive Card.",
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
    def loopback_only(self) -> bool:
        """True when the gateway listens on a loopback address only."""
        return self.host in LOOPBACK_HOSTS

    @property
    def resolved_ingest_roots(self) -> list[Path]:
        return [p.resolve() for p in (self.ingest_roots or self.knowledge_base)]
