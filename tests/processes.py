"""Real processes for fault tests: `privacy-proxy serve` as users run it, and a private
PostgreSQL cluster that a test may stop and start without disturbing the machine's own server."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from .conftest import HASH_KEY, VENDOR_KEY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, process: subprocess.Popen[bytes], seconds: float = 240) -> None:
    """Wait for /healthz. Generous: importing spaCy and starting the detection pool takes
    well over a minute on a loaded two-core machine."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            assert process.poll() is None, "the server exited"
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def serve(config: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    """`privacy-proxy serve` in its own process, started and healthy."""
    env = {k: v for k, v in os.environ.items() if k not in ("PRIVACY_PROXY_CONFIG", "DATABASE_URL", "REDIS_URL")}
    env |= {"TEST_VENDOR_KEY": VENDOR_KEY, "PRIVACY_PROXY_HASH_KEY": HASH_KEY}
    command = [sys.executable, "-m", "proxy", "serve", "--config", str(config), "--port", str(port), *args]
    with open(config.parent / "serve.log", "ab") as log:  # the child keeps its own copy of the file
        process = subprocess.Popen(command, cwd=config.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(port, process)
    except AssertionError:
        process.kill()  # a server that never became healthy must not outlive the test
        raise
    return process


class PrivateCluster:
    """A throwaway PostgreSQL server (initdb + pg_ctl) on its own port. As root, it runs as the
    `postgres` user, since PostgreSQL refuses to run as root."""

    def __init__(self) -> None:
        # Not under pytest's tmp dir: the `postgres` user cannot enter root's private folders.
        self.directory = directory = Path(tempfile.mkdtemp(prefix="privacy-proxy-pg-"))
        self.port = free_port()
        self.data = directory / "data"
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin")) or [str(Path(shutil.which("pg_ctl") or "").parent)]
        self.bin = Path(found[-1])
        self._as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_owner:
            shutil.chown(directory, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as_owner, str(self.bin / tool), *args], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def create_database(self, name: str) -> str:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


class PrivateRedis:
    """A throwaway `redis-server` on its own port (no persistence), that a test may stop and start
    without disturbing the machine's own Redis."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None
