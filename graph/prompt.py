"""Versioned prompt files: load one and turn a conversation into the messages sent to a model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, PositiveInt


class _Example(BaseModel):
    question: str
    answer: str


class _PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    version: PositiveInt
    description: str = ""
    system: str
    examples: list[_Example] = []
    stop: list[str] = []


@dataclass(frozen=True)
class Prompt:
    id: str
    version: int
    system: str
    examples: tuple[tuple[str, str], ...]
    stop: tuple[str, ...]

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
            examples=tuple((e.question, e.answer) for e in spec.examples),
            stop=tuple(spec.stop),
        )

    def render(self, conversation: list[dict[str, str]]) -> list[dict[str, str]]:
        """Our system text and examples first; the client's system text joins ours."""
        client_system = [m["content"] for m in conversation if m["role"] in ("system", "developer")]
        system = "\n\n".join([self.system, *client_system])
        messages = [{"role": "system", "content": system}]
        for question, answer in self.examples:
            messages += [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
        messages += [m for m in conversation if m["role"] in ("user", "assistant")]
        return messages

    def stops(self, client_stop: list[str] | None) -> list[str]:
        """Client stops first; OpenAI accepts at most four."""
        merged = list(dict.fromkeys([*(client_stop or []), *self.stop]))
        return merged[:4]
