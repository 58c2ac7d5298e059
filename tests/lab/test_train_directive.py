"""`railyard train directive` reproduces the committed rails/injection/directive.json from the
development data alone, and the threshold it picks keeps its promise on held-out folds."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rails.injection.directive import WEIGHTS
from tests.support.processes import BIN, clean_env

SHARED = Path(__file__).resolve().parents[3] / "shared"
BIPIA = SHARED / "benchmarks" / "bipia"
CORPUS = SHARED / "corpora" / "18f-handbook"


@pytest.mark.skipif(not BIPIA.is_dir(), reason="../shared/benchmarks/bipia is not beside the repo")
def test_the_committed_task_model_is_what_the_command_fits(tmp_path):
    out = tmp_path / "directive.json"
    result = subprocess.run(
        [str(BIN / "railyard"), "train", "directive", "--bipia", str(BIPIA), "--corpus",
         str(CORPUS), "--out", str(out)],
        env=clean_env(RAILYARD_DATA_DIR=str(tmp_path)), capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    fitted, committed = json.loads(out.read_text()), json.loads(WEIGHTS.read_text())
    assert len(fitted["weights"]) == 384
    assert fitted["threshold"] == committed["threshold"]
    pairs = zip(fitted["weights"], committed["weights"], strict=True)
    assert max(abs(a - b) for a, b in pairs) < 1e-3
    held_out = fitted["out_of_fold_at_threshold"]
    assert held_out["corpus_chunks_touched"] <= held_out["max_chunk_fp"]
    assert held_out["bipia_train_emails_touched"] <= 0.02
    assert "test" not in json.dumps(fitted["fitted_on"])  # BIPIA's test half is never read
