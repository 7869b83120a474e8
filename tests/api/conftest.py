"""Apps built per test on their own SQLite file, tokens and playbooks folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.signals.helpers import write_playbooks

TOKENS = {
    "tok-ingest": ["ingest"],
    "tok-lead": ["lead"],
    "tok-comms": ["comms"],
    "tok-reviewer": ["reviewer"],
    "tok-admin": ["admin"],
}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{role}"}


class Api:
    def __init__(self, client: TestClient, launched: list[int], settings: Any) -> None:
        self.client = client
        self.launched = launched
        self.settings = settings
        self.engine = client.app.state.engine  # type: ignore[attr-defined]


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    from api.main import create_app
    from firebreak.settings import Settings

    built: list[Api] = []

    def build(**overrides: Any) -> Api:
        launched: list[int] = []
        settings = Settings(
            home=tmp_path / "home",
            playbooks_dir=write_playbooks(tmp_path / "playbooks"),
            api_tokens=TOKENS,
            **overrides,
        )
        app = create_app(settings, launcher=launched.append)
        built.append(Api(TestClient(app, raise_server_exceptions=False), launched, settings))
        return built[-1]

    yield build
    for api in built:  # the ingestion worker process, as the app's shutdown would
        api.client.app.state.ingestor.close()  # type: ignore[attr-defined]


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


def user_auth(api: Api, username: str, *roles: str, slack: str | None = None) -> dict[str, str]:
    """A user with `roles` in the app's database and the headers of a token of theirs."""
    from sqlmodel import Session

    from firebreak import accounts

    with Session(api.engine, expire_on_commit=False) as session:
        accounts.add_user(session, username, list(roles), slack_user_id=slack)
        issued = accounts.create_token(session, username=username)
        session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}
