"""TrackerPort over Jira REST v2 (`jira.JIRA`).

Issues are created with ids (project, issue type) looked up once, and `prefetch=False`, so each
issue is a single `POST /rest/api/2/issue`. Tasks hang under their epic through `parent`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from jira import JIRA, JIRAError

from firebreak.ports import IntegrationError, IssueRef, IssueStatus, TaskSpec
from integrations.policy import DEFAULT_POLICY, RetryPolicy

# The client logs each retry it makes as a warning with the raw exception; we report the outcome
# as one IntegrationError (and the timeline says it), so its per-attempt chatter stays quiet.
logging.getLogger("jira.resilientsession").setLevel(logging.ERROR)

SERVICE = "jira"
T = TypeVar("T")


class JiraTracker:
    """TrackerPort: an epic per incident, tasks under it, comments, transitions and status."""

    def __init__(
        self,
        url: str,
        user: str,
        token: str,
        *,
        project: str,
        policy: RetryPolicy = DEFAULT_POLICY,
        epic_type: str = "Epic",
        task_type: str = "Task",
    ) -> None:
        self.url = url.rstrip("/")
        self.project = project
        self._epic_type, self._task_type = epic_type, task_type
        self._ids: dict[str, str] | None = None
        self._lock = threading.Lock()
        # No server-info call at construction: a misconfigured URL shows up on first use, as an
        # IntegrationError, instead of failing whoever merely builds the adapter.
        self._client = JIRA(
            server=self.url,
            basic_auth=(user, token),
            get_server_info=False,
            max_retries=policy.retries,
            timeout=policy.timeout,
            options={"check_update": False},
        )
        self._client._session.max_retry_delay = policy.max_delay  # type: ignore[assignment]

    def check(self) -> str:
        """Verify URL and credentials; returns the server version."""
        info = self._call("read server info", self._client.server_info)
        return str(info.get("version", "?"))

    def create_epic(
        self, summary: str, description: str = "", *, labels: list[str] | None = None
    ) -> IssueRef:
        fields = self._fields(self._epic_type, summary, description, labels or [])
        return self._create(fields)

    def create_tasks(self, epic_key: str, tasks: list[TaskSpec]) -> list[IssueRef]:
        refs = []
        for task in tasks:
            fields = self._fields(self._task_type, task.summary, task.description, task.labels)
            fields["parent"] = {"key": epic_key}
            if task.assignee:
                fields["assignee"] = {"name": task.assignee}
            if task.due:
                fields["duedate"] = task.due
            refs.append(self._create(fields))
        return refs

    def comment(self, key: str, body: str) -> None:
        self._call(f"comment on {key}", lambda: self._client.add_comment(key, body))

    def transition(self, key: str, to: str) -> None:
        def move() -> None:
            names = {t["name"].lower(): t["id"] for t in self._client.transitions(key)}
            if to.lower() not in names:
                raise IntegrationError(
                    SERVICE,
                    f"Jira issue {key} cannot move to {to!r}; "
                    f"available transitions: {', '.join(sorted(names)) or 'none'}",
                )
            self._client.transition_issue(key, names[to.lower()])

        self._call(f"transition {key} to {to!r}", move)

    def status(self, key: str) -> IssueStatus:
        """One `GET /issue/{key}?fields=status,assignee`; done means Jira's "done" category."""
        issue = self._call(
            f"read issue {key}", lambda: self._client.issue(key, fields="status,assignee")
        )
        status = getattr(issue.fields, "status", None)
        if status is None:
            raise IntegrationError(SERVICE, f"Jira issue {key} came back without a status")
        category = getattr(getattr(status, "statusCategory", None), "key", "")
        return IssueStatus(
            key=issue.key,
            name=str(getattr(status, "name", "?")),
            done=category == "done",
            assignee=_person(getattr(issue.fields, "assignee", None)),
        )

    def open_tasks(self, epic_key: str) -> list[str]:
        """Keys of the epic's tasks that are not Done."""
        jql = f"parent = {epic_key} AND status != Done"
        issues = self._call(
            f"search {jql!r}", lambda: self._client.search_issues(jql, fields="summary,status")
        )
        return [issue.key for issue in issues]

    # -- internals -------------------------------------------------------------------------
    def _fields(
        self, issue_type: str, summary: str, description: str, labels: list[str]
    ) -> dict[str, Any]:
        ids = self._type_ids()
        if issue_type not in ids:
            raise IntegrationError(
                SERVICE,
                f"Jira project {self.project} has no issue type {issue_type!r} "
                f"(it has: {', '.join(sorted(k for k in ids if k != '_project'))})",
            )
        fields: dict[str, Any] = {
            "project": {"id": ids["_project"]},
            "issuetype": {"id": ids[issue_type]},
            "summary": summary,
        }
        if description:
            fields["description"] = description
        if labels:
            fields["labels"] = list(labels)
        return fields

    def _type_ids(self) -> dict[str, str]:
        with self._lock:
            if self._ids is None:
                project = self._call(
                    f"read project {self.project}", lambda: self._client.project(self.project)
                )
                ids = {t.name: str(t.id) for t in getattr(project, "issueTypes", [])}
                ids["_project"] = str(project.id)
                self._ids = ids
            return self._ids

    def _create(self, fields: dict[str, Any]) -> IssueRef:
        summary = fields["summary"]
        issue = self._call(
            f"create issue {summary!r}",
            lambda: self._client.create_issue(fields=fields, prefetch=False),
        )
        return IssueRef(key=issue.key, url=f"{self.url}/browse/{issue.key}")

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except JIRAError as e:
            status = e.status_code or 0
            raise IntegrationError(
                SERVICE,
                f"Jira refused to {what}: HTTP {status}: {_reason(e)}",
                retryable=status in (429, 503) or status >= 500,
            ) from None
        except requests.ConnectionError as e:
            raise IntegrationError(
                SERVICE,
                f"Jira at {self.url} is unreachable: {_connection_reason(e)}",
                retryable=True,
            ) from None
        except requests.Timeout:
            raise IntegrationError(
                SERVICE, f"Jira at {self.url} did not answer in time", retryable=True
            ) from None
        except requests.RequestException as e:
            raise IntegrationError(SERVICE, f"Jira request failed: {e}") from None


def _person(user: Any) -> str | None:
    """Data Center users have a `name`, Cloud users only a `displayName`/`accountId`."""
    if user is None:
        return None
    for attribute in ("name", "displayName", "accountId"):
        value = getattr(user, attribute, None)
        if value:
            return str(value)
    return None


def _reason(error: JIRAError) -> str:
    """Jira's own messages, with the field each one is about (the client's text drops it)."""
    try:
        body = error.response.json() if error.response is not None else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = [str(m) for m in body.get("errorMessages") or []]
        parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        if parts:
            return "; ".join(parts)
    text = (error.text or "").strip()
    return text or "no details"


def _connection_reason(error: requests.ConnectionError) -> str:
    text = str(error)
    for known in ("Connection refused", "Name or service not known", "timed out"):
        if known in text:
            return known.lower()
    return "connection failed"
