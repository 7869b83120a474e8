"""A throwaway PostgreSQL server on loopback for the tests that must run on it.

Debian's binaries (`/usr/lib/postgresql/*/bin`) run from a temporary data directory. PostgreSQL
refuses to run as root, so under root the server runs as an unprivileged user that owns the
directory. Skips, saying why, when the binaries are absent.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _runner() -> list[str]:
    """Commands run as this user, or as an unprivileged one when we are root."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        if shutil.which("runuser") and _user_exists(user):
            return ["runuser", "-u", user, "--"]
    pytest.skip("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL")


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server, yield its SQLAlchemy URL (database `firebreak`), stop it after."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    pytest.importorskip("psycopg2", reason="psycopg2 is needed to talk to PostgreSQL")
    run_as = _runner()
    root = Path(tempfile.mkdtemp(prefix="firebreak-pg-"))
    data = root / "data"
    if run_as:
        import pwd

        user = pwd.getpwnam(run_as[2])
        os.chown(root, user.pw_uid, user.pw_gid)
    port = _free_port()
    log = root / "server.log"

    def run(*args: str) -> None:
        done = subprocess.run([*run_as, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}")

    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "firebreak",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {root} -F",
            "start",
        )
        try:
            run(
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "firebreak",
                "firebreak",
            )
            yield f"postgresql+psycopg2://firebreak@127.0.0.1:{port}/firebreak"
        finally:
            subprocess.run(
                [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
