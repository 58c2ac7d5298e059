"""`railyard bench`: the gateway in-process against the bare vLLM it fronts, one small run.
No timing is asserted (a benchmark prints its ratios); the run must pair the same prompts and
tokens on both sides and report every figure."""

from __future__ import annotations

import json
import subprocess

from tests.lab.test_experiment import QUERIES
from tests.support.processes import BIN, clean_env


def test_bench_pairs_railyard_with_the_bare_server(tmp_path, knowledge_base, vllm_url):
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(q) + "\n" for q in QUERIES if q["answerable"]))
    result = subprocess.run(
        [str(BIN / "railyard"), "bench", "--qa", str(qa), "--corpus", str(knowledge_base),
         "--limit", "2", "--rounds", "1", "--concurrency", "2", "--max-tokens", "16", "--json"],
        env=clean_env(RAILYARD_DATA_DIR=str(tmp_path / "data"), RAILYARD_LOCAL_BASE_URL=vllm_url),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["questions_reaching_model"] >= 1
    assert report["pairs"] == report["questions_reaching_model"]
    # Greedy decoding of the same prompt: both sides produce the same tokens.
    assert report["same_completion_tokens"] >= 0.5
    assert report["latency_ratio_p50"] > 0 and report["concurrency_ratio"] > 0
    assert report["concurrency"]["streams"] == 2
    per_request = report["per_request"]
    assert per_request["retrieval_ms"] > 0 and per_request["tracing_ms"] > 0
    assert per_request["input_rails_ms"] > 0 and per_request["output_rails_ms"] > 0
    assert report["gateway_rss_peak_mib"] > 100
    assert set(report["targets"]) == {
        "latency_ratio_p50<=1.10", "ttft_diff_ms<=50", "concurrency_ratio>=0.9"
    }  # fmt: skip


def test_bench_load_reports_both_phases_without_errors(tmp_path, knowledge_base, vllm_url):
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(q) + "\n" for q in QUERIES))
    result = subprocess.run(
        [str(BIN / "railyard"), "bench", "--load", "--qa", str(qa), "--corpus",
         str(knowledge_base), "--requests", "6", "--concurrency", "2", "--duration", "120",
         "--max-tokens", "16", "--json"],
        env=clean_env(RAILYARD_DATA_DIR=str(tmp_path / "data"), RAILYARD_LOCAL_BASE_URL=vllm_url),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "bench: load x2" in result.stderr and "6/6" in result.stderr  # progress, on stderr
    for phase in ("guarded", "cached"):
        assert report[phase]["requests"] == 6 and report[phase]["errors"] == 0, report[phase]
        assert report[phase]["p50_ms"] <= report[phase]["p95_ms"] <= report[phase]["p99_ms"]
        assert report[phase]["throughput_rps"] > 0
