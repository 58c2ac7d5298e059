"""A request's trace, built from the graph's final state: one span per node (the `generate` span
carries the model call: model, route, tokens, cost, TTFT, TPOT, tokens/s, temperature, prompt
version), the rail verdicts, the retrieved chunks with their scores, and who asked."""

from __future__ import annotations

import time
from typing import Any


def outcome_of(state: dict[str, Any]) -> str:
    """blocked (a rail stopped the request or answer) | refused | no_context | selected |
    extractive | generated."""
    if state.get("route") == "blocked":
        return "blocked"
    return state.get("answer_mode", "generated")


def build_trace(
    state: dict[str, Any],
    *,
    started: float,
    latency_ms: float,
    stream: bool,
    project: str = "default",
    user: str | None = None,
    key_id: str | None = None,
    content: bool = True,
) -> dict[str, Any]:
    generation = state.get("generation") or {}
    usage = generation.get("usage") or {}
    params = state.get("params") or {}
    route = state.get("route", generation.get("route", "local"))
    model_call = _model_call(state, generation, params)
    spans = _spans(state, model_call)
    trace = {
        "trace_id": state["trace_id"],
        "created": started,
        "finished": time.time(),
        "latency_ms": round(latency_ms, 3),
        "stream": stream,
        "project": project,
        "key_id": key_id,
        "user": user or params.get("user"),
        "route": route,
        "outcome": outcome_of(state),
        "answer_mode": state.get("answer_mode", "generated"),
        "confidence": state.get("confidence"),
        "decision": state.get("decision"),
        "prompt_version": state.get("prompt_version"),
        "prompt_hash": state.get("prompt_hash") or model_call.get("prompt_hash"),
        "cost_usd": generation.get("cost_usd", 0.0),
        "model_called": model_call["model_called"],
        "usage": {
            "prompt_tokens": usage.get("prompt_tokens", 0),
            "completion_tokens": usage.get("completion_tokens", 0),
        },
        "generation": model_call,
        "spans": spans,
        "rails": state.get("rails", []) + state.get("retrieval_rails", []),
        "blocked": state.get("blocked"),
        "retrieval": {
            "index_version": state.get("index_version"),
            "chunks": [
                {"chunk_id": p["chunk_id"], "source": p.get("source"), "score": p.get("score")}
                for p in state.get("passages", [])
            ],
        },
    }
    if content:
        trace["content"] = _content(state)
    return trace


def _model_call(state: dict[str, Any], generation: dict, params: dict) -> dict[str, Any]:
    """What the model call took and cost: the generate span's attributes, and the trace's."""
    usage = generation.get("usage") or {}
    ttft_s, latency_s = generation.get("ttft_s"), generation.get("latency_s") or 0.0
    completion = usage.get("completion_tokens", 0)
    called = generation.get("model") not in (None, "", "none")
    generate = [s for s in state.get("spans", []) if s["name"] == "generate"]
    return {
        "model": generation.get("model") if called else None,
        "model_called": called,
        "route": generation.get("route"),
        "finish_reason": generation.get("finish_reason"),
        "prompt_tokens": usage.get("prompt_tokens", 0),
        "completion_tokens": completion,
        "cost_usd": generation.get("cost_usd", 0.0),
        "ttft_ms": _ms(ttft_s),
        "tpot_ms": _ms((latency_s - ttft_s) / (completion - 1))
        if ttft_s is not None and completion > 1
        else None,
        "tokens_per_s": round(completion / latency_s, 2) if latency_s > 0 else None,
        "temperature": params.get("temperature"),
        "prompt_version": state.get("prompt_version"),
        "prompt_hash": generate[0]["attributes"].get("prompt_hash") if generate else None,
        "fallback_reasons": generation.get("fallback_reasons", []),
    }


def _spans(state: dict[str, Any], model_call: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's spans, the generate span with the model call's figures."""
    spans = []
    for span in state.get("spans", []):
        entry = {
            "name": span["name"],
            "start": span["start"],
            "end": span["start"] + span["latency_ms"] / 1000,
            "latency_ms": round(span["latency_ms"], 3),
            "attributes": span.get("attributes", {}),
        }
        if span["name"] == "generate":
            entry["attributes"] = {**entry["attributes"], **model_call}
        spans.append(entry)
    return spans


def _content(state: dict[str, Any]) -> dict[str, str | None]:
    """The question and the answer, with the user's PII as the input rail's placeholders (the
    answer restored them for the client: they are put back). A question the input rails
    blocked was never masked: it is not kept."""
    blocked = state.get("blocked") or {}
    question = None
    if blocked.get("stage") != "input":
        users = [m["content"] for m in state.get("messages", []) if m.get("role") == "user"]
        question = users[-1] if users else None
    answer = state.get("answer") or ""
    for placeholder, value in (state.get("pii_values") or {}).items():
        if value:
            answer = answer.replace(value, placeholder)
    return {"question": question, "answer": answer}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
