"""The keys file fails closed (security review, issue 15 item 14): a deleted file or a broken
edit refuses every key with a clear 503 (not a 500, and not the keys loaded before, which may
include one just revoked), and a mended file is taken at once."""

from __future__ import annotations

import os
import time

import httpx
import pytest
import yaml

from serving.access.keys import add_key
from tests.conftest import KB_QUESTION, serve


@pytest.fixture(scope="module")
def keyed(run_dir, vllm_url, fallback_server, knowledge_base, tmp_path_factory):
    path = tmp_path_factory.mktemp("keys-file") / "keys.yaml"
    kept, revoked = add_key(path, "kept"), add_key(path, "revoked")
    server = serve(
        "keys-file-gateway", run_dir, fallback_server, knowledge_base,
        local_base_url=vllm_url, api_keys_file=str(path), rails_enabled="false",
    )  # fmt: skip
    server.start().wait("/healthz", 300)
    yield server, path, kept, revoked
    server.stop()


def status(server, key: str) -> httpx.Response:
    # /v1/traces needs a key and no model: the answer is the key check alone.
    return httpx.get(
        server.url + "/v1/traces", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def rewrite(path, text: str) -> None:
    path.write_text(text)
    future = time.time() + 2  # a new mtime even on a coarse clock
    os.utime(path, (future, future))


def test_a_broken_edit_does_not_keep_a_revoked_key(keyed):
    server, path, kept, revoked = keyed
    assert status(server, revoked).status_code == 200
    entries = yaml.safe_load(path.read_text())["keys"]
    without_revoked = yaml.safe_dump({"keys": [e for e in entries if e["project"] == "kept"]})
    rewrite(path, without_revoked + "- sha256: [unclosed\n")
    for key in (revoked, kept):
        response = status(server, key)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "api_keys_unavailable"
    rewrite(path, without_revoked)
    assert status(server, kept).status_code == 200
    assert status(server, revoked).status_code == 401


def test_a_deleted_keys_file_refuses_every_request_with_503(keyed):
    server, path, kept, _ = keyed
    saved = path.read_text()
    path.unlink()
    response = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "railyard", "messages": KB_QUESTION, "max_tokens": 4},
        headers={"Authorization": f"Bearer {kept}"},
        timeout=30,
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "api_keys_unavailable"
    rewrite(path, saved)
    assert status(server, kept).status_code == 200
