"""Test-wide set-up: every test runs against its own Firebreak home, never the user's.

Prefect keeps one home for the whole run (its ephemeral server starts once per process; a warm
home makes later runs faster), under .firebreak/test-prefect.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

os.environ.setdefault("PREFECT_HOME", str(ROOT / ".firebreak" / "test-prefect"))
# Prefect creates its home without parents; on a fresh clone .firebreak/ does not exist yet, and
# its ephemeral server then cannot create its database and never answers.
Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
for key in [k for k in os.environ if k.startswith("FIREBREAK_")]:
    del os.environ[key]  # a developer's own settings must not leak into the tests


@pytest.fixture
def firebreak_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh home (SQLite database inside) for one test, with settings re-read."""
    from firebreak.settings import get_settings

    monkeypatch.setenv("FIREBREAK_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[object]:
    """The loopback Slack, Jira and PagerDuty emulators, shared by the whole run."""
    from integrations.sandbox import Sandbox

    with Sandbox() as box:
        yield box


@pytest.fixture
def sandboxed(sandbox, firebreak_home: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Settings pointing at a freshly reset sandbox and a fresh home."""
    from firebreak.settings import get_settings

    sandbox.reset()
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    return sandbox


def shared_or_skip(*parts: str) -> Path:
    """A path under ../shared, or skip: a user's fresh clone does not have it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (it ships only beside the team's checkout and in CI)")
    return path


@pytest.fixture
def people(firebreak_home: Path) -> Iterator[None]:
    """Someone approves every approval and acknowledges every ack while the test runs."""
    from sqlmodel import Session

    from firebreak import gates
    from firebreak.settings import get_settings
    from firebreak.store.db import engine_for

    stop = threading.Event()
    # Read here, not in the thread: a get_settings() racing the test's own cache_clear() could
    # cache settings from before the test changed its environment.
    db = engine_for(get_settings().effective_database_url)

    def answer() -> None:
        decisions = {"approval": "approve", "ack": "acknowledge"}
        while not stop.wait(0.1):
            with Session(db) as session:
                for gate in gates.pending_gates(session):
                    gates.decide(
                        session,
                        incident_id=gate.incident_id,
                        step_id=gate.step_id,
                        decision=decisions[gate.kind],
                        by="test-person",
                    )
                    session.commit()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """A real PostgreSQL (Debian's package) on loopback, migrated; one for the whole run."""
    from firebreak.store.db import make_engine, upgrade
    from tests.pg import postgres_server

    with postgres_server() as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()
