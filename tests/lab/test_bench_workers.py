"""`bench --load --workers`: the child `railyard serve --workers N` reads the bench's settings
from a railyard.yaml in its own directory; what it reads is what the bench meant (paths taken
relative to the bench's directory, secrets included)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from lab.bench.workers import settings_file
from serving.settings import Settings


def test_the_child_reads_the_benchs_settings(tmp_path, monkeypatch):
    for name in [k for k in os.environ if k.startswith("RAILYARD_")]:
        monkeypatch.delenv(name)
    meant = Settings(
        data_dir=Path("relative/data"), knowledge_base=[Path("examples/knowledge-base")],
        openai_api_key=SecretStr("sk-bench"), rate_limit_rpm=None, redis_url="redis://h:1/0",
        cache_enabled=True,
    )  # fmt: skip
    child = tmp_path / "child"
    child.mkdir()
    settings_file(meant, child / "railyard.yaml")
    assert (child / "railyard.yaml").stat().st_mode & 0o077 == 0
    here = Path.cwd()
    monkeypatch.chdir(child)
    read = Settings()
    assert read.data_dir == here / "relative/data"
    assert read.knowledge_base == [here / "examples/knowledge-base"]
    assert read.openai_api_key.get_secret_value() == "sk-bench"
    assert (read.rate_limit_rpm, read.redis_url) == (None, "redis://h:1/0")
    assert read.resolved_models_dir == here / meant.resolved_models_dir
