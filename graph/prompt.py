"""Versioned prompt files: load one and turn a conversation (and retrieved passages) into the
messages sent to a model."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, PositiveInt

from graph.spotlight import NOTE, datamark


class _Example(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: str = ""
    question: str
    answer: str


class _PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    version: PositiveInt
    description: str = ""
    system: str
    context_template: str = "Context ({source}):\n{text}"
    no_context_answer: str = "I don't know."
    examples: list[_Example] = []
    stop: list[str] = []
    score_template: str | None = None
    unsure_answer: str | None = None
    topic_hint: str | None = None


# What a prompt file that does not set these gets (files released before they existed; their
# content hashes leave them out, so those versions keep their hashes).
SCORE_TEMPLATE = "Passage: {text}\nPlease write a question based on this passage.\nQuestion:"
UNSURE_ANSWER = (
    "The handbook may not answer exactly this. The closest passage ({source}) says: {passage}"
)
TOPIC_HINT = "The nearest page is {source}."
OPTIONAL = ("score_template", "unsure_answer", "topic_hint")


@dataclass(frozen=True)
class Prompt:
    id: str
    version: int
    system: str
    context_template: str
    no_context_answer: str
    examples: tuple[_Example, ...]
    stop: tuple[str, ...]
    score_template: str = SCORE_TEMPLATE
    """select answers: the text each candidate sentence is scored in ({text}); the question's
    tokens follow it."""
    unsure_answer: str = UNSURE_ANSWER
    """select answers the documents may not answer: {passage} (the closest sentences) and
    {source} (their file)."""
    topic_hint: str = TOPIC_HINT
    """Added to "I don't know" when the search agrees on a page near the topic ({source})."""
    content_hash: str = ""
    """sha256 (12 hex) of everything that reaches a model: the file minus version and
    description. graph/prompts/versions.yaml locks it per version."""

    @property
    def version_id(self) -> str:
        return f"{self.id}@v{self.version}"

    @classmethod
    def load(cls, path: Path) -> Prompt:
        spec = _PromptFile.model_validate(yaml.safe_load(Path(path).read_text()))
        return cls(
            id=spec.id,
            version=spec.version,
            system=spec.system.strip(),
            context_template=spec.context_template,
            no_context_answer=spec.no_context_answer.strip(),
            examples=tuple(spec.examples),
            stop=tuple(spec.stop),
            score_template=(spec.score_template or SCORE_TEMPLATE).rstrip(),
            unsure_answer=(spec.unsure_answer or UNSURE_ANSWER).strip(),
            topic_hint=(spec.topic_hint or TOPIC_HINT).strip(),
            content_hash=_content_hash(spec),
        )

    def render(
        self,
        conversation: list[dict[str, str]],
        passages: list[dict] | None = None,
        spotlight: bool = False,
    ) -> list[dict[str, str]]:
        """Instructions, then examples, then the passages, then the conversation. Without
        passages, the examples' contexts are left out too, so the pattern stays consistent.
        `spotlight`: the passages (and the examples' contexts) datamarked, and the system
        prompt says what the marks mean (graph/spotlight.py)."""
        mark = datamark if spotlight and passages else _as_is
        client_system = [m["content"] for m in conversation if m["role"] in ("system", "developer")]
        note = [NOTE] if mark is datamark else []
        system = "\n\n".join([self.system, *note, *client_system])
        messages = [{"role": "system", "content": system}]
        for example in self.examples:
            if passages and example.context:
                text = self.context_template.format(source="handbook", text=mark(example.context))
                messages.append({"role": "system", "content": text})
            messages += [
                {"role": "user", "content": example.question},
                {"role": "assistant", "content": example.answer},
            ]
        if passages:
            context = "\n\n".join(
                self.context_template.format(source=p["source"], text=mark(p["text"].strip()))
                for p in passages
            )
            messages.append({"role": "system", "content": context})
        messages += [m for m in conversation if m["role"] in ("user", "assistant")]
        return messages

    def stops(self, client_stop: list[str] | None) -> list[str]:
        """Client stops first; OpenAI accepts at most four."""
        merged = list(dict.fromkeys([*(client_stop or []), *self.stop]))
        return merged[:4]


def _as_is(text: str) -> str:
    return text


def released(path: Path) -> dict[str, Prompt]:
    """Every released version of the prompt in `path`: the prompt files beside it with the
    same id, by version id (`answer@v2`). Two files with one version are an error."""
    default = Prompt.load(path)
    versions: dict[str, Prompt] = {}
    for candidate in sorted(Path(path).parent.glob("*.yaml")):
        spec = yaml.safe_load(candidate.read_text())
        if not isinstance(spec, dict) or spec.get("id") != default.id:
            continue
        prompt = Prompt.load(candidate)
        if prompt.version_id in versions and versions[prompt.version_id] != prompt:
            raise ValueError(f"two prompt files are {prompt.version_id} (one is {candidate})")
        versions[prompt.version_id] = prompt
    return versions


def _content_hash(spec: _PromptFile) -> str:
    content = spec.model_dump(exclude={"version", "description"})
    for name in OPTIONAL:
        if content[name] is None:
            del content[name]
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]
