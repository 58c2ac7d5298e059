"""deploy/compose.gpu.yml and .env.example, checked without a Docker engine: the file parses,
every service is health-checked, start order waits on health, data is on volumes, and every
variable the stack reads is either defaulted or in .env.example, and names a real setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from serving.settings import Settings

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "deploy" / "compose.gpu.yml"
ENV_EXAMPLE = ROOT / ".env.example"
REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(:?-[^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {key: value for key, value in pairs}


def test_the_stack(compose):
    services = compose["services"]
    assert set(services) == {
        "vllm", "etcd", "minio", "milvus", "postgres", "redis", "railyard", "proxy",
        "ingest-scheduler", "prometheus", "grafana",
    }  # fmt: skip
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name
    gpu = services["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]
    assert services["railyard"]["build"]["dockerfile"] == "Dockerfile.gpu"
    assert (COMPOSE.parent / services["railyard"]["build"]["context"] / "Dockerfile.gpu").exists()
    assert services["railyard"]["command"] == ["serve"]
    assert services["ingest-scheduler"]["command"][:2] == ["ingest", "schedule"]


def test_start_order_waits_on_health(compose):
    services = compose["services"]
    order = {
        "railyard": ("vllm", "milvus", "postgres", "redis"),
        "milvus": ("etcd", "minio"),
        "proxy": ("railyard",),
        "prometheus": ("railyard",),
        "grafana": ("prometheus",),
    }
    for name, needs in order.items():
        for dependency in needs:
            assert services[name]["depends_on"][dependency]["condition"] == "service_healthy"


def test_data_lives_on_declared_volumes(compose):
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith(("$", ".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
    assert "railyard-data:/data" in compose["services"]["railyard"]["volumes"]
    assert compose["services"]["railyard"]["environment"]["RAILYARD_DATA_DIR"] == "/data"


def test_every_variable_is_defaulted_or_documented():
    documented = env_example()
    for name, default in REFERENCE.findall(COMPOSE.read_text()):
        assert default or name in documented, f"${{{name}}} has no default and no .env.example"
    assert "OPENAI_API_KEY" in documented and "RAILYARD_LOCAL_MODEL" in documented


def test_railyard_variables_name_real_settings(compose):
    fields = {f"RAILYARD_{name.upper()}" for name in Settings.model_fields}
    names = set(compose["services"]["railyard"]["environment"]) | set(env_example())
    compose_only = {"RAILYARD_PUBLISH_PORT", "RAILYARD_REPLICAS"}
    railyard = {n for n in names if n.startswith("RAILYARD_") and n not in compose_only}
    assert railyard and railyard <= fields, railyard - fields
    # The values the stack sets are valid settings.
    values = compose["services"]["railyard"]["environment"]
    settings = {
        key.removeprefix("RAILYARD_").lower(): REFERENCE.sub(lambda m: m.group(2)[2:], value)
        for key, value in values.items()
        if key.startswith("RAILYARD_")
    }
    settings["knowledge_base"] = ["/docs"]
    settings["trusted_proxies"] = yaml.safe_load(settings["trusted_proxies"])
    Settings(**settings)


def test_replicas_share_state_behind_the_proxy(compose):
    services = compose["services"]
    railyard = services["railyard"]
    assert railyard["deploy"]["replicas"] == "${RAILYARD_REPLICAS:-2}"
    assert "ports" not in railyard  # reached through the proxy only
    env = railyard["environment"]
    assert env["RAILYARD_DATABASE_URL"].startswith("postgresql://")
    assert env["RAILYARD_REDIS_URL"] == "redis://redis:6379/0"
    assert services["ingest-scheduler"]["environment"]["RAILYARD_DATABASE_URL"]
    nginx = (COMPOSE.parent / "nginx.conf").read_text()
    assert "server railyard:8000" in nginx and "proxy_buffering off" in nginx
