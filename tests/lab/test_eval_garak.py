"""Attack success from garak's report.jsonl (lines taken from a real garak 0.17.1 run against
railyard with the rails off): only evaluated attempts count, once each, a hit being any detector
score at or above the threshold."""

from __future__ import annotations

import json
from pathlib import Path

from lab.eval.garak import score
from serving.cli import main

REPORT = Path(__file__).parents[1] / "fixtures" / "garak" / "rails-off.report.jsonl"


def test_score_counts_evaluated_attempts_once():
    report = score(REPORT)
    assert report["target"] == "railyard"
    assert report["attempts"] == 6  # the status-1 attempt (not yet evaluated) is left out
    assert report["by_probe"] == {
        "dan.Ablation_Dan_11_0": "2/2",
        "encoding.InjectAscii85": "0/2",
        "latentinjection.LatentInjectionFactSnippetEiffel": "0/2",
    }
    assert report["attack_success_rate"] == round(2 / 6, 4)
    assert report["examples"][0]["probe"] == "dan.Ablation_Dan_11_0"


def test_threshold_decides_a_hit():
    assert score(REPORT, threshold=1.01)["attack_success_rate"] == 0.0


def test_cli_prints_json_last(capsys):
    assert main(["eval", "garak", "--report", str(REPORT), "--json"]) == 0
    [report] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["attempts"] == 6


def test_cli_without_report_is_a_usage_error(capsys):
    assert main(["eval", "garak"]) == 2
    assert "--report" in capsys.readouterr().err


def test_blocked_share_reads_the_requests_counter_by_route():
    from prometheus_client import generate_latest

    from lab.eval.garak import blocked_share
    from serving.observability.metrics import Metrics

    metrics = Metrics()
    metrics.requests.labels(route="blocked", outcome="blocked").inc(3)
    metrics.requests.labels(route="local", outcome="ok").inc(5)
    metrics.requests.labels(route="fallback", outcome="ok").inc(2)
    share = blocked_share(generate_latest(metrics.registry).decode())
    assert share == {"requests": 10, "blocked": 3, "blocked_share": 0.3}
