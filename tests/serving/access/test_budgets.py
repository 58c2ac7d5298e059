"""Spend budgets per project and per key (issue 16): refused or kept local once spent, alerts
at 80 % and 100 %, counted across replicas in Redis; through HTTP, a key over its budget gets
429 `budget_exceeded` and a `local-only` project is answered by the local model with no paid
call."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import openai
import pytest
import yaml

from serving.access.budgets import (
    Budget,
    Budgets,
    MemoryLedger,
    RedisLedger,
    Scope,
    period_ids,
)
from serving.access.keys import add_key
from serving.errors import BudgetExceeded
from tests.conftest import serve, set_fault

QUESTION = "How much sick leave do employees earn every pay period?"


def scope(**budget) -> Scope:
    return Scope(f"key:{uuid.uuid4().hex[:12]}", Budget(**budget))


def test_a_spent_budget_refuses_or_keeps_the_caller_local():
    alerts = []
    budgets = Budgets(MemoryLedger(), alert=lambda kind, message, **_: alerts.append(kind))
    refuse, local = scope(usd_per_day=1.0), scope(usd_per_month=1.0, over_budget="local-only")
    for cost in (0.5, 0.35, 0.2):  # 0.85 crosses 80 %, 1.05 crosses 100 %
        assert budgets.check([refuse, local]) is False
        budgets.charge([refuse, local], cost)
    with pytest.raises(BudgetExceeded) as caught:
        budgets.check([refuse, local])
    assert caught.value.code == "budget_exceeded" and 0 < caught.value.retry_after <= 86_400
    assert budgets.check([local]) is True  # spent, but kept local instead of refused
    assert sorted(a.split(":")[0] for a in alerts) == ["budget_100"] * 2 + ["budget_80"] * 2


def test_concurrent_replicas_overshoot_a_shared_budget_by_at_most_what_is_in_flight(redis_url):
    """Two replicas (two ledgers over one Redis), four concurrent callers each, spending $0.01
    per answer against a $1 budget: the total stops within in-flight requests of the limit."""
    shared = scope(usd_per_day=1.0)
    replicas = [Budgets(RedisLedger(redis_url)) for _ in range(2)]
    admitted = []

    def caller(budgets: Budgets) -> None:
        while True:
            try:
                budgets.check([shared])
            except BudgetExceeded:
                return
            admitted.append(1)
            budgets.charge([shared], 0.01)

    workers = [threading.Thread(target=caller, args=(b,)) for b in replicas for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    spent = RedisLedger(redis_url).spent(shared.name, period_ids(time.time())["day"])
    assert 1.0 <= spent <= 1.0 + len(workers) * 0.01 + 1e-9, spent
    assert len(admitted) == round(spent / 0.01)


@pytest.fixture(scope="module")
def budget_keys(run_dir):
    path = run_dir / "budget-keys.yaml"
    keys = {
        "refuse": add_key(path, "budgeted", usd_per_day=1e-9),
        "local": add_key(path, "frugal"),
        "leaver": add_key(path, "leavers", usd_per_day=1e-9),
    }
    budgets = "projects:\n  frugal: {usd_per_day: 1.0e-9, over_budget: local-only}\n"
    path.write_text(path.read_text() + budgets)
    return path, keys


@pytest.fixture(scope="module")
def budget_gateway(run_dir, vllm_url, fallback_server, knowledge_base, budget_keys):
    server = serve(
        "budget-keys-gateway", run_dir, fallback_server, knowledge_base, local_base_url=vllm_url,
        api_keys_file=str(budget_keys[0]), routing_mode="api-only", rails_enabled="false",
    )  # fmt: skip
    server.start().wait("/readyz", 300)  # the knowledge base indexed: questions reach the model
    yield server
    server.stop()


def ask(gateway, key: str, marker: str):
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)
    return client.chat.completions.create(
        model="railyard", max_tokens=8,
        messages=[{"role": "user", "content": f"{QUESTION} ({marker})"}],
    )  # fmt: skip


def test_a_key_over_its_budget_gets_429_budget_exceeded(budget_gateway, budget_keys):
    key = budget_keys[1]["refuse"]
    assert ask(budget_gateway, key, "budget-refuse-1").model_extra["railyard"]["cost_usd"] > 0
    with pytest.raises(openai.RateLimitError) as caught:
        ask(budget_gateway, key, "budget-refuse-2")
    assert caught.value.code == "budget_exceeded"
    assert 1 <= int(caught.value.response.headers["Retry-After"]) <= 86_400


def test_a_local_only_project_over_its_budget_is_answered_locally(
    budget_gateway, budget_keys, fallback_server
):
    key = budget_keys[1]["local"]
    assert ask(budget_gateway, key, "budget-local-1").model_extra["railyard"]["cost_usd"] > 0
    second = ask(budget_gateway, key, "budget-local-2-9c3e")  # routed api-only, kept local
    assert second.model_extra["railyard"]["route"] == "local"
    received = httpx.get(fallback_server.url + "/_requests", timeout=10).json()["data"]
    assert not [body for body in received if "budget-local-2-9c3e" in str(body)]


def test_keys_list_shows_budgets_and_what_they_spent(tmp_path, monkeypatch, capsys):
    from serving.cli import main
    from serving.database import SqliteDatabase
    from serving.observability.store import TraceStore

    keys = tmp_path / "keys.yaml"
    add_key(keys, "payroll", usd_per_day=2.0, over_budget="local-only")
    keys.write_text(keys.read_text() + "projects:\n  payroll: {usd_per_month: 50}\n")
    key_id = yaml.safe_load(keys.read_text())["keys"][0]["sha256"][:12]
    store = TraceStore(SqliteDatabase(tmp_path / "traces.sqlite"))
    for cost in (0.25, 0.5):
        store.record({
            "trace_id": uuid.uuid4().hex, "created": time.time(), "project": "payroll",
            "key_id": key_id, "route": "fallback", "outcome": "answered", "cost_usd": cost,
            "latency_ms": 1.0,
        })  # fmt: skip
    assert store.flush(10)
    store.close()
    monkeypatch.setenv("RAILYARD_DATA_DIR", str(tmp_path))
    assert main(["keys", "list", "--file", str(keys), "--json"]) == 0
    key, project = json.loads(capsys.readouterr().out)
    assert (key["id"], key["usd_per_day"], key["over_budget"]) == (key_id, 2.0, "local-only")
    assert key["spent_today_usd"] == key["spent_month_usd"] == 0.75
    assert (project["kind"], project["usd_per_month"], project["spent_month_usd"]) == (
        "project",
        50.0,
        0.75,
    )


def test_a_stream_its_client_leaves_is_charged_and_traced(
    budget_gateway, budget_keys, fallback_server
):
    """Security review 2, N5: a client that reads the first chunk of a (slow) paid stream and
    hangs up is charged for what was generated (the router's counted usage), so its next
    request is over the key's daily budget, and the request is traced as abandoned."""
    key = budget_keys[1]["leaver"]
    client = openai.OpenAI(base_url=budget_gateway.url + "/v1", api_key=key, max_retries=0)
    set_fault(fallback_server, "slow_stream", delay_s=0.5, times=1)
    stream = client.chat.completions.create(
        model="railyard", max_tokens=64, stream=True,
        messages=[{"role": "user", "content": f"{QUESTION} (budget-leaver-1)"}],
    )  # fmt: skip
    next(iter(stream))
    stream.close()
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + 20
    while True:  # the bill is settled by a task of its own, after the disconnect is seen
        rows = httpx.get(
            budget_gateway.url + "/v1/traces", params={"outcome": "abandoned"}, headers=headers,
            timeout=10,
        ).json()["data"]  # fmt: skip
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(rows) == 1 and rows[0]["cost_usd"] > 0, rows
    with pytest.raises(openai.RateLimitError) as caught:
        ask(budget_gateway, key, "budget-leaver-2")
    assert caught.value.code == "budget_exceeded"
