"""`firebreak sandbox` as a user runs it: another process, driven through its printed settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from integrations.sandbox import SandboxClient
from integrations.slack import SlackChat
from tests.integrations.conftest import FAST, closed_port

ROOT = Path(__file__).resolve().parents[2]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "sandbox", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
    )


def test_standalone_sandbox_prints_exports_that_work_and_stops_on_ctrl_c() -> None:
    proc = _start()
    try:
        exports: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export FIREBREAK_"):
                key, _, value = line.removeprefix("export ").strip().partition("=")
                exports[key] = value
            if "press Ctrl-C" in line:
                break
        assert set(exports) >= {
            "FIREBREAK_SLACK_TOKEN",
            "FIREBREAK_SLACK_BASE_URL",
            "FIREBREAK_JIRA_URL",
            "FIREBREAK_PAGERDUTY_BASE_URL",
            "FIREBREAK_PAGERDUTY_CA_FILE",
        }
        assert Path(exports["FIREBREAK_PAGERDUTY_CA_FILE"]).is_file()
        chat = SlackChat(
            exports["FIREBREAK_SLACK_TOKEN"],
            base_url=exports["FIREBREAK_SLACK_BASE_URL"],
            policy=FAST,
        )
        chat.post("general", "from another process")
        control = SandboxClient(exports["FIREBREAK_SLACK_BASE_URL"].removesuffix("/api/"))
        assert control.requests("slack")[0]["body"]["text"] == "from another process"
        control.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Sandbox stopped." in out


def test_port_in_use_is_a_clear_error_not_a_traceback() -> None:
    import socket

    port = closed_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        proc = _start("--port-base", str(port))
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert f"Could not start the sandbox on 127.0.0.1 (port base {port})" in err
    assert "Traceback" not in err
