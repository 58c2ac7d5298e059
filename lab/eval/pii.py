"""`railyard eval pii`: what the fallback's name-and-place masking (rails/pii/fallback.py, the
served policy's `pii.fallback_entities`) does to questions that hide nobody. Each question of
the QA files is retrieved for as served (the corpus's own index, the served k), its passages put
in the request as the prompt puts them, and the request masked as one to the paid fallback is.
These questions name no private person, so every value masked is a false mask: it costs the
fallback the question's subject. Beside it: the same questions masked without the context rule
(raw NER), and the share of the corpus's sentences NER would mask, which is why retrieved
passages are not masked."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ingest.retriever import HybridRetriever
from ingest.text import sentences
from lab.eval.retrieval import eval_ingestor
from lab.jsonl import qa_items
from lab.progress import task
from lab.report import provenance
from rails.pii.detector import NER_ENTITIES, find
from rails.pii.fallback import mask_turns
from serving.parts import retrieval_settings
from serving.settings import Settings


def pii(settings: Settings, qa_files: list[Path], corpus: Path) -> dict:
    import yaml

    policy = yaml.safe_load((Path(settings.rails_dir) / "config.yml").read_text())
    pii_policy = policy.get("custom_data", {}).get("pii", {})
    entities = tuple(pii_policy.get("fallback_entities", NER_ENTITIES))
    k = retrieval_settings(settings).k
    ingestor = eval_ingestor(settings, corpus)
    report: dict = {"run": provenance(settings), "entities": list(entities), "k": k}
    try:
        retriever = HybridRetriever(ingestor.store, ingestor.manifest, ingestor.embedder)
        for path in qa_files:
            report[path.name] = _questions(retriever, qa_items(path), entities, k)
    finally:
        ingestor.close()
    report["corpus_sentences"] = _corpus(corpus, entities)
    return report


def _questions(retriever, items: list[dict], entities: tuple[str, ...], k: int) -> dict:
    masked, answerable, raw, values = 0, 0, 0, Counter()
    with task("eval: fallback masking", len(items)) as advance:
        for item in items:
            question = item["question"]
            hits = retriever.search(question, k=k).hits
            messages = [
                *({"role": "system", "content": f"Context ({h.source}):\n{h.text}"} for h in hits),
                {"role": "user", "content": question},
            ]
            sent, masker = mask_turns(messages, entities)
            raw += bool(find(question, entities))
            if sent[-1]["content"] != question:
                masked += 1
                answerable += bool(item["answerable"])
                for placeholder, value in masker.values.items():
                    values[f"{placeholder.strip('<>').rsplit('_', 1)[0]}: {value}"] += 1
            advance()
    return {
        "questions": len(items),
        "answerable": sum(bool(item["answerable"]) for item in items),
        "masked": masked,
        "masked_share": round(masked / len(items), 3) if items else 0.0,
        "masked_answerable": answerable,
        "masked_without_context_rule": raw,
        "values_masked": dict(values.most_common()),
    }


def _corpus(corpus: Path, entities: tuple[str, ...]) -> dict:
    files = sorted(corpus.rglob("*.md"))
    found = [s for path in files for s in sentences(path.read_text(errors="replace"))]
    hit = 0
    with task("eval: NER on the corpus", len(found)) as advance:
        for sentence in found:
            hit += bool(find(sentence, entities))
            advance()
    return {"sentences": len(found), "with_an_entity": hit, "share": round(hit / len(found), 3)}
