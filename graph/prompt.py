"""Versioned prompt files: load one and turn a conversation (and retrieved passages) into the
messages sent to a model."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, PositiveInt


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


@dataclass(frozen=True)
class Prompt:
    id: str
    version: int
    system: str
    context_template: str
    no_context_answer: str
    examples: tuple[_Example, ...]
    stop: tuple[str, ...]
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
            content_hash=_content_hash(spec),
        )

    def render(
        self, conversation: list[dict[str, str]], passages: list[dict] | None = None
    ) -> list[dict[str, str]]:
        """Instructions, then examples, then the passages, then the conversation. Without
        passages, the examples' contexts are left out too, so the pattern stays consistent."""
        client_system = [m["content"] for m in conversation if m["role"] in ("system", "developer")]
        messages = [{"role": "system", "content": "\n\n".join([self.system, *client_system])}]
        for example in self.examples:
            if passages and example.context:
                text = self.context_template.format(source="handbook", text=example.context)
                messages.append({"role": "system", "content": text})
            messages += [
                {"role": "user", "content": example.question},
                {"role": "assistant", "content": example.answer},
            ]
        if passages:
            context = "\n\n".join(
                self.context_template.format(source=p["source"], text=p["text"].strip())
                for p in passages
            )
            messages.append({"role": "system", "content": context})
        messages += [m for m in conversation if m["role"] in ("user", "assistant")]
        return messages

    def stops(self, client_stop: list[str] | None) -> list[str]:
        """Client stops first; OpenAI accepts at most four."""
        merged = list(dict.fromkeys([*(client_stop or []), *self.stop]))
        return merged[:4]


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
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]
