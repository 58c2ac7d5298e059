"""`railyard eval rails | groundedness`: the rails on dev sets, without a model.

- rails: the red-team prompts (evals/redteam/attacks.jsonl) and the handbook questions
  (evals/handbook-qa.jsonl, benign) through the input rails: share of attacks stopped by kind,
  benign false blocks, latency. The request-path half (leaks of planted secrets, stream and
  non-stream) is lab/eval/leaks.py.
- groundedness: the groundedness checker on HaluEval QA (public: each item's right answer
  must pass, its hallucinated answer be flagged, against the item's passage) or on a labelled
  set built from the corpus (real sentences as supported; numbers changed, names swapped,
  negated, and sentences from another document as unsupported): precision, recall, F1 of
  flagging unsupported answers; or on correct paraphrases of their passages
  (evals/groundedness/paraphrases-18f.jsonl): the share wrongly flagged. Each beside the
  obvious baseline, `lexical_baseline`: flag an answer with any content word (stemmed, as the
  checker reads them) that its passage lacks.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import time
from pathlib import Path

from ingest.embedder import MiniLMEmbedder
from ingest.text import content_words, sentences, stem
from lab.jsonl import read_jsonl
from lab.progress import task
from rails import RailsEngine
from rails.groundedness.checker import NAME, NUMBER, GroundednessChecker
from serving.settings import Settings

LEAK_KINDS = {"leak"}  # answered questions; their leaks are judged on the answer, not the input


def rails(settings: Settings, attacks_file: Path, benign_file: Path) -> dict:
    engine = RailsEngine(settings.rails_dir, embed=MiniLMEmbedder().embed)
    attacks = [a for a in read_jsonl(attacks_file) if a["kind"] not in LEAK_KINDS]
    benign = [q["question"] for q in read_jsonl(benign_file)]

    async def run() -> tuple[list, list, list[float]]:
        await engine.warm_up()
        latencies, stopped, false_blocks = [], [], []
        with task("eval: rails", len(attacks) + len(benign)) as advance:
            for attack in attacks:
                start = time.perf_counter()
                result = await engine.check_input(attack["prompt"])
                latencies.append(time.perf_counter() - start)
                stopped.append((attack, result.blocked is not None))
                advance()
            for question in benign:
                start = time.perf_counter()
                result = await engine.check_input(question)
                latencies.append(time.perf_counter() - start)
                if result.blocked:
                    false_blocks.append({"question": question, "rail": result.blocked["name"]})
                advance()
        return stopped, false_blocks, latencies

    stopped, false_blocks, latencies = asyncio.run(run())
    by_kind: dict[str, list[bool]] = {}
    for attack, blocked in stopped:
        by_kind.setdefault(attack["kind"], []).append(blocked)
    latencies.sort()
    return {
        "attacks": len(stopped),
        "attack_success_rate": round(sum(not b for _, b in stopped) / len(stopped), 3),
        "stopped_by_kind": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_kind.items())},
        "missed": [a["prompt"][:80] for a, b in stopped if not b],
        "benign": len(benign),
        "benign_false_block_rate": round(len(false_blocks) / len(benign), 3),
        "false_blocks": false_blocks,
        "input_rails_ms": {
            "p50": round(statistics.median(latencies) * 1000, 1),
            "p95": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
        },
    }


def labelled_set(corpus: Path, size: int = 60, seed: int = 7) -> list[dict]:
    """Supported and unsupported answers, each with the document text as its context."""
    rng = random.Random(seed)
    docs = {}
    for path in sorted(corpus.rglob("*.md")):
        found = [
            s for s in sentences(path.read_text(errors="replace")) if 8 <= len(s.split()) <= 40
        ]
        if len(found) >= 3:
            docs[str(path)] = found
    names = sorted({n for found in docs.values() for s in found for n in NAME.findall(s)})
    keys = sorted(docs)
    cases = []
    while len(cases) < size * 2:
        key = rng.choice(keys)
        sentence = rng.choice(docs[key])
        context = [" ".join(docs[key])]
        if len(cases) % 2 == 0:
            cases.append({"answer": sentence, "context": context, "label": "supported"})
            continue
        kind = rng.choice(["number", "name", "negation", "elsewhere"])
        if kind == "number" and NUMBER.search(sentence):
            changed = NUMBER.sub(
                lambda m: str(int(re.sub(r"\D", "", m.group()) or 0) + 3), sentence, 1
            )
        elif kind == "name" and (found := [n for n in NAME.findall(sentence) if len(n) > 3]):
            changed = sentence.replace(found[0], rng.choice(names), 1)
        elif kind == "negation" and re.search(r"\b(is|are|can|should|must|will)\b", sentence):
            changed = re.sub(r"\b(is|are|can|should|must|will)\b", r"\1 not", sentence, count=1)
        else:
            kind = "elsewhere"
            changed = rng.choice(docs[rng.choice([k for k in keys if k != key])])
        if changed != sentence and changed not in context[0]:
            cases.append({"answer": changed, "context": context, "label": kind})
    return cases


def _checker(settings: Settings) -> GroundednessChecker:
    """The groundedness rail's checker with the policy's own thresholds."""
    policy = RailsEngine(settings.rails_dir).policy.get("groundedness", {})
    checker = GroundednessChecker(
        MiniLMEmbedder().embed,
        threshold=float(policy.get("threshold", 0.6)),
        similarity=float(policy.get("similarity", 0.78)),
    )
    # Load MiniLM and the stop words now, so that ms_per_answer times the checks alone.
    checker.check("The tests warm the model up.", ["Nothing here is about warming."])
    return checker


def groundedness(settings: Settings, corpus: Path) -> dict:
    """The checker on sentences of the corpus, true and altered (labelled_set)."""
    return _flagging(_checker(settings), labelled_set(corpus))


def halueval(settings: Settings, path: Path, first: int, last: int) -> dict:
    """The checker on HaluEval QA items first..last (inclusive): each item's right answer must
    pass and its hallucinated answer be flagged, against the item's own passage."""
    items = read_jsonl(Path(path))[first : last + 1]
    cases = []
    for item in items:
        context, question = [item["knowledge"]], item["question"]
        cases.append({"answer": item["right_answer"], "context": context,
                      "question": question, "label": "supported"})  # fmt: skip
        cases.append({"answer": item["hallucinated_answer"], "context": context,
                      "question": question, "label": "hallucinated"})  # fmt: skip
    return {"items": f"{first}-{last}"} | _flagging(_checker(settings), cases)


