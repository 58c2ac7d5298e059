"""`pii.restore_in_answer` in the rails policy decides whether the user's own masked values are
put back into the answer (security review, issue 15 item 15: `false` was ignored)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rails import PACKAGED, RailsEngine

EMAIL = "jane.doe@example.com"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    copy = tmp_path / "rails"
    shutil.copytree(PACKAGED, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


async def masked_answer(engine: RailsEngine) -> tuple[str, dict[str, str]]:
    result = await engine.check_input(f"Send the leave policy to {EMAIL} please.")
    placeholder = next(iter(result.pii_values))
    assert EMAIL not in result.text and placeholder in result.text
    return f"I sent it to {placeholder}.", result.pii_values


async def test_values_are_restored_by_default(policy: Path, embedder):
    engine = RailsEngine(policy, embed=embedder.embed, check_every_s=0)
    answer, values = await masked_answer(engine)
    assert engine.restore_pii(answer, values) == f"I sent it to {EMAIL}."


async def test_restore_in_answer_false_keeps_placeholders(policy: Path, embedder):
    config = policy / "config.yml"
    config.write_text(
        config.read_text().replace("restore_in_answer: true", "restore_in_answer: false")
    )
    engine = RailsEngine(policy, embed=embedder.embed, check_every_s=0)
    answer, values = await masked_answer(engine)
    assert engine.restore_pii(answer, values) == answer
    assert EMAIL not in engine.restore_pii(answer, values)
