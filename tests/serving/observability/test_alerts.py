"""Alerts reach a webhook (a local receiver): an error-rate spike when neither route can answer,
and an ingestion run that skipped a document."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import openai
import pytest

from serving.observability.alerts import post_alert
from tests.conftest import KB_QUESTION, serve
from tests.support.processes import free_port


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


@pytest.fixture(scope="module")
def alert_gateway(run_dir, fallback_server, knowledge_base, receiver):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    server = serve(
        "alert-gateway", run_dir, fallback_server, knowledge_base,
        local_base_url=dead, fallback_base_url=dead, alert_webhook_url=receiver,
        alert_min_requests="3", alert_error_rate="0.5", rails_enabled="false",
    )  # fmt: skip
    server.start().wait("/healthz", 300)
    deadline = time.monotonic() + 300
    while not httpx.get(server.url + "/readyz", timeout=10).json()["checks"]["vector_store"]:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    yield server
    server.stop()


def wait_for(kind: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [a for a in Receiver.received if a["kind"] == kind]
        if found:
            return found[-1]
        time.sleep(0.2)
    pytest.fail(f"no {kind} alert; received {Receiver.received}")


def test_an_error_spike_alerts_once(alert_gateway):
    client = openai.OpenAI(base_url=alert_gateway.url + "/v1", api_key="unused", max_retries=0)
    for _ in range(4):
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(model="railyard", messages=KB_QUESTION, max_tokens=4)
        assert failed.value.status_code == 503
    alert = wait_for("error_rate")
    assert alert["source"] == "railyard" and alert["rate"] >= 0.5 and alert["requests"] >= 3
    assert len([a for a in Receiver.received if a["kind"] == "error_rate"]) == 1


def test_an_ingestion_run_that_skips_a_document_alerts(alert_gateway, run_dir):
    folder = run_dir / "incoming" / "alerts"  # under the gateway's ingest roots
    folder.mkdir(parents=True)
    (folder / "empty.md").write_text("")
    (folder / "ok.md").write_text("# Parking\n\nVisitor parking is on level two.\n")
    response = httpx.post(
        alert_gateway.url + "/v1/admin/ingest", json={"paths": [str(folder)]}, timeout=120
    )
    response.raise_for_status()
    alert = wait_for("ingest_failed")
    assert [f["source"] for f in alert["failed"]] == ["empty.md"]


@pytest.mark.parametrize("shape", ["json", "slack", "teams"])
def test_an_alert_is_posted_in_the_webhooks_shape(webhook, shape):
    """RAILYARD_ALERT_WEBHOOK_FORMAT: railyard's JSON; Slack's incoming-webhook `text`; a Teams
    workflow message with an Adaptive Card. Each names the alert and keeps its details."""
    url, received = webhook
    post_alert(url, "eval_drop", "source_hit@5 fell to 0.5", shape=shape, index_version=7)
    [body] = received[-1:]
    if shape == "json":
        assert body["kind"] == "eval_drop" and body["index_version"] == 7
    elif shape == "slack":
        assert set(body) == {"text"}
        assert body["text"].startswith("*railyard · eval_drop*: source_hit@5 fell to 0.5")
        assert '"index_version": 7' in body["text"]
    else:
        [attachment] = body["attachments"]
        card = attachment["content"]
        assert body["type"] == "message" and card["type"] == "AdaptiveCard"
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        texts = [block.get("text") for block in card["body"]]
        assert "railyard · eval_drop" in texts and "source_hit@5 fell to 0.5" in texts
        assert {"title": "index_version", "value": "7"} in card["body"][2]["facts"]
