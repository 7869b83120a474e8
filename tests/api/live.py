"""A real uvicorn process on loopback serving the app, for tests that need real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from tests.api.conftest import TOKENS
from tests.signals.helpers import write_playbooks

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Live:
    url: str
    host: str
    port: int
    pid: int
    home: Path

    def peak_rss_bytes(self) -> int:
        """The server process's peak resident memory so far (VmHWM), from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM in /proc status")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_api(tmp_path: Path, **env: str) -> Iterator[Live]:
    """Start the API under uvicorn (h11, one worker); stop it at the end."""
    home = tmp_path / "home"
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FIREBREAK_")}
    environ.update(
        FIREBREAK_HOME=str(home),
        FIREBREAK_PLAYBOOKS_DIR=str(write_playbooks(tmp_path / "playbooks")),
        FIREBREAK_API_TOKENS=orjson.dumps(TOKENS).decode(),
        PYTHONPATH=str(ROOT),
        **env,
    )
    command = [
        sys.executable, "-m", "uvicorn", "tests.api.served:create", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=environ, cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):  # the server answers within seconds; a minute under heavy load
            if server.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {server.returncode}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the API did not answer /healthz within a minute")
        yield Live(url, "127.0.0.1", port, server.pid, home)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
