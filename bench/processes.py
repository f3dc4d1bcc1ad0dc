"""Start the benchmark's servers in their own processes on 127.0.0.1, and stop them whatever happens:
the mock vendor, privacy-proxy (`python -m proxy serve`), and when bench/.litellm-venv exists the
LiteLLM proxy and the Presidio services its guardrail calls."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
LITELLM_VENV = BENCH / ".litellm-venv"
HOST = "127.0.0.1"
HASH_KEY = "bench-hash-key"
STARTUP_TIMEOUT = 300.0  # seconds; every proxy loads spaCy, and the machine may be small and busy
ALLOW_ALL_POLICY = "id: allow-all\nversion: 1\nrules: []\n"


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    health: str = "/healthz"
    headers: dict[str, str] = field(default_factory=dict)  # what a client must send (LiteLLM's key)
    helpers: list[Server] = field(default_factory=list)  # servers it calls on every request (Presidio)

    def cpu_seconds(self) -> float:
        """CPU time used so far by this server's process tree (detection processes, uvicorn
        workers) and its helpers': what a request costs, whatever else the machine is doing."""
        pids = _descendants(self.process.pid)
        for helper in self.helpers:
            pids |= _descendants(helper.process.pid)
        return sum(_cpu(pid) for pid in pids)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _stat(pid: int) -> list[str]:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text[text.rindex(")") + 2 :].split()  # the fields after "pid (name)"


def _cpu(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0  # utime + stime


def _descendants(root: int) -> set[int]:
    parents = {
        int(p.name): int(f[1]) for p in Path("/proc").iterdir() if p.name.isdigit() and (f := _stat(int(p.name)))
    }
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PRIVACY_PROXY_SERVE", "PRIVACY_PROXY_CONFIG", "PRIVACY_PROXY_WORKERS", "DATABASE_URL"):
        env.pop(name, None)  # would override the temporary config
    env["PRIVACY_PROXY_HASH_KEY"] = HASH_KEY
    env["NO_PROXY"] = env["no_proxy"] = f"{HOST},localhost"  # vendor calls stay local
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def launch(stack: ExitStack, name: str, command: list[str], port: int, log: Path, **options: object) -> Server:
    """Start a server process; it is stopped when `stack` closes, whatever happened."""
    env = options.pop("env", None) or child_env()
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)  # type: ignore[arg-type]
    server = Server(name, f"http://{HOST}:{port}", process, log, **options)  # type: ignore[arg-type]
    stack.callback(stop, server)
    return server


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def wait_healthy(server: Server, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
            try:
                if client.get(server.url + server.health).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
    raise RuntimeError(f"{server.name} did not answer {server.health} within {timeout:.0f} s:\n{server.log_tail()}")


def uvicorn(python: Path | str, app: str, port: int) -> list[str]:
    return [str(python), "-m", "uvicorn", app, "--host", HOST, "--port", str(port), "--log-level", "warning"]


def start_vendor(stack: ExitStack, tmp: Path) -> Server:
    port = free_port()
    command = [*uvicorn(sys.executable, "bench.vendor_app:app", port), "--no-access-log"]
    return launch(stack, "mock vendor", command, port, tmp / "vendor.log")


def start_proxy(
    stack: ExitStack, name: str, directory: Path, vendor_url: str, policies: Path | None, workers: int = 1
) -> Server:
    """privacy-proxy as deployed: `serve` with its defaults (detection pool sized by the CPUs)."""
    directory.mkdir(parents=True, exist_ok=True)
    if policies is None:  # allow-all
        policies = directory / "policies"
        policies.mkdir()
        (policies / "allow-all.yaml").write_text(ALLOW_ALL_POLICY)
    config = {
        "server": {"host": HOST},
        "database_url": f"sqlite:///{directory / 'proxy.db'}",
        "policies": str(policies),
        "upstreams": [{"name": "mock", "kind": "openai-compatible", "base_url": vendor_url + "/v1", "models": ["*"]}],
        "storage": {"spool_path": str(directory / "spool.jsonl")},
    }
    path = directory / "proxy.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    command = [sys.executable, "-m", "proxy", "serve", "--config", str(path), "--port", str(port)]
    command += ["--workers", str(workers)]
    return launch(stack, f"privacy-proxy, {name}", command, port, directory / "proxy.log")


def litellm_available() -> bool:
    return (LITELLM_VENV / "bin" / "litellm").exists()


def start_presidio(stack: ExitStack, tmp: Path) -> tuple[Server, Server]:
    """Presidio's analyzer and anonymizer HTTP services (bench/presidio_services.py), in LiteLLM's venv."""
    python = LITELLM_VENV / "bin" / "python"
    servers = []
    for service in ("analyzer", "anonymizer"):
        port = free_port()
        command = uvicorn(python, f"bench.presidio_services:{service}", port)
        servers.append(
            launch(stack, f"presidio {service}", command, port, tmp / f"presidio-{service}.log", health="/health")
        )
    return servers[0], servers[1]


def start_litellm(
    stack: ExitStack, name: str, tmp: Path, vendor_url: str, presidio: tuple[Server, Server] | None = None
) -> Server:
    """The LiteLLM proxy (one uvicorn worker, its default) with bench/litellm.yaml, or with the
    Presidio guardrail (bench/litellm-presidio.yaml) when `presidio` is given."""
    master_key = "sk-bench-" + secrets.token_hex(32)  # LiteLLM refuses to start without a strong key
    env = child_env(
        MOCK_VENDOR_URL=vendor_url + "/v1",
        LITELLM_MASTER_KEY=master_key,
        LITELLM_LOCAL_MODEL_COST_MAP="True",  # no fetch of the price list from the internet
    )
    config = BENCH / "litellm.yaml"
    if presidio is not None:
        config = BENCH / "litellm-presidio.yaml"
        env["PRESIDIO_ANALYZER_API_BASE"], env["PRESIDIO_ANONYMIZER_API_BASE"] = presidio[0].url, presidio[1].url
    port = free_port()
    command = [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config), "--host", HOST, "--port", str(port)]
    log = tmp / f"{name.replace(' ', '-').replace('+', '')}.log"
    headers = {"authorization": f"Bearer {master_key}"}
    helpers = list(presidio or ())
    return launch(
        stack, name, command, port, log, env=env, health="/health/liveliness", headers=headers, helpers=helpers
    )
