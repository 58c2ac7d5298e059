"""`railyard eval` on a QA file: every question answered as `railyard serve` answers (the model
chooses the sentences, rails on), scored from the responses: citations, answers, refusals."""

from __future__ import annotations

import json
import subprocess

from tests.lab.test_experiment import QUERIES
from tests.support.processes import BIN, clean_env

TWO_PART = {
    "id": "q4", "question": "How much sick leave do employees earn, and who issues laptops?",
    "sources": ["leave/sick-leave.md", "tools/laptops.txt"], "source": "leave/sick-leave.md",
    "reference": ["four hours", "IT service desk"],
    "reference_all": [["four hours"], ["IT service desk"]], "answerable": True,
}  # fmt: skip


def test_eval_answers_as_served_and_scores_the_responses(tmp_path, knowledge_base, vllm_url):
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(q) + "\n" for q in [*QUERIES, TWO_PART]))
    result = subprocess.run(
        [str(BIN / "railyard"), "eval", "--qa", str(qa), "--corpus", str(knowledge_base),
         "--json"],
        env=clean_env(RAILYARD_DATA_DIR=str(tmp_path / "data"), RAILYARD_LOCAL_BASE_URL=vllm_url),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["questions"] == 4 and report["answerable"] == 3
    assert report["two_document"] == 1
    # The served default for the packaged base model, with no fallback configured.
    assert report["answer_mode"] == "select" and report["routing"] == "local-first"
    answers = report["answers"]
    assert answers["source_hit@1"] == 1.0 and answers["two_document_hit"] == 1.0
    assert answers["answer_match"] == 1.0 and answers["false_refusals"] == 0.0
    assert answers["refusal_on_unanswerable"] == 1.0 and answers["grounded"] == 1.0
    # Every answer came from the local model, through the router: priced and routed.
    assert answers["answered_by_model"] == 1.0 and answers["routes"]["local"] == 4
    assert answers["cost_usd"] > 0
    assert "railyard eval" in result.stderr and "source hit" in result.stderr
    # Progress while it ran (rich, on stderr: stdout's JSON stays clean).
    assert "eval: answers" in result.stderr and "4/4" in result.stderr
