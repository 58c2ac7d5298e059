"""User feedback as training data (issue 18 item 2): answers rated through `POST /v1/feedback`
on a real gateway come out of `railyard feedback export` as preference pairs and SFT
conversations in TRL's conversational layout, PII masked."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from serving.observability.export import presidio_masker
from tests.support.processes import BIN, clean_env

EMAIL = "jane.doe@example.com"
QUESTION = f"I am {EMAIL}. How much sick leave do employees earn every pay period?"
CORRECTION = f"Four hours of sick leave every pay period (ask {EMAIL}'s manager for more)."


def turns(value) -> list[tuple[str, str]]:
    """A conversational field, checked: a list of {role, content} strings."""
    assert isinstance(value, list) and value
    for turn in value:
        assert set(turn) == {"role", "content"} and turn["role"] in ("user", "assistant")
        assert isinstance(turn["content"], str) and turn["content"]
    return [(t["role"], t["content"]) for t in value]


@pytest.fixture(scope="module")
def rated(gateway, client):
    """The same question answered twice (the second cut at 3 tokens), rated up and down; the
    down-rated one with the answer its user says was right."""

    def ask(max_tokens: int) -> tuple[str, str]:
        completion = client.chat.completions.create(
            model="railyard", messages=[{"role": "user", "content": QUESTION}],
            max_tokens=max_tokens, temperature=0,
        )  # fmt: skip
        return completion.model_extra["railyard"]["trace_id"], completion.choices[0].message.content

    (good_id, good), (bad_id, bad) = ask(48), ask(3)
    assert good.strip() and good != bad
    for body in (
        {"trace_id": good_id, "score": 1},
        {"trace_id": bad_id, "score": 0, "comment": "cut off", "correction": CORRECTION},
    ):
        httpx.post(gateway.url + "/v1/feedback", json=body, timeout=10).raise_for_status()
    return {"good": good, "bad": bad, "good_id": good_id, "bad_id": bad_id}


def export(gateway, tmp_path, fmt: str) -> tuple[str, list[dict]]:
    out = tmp_path / f"{fmt}.jsonl"
    result = subprocess.run(
        [str(BIN / "railyard"), "feedback", "export", "--format", fmt, "--out", str(out),
         "--metadata", "--project", "default"],
        env=clean_env(RAILYARD_DATA_DIR=str(gateway.data_dir)),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    # Read back as TRL loads a dataset (`datasets` is a dev dependency: this always runs).
    from datasets import load_dataset

    loaded = load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path))
    assert len(loaded) == len(text.splitlines()) >= 1
    return text, [json.loads(line) for line in text.splitlines()]


def test_preference_pairs_rank_the_rated_answers_and_the_correction(rated, gateway, tmp_path):
    text, rows = export(gateway, tmp_path, "preference")
    assert EMAIL not in text and "<EMAIL_ADDRESS_1>" in text
    ours = [r for r in rows if r["metadata"]["rejected_trace"] == rated["bad_id"]]
    assert {r["metadata"]["source"] for r in ours} == {"rating", "correction"}
    for row in ours:
        assert set(row) == {"prompt", "chosen", "rejected", "metadata"}
        chosen = rated["good"] if row["metadata"]["source"] == "rating" else CORRECTION
        # One set of placeholders per pair, as the export masks it.
        expected = presidio_masker()([QUESTION, chosen, rated["bad"]])
        assert turns(row["prompt"]) == [("user", expected[0])]
        assert expected[0] == QUESTION.replace(EMAIL, "<EMAIL_ADDRESS_1>")
        assert turns(row["chosen"]) == [("assistant", expected[1])]
        assert turns(row["rejected"]) == [("assistant", expected[2])]


def test_sft_rows_are_the_good_answers_and_corrections(rated, gateway, tmp_path):
    _, rows = export(gateway, tmp_path, "sft")
    by_trace: dict[str, list] = {}
    for row in rows:
        by_trace.setdefault(row["metadata"]["trace"], []).append(turns(row["messages"]))
    mask = presidio_masker()
    good = mask([QUESTION, rated["good"]])
    assert by_trace[rated["good_id"]] == [[("user", good[0]), ("assistant", good[1])]]
    fixed = mask([QUESTION, CORRECTION])
    assert by_trace[rated["bad_id"]] == [[("user", fixed[0]), ("assistant", fixed[1])]]
    assert EMAIL not in json.dumps(rows)


def test_an_export_names_its_project_or_says_all_projects(tmp_path):
    """Training rows mix users' questions: one project's by default, every project's only when
    asked for (security review 2, N8)."""
    result = subprocess.run(
        [str(BIN / "railyard"), "feedback", "export", "--format", "sft"],
        env=clean_env(RAILYARD_DATA_DIR=str(tmp_path)), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--project" in result.stderr and "--all-projects" in result.stderr
