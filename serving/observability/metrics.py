"""Prometheus metrics (prometheus-client), updated from each request's trace. Names follow
Prometheus conventions: `railyard_` prefix, base units (seconds, tokens, USD) in the name,
`_total` on counters. Each app has its own registry, so several apps can share a process."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1, 2, 2.5, 5, 10, 30, 60)
"""With the service levels' bounds (0.8 s to the first token, 2 s a request: deploy/prometheus/)
as edges, so the share under each is counted, not interpolated."""
TOKEN_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1)
TRACE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05)
"""Building a trace takes a fraction of a millisecond: finer than the token buckets."""
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
GROUNDEDNESS = "check groundedness"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "railyard_requests", "Chat completion requests.", ["route", "outcome"], registry=r
        )
        self.prompt_requests = Counter(
            "railyard_prompt_requests", "Requests by the prompt version that answered them "
            "(a canary's share and outcomes).", ["prompt_version", "outcome"], registry=r,
        )  # fmt: skip
        self.request_seconds = Histogram(
            "railyard_request_duration_seconds", "Request latency, first byte in to last out.",
            ["route", "outcome"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.node_seconds = Histogram(
            "railyard_node_duration_seconds", "Time spent in each request-graph node.",
            ["node"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.ttft = Histogram(
            "railyard_time_to_first_token_seconds", "Model time to first token.", ["route"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.tpot = Histogram(
            "railyard_time_per_output_token_seconds", "Model time per token after the first.",
            ["route"], buckets=TOKEN_BUCKETS, registry=r,
        )  # fmt: skip
        self.prompt_tokens = Counter(
            "railyard_prompt_tokens", "Prompt tokens sent to models.", ["route"], registry=r
        )
        self.completion_tokens = Counter(
            "railyard_completion_tokens", "Completion tokens from models.", ["route"], registry=r
        )
        self.cost = Counter(
            "railyard_cost_usd", "Model cost in USD.", ["route", "project"], registry=r
        )
        self.groundedness = Histogram(
            "railyard_groundedness_score",
            "The groundedness rail's score of answers (1: every claim supported by the passages).",
            buckets=SCORE_BUCKETS, registry=r,
        )  # fmt: skip
        self._operations(r)

    def _operations(self, r: CollectorRegistry) -> None:
        """Budgets, fallbacks, rails, cache, errors and ingestion."""
        self.budget_used = Gauge(
            "railyard_budget_used_ratio",
            "Share of a spend budget used in its period (scope: key:<id> or project:<name>).",
            ["scope", "period"], registry=r,
        )  # fmt: skip
        self.fallbacks = Counter(
            "railyard_fallbacks", "Requests the fallback answered, by why the local model did not.",
            ["reason"], registry=r,
        )  # fmt: skip
        self.rail_blocks = Counter(
            "railyard_rail_blocks", "Requests or answers stopped by a rail.", ["rail", "stage"],
            registry=r,
        )  # fmt: skip
        self.cache_lookups = Counter(
            "railyard_cache_lookups", "Semantic cache lookups by result (hit, miss, guard_*).",
            ["result"], registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "railyard_request_errors", "Requests that ended in an error.", ["type"], registry=r
        )
        self.ingest_runs = Counter(
            "railyard_ingest_runs", "Ingestion runs by result.", ["status"], registry=r
        )
        self.ingest_failed_documents = Counter(
            "railyard_ingest_failed_documents", "Documents skipped by ingestion.", registry=r
        )
        self.rails_seconds = Histogram(
            "railyard_rails_check_duration_seconds",
            "Time in one NeMo Guardrails check, by stage (input: the question; output: each "
            "held-back sentence of an answer).", ["stage"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.trace_seconds = Histogram(
            "railyard_trace_record_duration_seconds",
            "Time on the request path to build a request's trace and count it (the write is "
            "queued).", buckets=TRACE_BUCKETS, registry=r,
        )  # fmt: skip
        self.retrieval_recall = Gauge(
            "railyard_retrieval_recall",
            "The eval set's source_hit@5 on the index now serving (RAILYARD_EVAL_SET), from the "
            "check after its ingestion.", registry=r,
        )  # fmt: skip

    def observe(self, trace: dict[str, Any]) -> None:
        route, outcome = trace["route"], trace["outcome"]
        self.requests.labels(route, outcome).inc()
        self.prompt_requests.labels(trace.get("prompt_version") or "none", outcome).inc()
        self.request_seconds.labels(route, outcome).observe(trace["latency_ms"] / 1000)
        for span in trace["spans"]:
            self.node_seconds.labels(span["name"]).observe(span["latency_ms"] / 1000)
            lookup = span["attributes"].get("cache") if span["name"] == "retrieve" else None
            if lookup not in (None, "skipped"):
                self.cache_lookups.labels(lookup).inc()
        call = trace["generation"]
        model_route = call.get("route") or route
        if call.get("model") not in (None, "none"):
            if call["ttft_ms"] is not None:
                self.ttft.labels(model_route).observe(call["ttft_ms"] / 1000)
            if call["tpot_ms"] is not None:
                self.tpot.labels(model_route).observe(call["tpot_ms"] / 1000)
            self.prompt_tokens.labels(model_route).inc(call["prompt_tokens"])
            self.completion_tokens.labels(model_route).inc(call["completion_tokens"])
            self.cost.labels(model_route, trace.get("project", "default")).inc(call["cost_usd"])
            if model_route == "fallback":
                for reason in call["fallback_reasons"] or ["forced"]:
                    self.fallbacks.labels(reason).inc()
        for verdict in trace.get("rails", []):
            if verdict.get("name") == GROUNDEDNESS and verdict.get("score") is not None:
                self.groundedness.observe(verdict["score"])
        if blocked := trace.get("blocked"):
            self.rail_blocks.labels(blocked.get("name", "?"), blocked.get("stage", "?")).inc()

    def rails_checked(self, stage: str, seconds: float) -> None:
        """The rails engine's `on_check` hook."""
        self.rails_seconds.labels(stage).observe(seconds)

    def observe_budget(self, scope: str, period: str, spent: float, limit: float) -> None:
        self.budget_used.labels(scope, period).set(spent / limit)

    def observe_ingest(self, summary: dict[str, Any] | None, error: bool = False) -> None:
        self.ingest_runs.labels("failed" if error else "ok").inc()
        if summary:
            self.ingest_failed_documents.inc(len(summary.get("failed", [])))

    def observe_index_check(self, checked: dict[str, Any] | None) -> None:
        """The eval set's figures on a new index version (`serving.knowledge.check_index`)."""
        if checked and checked.get("source_hit@5") is not None:
            self.retrieval_recall.set(checked["source_hit@5"])

    def render(self) -> bytes:
        return generate_latest(self.registry)
