"""OpenTelemetry export (RAILYARD_OTLP_ENDPOINT, OTLP over HTTP/protobuf): every request's trace
as spans, built from the same trace record the trace store keeps, and the GenAI client metrics.

- A root span `chat railyard` (SERVER) with the request's route, outcome, project and cost, one
  child span per graph node (their real start and end), and under the node that called a model a
  GenAI client span `chat {model}` with the OpenTelemetry GenAI semantic conventions' attributes
  (`gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`,
  `gen_ai.response.model`, `gen_ai.usage.input_tokens` / `output_tokens`,
  `gen_ai.response.finish_reasons`, request parameters). Rail verdicts are span events
  (`railyard.rail`) on the rail node's span.
- The OTel trace id is railyard's trace id, so `GET /v1/traces/{id}` and the tracing backend
  name the same request.
- Metrics: `gen_ai.client.token.usage` (histogram by `gen_ai.token.type`) and
  `gen_ai.client.operation.duration`, with the same attributes.

The SDK batches and exports on its own threads: a slow or absent collector costs the request
nothing (spans are dropped past the queue)."""

from __future__ import annotations

import contextvars
import logging
import random
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind

log = logging.getLogger(__name__)
NS = 1_000_000_000
MODEL_NODES = ("generate", "select")
"""Nodes that call a model: the GenAI client span goes under theirs."""
_trace_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("trace_id", default=None)


class _RailyardIds(IdGenerator):
    """Trace ids from railyard's own (a uuid4 hex is 128 bits, as an OTel trace id)."""

    def generate_span_id(self) -> int:
        return random.getrandbits(64)

    def generate_trace_id(self) -> int:
        return _trace_id.get() or random.getrandbits(128)


class OtelExporter:
    def __init__(
        self,
        endpoint: str,
        models: dict[str, str] | None = None,
        service_name: str = "railyard",
        export_interval_s: float = 15.0,
    ) -> None:
        self.models = models or {}
        """The model each route asks for (gen_ai.request.model): {"local": ..., "fallback": ...}"""
        base = endpoint.rstrip("/")
        resource = Resource.create({"service.name": service_name})
        self.tracer_provider = TracerProvider(resource=resource, id_generator=_RailyardIds())
        self.tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=5))
        )
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"{base}/v1/metrics", timeout=5),
            export_interval_millis=export_interval_s * 1000,
        )
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        self.tracer = self.tracer_provider.get_tracer("railyard")
        meter = self.meter_provider.get_meter("railyard")
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used.",
        )  # fmt: skip
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration."
        )

    def close(self) -> None:
        """Flush what is queued and stop the export threads."""
        for provider in (self.tracer_provider, self.meter_provider):
            try:
                provider.shutdown()
            except Exception as e:  # a collector gone at shutdown loses the last batch only
                log.warning("OpenTelemetry shutdown: %s", e)

    def export(self, trace: dict[str, Any]) -> None:
        token = _trace_id.set(int(trace["trace_id"], 16))
        try:
            self._export(trace)
        finally:
            _trace_id.reset(token)

    def _export(self, trace: dict[str, Any]) -> None:
        start, end = int(trace["created"] * NS), int(trace["finished"] * NS)
        root = self.tracer.start_span(
            "chat railyard", kind=SpanKind.SERVER, start_time=start,
            attributes=_clean({
                "railyard.trace_id": trace["trace_id"], "railyard.route": trace["route"],
                "railyard.outcome": trace["outcome"], "railyard.project": trace["project"],
                "railyard.prompt_version": trace.get("prompt_version"),
                "railyard.cost_usd": trace["cost_usd"], "railyard.stream": trace["stream"],
                "railyard.model_called": trace.get("model_called"),
                "railyard.index_version": (trace.get("retrieval") or {}).get("index_version"),
            }),
        )  # fmt: skip
        if trace.get("blocked"):
            root.set_attribute("railyard.blocked_by", trace["blocked"].get("name", ""))
        parent = trace_api.set_span_in_context(root)
        rails = trace.get("rails") or []
        for node in trace.get("spans", []):
            span = self.tracer.start_span(
                node["name"], context=parent, kind=SpanKind.INTERNAL,
                start_time=int(node["start"] * NS),
                attributes=_clean({"railyard.node": node["name"]}),
            )  # fmt: skip
            stage = {"input_rails": "input", "output_rails": "output"}.get(node["name"])
            for verdict in rails:
                if stage is not None and verdict.get("stage") == stage:
                    span.add_event(
                        "railyard.rail", timestamp=int(node["start"] * NS),
                        attributes=_clean({
                            "railyard.rail.name": verdict.get("name"),
                            "railyard.rail.decision": verdict.get("decision"),
                            "railyard.rail.score": verdict.get("score"),
                            "railyard.rail.latency_ms": verdict.get("latency_ms"),
                            "railyard.rail.reason": verdict.get("reason"),
                        }),
                    )  # fmt: skip
            if node["name"] in MODEL_NODES and trace.get("model_called"):
                self._model_call(trace, node, trace_api.set_span_in_context(span))
            span.end(end_time=int(node["end"] * NS))
        root.end(end_time=max(end, start))

    def _model_call(self, trace: dict[str, Any], node: dict[str, Any], parent) -> None:
        generation = trace["generation"]
        route = generation.get("route") or trace["route"]
        # select scores the passages' sentences with /v1/completions; generate chats.
        operation = "text_completion" if node["name"] == "select" else "chat"
        requested = self.models.get(route, route)
        attributes = _clean({
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": "openai" if route == "fallback" else "vllm",
            "gen_ai.request.model": requested,
            "gen_ai.response.model": generation.get("model"),
            "gen_ai.usage.input_tokens": trace["usage"]["prompt_tokens"],
            "gen_ai.usage.output_tokens": trace["usage"]["completion_tokens"],
            "gen_ai.request.temperature": generation.get("temperature"),
            "railyard.route": route,
            "railyard.cost_usd": generation.get("cost_usd"),
            "railyard.ttft_ms": generation.get("ttft_ms"),
        })  # fmt: skip
        attributes["gen_ai.response.finish_reasons"] = [generation.get("finish_reason") or "stop"]
        span = self.tracer.start_span(
            f"{operation} {requested}", context=parent, kind=SpanKind.CLIENT,
            start_time=int(node["start"] * NS), attributes=attributes,
        )  # fmt: skip
        span.end(end_time=int(node["end"] * NS))
        metric = {k: v for k, v in attributes.items() if k.startswith("gen_ai.") and k in _METRIC}
        for kind, key in (("input", "prompt_tokens"), ("output", "completion_tokens")):
            self.token_usage.record(trace["usage"][key], metric | {"gen_ai.token.type": kind})
        self.duration.record(node["latency_ms"] / 1000, metric)


_METRIC = {
    "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
    "gen_ai.response.model",
}  # fmt: skip


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    """OTel attributes cannot be None."""
    return {k: v for k, v in attributes.items() if v is not None}
