"""The Grafana dashboard (deploy/grafana/dashboards/railyard.json, provisioned with Prometheus in
the compose stack): every metric its queries name is one a running gateway's /metrics exports,
and it covers what an SRE watches (issue 18 item 8)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import yaml

DEPLOY = Path(__file__).parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "railyard.json"
SAMPLES = {
    # prometheus-client names a counter's family with or without `_total`, by version.
    "counter": ("", "_total"),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
    "summary": ("", "_sum", "_count"),
}


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def exported(gateway) -> set[str]:
    """Sample names /metrics can carry, from its # TYPE lines."""
    text = httpx.get(gateway.url + "/metrics", timeout=10).text
    names = set()
    for family, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE):
        names |= {family + suffix for suffix in SAMPLES.get(kind, ("",))}
    return names


def test_every_metric_the_dashboard_queries_is_exported(gateway):
    named = {m for expr in queries() for m in re.findall(r"\brailyard_[a-z_]+", expr)}
    assert named and named <= exported(gateway), named - exported(gateway)


def test_the_dashboard_covers_what_an_sre_watches():
    named = " ".join(queries())
    for metric in (
        "railyard_requests_total", "railyard_request_duration_seconds_bucket",
        "railyard_time_to_first_token_seconds_bucket", "railyard_cost_usd_total",
        "railyard_groundedness_score", "railyard_rail_blocks_total",
        "railyard_cache_lookups_total", "railyard_budget_used_ratio",
    ):  # fmt: skip
        assert metric in named, metric
    assert "by (project)" in named and "by (route)" in named and 'route="fallback"' in named
    assert 'rail=~"check toxicity.*"' in named


def test_grafana_and_prometheus_are_provisioned_for_it():
    dashboard = json.loads(DASHBOARD.read_text())
    source = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    uids = {p["datasource"]["uid"] for p in dashboard["panels"]}
    assert uids == {source["uid"]} and source["url"] == "http://prometheus:9090"
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())[
        "scrape_configs"
    ][0]
    assert scrape["dns_sd_configs"][0] == {"names": ["railyard"], "type": "A", "port": 8000}
    compose = yaml.safe_load((DEPLOY / "compose.gpu.yml").read_text())["services"]
    assert "./grafana/dashboards:/var/lib/grafana/dashboards:ro" in compose["grafana"]["volumes"]
    mounted = compose["prometheus"]["volumes"]
    assert "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounted
    assert "./prometheus/slos.yml:/etc/prometheus/slos.yml:ro" in mounted
