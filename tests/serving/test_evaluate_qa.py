"""`railyard eval` on a QA file: retrieval, answers as served, groundedness and refusals."""

from __future__ import annotations

import json
import subprocess

from tests.serving.experiment.test_experiment import QUERIES
from tests.support.processes import BIN, clean_env


def test_eval_brings_the_measures_together(tmp_path, knowledge_base, vllm_url):
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(q) + "\n" for q in QUERIES))
    result = subprocess.run(
        [str(BIN / "railyard"), "eval", "--qa", str(qa), "--corpus", str(knowledge_base),
         "--json"],
        env=clean_env(RAILYARD_DATA_DIR=str(tmp_path / "data"), RAILYARD_LOCAL_BASE_URL=vllm_url),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["questions"] == 3 and report["answerable"] == 2
    assert report["retrieval"]["hit@1"] == 1.0 and report["retrieval"]["mrr"] == 1.0
    answers = report["answers"]
    # The packaged model answers with the best retrieved sentence, which states both facts.
    assert report["extractive"] == "always"
    assert answers["answer_match"] == 1.0 and answers["false_refusals"] == 0.0
    assert answers["refusal_on_unanswerable"] == 1.0
    assert answers["grounded"] == 1.0
    assert "eval" in result.stderr and "retrieval hit@1" in result.stderr
