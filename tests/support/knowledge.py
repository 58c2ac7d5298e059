"""A tiny knowledge base for tests: four formats, front matter and template tags included."""

from __future__ import annotations

import json
from pathlib import Path

DOCS = {
    "leave/sick-leave.md": """---
title: Sick leave
---
Employees earn four hours of sick leave every pay period.

## Using sick leave

Request sick leave in the time tracking system before the end of the pay period.
""",
    "travel/per-diem.md": """---
title: Per diem
---
{% include alert.html %}
Per diem covers lodging, meals and incidental expenses while you travel on official business.

## Meals

On the first and last day of travel you receive 75 percent of the meals rate.
""",
    "tools/laptops.txt": "Laptops are issued by the IT service desk on your first day at work.",
    "guides/welcome.html": (
        "<html><head><title>Welcome</title><script>var x = 1;</script></head><body>"
        "<h1>Welcome</h1><p>Your onboarding buddy meets you on the first Monday.</p></body></html>"
    ),
}


def write_corpus(root: Path) -> Path:
    for name, text in DOCS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# Planted documents (evals/redteam/planted/): fake credentials and personal data that must never
# reach an answer, and text that tries to instruct the assistant (an indirect injection). The
# same files are the red-team dev set of `railyard eval rails`.
PLANTED = Path(__file__).parents[2] / "evals" / "redteam"
PLANTED_SECRETS: dict[str, str] = json.loads((PLANTED / "planted.json").read_text())["secrets"]
REDTEAM_DOCS = {
    str(p.relative_to(PLANTED / "planted")): p.read_text()
    for p in sorted((PLANTED / "planted").rglob("*.md"))
}


def write_redteam_corpus(root: Path) -> Path:
    write_corpus(root)
    for name, text in REDTEAM_DOCS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
