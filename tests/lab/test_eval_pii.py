"""`railyard eval pii`: each question is masked as a request to the paid fallback would be,
with the passages retrieved for it as context; a question naming nobody is left as it is, a
name the passages do not hold is counted as masked (a false mask on these sets)."""

from __future__ import annotations

import json
import subprocess

from tests.support.knowledge import write_corpus
from tests.support.processes import BIN, clean_env


def test_eval_pii_counts_the_questions_the_fallback_would_see_masked(tmp_path):
    corpus = write_corpus(tmp_path / "kb")
    qa = tmp_path / "qa.jsonl"
    rows = [
        {"question": "How much sick leave do employees earn every pay period?",
         "reference": ["four hours"]},
        {"question": "Can Maria Garcia in Nairobi use sick leave?", "reference": ["sick leave"]},
    ]  # fmt: skip
    qa.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = subprocess.run(
        [str(BIN / "railyard"), "eval", "pii", "--corpus", str(corpus), "--qa", str(qa),
         "--json"],
        env=clean_env(RAILYARD_DATA_DIR=str(tmp_path / "data")), capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    found = report["qa.jsonl"]
    assert (found["questions"], found["masked"], found["masked_answerable"]) == (2, 1, 1)
    assert set(found["values_masked"]) == {"PERSON: Maria Garcia", "LOCATION: Nairobi"}
    assert report["corpus_sentences"]["sentences"] > 0
