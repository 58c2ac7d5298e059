"""While `railyard serve` owns the index, `railyard ingest run` hands the run to it, and new
documents are answerable at once."""

from __future__ import annotations

import json
import subprocess

import httpx
import openai

from tests.support.processes import BIN, clean_env


def test_cli_ingest_is_forwarded_to_the_running_server(gateway, client: openai.OpenAI, run_dir):
    folder = run_dir / "incoming" / "news"  # under one of the gateway's ingest roots
    folder.mkdir(parents=True)
    (folder / "parking.md").write_text(
        "# Parking\n\nBicycle parking is in the basement garage, next to the loading dock.\n"
    )
    result = subprocess.run(
        [str(BIN / "railyard"), "ingest", "run", str(folder), "--json"],
        env=clean_env(RAILYARD_DATA_DIR=str(gateway.data_dir), RAILYARD_PORT=str(gateway.port)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "ingesting through" in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["added"] == 1 and summary["failed"] == []

    completion = client.chat.completions.create(
        model="railyard",
        messages=[{"role": "user", "content": "Where is the bicycle parking?"}],
        max_tokens=32,
    )
    sources = [c["source"] for c in completion.model_extra["railyard"]["citations"]]
    assert sources[0] == "parking.md"


def test_admin_ingest_refuses_a_missing_path(gateway, run_dir):
    response = httpx.post(
        gateway.url + "/v1/admin/ingest", json={"paths": [str(run_dir / "incoming" / "nope")]},
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "paths"
