"""`railyard ingest run --ray ADDRESS` (issue 16): load → clean → chunk → embed on a Ray cluster
(a local one the fixture starts with `ray start --head`), committed through the same manifest.
Compared with the single-process run on the same corpus: the same documents, the same chunk
ids, the same vectors within float tolerance; and it stays incremental."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from ingest.configuration import IngestConfig
from ingest.graph import Ingestor
from tests.support.processes import BIN, ROOT, clean_env, free_port

ray = pytest.importorskip("ray", reason="the `ray` extra is not installed")
SAMPLE = ROOT / "examples" / "knowledge-base" / "travel-and-leave"


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    port = free_port()
    env = clean_env(RAY_USAGE_STATS_ENABLED="0", RAY_DISABLE_DOCKER_CPU_WARNING="1")
    start = [
        str(BIN / "ray"), "start", "--head", f"--port={port}", "--num-cpus=2",
        "--include-dashboard=false", "--object-store-memory=300000000", "--disable-usage-stats",
        f"--temp-dir={tmp_path_factory.mktemp('ray')}",
    ]  # fmt: skip
    subprocess.run(start, env=env, check=True, capture_output=True, timeout=120)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        ray.shutdown()
        subprocess.run([str(BIN / "ray"), "stop", "--force"], env=env, timeout=120)


def vectors(ingestor: Ingestor) -> dict[str, np.ndarray]:
    ids = sorted(ingestor.manifest.live_chunk_ids())
    found = ingestor.store.vectors(ids)
    return {i: np.asarray(found[i]) for i in ids}


def test_ingest_run_on_ray_matches_the_single_process_run(ray_cluster, tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for page in sorted(SAMPLE.glob("*.md"))[:5]:
        shutil.copy(page, corpus / page.name)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")  # skipped and reported there too

    def ingest_on_ray() -> dict:
        done = subprocess.run(
            [str(BIN / "railyard"), "ingest", "run", str(corpus), "--ray", ray_cluster, "--json"],
            env=clean_env(RAILYARD_DATA_DIR=str(tmp_path / "ray"), RAY_USAGE_STATS_ENABLED="0"),
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    local = Ingestor(IngestConfig(data_dir=tmp_path / "local"), embedder=embedder)
    try:
        expected = local.run([corpus])
        documents = {source: r.chunk_ids for (_, source), r in local.manifest.documents().items()}
        theirs = vectors(local)
    finally:
        local.close()
    summary = ingest_on_ray()
    for key in ("added", "updated", "unchanged", "deleted", "chunks", "ignored"):
        assert summary[key] == expected[key], key
    assert summary["failed"] == expected["failed"] and summary["failed"]
    # Incremental: nothing changed, nothing embedded (the cluster is not even called); a file
    # gone is deleted from the index.
    again = ingest_on_ray()
    assert (again["unchanged"], again["chunks"]) == (expected["added"], 0)
    gone = sorted(corpus.glob("*.md"))[0]
    gone.unlink()
    assert ingest_on_ray()["deleted"] == 1

    gone_ids = set(documents.pop(gone.name))
    on_ray = Ingestor(IngestConfig(data_dir=tmp_path / "ray" / "index"), embedder=embedder)
    try:
        ray_documents = on_ray.manifest.documents().items()
        assert {source: r.chunk_ids for (_, source), r in ray_documents} == documents
        ours = vectors(on_ray)
    finally:
        on_ray.close()
    # The same chunk ids, the same vectors (MiniLM on the cluster's CPUs) within tolerance.
    assert ours.keys() == theirs.keys() - gone_ids and ours
    assert max(float(np.abs(ours[i] - theirs[i]).max()) for i in ours) < 1e-4
