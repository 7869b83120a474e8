"""`firebreak user ...` and `firebreak token ...` against a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from cli.main import app
from firebreak import accounts
from firebreak.settings import get_settings
from firebreak.store.db import engine_for


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FIREBREAK_HOME", str(tmp_path))
    monkeypatch.delenv("FIREBREAK_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=stdin, env={"COLUMNS": "300"})
    return result.exit_code, result.output


def test_user_and_token_lifecycle(home: Path) -> None:
    code, out = run("user", "add", "lena", "--roles", "lead,comms", stdin="a long password\n" * 2)
    assert code == 0 and "User lena added: comms, lead." in out
    code, out = run("user", "add", "feed", "--roles", "ingest", "--no-password")
    assert code == 0
    code, out = run("user", "add", "lena", "--roles", "lead", "--no-password")
    assert code == 1 and "User 'lena' already exists." in out
    code, out = run("user", "add", "x", "--roles", "chief", "--no-password")
    assert code == 1 and "Unknown role(s) chief" in out
    code, out = run("user", "set-role", "lena", "reviewer")
    assert code == 0 and "now has: reviewer" in out
    code, out = run("user", "link-slack", "lena", "U0LENA01")
    assert code == 0

    code, out = run("token", "create", "--user", "lena", "--expires", "30d")
    assert code == 0 and "Shown once" in out
    secret = out.split()[-1]
    assert secret.startswith("fbk_")
    engine = engine_for(get_settings().effective_database_url)
    with Session(engine) as session:
        principal = accounts.authenticate_token(session, secret)
    assert principal is not None and principal.name == "lena" and principal.slack_user == "U0LENA01"

    code, out = run("token", "list")
    assert code == 0 and "lena" in out and "active" in out and secret not in out
    code, out = run("token", "create", "--service", "feed", "--roles", "ingest")
    assert code == 0
    code, out = run("token", "create", "--expires", "soon", "--user", "lena")
    assert code == 1 and "--expires 'soon'" in out
    code, out = run("token", "revoke", "1")
    assert code == 0 and "Token 1 revoked." in out
    with Session(engine) as session:
        assert accounts.authenticate_token(session, secret) is None
    code, out = run("token", "list")
    assert "revoked" in out

    code, out = run("user", "disable", "lena")
    assert code == 0
    code, out = run("user", "list")
    assert code == 0 and "disabled" in out and "U0LENA01" in out
    code, out = run("user", "disable", "nobody")
    assert code == 1 and "No user 'nobody'" in out


def test_serve_on_a_fresh_install_creates_the_first_admin_once(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.serve import _first_admin

    _first_admin(get_settings())
    out = capsys.readouterr().out
    assert "user admin, one-time password" in out and "firebreak user passwd admin" in out
    password = out.split("one-time password", 1)[1].split()[0]
    engine = engine_for(get_settings().effective_database_url)
    with Session(engine) as session:
        admin = accounts.check_password(session, "admin", password)
        assert admin is not None and admin.must_change_password and admin.roles == ["admin"]
    _first_admin(get_settings())
    assert capsys.readouterr().out == ""  # a second start creates nobody, prints nothing


def test_incident_controls_from_the_command_line(home: Path) -> None:
    from firebreak import incidents

    engine = engine_for(get_settings().effective_database_url)
    with Session(engine) as session:
        incident, _ = incidents.open_or_escalate(
            session, title="Outage", playbook="storm", scope="acme", severity="sev2"
        )
        session.commit()
        incident_id = str(incident.id)
    code, out = run("incident", "severity", incident_id, "sev1", "-m", "press", "--by", "lena")
    assert code == 0 and "changed by lena: open, sev1" in out
    code, out = run("incident", "severity", incident_id, "sev7", "-m", "x")
    assert code == 1 and "'sev7' is not one of sev1" in out
    code, out = run("incident", "note", incident_id, "CEO briefed", "--by", "lena")
    assert code == 0
    code, out = run("incident", "resolve", incident_id, "-m", "Fixed", "--by", "lena")
    assert code == 0 and "resolved by lena: resolved" in out
    code, out = run("incident", "resolve", "999", "-m", "Fixed")
    assert code == 1 and "No incident with id 999" in out
    with Session(engine) as session:
        events = [(e.kind, e.actor) for e in incidents.timeline(session, int(incident_id))]
    assert events[1:] == [
        ("severity.raised", "lena"),
        ("note", "lena"),
        ("incident.resolved", "lena"),
    ]
