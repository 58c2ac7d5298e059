"""Start and stop the real servers the tests talk to, each in its own process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**overrides: str) -> dict[str, str]:
    """This environment without railyard's or OpenAI's settings, plus `overrides`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RAILYARD_") and k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")
    }
    return env | overrides


class Server:
    """A child process serving HTTP on `port`; `stop()` ends its whole process group."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path):
        self.name, self.argv, self.env, self.port, self.log = name, argv, env, port, log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait(self, path: str, timeout: float) -> Server:
        """Wait until GET `path` answers 200; fail with the log's tail if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                if httpx.get(self.url + path, timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


def fault_server(name: str, log_dir: Path, upstream: str | None = None) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "lab.standin", "--port", str(port)]
    if upstream:
        argv += ["--upstream", upstream]
    return Server(name, argv, clean_env(), port, log_dir / f"{name}.log")


def railyard_serve(name: str, log_dir: Path, *args: str, **settings: str) -> Server:
    port = free_port()
    env = clean_env(
        RAILYARD_PORT=str(port), **{f"RAILYARD_{k.upper()}": v for k, v in settings.items()}
    )
    argv = [str(BIN / "railyard"), "serve", *args]
    return Server(name, argv, env, port, log_dir / f"{name}.log")


def milvus_lite_server(name: str, log_dir: Path, data_dir: Path) -> Server:
    """milvus-lite's own gRPC server (`milvus-lite server`), for processes that share an
    index; `url` is what RAILYARD_MILVUS_URI takes. Ready once its port accepts."""
    port = free_port()
    argv = [str(BIN / "milvus-lite"), "server", "--data-dir", str(data_dir)]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    return Server(name, argv, clean_env(), port, log_dir / f"{name}.log")


def wait_for_port(server: Server, timeout: float = 60) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc and server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.tail()}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", server.port)) == 0:
                return server
        time.sleep(0.2)
    raise TimeoutError(f"{server.name} not listening after {timeout:.0f} s:\n{server.tail()}")


def redis_server(name: str, log_dir: Path) -> Server:
    """A throwaway `redis-server` (Debian's redis-server package): no persistence."""
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no"]
    return Server(name, argv, clean_env(), port, log_dir / f"{name}.log")


def wait_for_redis(server: Server, timeout: float = 30) -> Server:
    import redis

    deadline = time.monotonic() + timeout
    client = redis.Redis(port=server.port, socket_timeout=1)
    while time.monotonic() < deadline:
        if server.proc and server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.tail()}")
        try:
            client.ping()
            return server
        except redis.RedisError:
            time.sleep(0.2)
    raise TimeoutError(f"{server.name} not ready after {timeout:.0f} s:\n{server.tail()}")


def postgres_server(name: str, log_dir: Path) -> Server:
    """A throwaway PostgreSQL cluster (Debian's postgresql package) in a directory of its own,
    trusting local connections, database `railyard`. PostgreSQL refuses to run as root: as
    root, the cluster belongs to the `postgres` user."""
    import glob
    import shutil
    import tempfile

    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    bindir = Path(binaries[-1]) if binaries else Path(shutil.which("initdb") or "initdb").parent
    data = Path(tempfile.mkdtemp(prefix="railyard-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_owner, str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U",
         "railyard", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    argv = [*as_owner, str(bindir / "postgres"), "-D", str(data / "db"), "-p", str(port)]
    argv += ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data}"]
    argv += ["-c", "fsync=off", "-c", "max_connections=200"]
    server = Server(name, argv, clean_env(), port, log_dir / f"{name}.log")
    server.data = data  # type: ignore[attr-defined]
    return server


def wait_for_postgres(server: Server, timeout: float = 60) -> str:
    """Wait until the cluster answers; create database `railyard`; its URL."""
    import psycopg

    base = f"postgresql://railyard@127.0.0.1:{server.port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc and server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.tail()}")
        try:
            with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=2) as db:
                db.execute("CREATE DATABASE railyard")
            return f"{base}/railyard"
        except psycopg.OperationalError:
            time.sleep(0.3)
    raise TimeoutError(f"{server.name} not ready after {timeout:.0f} s:\n{server.tail()}")


def new_database(url: str, prefix: str) -> str:
    """A database of its own on the cluster of `url` (for a test whose rows must not meet the
    session's shared one); its URL."""
    import uuid

    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    base = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as db:
        db.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"
