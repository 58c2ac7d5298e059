"""The documentation: a README a newcomer reads in a few minutes, a docs site that builds with no
warning, its reference pages equal to what the code says (configuration, CLI, endpoints), and
every page reachable from the site's navigation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from serving.commands.docs import REFERENCE, pages

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
