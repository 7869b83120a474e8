"""`firebreak replay FILE` in-process: bad rows reported by line, the rest stored."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from firebreak.store.db import engine_for
from firebreak.store.models import Incident, Signal
from tests.signals.helpers import burst, write_playbooks


@pytest.fixture
def home(firebreak_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from firebreak.settings import get_settings

    monkeypatch.setenv("FIREBREAK_PLAYBOOKS_DIR", str(write_playbooks(firebreak_home / "pb")))
    get_settings.cache_clear()
    return firebreak_home


def _count(home: Path, table: type) -> int:
    db = engine_for(f"sqlite:///{(home / 'firebreak.db').resolve()}")
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_replay_ndjson_with_a_bad_line(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "stream.ndjson"
    lines = [orjson.dumps(item) for item in burst(30)]
    lines.insert(2, b'{"text": "no time", "created_at": "soon"}')
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(app, ["replay", str(path), "--no-launch", "--batch", "7"])
    assert result.exit_code == 0, result.output
    assert "line 3:" in result.output and "created_at" in result.output
    assert _count(home, Signal) == 30
    assert _count(home, Incident) == 1  # the burst crossed the storm playbook's threshold
    again = CliRunner().invoke(app, ["replay", str(path), "--no-launch"])
    assert _count(home, Signal) == 30 and "│ 0        │ 30" in again.output


def test_replay_csv_with_named_columns_and_a_bad_row(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "tweets.csv"
    path.write_text(
        "tweet_id,posted,message,handle\n"
        "1,2024-05-01 10:00:00,bag lost,ann\n"
        "2,2024-05-01 10:01:00,,bob\n"
        "3,2024-05-01 10:02:00,late again,carl\n"
    )
    args = [
        "replay",
        str(path),
        "--format",
        "csv",
        "--time-column",
        "posted",
        "--text-column",
        "message",
        "--author-column",
        "handle",
        "--id-column",
        "tweet_id",
        "--source",
        "twitter",
        "--no-launch",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "line 3:" in result.output and "text" in result.output
    assert _count(home, Signal) == 2


def test_replay_missing_column_and_file_are_clear(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("posted,message\n2024-05-01,hi\n")
    result = CliRunner().invoke(
        app, ["replay", str(path), "--format", "csv", "--text-column", "body", "--no-launch"]
    )
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # Rich wraps long lines
    assert "'body'" in said and "its columns are: posted, message" in said
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["replay", str(tmp_path / "nope.ndjson")])
    assert missing.exit_code == 1 and "no such file" in " ".join(missing.output.split())
