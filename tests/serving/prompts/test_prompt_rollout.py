"""The rollout's draw and the comparison's statistics, on their own."""

from __future__ import annotations

import pytest

from serving.prompts import Rollout
from serving.prompts.compare import Mean, Share, VersionFigures, compare, share_difference


def test_a_rollout_parses_validates_and_draws_sticky():
    rollout = Rollout.parse("answer@v2=90, answer@v3:10%")
    assert rollout.as_dict() == {"answer@v2": 90.0, "answer@v3": 10.0}
    for bad in ("answer@v2=90", "answer@v2=60,answer@v2=40", "v2=100", "answer@v2=abc"):
        with pytest.raises(ValueError):
            Rollout.parse(bad)
    keys = [f"user:{i}" for i in range(2000)]
    assert all(rollout.draw(k) == rollout.draw(k) for k in keys[:50])
    # A growing canary (candidate last) keeps every user it already had.
    grown = Rollout.parse("answer@v2=70,answer@v3=30")
    had = {k for k in keys if rollout.draw(k) == "answer@v3"}
    assert had <= {k for k in keys if grown.draw(k) == "answer@v3"}
    assert Rollout.parse("answer@v2=0,answer@v3=100").draw("anyone") == "answer@v3"


def test_newcombes_interval_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873-890, table II, example (a): 56/70 vs
    # 48/80, method 10 (hybrid score): 0.0524 to 0.3339.
    low, high = share_difference(Share(56, 70), Share(48, 80))
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def _figures(version: str, helpful: int, rated: int, unanswered: int = 0, n: int = 200):
    return VersionFigures(
        version, n, Share(helpful, rated), Share(unanswered, n), Share(0, n), Share(0, n),
        Mean(tuple([1000.0] * n)), Mean(tuple([0.001] * n)),
    )  # fmt: skip


def test_the_verdict_rolls_back_harm_promotes_shown_parity_and_keeps_otherwise():
    baseline = _figures("answer@v2", 160, 200)
    assert compare(baseline, _figures("answer@v3", 120, 200)).verdict == "roll back"
    assert compare(baseline, _figures("answer@v3", 150, 200, unanswered=40)).verdict == (
        "roll back"
    )
    assert compare(
        _figures("answer@v2", 1600, 2000), _figures("answer@v3", 1610, 2000)
    ).verdict == ("promote")
    few = compare(baseline, _figures("answer@v3", 9, 10))
    assert few.verdict == "keep" and "ratings" in few.reasons[0]


def test_compare_reads_answer_match_per_version_from_eval_reports(tmp_path):
    import json
    import subprocess
    from pathlib import Path

    from tests.support.processes import BIN, clean_env

    results = Path(__file__).parents[3] / "evals" / "results"
    reports = [results / f"18f-handbook-answer-{v}.json" for v in ("v2", "v3")]
    result = subprocess.run(
        [str(BIN / "railyard"), "prompts", "compare", "v2", "v3", "--json",
         *(arg for report in reports for arg in ("--eval", str(report)))],
        env=clean_env(RAILYARD_DATA_DIR=str(tmp_path)), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    compared = json.loads(result.stdout)
    for side, report in zip(("baseline", "candidate"), reports, strict=True):
        counts = json.loads(report.read_text())["answer_matched"]
        assert compared[side]["answer_match"]["n"] == counts["n"]
        assert compared[side]["answer_match"]["value"] == counts["hits"] / counts["n"]
    # 40 questions cannot show parity within 5 points, and nobody has rated anything.
    assert compared["verdict"] == "keep"
