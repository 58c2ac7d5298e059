"""Settings come from RAILYARD_* variables, then railyard.yaml, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from serving.settings import Settings


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("RAILYARD_") or name == "OPENAI_API_KEY":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults(no_env):
    settings = Settings()
    assert settings.data_dir == Path(".railyard")
    assert (settings.host, settings.port, settings.local_port) == ("127.0.0.1", 8000, 8001)
    assert settings.managed_local
    assert settings.local_url == "http://127.0.0.1:8001/v1"
    assert settings.resolved_models_dir == Path(".railyard/models")


def test_environment_and_yaml(no_env, tmp_path):
    (tmp_path / "railyard.yaml").write_text("port: 9000\nlocal_port: 9001\n")
    no_env.setenv("RAILYARD_PORT", "9100")
    no_env.setenv("RAILYARD_LOCAL_BASE_URL", "http://gpu-box:8000/v1")
    no_env.setenv("OPENAI_API_KEY", "sk-abc")
    settings = Settings()
    assert settings.port == 9100  # environment beats the file
    assert settings.local_port == 9001
    assert not settings.managed_local
    assert settings.local_url == "http://gpu-box:8000/v1"
    assert settings.openai_api_key.get_secret_value() == "sk-abc"
    assert "sk-abc" not in repr(settings)


def test_unknown_yaml_keys_are_errors(no_env, tmp_path):
    (tmp_path / "railyard.yaml").write_text("prot: 9000\n")
    with pytest.raises(ValidationError, match="prot"):
        Settings()


def test_the_router_file_is_router_config_and_the_old_name_still_reads_with_a_warning(
    monkeypatch, tmp_path, caplog
):
    from serving.settings import Settings

    policy = tmp_path / "router.yaml"
    monkeypatch.setenv("RAILYARD_ROUTER_CONFIG", str(policy))
    assert Settings().routing_policy == policy
    assert "deprecated" not in caplog.text
    monkeypatch.delenv("RAILYARD_ROUTER_CONFIG")
    monkeypatch.setenv("RAILYARD_ROUTING_POLICY", str(policy))
    with caplog.at_level("WARNING", logger="railyard.settings"):
        assert Settings().routing_policy == policy
    assert "RAILYARD_ROUTING_POLICY is deprecated" in caplog.text


def test_the_extractive_modes_old_name_is_read_with_a_warning(caplog):
    """`fallback` named the extractive answer to an unsupported text, not the paid route: it is
    `unsupported` now, and the old value still starts the gateway."""
    with caplog.at_level("WARNING", logger="railyard.settings"):
        settings = Settings(_env_file=None, retrieval_extractive="fallback")
    assert settings.retrieval_extractive == "unsupported"
    assert "deprecated" in caplog.text
