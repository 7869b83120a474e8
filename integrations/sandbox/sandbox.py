"""`Sandbox`: the three emulators on loopback, with one recorder, fault rules and a control API.

In-process: `with Sandbox() as sb: ... sb.requests("slack")`. From another process (a standalone
`firebreak sandbox`): `SandboxClient(sb.control_url)` talks to `/_sandbox/*` on the Slack port.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import trustme

from integrations.sandbox.base import EmulatorServer, Fault, Hub, Reply, Request, json_reply
from integrations.sandbox.jira import JiraEmulator
from integrations.sandbox.pagerduty import PagerDutyEmulator
from integrations.sandbox.slack import SlackEmulator

SERVICES = ("slack", "jira", "pagerduty")


@cache
def _sandbox_roles() -> Any:
    from firebreak.roles import DEFAULT_ROLES_FILE, RoleBindings

    return RoleBindings.load(DEFAULT_ROLES_FILE)


def bound_routing_keys() -> tuple[str, ...]:
    """The PagerDuty routing keys the sandbox role bindings name: the sandbox's PagerDuty has a
    service (an Events API v2 integration) for each, as a real account has for the keys it gave."""
    roles = _sandbox_roles()
    return tuple(sorted({k for name in roles.names if (k := roles.routing_key(name))}))


def jira_people() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The usernames and account ids the sandbox role bindings assign Jira tasks to: the
    sandbox's Jira has these people (both flavours), as a real site has its staff."""
    roles = _sandbox_roles()
    bindings = [roles.get(name) for name in roles.names]
    names = tuple(sorted({b.jira_assignee for b in bindings if b.jira_assignee}))
    ids = tuple(sorted({b.jira_account_id for b in bindings if b.jira_account_id}))
    return names, ids


def workspace_channels() -> tuple[str, ...]:
    """The sandbox workspace holds #general and every channel the sandbox role bindings name,
    as a real workspace holds the channels its roles are bound to."""
    roles = _sandbox_roles()
    named = {roles.get(name).slack_channel for name in roles.names}
    return ("general", *sorted(c.lstrip("#") for c in named if c))


