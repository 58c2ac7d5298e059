"""`railyard bench`: railyard's overhead against the bare vLLM server, measured in one run.

Each question goes through railyard and, interleaved, straight to vLLM as the same final prompt
(railyard's rendered messages, same max_tokens, stops and greedy decoding), so both produce the
same tokens and the ratio isolates the gateway's cost.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import openai
import psutil

from graph.prompt import Prompt

QUESTIONS = [
    "What color is the sky on a clear day?",
    "What is the largest planet in our solar system?",
    "How many legs does a spider have?",
    "What do bees make?",
    "Which ocean is the largest?",
    "What is the boiling point of water at sea level?",
    "What language is spoken in Brazil?",
    "What is the chemical symbol for gold?",
]


@dataclass
class Samples:
    latency_s: list[float] = field(default_factory=list)
    ttft_s: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        lat = sorted(self.latency_s)
        return {
            "p50_ms": statistics.median(lat) * 1000,
            "p95_ms": lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))] * 1000,
            "ttft_p50_ms": statistics.median(self.ttft_s) * 1000,
            "tokens_per_s": sum(self.tokens) / sum(self.latency_s),
            "completion_tokens": sum(self.tokens),
        }


def _timed_stream(client: openai.OpenAI, samples: Samples, **kwargs) -> None:
    start = time.perf_counter()
    ttft, tokens = None, 0
    stream = client.chat.completions.create(
        stream=True, stream_options={"include_usage": True}, temperature=0, **kwargs
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content and ttft is None:
            ttft = time.perf_counter() - start
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    samples.latency_s.append(time.perf_counter() - start)
    samples.ttft_s.append(ttft or 0.0)
    samples.tokens.append(tokens)


def run_latency(
    gateway_url: str, vllm_url: str, served_name: str, prompt: Prompt, rounds: int, max_tokens: int
) -> dict:
    gateway = openai.OpenAI(base_url=gateway_url, api_key="bench", max_retries=0)
    bare = openai.OpenAI(base_url=vllm_url, api_key="bench", max_retries=0)
    results = {"railyard": Samples(), "vllm": Samples()}
    for i in range(rounds * len(QUESTIONS) + 2):
        question = [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}]
        warmup = i < 2
        sinks = (Samples(), Samples()) if warmup else (results["railyard"], results["vllm"])
        order = [(gateway, "railyard", question), (bare, served_name, prompt.render(question))]
        if i % 2:
            order.reverse()
            sinks = sinks[::-1]
        for (client, model, messages), sink in zip(order, sinks, strict=True):
            _timed_stream(
                client, sink, model=model, messages=messages, max_tokens=max_tokens,
                stop=prompt.stops(None),
            )  # fmt: skip
    summary = {name: s.summary() for name, s in results.items()}
    summary["latency_ratio_p50"] = summary["railyard"]["p50_ms"] / summary["vllm"]["p50_ms"]
    summary["tokens_per_s_ratio"] = (
        summary["railyard"]["tokens_per_s"] / summary["vllm"]["tokens_per_s"]
    )
    summary["ttft_diff_ms"] = summary["railyard"]["ttft_p50_ms"] - summary["vllm"]["ttft_p50_ms"]
    summary["same_tokens"] = (
        summary["railyard"]["completion_tokens"] == summary["vllm"]["completion_tokens"]
    )
    return summary


def rss_mib(port: int, *, tree: bool) -> float | None:
    """Resident memory of the process listening on `port` (with its children if `tree`), MiB.
    The gateway is measured alone: the vLLM it supervises is its child."""
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN" and conn.pid:
            root = psutil.Process(conn.pid)
            procs = [root, *root.children(recursive=True)] if tree else [root]
            return sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20
    return None
