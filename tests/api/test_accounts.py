"""Accounts over HTTP: user tokens, revoke, expiry, disabled users, sign-in with argon2."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from firebreak import accounts
from firebreak.store.models import ApiToken, User
from tests.api.conftest import Api, auth, user_auth


def test_a_user_token_acts_as_that_user_with_their_roles(api: Api) -> None:
    headers = user_auth(api, "lena", "lead")
    me = api.client.get("/api/v1/auth/me", headers=headers)
    assert me.json() == {"name": "lena", "roles": ["lead"], "user": True, "slack_user_id": None}
    declared = api.client.post(
        "/api/v1/incidents",
        json={"playbook": "storm", "inputs": {"product": "app"}},
        headers=headers,
    )
    assert declared.status_code == 201 and declared.json()["incident"]["declared_by"] == "lena"
    signals = api.client.post("/api/v1/signals", json=[], headers=headers)
    assert signals.status_code == 403 and "your token has: lead" in signals.json()["detail"]


def test_tokens_are_stored_hashed_and_never_shown_again(api: Api) -> None:
    headers = user_auth(api, "lena", "lead")
    secret = headers["Authorization"].removeprefix("Bearer ")
    with Session(api.engine) as session:
        [row] = session.exec(select(ApiToken)).all()
        listed = accounts.list_tokens(session)
    assert secret not in row.token_hash and len(row.token_hash) == 64
    assert secret not in repr(listed)


def test_revoked_expired_and_disabled_are_refused(api: Api) -> None:
    headers = user_auth(api, "lena", "lead", "comms")
    assert api.client.get("/api/v1/incidents", headers=headers).status_code == 200
    with Session(api.engine, expire_on_commit=False) as session:
        second = accounts.create_token(session, username="lena")
        short = accounts.create_token(
            session, service="monitor", roles=["ingest"], expires_in=timedelta(hours=1)
        )
        session.commit()
    with Session(api.engine) as session:
        accounts.revoke_token(session, second.record.id or 0)
        token = session.get(ApiToken, short.record.id)
        assert token is not None
        token.expires_at = token.created_at - timedelta(seconds=1)
        session.add(token)
        session.commit()
    for secret in (second.secret, short.secret):
        refused = api.client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {secret}"})
        assert refused.status_code == 401 and refused.json() == {"detail": "Invalid bearer token"}
    with Session(api.engine) as session:
        accounts.disable_user(session, "lena")
        session.commit()
    assert api.client.get("/api/v1/incidents", headers=headers).status_code == 401


def test_service_token_holds_its_own_roles(api: Api) -> None:
    with Session(api.engine) as session:
        issued = accounts.create_token(session, service="twitter-feed", roles=["ingest"])
        session.commit()
    headers = {"Authorization": f"Bearer {issued.secret}"}
    assert api.client.post("/api/v1/signals", json=[], headers=headers).status_code == 200
    me = api.client.get("/api/v1/auth/me", headers=headers).json()
    assert me["name"] == "service:twitter-feed" and me["user"] is False


def test_first_admin_must_replace_the_one_time_password_then_signs_in(api: Api) -> None:
    with Session(api.engine) as session:
        once = accounts.ensure_first_admin(session)
        assert accounts.ensure_first_admin(session) is None  # only on a fresh install
        session.commit()
    assert once
    creds = {"username": "admin", "password": once}
    early = api.client.post("/api/v1/auth/token", json=creds)
    assert early.status_code == 403 and "one-time password" in early.json()["detail"]
    wrong = api.client.post("/api/v1/auth/token", json={**creds, "password": "guess" * 3})
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Wrong username or password"}
    short = api.client.post("/api/v1/auth/password", json={**creds, "new_password": "x"})
    assert short.status_code == 422 and "new_password" in short.json()["detail"]
    changed = api.client.post(
        "/api/v1/auth/password", json={**creds, "new_password": "correct horse battery"}
    )
    assert changed.status_code == 204
    assert api.client.post("/api/v1/auth/token", json=creds).status_code == 401  # spent
    signed = api.client.post(
        "/api/v1/auth/token", json={"username": "admin", "password": "correct horse battery"}
    )
    assert signed.status_code == 200 and signed.json()["roles"] == ["admin"]
    with Session(api.engine) as session:
        [admin] = session.exec(select(User)).all()
    assert admin.password_hash and admin.password_hash.startswith("$argon2id$")
    headers = {"Authorization": f"Bearer {signed.json()['token']}"}
    assert api.client.get("/api/v1/auth/me", headers=headers).json()["name"] == "admin"


def test_bootstrap_tokens_still_work_for_automation(api: Api) -> None:
    me = api.client.get("/api/v1/auth/me", headers=auth("ingest")).json()
    assert me["roles"] == ["ingest"] and me["user"] is False


def test_bad_account_requests_say_what_is_wrong(api: Api) -> None:
    with Session(api.engine) as session:
        for call, message in (
            (lambda: accounts.add_user(session, "Bad Name", ["lead"]), "is not a username"),
            (lambda: accounts.add_user(session, "ok", ["chief"]), "Unknown role(s) chief"),
            (lambda: accounts.add_user(session, "ok", ["lead"], password="short"), "at least"),
            (lambda: accounts.set_roles(session, "nobody", ["lead"]), "No user 'nobody'"),
            (lambda: accounts.create_token(session), "a user or to a service"),
        ):
            try:
                call()
            except accounts.AccountError as exc:
                assert message in str(exc)
            else:
                raise AssertionError(f"accepted: expected {message!r}")
        accounts.add_user(session, "root", ["admin"])
        try:
            accounts.disable_user(session, "root")
        except accounts.AccountError as exc:
            assert "last enabled admin" in str(exc)
        else:
            raise AssertionError("disabled the last admin")
