"""Where railyard's packaged files are: the router configuration, the prompt, the rails."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[2]
DEFAULT_POLICY = ROOT / "serving" / "llm" / "policy.yaml"
DEFAULT_PROMPT = ROOT / "graph" / "prompts" / "answer.yaml"
PACKAGED_RAILS = ROOT / "rails"