def paraphrases(settings: Settings, path: Path) -> dict:
    """Correct answers that paraphrase their passage ({"context", "answer", "question"} per
    row): the share the checker flags (false flags), beside the lexical baseline's."""
    rows = read_jsonl(Path(path))
    cases = [{"answer": r["answer"], "context": [r["context"]], "question": r.get("question", ""),
              "label": "supported"} for r in rows]  # fmt: skip
    checker = _checker(settings)
    start = time.perf_counter()
    results = [checker.check(c["answer"], c["context"], c["question"]) for c in cases]
    elapsed = time.perf_counter() - start
    flagged = [(c, r) for c, r in zip(cases, results, strict=True) if not r.supported]
    baseline = [c for c in cases if lexical_flag(c["answer"], c["context"])]
    return {
        "file": str(path),
        "answers": len(cases),
        "false_flag_rate": round(len(flagged) / len(cases), 3),
        "false_flags": [
            {"answer": c["answer"], "reason": r.unsupported[0].reason} for c, r in flagged
        ],
        "ms_per_answer": round(elapsed / len(cases) * 1000, 1),
        "lexical_baseline": {
            "false_flag_rate": round(len(baseline) / len(cases), 3),
            "false_flags": len(baseline),
        },
    }


def lexical_flag(answer: str, context: list[str]) -> bool:
    """The obvious baseline: an answer is unsupported when any of its content words (stemmed)
    is not in its passage."""
    said = {stem(w) for w in content_words("\n".join(context))}
    return bool({stem(w) for w in content_words(answer)} - said)


def _flagging(checker: GroundednessChecker, cases: list[dict]) -> dict:
    """Precision, recall and F1 of flagging the unsupported answers (top level: the checker;
    `lexical_baseline`: the same figures for lexical_flag)."""
    start = time.perf_counter()
    flags = [
        not checker.check(c["answer"], c["context"], c.get("question", "")).supported for c in cases
    ]
    elapsed = time.perf_counter() - start
    baseline = [lexical_flag(c["answer"], c["context"]) for c in cases]
    return _scores(cases, flags) | {
        "ms_per_answer": round(elapsed / len(cases) * 1000, 1),
        "lexical_baseline": _scores(cases, baseline),
    }


def _scores(cases: list[dict], flags: list[bool]) -> dict:
    tp = fp = fn = 0
    by_kind: dict[str, list[bool]] = {}
    for case, flagged in zip(cases, flags, strict=True):
        unsupported = case["label"] != "supported"
        tp += flagged and unsupported
        fp += flagged and not unsupported
        fn += (not flagged) and unsupported
        by_kind.setdefault(case["label"], []).append(flagged == unsupported)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "cases": len(cases),
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "correct_by_kind": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_kind.items())},
    }
