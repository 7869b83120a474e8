"""docs/security.md's endpoint table is the code's, and every role gets exactly what it says,
over real HTTP against a served app with account tokens."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import Session

from api import security
from api.auth import ROLES
from firebreak import accounts
from firebreak.store.db import engine_for
from tests.api.conftest import Api
from tests.api.live import ROOT, Live, live_api

DOC = ROOT / "docs" / "security.md"


def test_the_table_in_the_docs_is_current(api: Api) -> None:
    written = DOC.read_text(encoding="utf-8")
    assert security.table(api.client.app) in written, (  # type: ignore[arg-type]
        "docs/security.md is out of date: paste the output of `python -m api.security`"
    )
    assert security.parse(written) == security.endpoints(api.client.app)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, dict[str, str]]]:
    with live_api(tmp_path_factory.mktemp("matrix")) as live:
        engine = engine_for(f"sqlite:///{(live.home / 'firebreak.db').resolve()}")
        tokens = {}
        with Session(engine) as session:
            for role in ROLES:
                accounts.add_user(session, f"as-{role}", [role])
                tokens[role] = accounts.create_token(session, username=f"as-{role}").secret
            session.commit()
        yield live, tokens


def _concrete(path: str) -> str:
    return path.replace("{incident_id}", "1").replace("{step_id}", "approve")


CASES = [(e, role) for e in security.parse(DOC.read_text(encoding="utf-8")) for role in ROLES]


@pytest.mark.parametrize(("endpoint", "role"), CASES, ids=lambda v: str(getattr(v, "path", v)))
def test_each_role_against_each_endpoint(
    served: tuple[Live, dict[str, str]], endpoint: security.Endpoint, role: str
) -> None:
    live, tokens = served
    url = live.url + _concrete(endpoint.path)
    body = [] if endpoint.path.endswith("/signals") else {}
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    answer = httpx.request(endpoint.method, url, json=body, headers=headers, timeout=30)
    if endpoint.admits == security.SLACK:
        # No bearer token opens it: only Slack's signature (unset here: 503 says so).
        assert answer.status_code in (401, 503), answer.text
    elif endpoint.admits.startswith("anyone"):
        assert answer.status_code not in (401, 403), answer.text
        bare = httpx.request(endpoint.method, url, json=body, timeout=30)
        assert bare.status_code == answer.status_code
    elif role in endpoint.admits.split(", "):
        assert answer.status_code not in (401, 403), answer.text
    else:
        assert answer.status_code == 403, answer.text
        detail = answer.json()["detail"]
        named = detail.split("admits roles: ", 1)[1].split(";", 1)[0]
        assert sorted(named.split(", ")) == endpoint.admits.split(", ")
        assert detail.endswith(f"your token has: {role}")
    if not endpoint.admits.startswith("anyone") and endpoint.admits != security.SLACK:
        missing = httpx.request(endpoint.method, url, json=body, timeout=30)
        assert missing.status_code == 401


def test_every_route_declares_who_it_admits(api: Api) -> None:
    paths = {e.path for e in security.endpoints(api.client.app)}  # type: ignore[arg-type]
    served_paths = {p for p in api.client.get("/openapi.json").json()["paths"]}
    assert paths == served_paths
