"""Drift watch (issue 18 item 4): questions the documents cannot answer show up in `railyard
drift` (against a real gateway's traces): the unanswered share rises from the baseline window
to the recent one, the questions shift, the unanswered ones are grouped by topic, and an alert
reaches the webhook past the threshold."""

from __future__ import annotations

import json
import subprocess
import time

import httpx

from tests.support.processes import BIN, clean_env

ANSWERABLE = [
    "How much sick leave do employees earn every pay period?",
    "What share of the meals rate do I get on the first day of travel?",
    "How much sick leave do I earn each pay period?",
]
UNCOVERED = [
    "How do I configure the Kubernetes ingress controller for our cluster?",
    "What is the right way to set up a Kubernetes ingress?",
    "Which annotations does our Kubernetes ingress controller need?",
    "How do I roll back a Helm release on the Kubernetes cluster?",
]


def test_uncovered_questions_are_found_grouped_and_alerted(gateway, client, webhook):
    def ask(question: str) -> str:
        completion = client.chat.completions.create(
            model="railyard", messages=[{"role": "user", "content": question}], max_tokens=24
        )
        return completion.model_extra["railyard"]["answer_mode"]

    # The baseline window is exactly this test's first questions: a trace an earlier test left
    # a moment before would count in it otherwise.
    start = time.time()
    assert "no_context" not in {ask(q) for q in ANSWERABLE}
    split = time.time()
    modes = [ask(q) for q in UNCOVERED] + [ask(ANSWERABLE[0])]
    assert modes.count("no_context") >= 3, modes
    # A listing waits for the traces queued before it to be written (the server commits them
    # from a thread of its own): the command, another process, then reads them all.
    httpx.get(gateway.url + "/v1/traces", params={"limit": 1}, timeout=30).raise_for_status()
    url, received = webhook
    result = subprocess.run(
        [str(BIN / "railyard"), "drift", "--split-at", str(split),
         "--baseline", f"{split - start:.3f}s", "--max-unanswered-rise", "0.2", "--json"],
        env=clean_env(
            RAILYARD_DATA_DIR=str(gateway.data_dir), RAILYARD_ALERT_WEBHOOK_URL=url
        ),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["baseline"]["unanswered_share"] == 0
    assert report["recent"]["requests"] == len(UNCOVERED) + 1
    assert report["recent"]["unanswered_share"] >= 0.6
    assert report["shift"]["novel_share"] >= 0.6 and report["shift"]["centroid_distance"] > 0
    biggest = report["unanswered_clusters"][0]
    assert biggest["size"] >= 3 and all("Kubernetes" in q for q in biggest["examples"])
    assert [a["kind"] for a in received] == ["drift_unanswered"]
    assert "unanswered questions rose" in received[0]["message"]
