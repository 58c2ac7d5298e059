"""User feedback as training data: rated traces (question, answer, scores, corrections) turned
into the JSONL layouts TRL's trainers read, conversational form:

- preference (DPOTrainer): `{"prompt": [user turn], "chosen": [assistant turn], "rejected":
  [assistant turn]}`: for one question, an answer rated good (mean score >= 0.5) against one
  rated bad; and an answer rated bad against the correction its user gave.
- sft (SFTTrainer): `{"messages": [user turn, assistant turn]}`: answers rated good, and
  corrections.

Questions are grouped by their text, case and spacing aside. Every text is PII-masked again
with Presidio (the input rail masks the user's PII before it reaches a trace, but an answer or a
correction may quote a document's): one set of placeholders per record, so a value keeps its
placeholder across the prompt and both answers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

GOOD = 0.5
Masker = Callable[[list[str]], list[str]]
"""Masks a record's texts together (the same value, the same placeholder)."""


def presidio_masker() -> Masker:
    from rails.pii.detector import Masker as PlaceholderMasker

    def mask(texts: list[str]) -> list[str]:
        masker = PlaceholderMasker()
        return [masker.mask(text) for text in texts]

    return mask


def _key(question: str) -> str:
    return re.sub(r"\s+", " ", question).strip().casefold().rstrip("?.! ")


def _rated(traces: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each trace with content: question, answer, mean score, corrections."""
    for trace in traces:
        content = trace.get("content") or {}
        question, answer = content.get("question"), content.get("answer")
        scores = [f["score"] for f in trace["feedback"]]
        if not question or not scores:
            continue
        corrections = [f["correction"] for f in trace["feedback"] if f.get("correction")]
        yield {
            "trace_id": trace["trace_id"], "question": question, "answer": answer or "",
            "score": sum(scores) / len(scores), "corrections": corrections,
            "prompt_version": trace.get("prompt_version"),
            "blocked": trace.get("route") == "blocked",
        }  # fmt: skip


def _groups(traces: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in _rated(traces):
        groups.setdefault(_key(item["question"]), []).append(item)
    return groups


def _turn(role: str, text: str) -> list[dict[str, str]]:
    return [{"role": role, "content": text}]


def preference_pairs(
    traces: list[dict[str, Any]], mask: Masker, metadata: bool = False
) -> list[dict[str, Any]]:
    rows, seen = [], set()
    for items in _groups(traces).values():
        good = sorted(
            (i for i in items if i["score"] >= GOOD and i["answer"] and not i["blocked"]),
            key=lambda i: -i["score"],
        )
        bad = [i for i in items if i["score"] < GOOD and i["answer"]]
        for rejected in bad:
            candidates = [(c, "correction", rejected) for c in rejected["corrections"]]
            candidates += [(g["answer"], "rating", g) for g in good[:1]]
            for chosen_text, kind, chosen in candidates:
                if chosen_text.strip() == rejected["answer"].strip():
                    continue
                question, chosen_text, rejected_text = mask(
                    [rejected["question"], chosen_text, rejected["answer"]]
                )
                if (question, chosen_text, rejected_text) in seen:
                    continue
                seen.add((question, chosen_text, rejected_text))
                row = {
                    "prompt": _turn("user", question),
                    "chosen": _turn("assistant", chosen_text),
                    "rejected": _turn("assistant", rejected_text),
                }
                if metadata:
                    row["metadata"] = {
                        "source": kind,
                        "chosen_trace": chosen["trace_id"], "chosen_score": chosen["score"],
                        "rejected_trace": rejected["trace_id"],
                        "rejected_score": rejected["score"],
                        "prompt_versions": [chosen["prompt_version"], rejected["prompt_version"]],
                    }  # fmt: skip
                rows.append(row)
    return rows


def sft_rows(
    traces: list[dict[str, Any]], mask: Masker, metadata: bool = False
) -> list[dict[str, Any]]:
    rows, seen = [], set()
    for items in _groups(traces).values():
        for item in items:
            answers = list(item["corrections"])
            if item["score"] >= GOOD and item["answer"] and not item["blocked"]:
                answers.append(item["answer"])
            for answer in answers:
                question, text = mask([item["question"], answer])
                if (question, text) in seen:
                    continue
                seen.add((question, text))
                row: dict[str, Any] = {
                    "messages": _turn("user", question) + _turn("assistant", text)
                }
                if metadata:
                    row["metadata"] = {"trace": item["trace_id"], "score": item["score"]}
                rows.append(row)
    return rows
