"""The seed KPIs as service levels (docs/slos.md): Prometheus recording and alerting rules
(deploy/prometheus/slos.yml) that promtool loads and whose unit tests pass (traffic that meets
every target fires nothing; traffic that misses each fires its alert), over metrics a running
gateway exports; the Grafana dashboard shows each KPI against its target."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import yaml

from reports.kpis import TARGETS
from tests.conftest import _require
from tests.deploy.test_dashboard import DASHBOARD, DEPLOY, exported

RULES = DEPLOY / "prometheus" / "slos.yml"
KPIS = {name: target.bound for name, target in TARGETS.items()}
"""The targets the console judges traffic against (reports/kpis.py): Prometheus uses the same."""


def promtool(*args: str) -> str:
    _require("promtool", "prometheus")
    found = subprocess.run(
        [shutil.which("promtool") or "promtool", *args], cwd=RULES.parent, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert found.returncode == 0, found.stdout + found.stderr
    return found.stdout + found.stderr


def test_promtool_loads_the_rules_and_their_unit_tests_pass():
    assert "SUCCESS: 10 rules found" in promtool("check", "rules", RULES.name)
    assert "SUCCESS" in promtool("test", "rules", "slos-test.yml")


def test_every_kpi_has_its_target_as_an_alert():
    groups = {g["name"]: g["rules"] for g in yaml.safe_load(RULES.read_text())["groups"]}
    recorded = {r["record"].removeprefix("railyard:kpi:") for r in groups["railyard-kpis"]}
    assert recorded == set(KPIS)
    for alert in groups["railyard-slos"]:
        kpi = alert["labels"]["kpi"]
        bound = float(re.search(r"[<>] ([0-9.]+)$", alert["expr"]).group(1))
        assert alert["expr"].startswith(f"railyard:kpi:{kpi} ") and bound == KPIS[kpi]
        assert ("<" if TARGETS[kpi].above else ">") in alert["expr"]  # fires on a miss
        assert alert["for"] == "15m"


def test_every_metric_the_rules_read_is_exported(gateway):
    named = set(re.findall(r"\brailyard_[a-z_]+", RULES.read_text()))
    assert named and named <= exported(gateway), named - exported(gateway)


def test_the_dashboard_shows_every_kpi():
    dashboard = json.loads(DASHBOARD.read_text())
    shown = {t["expr"] for p in dashboard["panels"] if p["type"] == "stat" for t in p["targets"]}
    assert shown == {f"railyard:kpi:{kpi}" for kpi in KPIS}
