"""deploy/compose.gpu.yml and .env.example, checked without a Docker engine: the file parses,
every service is health-checked, start order waits on health, data is on volumes, and every
variable the stack reads is either defaulted or in .env.example, and names a real setting; no
secret has a default and only the gateway's proxy is published beyond loopback (security
review 2, N2). The Postgres init script runs against a real Postgres, and the gateway's
migrations run as the role it creates; nginx.conf runs in a real nginx (N7: /metrics denied)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from serving.database import PostgresDatabase
from serving.observability.store import TraceStore
from serving.settings import Settings
from tests.support.processes import free_port

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "deploy" / "compose.gpu.yml"
ENV_EXAMPLE = ROOT / ".env.example"
REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(:?-[^}]*)?\}")
REQUIRED = re.compile(r"\$\{([A-Z0-9_]+):\?[^}]*\}")
SECRET = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY")


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


def interpolated(text: str, env: dict[str, str]) -> str:
    """The file as `docker compose config` reads it with `env`: ${VAR}, ${VAR:-default} and
    ${VAR:?error} replaced ($$ is a literal $); a required variable missing raises KeyError."""

    def value(match: re.Match) -> str:
        name, operator, default = match.groups()
        if env.get(name):
            return env[name]
        if operator and operator.endswith("-"):
            return default
        raise KeyError(name)

    any_reference = re.compile(r"\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")
    return any_reference.sub(value, text.replace("$$", "\0")).replace("\0", "$")


def valid_compose(text: str):
    """Parsed and validated against the Compose specification (the `compose_spec` crate's
    parser, as `docker compose config` validates): unknown keys, bad values, durations and
    dependency conditions are errors."""
    from compose_spec import PyCompose

    return PyCompose.from_json(json.dumps(yaml.safe_load(text)))


def test_the_file_is_valid_compose_with_the_example_environment():
    env = {k: v or "set" for k, v in env_example().items()}
    parsed = valid_compose(interpolated(COMPOSE.read_text(), env))
    assert "railyard" in parsed.service_names()
    # The validator is real: a typo in a key or a value is refused.
    for typo in ("    healthchek:\n", "condition: service_happy", "restart: sometimes"):
        broken = COMPOSE.read_text().replace(
            {"    healthchek:\n": "    healthcheck:\n", "condition: service_happy":
             "condition: service_healthy", "restart: sometimes": "restart: unless-stopped"}[typo],
            typo, 1,
        )  # fmt: skip
        with pytest.raises(ValueError):
            valid_compose(interpolated(broken, env))


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
    for name in REQUIRED.findall(COMPOSE.read_text()):
        assert name in documented, f"${{{name}}} is required and not in .env.example"
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
    assert env["RAILYARD_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?")
    assert services["ingest-scheduler"]["environment"]["RAILYARD_DATABASE_URL"]
    nginx = (COMPOSE.parent / "nginx.conf").read_text()
    assert "server railyard:8000" in nginx and "proxy_buffering off" in nginx


def test_no_secret_has_a_default_and_dashboards_stay_on_loopback(compose):
    text = COMPOSE.read_text()
    # An optional secret may default to empty (HF_TOKEN, OPENAI_API_KEY); none to a value.
    defaulted = [n for n, default in REFERENCE.findall(text) if SECRET.search(n) and default[2:]]
    assert not defaulted, f"secrets with a default: {defaulted}"
    required = set(REQUIRED.findall(text))
    assert {
        "POSTGRES_PASSWORD",
        "POSTGRES_RAILYARD_PASSWORD",
        "REDIS_PASSWORD",
        "MINIO_SECRET_KEY",
        "GRAFANA_ADMIN_PASSWORD",
        "RAILYARD_METRICS_TOKEN",
        "RAILYARD_CACHE_SIGNING_KEY",
    } <= required
    assert not [v for k, v in env_example().items() if SECRET.search(k) and k != "HF_TOKEN" and v]
    assert "minioadmin" not in text and "change-me" not in text

    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy", "grafana"}
    assert all(p.startswith("${GRAFANA_BIND:-127.0.0.1}:") for p in services["grafana"]["ports"])
    assert "--requirepass" in services["redis"]["command"]
    assert "POSTGRES_USER" not in services["postgres"]["environment"]  # superuser: postgres
    assert services["railyard"]["environment"]["RAILYARD_DATABASE_URL"].startswith(
        "postgresql://railyard:"
    )


def test_the_gateway_role_is_no_superuser_and_migrates_its_database(database_url):
    """deploy/postgres-init.sh as the postgres image runs it, against a real Postgres (the test
    cluster's superuser is `railyard`): the role it makes cannot do what a superuser can, and
    the trace store's migrations run as it."""
    suffix = uuid.uuid4().hex[:6]
    role, db = f"gw_{suffix}", f"gw_db_{suffix}"
    url = psycopg.conninfo.conninfo_to_dict(database_url)
    env = os.environ | {
        "PGHOST": url["host"], "PGPORT": str(url["port"]), "POSTGRES_USER": url["user"],
        "RAILYARD_DB_USER": role, "RAILYARD_DB_NAME": db,
        "POSTGRES_RAILYARD_PASSWORD": "a-test-password",  # pragma: allowlist secret
    }  # fmt: skip
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed (apt-get install postgresql-client)")
    done = subprocess.run(
        ["sh", str(COMPOSE.parent / "postgres-init.sh")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    gateway_url = f"postgresql://{role}@{url['host']}:{url['port']}/{db}"
    with psycopg.connect(gateway_url, autocommit=True) as conn:
        flags = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = %s", (role,)
        ).fetchone()
        assert flags == (False, False, False)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE DATABASE should_not_exist")
    store = TraceStore(PostgresDatabase(gateway_url))
    trace_id = uuid.uuid4().hex
    store.record({
        "trace_id": trace_id, "created": time.time(), "project": "p", "route": "local",
        "outcome": "answered", "cost_usd": 0.0, "latency_ms": 1.0,
    })  # fmt: skip
    assert store.flush(10) and store.get(trace_id)["project"] == "p"
    store.close()


def test_the_proxy_denies_metrics(gateway, tmp_path):
    """deploy/nginx.conf in a real nginx in front of a gateway: the API passes, /metrics is
    refused (Prometheus scrapes each replica inside the network)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        if os.environ.get("RAILYARD_TEST_SERVERS") == "required":
            pytest.fail("nginx is not installed (apt-get install nginx)")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    port = free_port()
    conf = (COMPOSE.parent / "nginx.conf").read_text()
    upstream = gateway.url.removeprefix("http://")
    conf = conf.replace("server railyard:8000", f"server {upstream}").replace(
        "listen 8000;", f"listen 127.0.0.1:{port};"
    )
    where = f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
    conf = conf.replace("events {}", where + "events {}")
    (tmp_path / "nginx.conf").write_text(conf)
    (tmp_path / "logs").mkdir()
    proc = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(base + "/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert health.status_code == 200
        assert httpx.get(base + "/metrics", timeout=5).status_code == 403
        assert httpx.get(gateway.url + "/metrics", timeout=5).status_code == 200  # direct: open
    finally:
        proc.terminate()
        proc.wait(10)