class Sandbox:
    """Loopback Slack, Jira and PagerDuty emulators sharing one recorder and one set of faults."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port_base: int = 0,
        project: str = "CRISIS",
        channels: tuple[str, ...] | None = None,
        state_dir: Path | None = None,
        jira_flavour: str = "datacenter",
    ) -> None:
        self.hub = Hub()
        self.slack_token = "xoxb-sandbox-" + secrets.token_hex(8)
        self.slack_signing_secret = secrets.token_hex(16)
        # Cloud: the account's email with an API token (Basic); Data Center: the token is a
        # personal access token, sent as Bearer.
        self.jira_user = "firebreak@example.test"
        self.jira_token = "sandbox-" + secrets.token_hex(8)
        self.jira_project = project
        self.routing_key = secrets.token_hex(16)  # PagerDuty keys are 32 characters
        self.slack = SlackEmulator(self.slack_token, channels or workspace_channels())
        usernames, account_ids = jira_people()
        self.jira = JiraEmulator(
            self.jira_user,
            self.jira_token,
            project,
            flavour=jira_flavour,
            usernames=usernames,
            account_ids=account_ids,
        )
        self._jira_flavour = jira_flavour
        self.pagerduty = PagerDutyEmulator((self.routing_key, *bound_routing_keys()))
        for emulator in (self.slack, self.jira, self.pagerduty):
            self.hub.emulators[emulator.service] = emulator

        self._own_dir = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="firebreak-sandbox-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        self.ca_file = self.state_dir / "sandbox-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        tls = _server_tls(ca, host)

        def port(offset: int) -> int:
            return port_base + offset if port_base else 0

        self._servers: dict[str, EmulatorServer] = {}
        try:
            for offset, emulator in enumerate((self.slack, self.jira, self.pagerduty)):
                self._servers[emulator.service] = EmulatorServer(
                    emulator,
                    self.hub,
                    self._control,
                    host=host,
                    port=port(offset),
                    tls=tls if emulator is self.pagerduty else None,
                )
        except OSError:
            # A port already in use: release what was bound and the CA directory, then say so.
            for server in self._servers.values():
                server.stop()
            if self._own_dir:
                shutil.rmtree(self.state_dir, ignore_errors=True)
            raise
        self.jira.base_url = self._servers["jira"].url
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if not self._started:
            for server in self._servers.values():
                server.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            for server in self._servers.values():
                server.stop()
            self._started = False
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where things are ----------------------------------------------------------------------
    def url(self, service: str) -> str:
        return self._servers[service].url

    @property
    def jira_flavour(self) -> str:
        return self.jira.flavour

    @jira_flavour.setter
    def jira_flavour(self, value: str) -> None:
        """Switch the Jira emulator to the other flavour (its issues are forgotten)."""
        self.jira.flavour = value
        self.jira.reset()

    @property
    def control_url(self) -> str:
        return self.url("slack")

    def env(self) -> dict[str, str]:
        """The `FIREBREAK_*` settings that point the adapters at this sandbox."""
        return {
            "FIREBREAK_SLACK_TOKEN": self.slack_token,
            "FIREBREAK_SLACK_BASE_URL": self.url("slack") + "/api/",
            "FIREBREAK_SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "FIREBREAK_JIRA_FLAVOUR": self.jira_flavour,
            "FIREBREAK_JIRA_URL": self.url("jira"),
            "FIREBREAK_JIRA_USER": self.jira_user,
            "FIREBREAK_JIRA_TOKEN": self.jira_token,
            "FIREBREAK_JIRA_PROJECT": self.jira_project,
            "FIREBREAK_PAGERDUTY_ROUTING_KEY": self.routing_key,
            "FIREBREAK_PAGERDUTY_BASE_URL": self.url("pagerduty"),
            "FIREBREAK_PAGERDUTY_CA_FILE": str(self.ca_file),
        }

    # -- inspection and faults -------------------------------------------------------------------
    def requests(self, service: str | None = None) -> list[Request]:
        return self.hub.requests(service)

    def state(self, service: str) -> dict[str, Any]:
        return self.hub.emulators[service].state()

    def fail(
        self,
        service: str,
        match: str = "",
        status: int = 429,
        retry_after: int | None = 1,
        times: int | None = 1,
        after: int = 0,
    ) -> None:
        """Answer the next `times` requests matching `match` ("METHOD /path" regex) with `status`,
        once `after` matching requests have gone through.

        `times=None` keeps failing until `reset()`.
        """
        self.hub.add_fault(Fault(service, match, status, retry_after, times, after=after))

    def slow(
        self, service: str, match: str = "", seconds: float = 1.0, times: int | None = None
    ) -> None:
        """Delay matching requests by `seconds` before answering them normally."""
        self.hub.add_fault(Fault(service, match, None, None, times, seconds))

    def reset(self) -> None:
        """Forget recorded requests, fault rules and every emulator's state; Jira goes back to
        the flavour the sandbox was started with."""
        self.jira.flavour = self._jira_flavour
        self.hub.reset()

    def _control(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        route = (method, path.removeprefix("/_sandbox/").rstrip("/"))
        if route == ("GET", "requests"):
            service = query.get("service")
            if service and service not in SERVICES:
                return json_reply({"error": f"unknown service {service!r}"}, 400)
            return json_reply([r.to_json() for r in self.requests(service or None)])
        if route == ("GET", "state"):
            return json_reply({s: self.state(s) for s in SERVICES})
        if route == ("POST", "reset"):
            self.reset()
            return json_reply({"ok": True})
        if route == ("POST", "faults"):
            try:
                self.hub.add_fault(_fault_from_json(body))
            except (TypeError, ValueError, KeyError) as e:
                return json_reply({"error": f"invalid fault: {e}"}, 400)
            return json_reply({"ok": True}, 201)
        return json_reply({"error": f"no control route {method} {path}"}, 404)


def _fault_from_json(body: Any) -> Fault:
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    kind = body.get("kind", "fail")
    if kind not in ("fail", "slow"):
        raise ValueError("'kind' must be 'fail' or 'slow'")
    times = body.get("times", 1 if kind == "fail" else None)
    if kind == "slow":
        return Fault(
            body["service"],
            body.get("match", ""),
            None,
            None,
            times,
            float(body.get("seconds", 1.0)),
        )
    return Fault(
        body["service"],
        str(body.get("match", "")),
        int(body.get("status", 429)),
        body.get("retry_after", 1),
        times,
        after=int(body.get("after", 0)),
    )


def _server_tls(ca: trustme.CA, host: str) -> Any:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    names = {host, "127.0.0.1", "localhost"}
    ca.issue_cert(*sorted(names)).configure_cert(context)
    return context


class SandboxClient:
    """The control API of a sandbox running in another process."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self._http = httpx.Client(base_url=url.rstrip("/") + "/_sandbox/", timeout=timeout)

    def requests(self, service: str | None = None) -> list[dict[str, Any]]:
        params = {"service": service} if service else {}
        return self._checked(self._http.get("requests", params=params))

    def state(self) -> dict[str, Any]:
        return self._checked(self._http.get("state"))

    def fail(
        self,
        service: str,
        match: str = "",
        status: int = 429,
        retry_after: int | None = 1,
        times: int | None = 1,
    ) -> None:
        self._checked(
            self._http.post(
                "faults",
                json={
                    "kind": "fail",
                    "service": service,
                    "match": match,
                    "status": status,
                    "retry_after": retry_after,
                    "times": times,
                },
            )
        )

    def slow(
        self, service: str, match: str = "", seconds: float = 1.0, times: int | None = None
    ) -> None:
        self._checked(
            self._http.post(
                "faults",
                json={
                    "kind": "slow",
                    "service": service,
                    "match": match,
                    "seconds": seconds,
                    "times": times,
                },
            )
        )

    def reset(self) -> None:
        self._checked(self._http.post("reset"))

    def close(self) -> None:
        self._http.close()

    @staticmethod
    def _checked(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise ValueError(f"sandbox control API refused: {response.json().get('error')}")
        return response.json()
