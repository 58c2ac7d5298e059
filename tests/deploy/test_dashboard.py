"""The Grafana dashboard (deploy/grafana/dashboards/railyard.json, provisioned with Prometheus in
the compose stack): every metric its queries name is one a running gateway's /metrics exports,
it covers what an SRE watches (issue 18 item 8), and every query runs on a real Prometheus
scraping a gateway that served traffic, the core panels and a KPI showing it."""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import httpx
import openai
import yaml

from tests.conftest import _require
from tests.support.processes import Server, free_port, wait_for_port

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


WATCHED = {
    1: "requests per second by route",
    2: "latency p95 and TTFT p95",
    12: "time per graph node p95",
    105: "guardrails check time p95 by stage",
    101: "the latency KPI (a recording rule)",
}
"""Panels that must show a value after the traffic below (served defaults: rails on)."""


def _prometheus(run_dir: Path, target: str) -> Server:
    """Debian's `prometheus`, scraping `target` every second, with the service-level rules
    (deploy/prometheus/slos.yml) evaluated every second too."""
    _require("prometheus", "prometheus")
    folder = run_dir / "prometheus"
    folder.mkdir(exist_ok=True)
    groups = yaml.safe_load((DEPLOY / "prometheus" / "slos.yml").read_text())
    for group in groups["groups"]:
        group["interval"] = "1s"
    (folder / "slos.yml").write_text(yaml.safe_dump(groups))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(folder / "slos.yml")],
        "scrape_configs": [{"job_name": "railyard", "static_configs": [{"targets": [target]}]}],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [
        "prometheus", f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
    ]  # fmt: skip
    return Server("prometheus", argv, {"PATH": "/usr/bin:/bin"}, port, folder / "log")


def _query(prometheus: Server, expr: str) -> dict:
    expr = expr.replace("$__rate_interval", "1m")
    answer = httpx.get(prometheus.url + "/api/v1/query", params={"query": expr}, timeout=10)
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "success", (expr, body)
    return body["data"]


def _scraped(prometheus: Server, requests: int) -> None:
    """Wait until Prometheus has scraped the gateway, and `requests` requests, then for two
    more scrapes."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        up = _query(prometheus, 'up{job="railyard"} == 1')["result"]
        seen = _query(prometheus, "sum(railyard_requests_total) or vector(0)")["result"]
        if up and float(seen[0]["value"][1]) >= requests:
            time.sleep(2.5)
            return
        time.sleep(0.5)
    raise TimeoutError(f"prometheus did not scrape the gateway's requests: {prometheus.tail()}")


def test_every_dashboard_query_runs_on_prometheus_and_the_core_panels_show_traffic(
    served_gateway, run_dir
):
    """Real traffic through `railyard serve`'s defaults, scraped by a real Prometheus: every
    query of every panel is valid PromQL over what the gateway exports (Grafana's
    `$__rate_interval` read as 1m), and the watched panels have a finite value."""
    prometheus = _prometheus(run_dir, served_gateway.url.removeprefix("http://")).start()
    try:
        wait_for_port(prometheus)
        client = openai.OpenAI(base_url=served_gateway.url + "/v1", api_key="unused")
        _scraped(prometheus, 0)
        before = _query(prometheus, "sum(railyard_requests_total) or vector(0)")["result"]
        asked = int(float(before[0]["value"][1]))
        # One question three times, each scraped before the next (a rate needs a series seen
        # twice): the same route and outcome each time, and no cache hit (the temperature is
        # part of the cache's partition; selected answers are greedy whatever it is).
        for temperature in (0.0, 0.1, 0.2):
            client.chat.completions.create(
                model="railyard", temperature=temperature,
                messages=[{"role": "user", "content": "How much sick leave do employees earn?"}],
            )  # fmt: skip
            asked += 1
            _scraped(prometheus, asked)
        panels = json.loads(DASHBOARD.read_text())["panels"]
        shown = {}
        for panel in panels:
            results = [_query(prometheus, t["expr"])["result"] for t in panel["targets"]]
            shown[panel["id"]] = [
                float(sample["value"][1]) for result in results for sample in result
            ]
    finally:
        prometheus.stop()
    for panel, what in WATCHED.items():
        values = [v for v in shown[panel] if math.isfinite(v)]
        assert values and max(values) > 0, (what, shown[panel])
