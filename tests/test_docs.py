"""The documentation: a README a newcomer reads in a few minutes, a docs site that builds with no
warning, its reference pages equal to what the code says (configuration, CLI, endpoints) and
the evaluation tables to their reports, and every page reachable from the site's navigation."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from serving.commands.docs import REFERENCE, pages
from serving.commands.figures import RESULTS, render

ROOT = Path(__file__).parents[1]


def test_the_reference_pages_are_what_the_code_says():
    stale = [name for name, text in pages().items() if (REFERENCE / name).read_text() != text]
    assert stale == [], f"run `railyard docs reference`: {stale} differ from the code"


def test_the_site_builds_strictly(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "reference" / "configuration" / "index.html").exists()


def test_every_page_is_in_the_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def listed(nav) -> set[str]:
        found = set()
        for entry in nav:
            for value in entry.values():
                found |= listed(value) if isinstance(value, list) else {value}
        return found

    pages_on_disk = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert pages_on_disk == listed(config["nav"])


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "make serve" in readme and "make test" in readme
    named = r"`((?:docs|serving|graph|rails|ingest|storage|reports|lab)/[^`*]+)`"
    for path in re.findall(named, readme):
        assert (ROOT / path.split(" ")[0]).exists(), path


REPORT = re.compile(
    r"(?<![\w./])((?:evals/results|experiments|benchmarks)/[\w./-]+\.(?:json|jsonl|csv|png|md))"
)
FIGURE = re.compile(r"\d+(?:\.\d+)? ?%|\bp(?:50|95|99)\b|\b\d+(?:\.\d+)? ?ms\b|\b0\.\d{2,}\b")
NOT_MEASURED = {
    ("answers.md", "# Retrieval and answers"): "the settings' defaults",
    ("deployment.md", "# Running more than one replica"): "what `railyard bench` reports",
    ("deployment.md", "## Budgets per project and per key"): "alert thresholds, example budgets",
    ("observability.md", "# Observability and cost"): "an example log line, settings",
    ("slos.md", "# Service levels"): "the targets, not measurements",
}
"""Sections with numbers that are not measurements, and what they are instead."""


def sections() -> list[tuple[str, str, str]]:
    """(page, heading, text) for the README and every hand-written docs page."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for text in re.split(r"\n(?=#{1,4} )", page.read_text()):
            found.append((page.name, text.splitlines()[0], text))
    return found


def stamp(report: dict) -> dict:
    """A report's provenance: at its top, or under `run` (reports of several runs)."""
    return report if "commit" in report else report.get("run", {})


def test_every_measured_figure_in_the_docs_comes_from_a_committed_report():
    """A section that quotes a measurement names the report it comes from; each report named
    exists and carries the command, commit, date and machine that made it; and a commit the
    text names is that of a report it cites."""
    for page, heading, text in sections():
        cited = REPORT.findall(text)
        if FIGURE.search(text) and (page, heading) not in NOT_MEASURED:
            assert cited, f"{page} [{heading}] quotes figures and names no report"
        commits = []
        for path in cited:
            assert (ROOT / path).exists(), f"{page} [{heading}] cites {path}, which is not there"
            if path.endswith(".json"):
                provenance = stamp(json.loads((ROOT / path).read_text()))
                missing = {"command", "commit", "date", "machine"} - set(provenance)
                assert not missing, f"{path} has no {sorted(missing)}"
                commits.append(provenance["commit"])
        for named in re.findall(r"\bcommit ([0-9a-f]{7,40})\b", text):
            assert any(c.startswith(named) for c in commits), (
                f"{page} [{heading}] says commit {named}; its reports say {commits}"
            )


def test_the_evaluation_tables_are_rendered_from_their_reports(tmp_path):
    """A figure changed in a report changes the page; a figure typed on the page is put back."""
    for report in RESULTS.glob("*.json"):
        shutil.copy(report, tmp_path / report.name)
    changed = json.loads((tmp_path / "18f-handbook.json").read_text())
    changed["answers"]["answer_match"] = 0.123
    (tmp_path / "18f-handbook.json").write_text(json.dumps(changed))
    page = (ROOT / "docs" / "evaluation.md").read_text()
    rendered = render(page, tmp_path)
    row = next(line for line in rendered.splitlines() if "states the asked fact" in line)
    assert row.split("|")[3].strip() == "0.123"
    typed = page.replace("| 1 (n=", "| 1 (n=99) | 0.999 | 0.999 | 0.999 / 0.999 |\n| 1 (n=", 1)
    assert "0.999" in typed and render(typed) == render(page)
