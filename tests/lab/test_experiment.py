"""`railyard experiment fallback` end to end: the real guarded graph over the test knowledge
base, the real vLLM (through the fault proxy) and the fallback stand-in; results appended per
query, a resumed run asks nothing again, and local-only never reaches the fallback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import set_fault, stats
from tests.support.processes import BIN, clean_env

GPT_4O_MINI_IN, GPT_4O_MINI_OUT = 0.15e-6, 0.60e-6
QUERIES = [
    {"id": "q1", "question": "How much sick leave do employees earn every pay period?",
     "reference": ["four hours"], "source": "leave/sick-leave.md", "answerable": True},
    {"id": "q2", "question": "What share of the meals rate do I get on the first day of travel?",
     "reference": ["75 percent"], "source": "travel/per-diem.md", "answerable": True},
    {"id": "q3", "question": "Who won the 2022 FIFA World Cup?", "reference": [],
     "answerable": False},
]  # fmt: skip


def experiment(tmp_path: Path, corpus: Path, local, fallback, *args: str) -> tuple[dict, list]:
    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(json.dumps(q) + "\n" for q in QUERIES))
    out = tmp_path / "out"
    result = subprocess.run(
        [str(BIN / "railyard"), "experiment", "fallback", "--queries", str(queries),
         "--corpus", str(corpus), "--out", str(out), "--max-tokens", "24", "--json", *args],
        env=clean_env(
            RAILYARD_DATA_DIR=str(tmp_path / "data"),
            RAILYARD_LOCAL_BASE_URL=local.url + "/v1",
            RAILYARD_FALLBACK_BASE_URL=fallback.url + "/v1",
        ),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return json.loads(result.stdout.strip().splitlines()[-1]), rows


@pytest.fixture(scope="module")
def replayed(tmp_path_factory, knowledge_base, local_proxy, fallback_server):
    tmp_path = tmp_path_factory.mktemp("experiment")
    set_fault(local_proxy)
    policies = "--policies", "local-only,api-only,quality-gated"
    report, rows = experiment(tmp_path, knowledge_base, local_proxy, fallback_server, *policies)
    return tmp_path, report, rows, policies


def test_every_policy_answers_every_query(replayed):
    _, report, rows, _ = replayed
    assert set(report["policies"]) == {"local-only", "api-only", "quality-gated"}
    assert sorted((r["policy"], r["id"]) for r in rows) == sorted(
        (p, q["id"]) for p in report["policies"] for q in QUERIES
    )
    assert "configured fallback" in report["fallback"] and not report["fallback_is_openai"]
    for summary in report["policies"].values():
        assert summary["requests"] == len(QUERIES) and summary["errors"] == 0
        # The unanswerable question gets "I don't know" without a model call.
        assert summary["refusal_on_unanswerable"] == 1.0


def test_policies_take_turns_question_by_question(replayed):
    """Interleaved, not one policy after another: each question is asked under every policy
    before the next, the first policy rotating, so a slow spell hits all of them alike."""
    _, report, rows, _ = replayed
    names = list(report["policies"])
    assert [r["id"] for r in rows] == [q["id"] for q in QUERIES for _ in names]
    firsts = [rows[i * len(names)]["policy"] for i in range(len(QUERIES))]
    assert firsts == [names[i % len(names)] for i in range(len(QUERIES))]


def test_the_resume_key_holds_the_code_version(tmp_path, monkeypatch):
    from lab.experiment import replay

    (tmp_path / "graph").mkdir()
    node = tmp_path / "graph" / "node.py"
    node.write_text("ANSWER = 1\n")
    monkeypatch.setattr(replay, "ROOT", tmp_path)
    before = replay.code_version()
    node.write_text("ANSWER = 2\n")
    assert replay.code_version() != before
    setup = dict(queries="q", corpus="c", prompt="p", fallback="f", extractive="never",
                 answer="generate", max_tokens=24, max_difficulty=0.5)  # fmt: skip
    assert replay.Setup(**setup, code="a").key() != replay.Setup(**setup, code="b").key()


def test_routes_and_costs_follow_the_policy(replayed):
    _, report, rows, _ = replayed
    asked = [r for r in rows if r["model_route"]]
    assert {r["model_route"] for r in asked if r["policy"] == "local-only"} == {"local"}
    api = [r for r in asked if r["policy"] == "api-only"]
    assert api and {r["model_route"] for r in api} == {"fallback"}
    for r in api:
        expected = r["prompt_tokens"] * GPT_4O_MINI_IN + r["completion_tokens"] * GPT_4O_MINI_OUT
        assert r["cost_usd"] == pytest.approx(expected, rel=1e-9) and r["cost_usd"] > 0
    assert report["policies"]["api-only"]["fallback_rate"] == 1.0
    assert report["policies"]["local-only"]["fallback_rate"] == 0.0


def test_quality_gated_escalates_rejected_local_answers_and_pays_for_both(replayed):
    _, _, rows, _ = replayed
    local = {r["id"]: r for r in rows if r["policy"] == "local-only"}
    gated = [r for r in rows if r["policy"] == "quality-gated"]
    # The 270M model's greedy answer to at least one of these is stopped by the groundedness
    # rail: the policy must escalate it (escalation itself: tests/serving/llm/test_escalation.py).
    assert any(r["escalated_after"] for r in gated), gated
    for r in gated:
        if r["escalated_after"]:
            assert f"rail:{r['escalated_after']}" in r["fallback_reasons"]
            assert r["model_route"] == "fallback"
            assert r["cost_usd"] > local[r["id"]]["cost_usd"] > 0
        else:
            assert r["model_route"] in (None, "local")


def test_report_files(replayed):
    tmp_path, report, _, _ = replayed
    out = tmp_path / "out"
    assert (out / "fallback.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "report.json").read_text()) == report


def test_a_resumed_run_asks_nothing_again(replayed, knowledge_base, local_proxy, fallback_server):
    tmp_path, report, rows, policies = replayed
    before = stats(fallback_server)["requests"], stats(local_proxy)["requests"]
    again, rows_again = experiment(
        tmp_path, knowledge_base, local_proxy, fallback_server, *policies
    )
    assert (stats(fallback_server)["requests"], stats(local_proxy)["requests"]) == before
    assert again["resumed_rows"] == len(rows) and rows_again == rows
    assert again["policies"] == report["policies"]


def test_local_only_fails_where_local_first_falls_back(
    tmp_path, knowledge_base, local_proxy, fallback_server
):
    before = stats(fallback_server)["requests"]
    set_fault(local_proxy, "error")
    try:
        report, rows = experiment(
            tmp_path, knowledge_base, local_proxy, fallback_server,
            "--policies", "local-only,local-first", "--limit", "1",
        )  # fmt: skip
    finally:
        set_fault(local_proxy)
    by_policy = {r["policy"]: r for r in rows}
    assert by_policy["local-only"]["route"] == "error"
    assert by_policy["local-first"]["model_route"] == "fallback"
    assert stats(fallback_server)["requests"] == before + 1
    assert report["policies"]["local-only"]["errors"] == 1
