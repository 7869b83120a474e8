"""TrackerPort over Jira REST v2 (`jira.JIRA`), for Jira Cloud and Jira Data Center.

Issues are created with ids (project, issue type) looked up once, and `prefetch=False`, so each
issue is a single `POST /rest/api/2/issue`. The two flavours differ where it matters:

- auth: Cloud takes the account's email and an API token (Basic); Data Center a personal access
  token, which it accepts only as `Authorization: Bearer`;
- epics: Cloud hangs a task under its epic through `parent`; Data Center refuses `parent` on a
  Task and wants the Epic Link custom field, and an Epic Name on every epic (both custom fields
  found once from `GET /rest/api/2/field` by their schema type, or configured);
- people: Cloud assigns by `accountId` (it ignores `name`), Data Center by username;
- search: Cloud removed `GET /rest/api/2/search`; the client uses `/search/jql` once told it
  talks to Cloud (we skip the server-info call that would tell it).

Both refuse a summary over 255 characters: a longer one is shortened with an ellipsis and given
whole at the top of the description.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import requests
from jira import JIRA, JIRAError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from firebreak.ports import IntegrationError, IssueRef, IssueStatus, TaskSpec
from integrations.policy import DEFAULT_POLICY, RetryPolicy

# The client logs each retry it makes as a warning with the raw exception; we report the outcome
# as one IntegrationError (and the timeline says it), so its per-attempt chatter stays quiet.
logging.getLogger("jira.resilientsession").setLevel(logging.ERROR)

SERVICE = "jira"
T = TypeVar("T")
JiraFlavour = Literal["cloud", "datacenter"]
FLAVOURS: tuple[JiraFlavour, ...] = ("cloud", "datacenter")
# The schema custom types of Jira Software's epic fields (Data Center); the ids differ per site.
EPIC_LINK_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"
EPIC_NAME_TYPE = "com.pyxis.greenhopper.jira:gh-epic-label"
SUMMARY_LIMIT = 255  # characters as Java counts them (UTF-16 code units)


class JiraTracker:
    """TrackerPort: an epic per incident, tasks under it, comments, transitions and status."""

    def __init__(
        self,
        url: str,
        user: str | None,
        token: str,
        *,
        project: str,
        flavour: JiraFlavour,
        epic_link_field: str | None = None,
        epic_name_field: str | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        epic_type: str = "Epic",
        task_type: str = "Task",
    ) -> None:
        if flavour not in FLAVOURS:
            raise IntegrationError(
                SERVICE,
                f"unknown Jira flavour {flavour!r}: FIREBREAK_JIRA_FLAVOUR is cloud or datacenter",
            )
        if flavour == "cloud" and not user:
            raise IntegrationError(
                SERVICE,
                "Jira Cloud needs FIREBREAK_JIRA_USER: the email of the API token's account",
            )
        self.url = url.rstrip("/")
        self.project = project
        self.flavour: JiraFlavour = flavour
        # How TrackerPort callers name assignees: see firebreak.roles.ASSIGNEE_FIELDS.
        self.assigns_by = "account_id" if flavour == "cloud" else "username"
        self._epic_type, self._task_type = epic_type, task_type
        self._ids: dict[str, str] | None = None
        self._epic_fields: dict[str, str | None] | None = None
        if epic_link_field or epic_name_field:
            self._epic_fields = {"link": epic_link_field, "name": epic_name_field}
        self._lock = threading.Lock()
        auth: dict[str, Any] = (
            {"basic_auth": (user, token)} if flavour == "cloud" else {"token_auth": token}
        )
        # No server-info call at construction: a misconfigured URL shows up on first use, as an
        # IntegrationError, instead of failing whoever merely builds the adapter.
        # The client's own retries would come back before a long Retry-After (it caps the wait
        # and jitters it): ours honour it when short and leave a longer one to the playbook.
        self._client = JIRA(
            server=self.url,
            get_server_info=False,
            max_retries=0,
            timeout=policy.timeout,
            options={"check_update": False},
            **auth,
        )
        self._policy = policy
        if flavour == "cloud":
            # What server info would have told the client: it then searches with /search/jql.
            self._client.deploymentType = "Cloud"

    def check(self) -> str:
        """Verify URL, credentials and flavour; returns the server version."""
        info = self._call("read server info", self._client.server_info)
        cloud = info.get("deploymentType") == "Cloud"
        if cloud != (self.flavour == "cloud"):
            actual = "Jira Cloud" if cloud else "Jira Data Center"
            raise IntegrationError(
                SERVICE,
                f"{self.url} is {actual} but FIREBREAK_JIRA_FLAVOUR is {self.flavour}: "
                f"set it to {'cloud' if cloud else 'datacenter'}",
            )
        ids = self._type_ids()
        for wanted in (self._epic_type, self._task_type):
            if wanted not in ids:
                raise IntegrationError(
                    SERVICE,
                    f"Jira project {self.project} has no issue type {wanted!r} "
                    f"(it has: {', '.join(sorted(k for k in ids if k != '_project'))})",
                )
        if self.flavour == "datacenter":
            self._epic_link_id()
        return str(info.get("version", "?"))

    def person(self, who: str) -> str:
        """The display name of the person tasks would be assigned to (account id on Cloud,
        username on Data Center); refused when the site has no such person."""
        user = self._call(f"find the user {who!r}", lambda: self._client.user(who))
        return str(getattr(user, "displayName", who))

    def create_epic(
        self, summary: str, description: str = "", *, labels: list[str] | None = None
    ) -> IssueRef:
        fields = self._fields(self._epic_type, summary, description, labels or [])
        if self.flavour == "datacenter":
            name_field = self._epic_field_ids()["name"]
            if name_field:  # required on epics wherever Jira Software defines it
                fields[name_field] = fields["summary"]
        return self._create(fields)

    def create_tasks(self, epic_key: str, tasks: list[TaskSpec]) -> list[IssueRef]:
        refs = []
        for task in tasks:
            fields = self._fields(self._task_type, task.summary, task.description, task.labels)
            if self.flavour == "cloud":
                fields["parent"] = {"key": epic_key}
            else:
                fields[self._epic_link_id()] = epic_key
            if task.assignee:
                who = "accountId" if self.flavour == "cloud" else "name"
                fields["assignee"] = {who: task.assignee}
            if task.due:
                fields["duedate"] = task.due
            refs.append(self._create(fields))
        return refs

    def find_labelled(self, labels: list[str]) -> dict[str, IssueRef]:
        """One JQL search for issues carrying any of `labels`; the first issue per label."""
        if not labels:
            return {}
        quoted = ", ".join(f'"{label}"' for label in labels)
        jql = f'project = "{self.project}" AND labels in ({quoted}) ORDER BY created ASC'
        issues = self._call(
            f"search {jql!r}",
            lambda: self._client.search_issues(jql, fields="labels", maxResults=len(labels) * 2),
        )
        found: dict[str, IssueRef] = {}
        for issue in issues:
            for label in getattr(issue.fields, "labels", None) or []:
                if label in labels and label not in found:
                    found[label] = IssueRef(key=issue.key, url=f"{self.url}/browse/{issue.key}")
        return found

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
        link = "parent" if self.flavour == "cloud" else '"Epic Link"'
        jql = f"{link} = {epic_key} AND status != Done"
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
        short = shorten_summary(summary)
        if short != summary:  # the whole text stays on the issue, above the description
            description = f"{summary}\n\n{description}" if description else summary
        fields: dict[str, Any] = {
            "project": {"id": ids["_project"]},
            "issuetype": {"id": ids[issue_type]},
            "summary": short,
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

    def _epic_link_id(self) -> str:
        link = self._epic_field_ids()["link"]
        if not link:
            raise IntegrationError(
                SERVICE,
                f"Jira at {self.url} has no Epic Link field (custom type {EPIC_LINK_TYPE}) to put "
                "tasks under their epic: set FIREBREAK_JIRA_EPIC_LINK_FIELD to its id "
                "(customfield_NNNNN)",
            )
        return link

    def _epic_field_ids(self) -> dict[str, str | None]:
        """Data Center's Epic Link and Epic Name custom field ids, configured or looked up once."""
        with self._lock:
            if self._epic_fields is None:
                found: dict[str, str | None] = {"link": None, "name": None}
                for field in self._call("list fields", self._client.fields):
                    custom = (field.get("schema") or {}).get("custom")
                    if custom == EPIC_LINK_TYPE:
                        found["link"] = str(field["id"])
                    elif custom == EPIC_NAME_TYPE:
                        found["name"] = str(field["id"])
                self._epic_fields = found
            return self._epic_fields

    def _create(self, fields: dict[str, Any]) -> IssueRef:
        summary = fields["summary"]
        issue = self._call(
            f"create issue {summary!r}",
            lambda: self._client.create_issue(fields=fields, prefetch=False),
        )
        return IssueRef(key=issue.key, url=f"{self.url}/browse/{issue.key}")

    def _call(self, what: str, call: Callable[[], T]) -> T:
        """`call`, retried briefly on a rate limit, a 503 or a lost connection (`policy`)."""
        policy = self._policy

        def quick(exc: BaseException) -> bool:
            if isinstance(exc, requests.ConnectionError):
                return True
            if isinstance(exc, JIRAError) and exc.status_code in (429, 503):
                asked = _retry_after(getattr(exc, "response", None))
                return asked is None or asked <= policy.max_delay
            return False

        def pause(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            asked = _retry_after(getattr(exc, "response", None))
            if asked is not None:
                return asked
            return float(min(policy.max_delay, 0.5 * 2 ** (state.attempt_number - 1)))

        retrying = Retrying(
            stop=stop_after_attempt(policy.retries + 1),
            wait=pause,
            retry=retry_if_exception(quick),
            reraise=True,
        )
        try:
            return retrying(call)
        except JIRAError as e:
            status = e.status_code or 0
            hint = f" ({self._auth_hint()})" if status == 401 else ""
            raise IntegrationError(
                SERVICE,
                f"Jira refused to {what}: HTTP {status}: {_reason(e)}{hint}",
                retryable=status in (429, 503) or status >= 500,
                retry_after=_retry_after(getattr(e, "response", None)),
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

    def _auth_hint(self) -> str:
        if self.flavour == "cloud":
            return (
                "Jira Cloud takes FIREBREAK_JIRA_USER, the account's email, with an API token in "
                "FIREBREAK_JIRA_TOKEN; a self-hosted Jira needs FIREBREAK_JIRA_FLAVOUR=datacenter"
            )
        return (
            "Jira Data Center takes a personal access token in FIREBREAK_JIRA_TOKEN, sent as "
            "Bearer; a *.atlassian.net site needs FIREBREAK_JIRA_FLAVOUR=cloud"
        )


def java_length(text: str) -> int:
    """Length as Jira counts it: UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def shorten_summary(summary: str, limit: int = SUMMARY_LIMIT) -> str:
    """At most `limit` characters as Jira counts them, an ellipsis marking a cut."""
    if java_length(summary) <= limit:
        return summary
    cut = summary
    while java_length(cut) > limit - 1:
        cut = cut[: -max(1, (java_length(cut) - limit + 1) // 2)]
    return cut.rstrip() + "\u2026"


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


def _retry_after(response: Any) -> float | None:
    """Seconds from the response's `Retry-After` header, when it gives seconds."""
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:  # an HTTP date counts as not said
        return None
