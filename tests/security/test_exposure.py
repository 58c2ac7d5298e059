"""Who can reach the gateway and what it will do for them (security review, issue 15 item 1):
no unauthenticated gateway beyond loopback, no DNS rebinding onto the loopback default, and no
ingestion of paths outside the configured roots, nor an oracle of what exists there."""

from __future__ import annotations

import subprocess

import httpx

from tests.support.processes import BIN, clean_env, free_port


def test_serve_refuses_a_public_address_without_api_keys(tmp_path):
    result = subprocess.run(
        [str(BIN / "railyard"), "serve"],
        env=clean_env(
            RAILYARD_HOST="0.0.0.0",
            RAILYARD_PORT=str(free_port()),
            RAILYARD_DATA_DIR=str(tmp_path),
            RAILYARD_LOCAL_BASE_URL="http://127.0.0.1:9/v1",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in result.stderr
    assert "RAILYARD_ALLOW_UNAUTHENTICATED" in result.stderr


def test_a_rebound_host_name_is_not_served_on_the_loopback_default(gateway):
    assert httpx.get(gateway.url + "/healthz", timeout=10).status_code == 200
    for host in ("attacker.example", f"attacker.example:{gateway.port}", "127.0.0.1.nip.io"):
        response = httpx.get(gateway.url + "/v1/models", headers={"Host": host}, timeout=10)
        assert response.status_code == 421, host
        assert response.json()["error"]["code"] == "invalid_host"
    localhost = httpx.get(
        gateway.url + "/v1/models", headers={"Host": f"localhost:{gateway.port}"}, timeout=10
    )
    assert localhost.status_code == 200


def test_admin_ingest_indexes_only_under_the_ingest_roots(gateway, tmp_path):
    outside = tmp_path / "secrets"
    outside.mkdir()
    (outside / "passwords.md").write_text("The root password is hunter2.\n")
    answers = {}
    for path in ("/", "/etc", str(outside), "/no/such/folder", f"{gateway.data_dir}/../.."):
        response = httpx.post(gateway.url + "/v1/admin/ingest", json={"paths": [path]}, timeout=30)
        assert response.status_code == 400, path
        error = response.json()["error"]
        assert error["param"] == "paths"
        answers[path] = error["message"].replace(path, "PATH")
    # The same answer whether the path exists or not: no oracle of the server's files.
    assert len(set(answers.values())) == 1, answers
    runs = httpx.get(gateway.url + "/v1/admin/ingest/runs", timeout=30).json()["data"]
    assert not any("passwords" in str(run) for run in runs)


def test_api_docs_follow_the_admin_rule(gateway):
    # The loopback default has no keys: the operator is the only caller and sees the docs.
    schema = httpx.get(gateway.url + "/openapi.json", timeout=30)
    assert schema.status_code == 200 and "/v1/chat/completions" in schema.json()["paths"]
    assert httpx.get(gateway.url + "/docs", timeout=30).status_code == 200
