"""How every measuring command prints its JSON report: stamped with where it comes from (the
command, the commit, the date, the machine and the settings that differ from `railyard serve`'s
defaults), so a figure quoted from it in the docs traces back to a run."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from typing import Any

from serving.settings import Settings


def provenance(settings: Settings) -> dict[str, Any]:
    """Where a report comes from: the commit, the date, the machine, and the settings that
    differ from `railyard serve`'s defaults (none, for a report of the served default)."""
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    # Reports a run just wrote (evals/results/, experiments/) are not the code that measured.
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
         ":!evals/results", ":!experiments"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    defaults = Settings.model_construct()
    changed = sorted(
        name for name in Settings.model_fields
        if name.startswith(("answer_", "retrieval_", "routing_", "rails_", "prompt_", "cache_"))
        and getattr(settings, name) != getattr(defaults, name)
    )  # fmt: skip
    return {
        "command": "railyard " + " ".join(sys.argv[1:]),
        "commit": commit + ("+uncommitted" if dirty else ""),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}, "
        + ("an NVIDIA GPU" if shutil.which("nvidia-smi") else "no GPU"),
        "settings_changed": {name: str(getattr(settings, name)) for name in changed},
    }


def emit(report: Any, settings: Settings) -> None:
    """Print the report as the last line of stdout, with its provenance (a dict report that
    has none yet gets it first)."""
    if isinstance(report, dict) and "commit" not in report and "run" not in report:
        report = provenance(settings) | report
    print(json.dumps(report))
