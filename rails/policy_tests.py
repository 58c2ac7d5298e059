"""`railyard rails test`: run a policy's test cases (YAML, message -> expected verdict) so a
policy owner can check an edit before shipping it.

A case file is a list of cases; each has `input` (a user message) or `output` (an answer, with
optional `question` and `context` passages), and `expect`: allow | block | mask, optionally
`rail` (the flow that must decide) and `contains` / `excludes` (text the checked result must or
must not hold)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from rails.engine import RailsEngine


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    input: str | None = None
    output: str | None = None
    question: str = ""
    context: list[str] = []
    expect: Literal["allow", "block", "mask"]
    rail: str | None = None
    contains: list[str] = []
    excludes: list[str] = []

    @model_validator(mode="after")
    def _one_text(self) -> Case:
        if (self.input is None) == (self.output is None):
            raise ValueError("a case has exactly one of `input` or `output`")
        return self


@dataclass
class Outcome:
    case: Case
    file: str
    passed: bool
    got: str
    detail: str


def load_cases(paths: list[Path]) -> list[tuple[str, Case]]:
    cases = []
    for path in paths:
        files = sorted(path.rglob("*.y*ml")) if path.is_dir() else [path]
        for file in files:
            for raw in yaml.safe_load(file.read_text()) or []:
                cases.append((file.name, Case.model_validate(raw)))
    return cases


async def run_case(engine: RailsEngine, file: str, case: Case) -> Outcome:
    if case.input is not None:
        result = await engine.check_input(case.input)
        original = case.input
    else:
        result = await engine.check_output(
            case.output, question=case.question, passages=case.context, system_prompt=""
        )
        original = case.output
    if result.blocked:
        got, rail, text = "block", result.blocked["name"], result.refusal or ""
    else:
        changed = [v for v in result.verdicts if v["decision"] == "transform"]
        got = "mask" if changed or result.text != original else "allow"
        rail, text = (changed[0]["name"] if changed else None), result.text
    problems = []
    if got != case.expect:
        problems.append(f"expected {case.expect}, got {got}")
    if case.rail and case.expect != "allow" and rail != case.rail:
        problems.append(f"expected rail '{case.rail}', got '{rail}'")
    problems += [f"missing '{s}'" for s in case.contains if s not in text]
    problems += [f"still holds '{s}'" for s in case.excludes if s in text]
    reason = (result.blocked or {}).get("reason") or ""
    return Outcome(case, file, not problems, got, "; ".join(problems) or reason)


def run(policy: Path, case_paths: list[Path], embed: Any = None) -> list[Outcome]:
    engine = RailsEngine(policy, embed=embed)
    cases = load_cases(case_paths)

    async def all_cases() -> list[Outcome]:
        return [await run_case(engine, file, case) for file, case in cases]

    return asyncio.run(all_cases())
