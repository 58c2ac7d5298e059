"""Prompt canaries and A/B tests (issue 18 item 1) on a real gateway: `railyard prompts
rollout` splits traffic between two released prompt versions with the recorded shares, sticky
per user and thread; each answer is written with the version it drew, and its trace says which;
`railyard prompts compare` turns the traces and their feedback into a verdict; `railyard prompts
rollback` is one command, recorded, and every request is back on the baseline."""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from graph.prompt import Prompt, released
from serving.prompts import Rollout
from serving.settings import DEFAULT_PROMPT
from tests.support.processes import BIN, clean_env

# No passage of the test corpus is close to it: answered "I don't know" without a model call,
# in the words of the prompt version the request drew.
UNCOVERED = "How do I configure the Kubernetes ingress controller for our cluster?"
VERSIONS = released(DEFAULT_PROMPT)
# The served prompt file's version is the baseline the canary is measured against.
SERVED = Prompt.load(DEFAULT_PROMPT)
BASE = SERVED.version_id
CANARY = Rollout.of({BASE: 80, "answer@v3": 20})
BASELINE = Rollout.single(BASE)
REQUESTS = 300


def prompts(gateway, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BIN / "railyard"), "prompts", *args],
        env=clean_env(RAILYARD_DATA_DIR=str(gateway.data_dir)),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def ask(client: openai.OpenAI, user: str, **extra) -> tuple[str, str, str]:
    """(prompt version, answer, trace id) of one question asked as `user`."""
    reply = client.chat.completions.with_raw_response.create(
        model="railyard", max_tokens=16, user=user,
        messages=[{"role": "user", "content": UNCOVERED}], **extra,
    )  # fmt: skip
    completion = reply.parse()
    info = completion.model_extra["railyard"]
    return (
        info["prompt_version"],
        completion.choices[0].message.content,
        reply.headers["X-Railyard-Trace-Id"],
    )


def wait_for(client: openai.OpenAI, rollout: Rollout, previous: Rollout, timeout_s=60) -> None:
    """Until the gateway serves `rollout` instead of `previous` (it reads the recorded one every
    few seconds): a user the two draw differently for gets the new one's version."""
    keys = (f"probe-{i}" for i in range(1000))
    probe = next(k for k in keys if rollout.draw(f"user:{k}") != previous.draw(f"user:{k}"))
    expected = rollout.draw(f"user:{probe}")
    deadline = time.monotonic() + timeout_s
    while ask(client, probe)[0] != expected:
        assert time.monotonic() < deadline, f"the gateway did not switch to {rollout}"
        time.sleep(0.5)


@pytest.fixture
def canary(gateway, client):
    started = time.time()
    prompts(gateway, "rollout", f"{BASE}=80", "answer@v3=20", "--note", "canary test")
    try:
        wait_for(client, CANARY, BASELINE)
        yield started
    finally:
        prompts(gateway, "promote", BASE, "--note", "test cleanup")


def test_a_canary_splits_by_its_shares_sticky_and_is_rolled_back(gateway, client, canary):
    users = [f"canary-user-{i:04d}" for i in range(REQUESTS)]
    with ThreadPoolExecutor(4) as pool:
        answers = dict(zip(users, pool.map(lambda u: ask(client, u), users), strict=True))
    drawn = {user: version for user, (version, _, _) in answers.items()}
    share = sum(v == "answer@v3" for v in drawn.values()) / REQUESTS
    print(f"canary share over {REQUESTS} users: {share:.3f} (configured 0.20)")
    assert abs(share - 0.20) <= 0.05
    # Each user drew what the rollout's hash gives, and was answered with that version's words.
    assert all(drawn[u] == CANARY.draw(f"user:{u}") for u in users)
    for version, text, _ in answers.values():
        assert text == VERSIONS[version].no_context_answer
    # Sticky: the same users again, and a thread across turns, keep their versions.
    assert all(ask(client, u)[0] == drawn[u] for u in users[:20])
    thread = {"X-Railyard-Thread-Id": "canary-thread-7"}
    turns = {ask(client, f"other-{i}", extra_headers=thread)[0] for i in range(3)}
    assert turns == {CANARY.draw("thread:canary-thread-7")}

    # Every trace says which version answered.
    for user in users[:5] + [u for u in users if drawn[u] == "answer@v3"][:5]:
        trace_id = answers[user][2]
        trace = httpx.get(f"{gateway.url}/v1/traces/{trace_id}", timeout=30).json()
        assert trace["prompt_version"] == drawn[user]
        assert trace["prompt_hash"] == VERSIONS[drawn[user]].content_hash

    # Users rate the baseline's answers helpful and the candidate's not: the comparison
    # says roll back, with the feedback difference as its reason.
    for version, _, trace_id in list(answers.values())[:200]:
        score = 1.0 if version == BASE else 0.0
        httpx.post(f"{gateway.url}/v1/feedback", json={"trace_id": trace_id, "score": score},
                   timeout=30).raise_for_status()  # fmt: skip
    # A listing waits for the traces queued before it to be committed (by the server's writer
    # thread); the command, another process, then reads them all, from the rollout on.
    httpx.get(f"{gateway.url}/v1/traces", params={"limit": 1}, timeout=30).raise_for_status()
    since = f"{canary:.3f}"
    report = json.loads(
        prompts(gateway, "compare", f"v{SERVED.version}", "v3", "--since", since, "--json").stdout
    )
    v3_requests = sum(v == "answer@v3" for v in drawn.values())
    assert report["candidate"]["requests"] >= v3_requests
    assert report["candidate"]["unanswered"]["value"] == 1.0
    assert report["verdict"] == "roll back", report
    assert any(reason.startswith("helpful") for reason in report["reasons"])
    low, high = report["difference_ci95"]["helpful"]
    assert low < high < 0

    # One command rolls back, recorded; every user is on the baseline again.
    prompts(gateway, "rollback", "--note", "candidate rated worse")
    wait_for(client, BASELINE, CANARY)
    moved = [u for u in users if drawn[u] == "answer@v3"][:10]
    assert {ask(client, u)[0] for u in moved} == {BASE}
    history = json.loads(prompts(gateway, "history", "--json").stdout)
    assert [h["action"] for h in history[:2]] == ["rollback", "rollout"]
    assert history[0]["rollout"] == {BASE: 100.0}
    assert history[0]["note"] == "candidate rated worse"


def test_a_version_can_be_pinned_for_an_evaluation_and_an_unknown_one_is_refused(client):
    pinned = {"X-Railyard-Prompt-Version": "answer@v3"}
    version, text, _ = ask(client, "pinned-user", extra_headers=pinned)
    assert (version, text) == ("answer@v3", VERSIONS["answer@v3"].no_context_answer)
    with pytest.raises(openai.BadRequestError) as refused:
        ask(client, "pinned-user", extra_headers={"X-Railyard-Prompt-Version": "answer@v9"})
    assert refused.value.body["param"] == "X-Railyard-Prompt-Version"
