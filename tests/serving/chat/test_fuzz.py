"""schemathesis over railyard's own OpenAPI schema, against a real `railyard serve` (guarded,
real vLLM, completions capped at 4 tokens so each example is quick): no 5xx, no hang, and every
error in OpenAI's envelope. `POST /v1/admin/ingest` is left out: fuzzed paths would ask the
server to index arbitrary folders of this machine."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis

from tests.conftest import serve

ENVELOPE = {"message", "type", "code"}


@pytest.fixture(scope="module")
def fuzz_gateway(run_dir, vllm_url, fallback_server, knowledge_base):
    server = serve(
        "fuzz-gateway", run_dir, fallback_server, knowledge_base, local_base_url=vllm_url,
        max_completion_tokens="4", request_timeout_s="30",
    )  # fmt: skip
    server.start().wait("/readyz", 300)
    yield server
    server.stop()


def operations(gateway) -> list:
    schema = schemathesis.openapi.from_url(gateway.url + "/openapi.json")
    schema = schema.exclude(path="/v1/admin/ingest", method="POST")
    return [result.ok() for result in schema.get_all_operations()]


def test_no_server_errors_and_openai_error_envelope(fuzz_gateway):
    # Operations are driven one by one with hypothesis (schemathesis' pytest loader relies on
    # pytest internals that pytest 9 removed).
    fuzzed = []
    for operation in operations(fuzz_gateway):

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def fuzz(case):
            response = case.call(base_url=fuzz_gateway.url, timeout=60)
            assert response.status_code < 500, (case.method, case.path, response.text[:500])
            if response.status_code >= 400:
                error = response.json()["error"]
                assert ENVELOPE <= set(error), error
                assert isinstance(error["message"], str) and error["message"]

        fuzz()
        fuzzed.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /v1/chat/completions" in fuzzed and "POST /v1/feedback" in fuzzed
