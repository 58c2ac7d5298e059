"""The index checked after every ingestion that changes it (issue 18 item 3): with
RAILYARD_EVAL_SET, `railyard ingest run` (in its own process, milvus-lite, the real MiniLM)
searches the eval set on the new index, records the figures per index version (`railyard eval
history`), and an ingestion that deletes half the corpus posts the eval_drop alert."""

from __future__ import annotations

import json
import subprocess

from tests.support.processes import BIN, clean_env

EVAL_SET = [
    {"question": "How much sick leave do employees earn?", "source": "leave/sick-leave.md"},
    {"question": "What share of the meals rate is paid on the first day of travel?",
     "source": "travel/per-diem.md"},
    {"question": "Who issues laptops?", "source": "tools/laptops.txt"},
    {"question": "When does my onboarding buddy meet me?", "source": "guides/welcome.html"},
    {"question": "Who won the 2022 World Cup?", "answerable": False},
]  # fmt: skip


def test_an_ingestion_that_deletes_half_the_corpus_raises_the_eval_drop_alert(
    corpus, tmp_path, webhook
):
    url, received = webhook
    eval_set = tmp_path / "eval.jsonl"
    eval_set.write_text("".join(json.dumps(q) + "\n" for q in EVAL_SET))
    env = clean_env(
        RAILYARD_DATA_DIR=str(tmp_path / "data"), RAILYARD_EVAL_SET=str(eval_set),
        RAILYARD_ALERT_WEBHOOK_URL=url,
    )  # fmt: skip

    def railyard(*args: str) -> dict | list:
        result = subprocess.run(
            [str(BIN / "railyard"), *args, "--json"], env=env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    first = railyard("ingest", "run", str(corpus))
    assert first["evaluation"]["questions"] == 4
    assert first["evaluation"]["source_hit@5"] == 1.0 and not first["evaluation"]["dropped"]
    assert received == []
    for source in ("leave/sick-leave.md", "travel/per-diem.md"):
        (corpus / source).unlink()
    second = railyard("ingest", "run", str(corpus))
    assert second["deleted"] == 2
    assert second["evaluation"]["source_hit@5"] == 0.5
    assert second["evaluation"]["dropped"]["source_hit@5"] == 0.5
    [alert] = received
    assert alert["kind"] == "eval_drop" and alert["previous_version"] == first["index_version"]
    assert alert["index_version"] == second["index_version"]
    # An unchanged run checks nothing and records nothing.
    assert "evaluation" not in railyard("ingest", "run", str(corpus))
    history = railyard("eval", "history")
    assert [row["index_version"] for row in history] == [
        second["index_version"], first["index_version"],
    ]  # fmt: skip
