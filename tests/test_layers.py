"""The dependency direction of docs/architecture.md, checked on what each module really imports:
lab → serving → graph → rails, ingest, and rails → ingest; never upward. Below them all,
storage/ (databases, Redis, locks), which imports nothing of railyard, and reports/ (the
read-side queries over what is stored), which imports storage/ alone. Each package is
imported in a fresh interpreter, and the modules it loaded are read from sys.modules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
LAYERS = ("storage", "reports", "ingest", "rails", "graph", "serving", "lab")
FORBIDDEN = {
    "storage": {"reports", "ingest", "rails", "graph", "serving", "lab"},
    "reports": {"ingest", "rails", "graph", "serving", "lab"},
    "ingest": {"rails", "graph", "serving", "lab"},
    "rails": {"graph", "serving", "lab"},
    "graph": {"serving", "lab"},
    "serving": {"lab"},
}
LOADED = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(name: str) -> set[str]:
    """Every module importing `name` and all its submodules loads."""
    out = subprocess.run(
        [sys.executable, "-c", LOADED, name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={
            "PATH": "/usr/bin:/bin",
            "HF_HUB_OFFLINE": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        },
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize("package", list(FORBIDDEN))
def test_no_module_imports_a_layer_above_its_own(package):
    loaded = {m.split(".")[0] for m in loaded_by(package)}
    assert not loaded & FORBIDDEN[package], f"{package} loads {sorted(loaded & FORBIDDEN[package])}"


def test_graph_nodes_use_the_rails_protocol_not_rails_internals():
    nodes = ROOT / "graph" / "nodes"
    for source in nodes.glob("*.py"):
        text = source.read_text()
        assert "from rails" not in text and "import rails" not in text, source.name


def test_only_the_router_package_imports_litellm():
    importing = sorted(
        str(path.relative_to(ROOT))
        for layer in LAYERS
        for path in (ROOT / layer).rglob("*.py")
        if "import litellm" in path.read_text() or "from litellm" in path.read_text()
    )
    # The router and its usage counting; the bench's recorder of what was sent upstream.
    assert importing == ["serving/llm/client.py", "serving/llm/recorder.py"]


def test_no_module_outside_storage_creates_tables():
    """Schemas live in storage/migrations.py, version by version; stores elsewhere only name
    their component when they migrate."""
    writing = sorted(
        str(path.relative_to(ROOT))
        for layer in LAYERS
        if layer != "storage"
        for path in (ROOT / layer).rglob("*.py")
        if any(
            statement in path.read_text()
            for statement in ("CREATE TABLE", "ALTER TABLE", "CREATE INDEX", "DROP TABLE")
        )
    )
    assert writing == []


def test_no_file_over_400_lines_and_no_function_over_60():
    """The house's sizes: a module does one job, a function fits on a screen."""
    files = [p for folder in (*LAYERS, "tests") for p in (ROOT / folder).rglob("*.py")]
    lines = {p: len(p.read_text().splitlines()) for p in files}
    long_files = [f"{p.relative_to(ROOT)} ({n})" for p, n in lines.items() if n > 400]
    long_functions = [
        f"{p.relative_to(ROOT)}:{node.name} ({node.end_lineno - node.lineno + 1})"
        for p in files
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 60
    ]
    assert long_files == [] and long_functions == []
