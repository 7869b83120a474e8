"""A Jira REST v2 emulator (Data Center flavour): issues, epics, comments, transitions, search.

Enough of Jira for `jira.JIRA` to create an epic and linked tasks, comment, transition and search
with a small JQL subset. Errors carry `errorMessages`/`errors` like Jira, so the client's
`JIRAError` text is the real one.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from integrations.sandbox.base import Reply, Request, json_reply

EPIC_LINK_FIELD = "customfield_10014"
ISSUE_TYPES = [
    {"id": "10000", "name": "Epic", "subtask": False},
    {"id": "10001", "name": "Task", "subtask": False},
    {"id": "10002", "name": "Sub-task", "subtask": True},
    {"id": "10003", "name": "Story", "subtask": False},
]
STATUSES = {
    "To Do": {"id": "10000", "name": "To Do", "statusCategory": {"key": "new"}},
    "In Progress": {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
    "Done": {"id": "10001", "name": "Done", "statusCategory": {"key": "done"}},
}
TRANSITIONS = [("11", "To Do"), ("21", "In Progress"), ("31", "Done")]
FIELDS = [
    {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string"}},
    {"id": "description", "name": "Description", "custom": False},
    {"id": "status", "name": "Status", "custom": False},
    {"id": "labels", "name": "Labels", "custom": False},
    {"id": "parent", "name": "Parent", "custom": False},
    {"id": "assignee", "name": "Assignee", "custom": False},
    {"id": "duedate", "name": "Due date", "custom": False},
    {"id": EPIC_LINK_FIELD, "name": "Epic Link", "custom": True},
]
NOT_FOUND = "Issue does not exist or you do not have permission to see it."
_CLAUSE = re.compile(
    r'\s*(?P<field>"[^"]+"|[A-Za-z_][\w.]*)\s*(?P<op>!=|=|\bnot in\b|\bin\b)\s*'
    r'(?P<value>"[^"]*"|\([^)]*\)|[^\s()]+)\s*',
    re.IGNORECASE,
)


class JiraEmulator:
    service = "jira"

    def __init__(self, user: str, token: str, project: str = "CRISIS") -> None:
        self.user, self.token, self.project_key = user, token, project
        self.base_url = ""  # set once the server knows its port, for `self` links
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("GET", re.compile(r"/rest/api/2/serverInfo"), self._server_info),
            ("GET", re.compile(r"/rest/api/2/myself"), self._myself),
            ("GET", re.compile(r"/rest/api/2/field"), lambda r: json_reply(FIELDS)),
            ("GET", re.compile(r"/rest/api/2/project/(?P<ref>[^/]+)"), self._project),
            ("POST", re.compile(r"/rest/api/2/issue"), self._create),
            ("GET", re.compile(r"/rest/api/2/issue/(?P<key>[^/]+)"), self._get),
            ("GET", re.compile(r"/rest/api/2/issue/(?P<key>[^/]+)/comment"), self._comments),
            ("POST", re.compile(r"/rest/api/2/issue/(?P<key>[^/]+)/comment"), self._comment),
            ("GET", re.compile(r"/rest/api/2/issue/(?P<key>[^/]+)/transitions"), self._trans),
            ("POST", re.compile(r"/rest/api/2/issue/(?P<key>[^/]+)/transitions"), self._move),
            ("GET", re.compile(r"/rest/api/2/search"), self._search),
        ]
        self.reset()

    def reset(self) -> None:
        self.issues: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(10100)
        self._numbers = itertools.count(1)
        self._comment_ids = itertools.count(20000)

    def state(self) -> dict[str, Any]:
        return {"issues": [self._view(i) for i in self.issues.values()]}

    def fault_reply(self, status: int, retry_after: int | None) -> Reply:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        message = {429: "Rate limit exceeded.", 503: "Service unavailable"}.get(
            status, "Internal server error"
        )
        return json_reply({"errorMessages": [message], "errors": {}}, status, **headers)

    def handle(self, request: Request) -> Reply:
        if not self._authorised(request.headers.get("authorization", "")):
            return json_reply(
                {"errorMessages": ["You are not authenticated. Authentication required."]},
                401,
                **{"WWW-Authenticate": 'Basic realm="protected-area"'},
            )
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                return handler(request, **match.groupdict())
        return _error(404, "Not found: " + request.path)

    def _authorised(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            user, _, token = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (user, token) == (self.user, self.token)

    # -- resources ---------------------------------------------------------------------------
    def _server_info(self, request: Request) -> Reply:
        return json_reply(
            {
                "baseUrl": self.base_url,
                "version": "9.12.0",
                "versionNumbers": [9, 12, 0],
                "deploymentType": "Server",
                "buildNumber": 9120000,
                "serverTitle": "Firebreak Jira sandbox",
            }
        )

    def _myself(self, request: Request) -> Reply:
        return json_reply(
            {
                "self": f"{self.base_url}/rest/api/2/user?username={self.user}",
                "name": self.user,
                "key": self.user,
                "displayName": "Firebreak",
                "active": True,
            }
        )

    def _project_json(self) -> dict[str, Any]:
        return {
            "self": f"{self.base_url}/rest/api/2/project/10000",
            "id": "10000",
            "key": self.project_key,
            "name": "Crisis response",
            "issueTypes": ISSUE_TYPES,
        }

    def _project(self, request: Request, ref: str) -> Reply:
        if ref not in (self.project_key, "10000"):
            return _error(404, f"No project could be found with key '{ref}'.")
        return json_reply(self._project_json())

    def _create(self, request: Request) -> Reply:
        body = request.body
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            return _error(400, "Can not deserialize the request: a 'fields' object is required.")
        fields = body["fields"]
        errors: dict[str, str] = {}
        project = fields.get("project") or {}
        if project.get("key", project.get("id")) not in (self.project_key, "10000"):
            errors["project"] = "valid project is required"
        kind = fields.get("issuetype") or {}
        issue_type = next(
            (t for t in ISSUE_TYPES if kind.get("id") == t["id"] or kind.get("name") == t["name"]),
            None,
        )
        if issue_type is None:
            errors["issuetype"] = "valid issue type is required"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        epic = (
            fields.get("parent", {}).get("key") if isinstance(fields.get("parent"), dict) else None
        )
        epic = epic or fields.get(EPIC_LINK_FIELD)
        if epic is not None:
            target = self.issues.get(epic)
            if target is None or target["fields"]["issuetype"]["name"] != "Epic":
                errors["parent" if "parent" in fields else EPIC_LINK_FIELD] = (
                    f"Could not find epic '{epic}'."
                )
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or any(" " in str(label) for label in labels):
            errors["labels"] = "Labels cannot contain spaces."
        if errors:
            return json_reply({"errorMessages": [], "errors": errors}, 400)
        number = next(self._numbers)
        key, issue_id = f"{self.project_key}-{number}", str(next(self._ids))
        self.issues[key] = {
            "id": issue_id,
            "key": key,
            "fields": {
                "summary": summary,
                "description": fields.get("description"),
                "issuetype": issue_type,
                "project": {"id": "10000", "key": self.project_key},
                "status": STATUSES["To Do"],
                "labels": list(labels),
                "assignee": _user(fields.get("assignee")),
                "duedate": fields.get("duedate"),
                "parent": {"key": epic} if epic else None,
                EPIC_LINK_FIELD: epic,
                "created": _now(),
            },
            "comments": [],
        }
        return json_reply({"id": issue_id, "key": key, "self": self._self(issue_id)}, 201)

    def _self(self, issue_id: str) -> str:
        return f"{self.base_url}/rest/api/2/issue/{issue_id}"

    def _find(self, ref: str) -> dict[str, Any] | None:
        return self.issues.get(ref) or next(
            (i for i in self.issues.values() if i["id"] == ref), None
        )

    def _view(self, issue: dict[str, Any]) -> dict[str, Any]:
        fields = dict(issue["fields"])
        fields["comment"] = {
            "comments": issue["comments"],
            "total": len(issue["comments"]),
            "maxResults": len(issue["comments"]),
            "startAt": 0,
        }
        return {
            "id": issue["id"],
            "key": issue["key"],
            "self": self._self(issue["id"]),
            "fields": fields,
        }

    def _get(self, request: Request, key: str) -> Reply:
        issue = self._find(key)
        if issue is None:
            return _error(404, NOT_FOUND)
        view = self._view(issue)
        # `?fields=status,assignee` narrows the answer as Jira does; `*all` or none: every field.
        wanted = {f.strip() for f in request.query.get("fields", "").split(",") if f.strip()}
        if wanted and not wanted & {"*all", "*navigable"}:
            view["fields"] = {k: v for k, v in view["fields"].items() if k in wanted}
        return json_reply(view)

    def _comments(self, request: Request, key: str) -> Reply:
        issue = self._find(key)
        if issue is None:
            return _error(404, NOT_FOUND)
        comments = issue["comments"]
        return json_reply(
            {
                "startAt": 0,
                "maxResults": len(comments),
                "total": len(comments),
                "comments": comments,
            }
        )

    def _comment(self, request: Request, key: str) -> Reply:
        issue = self._find(key)
        if issue is None:
            return _error(404, NOT_FOUND)
        body = request.body.get("body") if isinstance(request.body, dict) else None
        if not isinstance(body, str) or not body.strip():
            return json_reply(
                {"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}}, 400
            )
        comment_id = str(next(self._comment_ids))
        comment = {
            "self": f"{self._self(issue['id'])}/comment/{comment_id}",
            "id": comment_id,
            "author": {"name": self.user, "displayName": "Firebreak"},
            "body": body,
            "created": _now(),
            "updated": _now(),
        }
        issue["comments"].append(comment)
        return json_reply(comment, 201)

    def _trans(self, request: Request, key: str) -> Reply:
        if self._find(key) is None:
            return _error(404, NOT_FOUND)
        return json_reply(
            {
                "expand": "transitions",
                "transitions": [
                    {"id": tid, "name": name, "to": STATUSES[name]} for tid, name in TRANSITIONS
                ],
            }
        )

    def _move(self, request: Request, key: str) -> Reply:
        issue = self._find(key)
        if issue is None:
            return _error(404, NOT_FOUND)
        transition = request.body.get("transition") if isinstance(request.body, dict) else None
        wanted = str((transition or {}).get("id", ""))
        target = next((name for tid, name in TRANSITIONS if tid == wanted), None)
        if target is None:
            return json_reply(
                {
                    "errorMessages": [f"Transition id '{wanted}' is not valid for this issue."],
                    "errors": {},
                },
                400,
            )
        issue["fields"]["status"] = STATUSES[target]
        return Reply(204)

    def _search(self, request: Request) -> Reply:
        jql = request.query.get("jql", "")
        try:
            predicate = _compile_jql(jql)
        except ValueError as e:
            return _error(400, f"Error in the JQL Query: {e}")
        start = int(request.query.get("startAt", 0) or 0)
        size = int(request.query.get("maxResults", 50) or 50)
        found = [self._view(i) for i in self.issues.values() if predicate(i)]
        return json_reply(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": found[start : start + size],
            }
        )


def _compile_jql(jql: str) -> Callable[[dict[str, Any]], bool]:
    """A JQL subset: `field (=|!=|in|not in) value` clauses joined by AND, ORDER BY ignored."""
    text = re.split(r"\border\s+by\b", jql, flags=re.IGNORECASE)[0].strip()
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE) if text else []:
        match = _CLAUSE.fullmatch(part)
        if match is None:
            raise ValueError(f"unsupported clause {part.strip()!r}")
        name = match["field"].strip('"').lower()
        op = match["op"].lower()
        raw = match["value"]
        values = (
            [v.strip().strip('"') for v in raw[1:-1].split(",")]
            if raw.startswith("(")
            else [raw.strip('"')]
        )
        getter = _JQL_FIELDS.get(name)
        if getter is None:
            raise ValueError(f"the field '{match['field']}' is not supported by the sandbox")
        tests.append(_clause(getter, op, [v.lower() for v in values]))
    return lambda issue: all(test(issue) for test in tests)


def _clause(
    getter: Callable[[dict[str, Any]], list[str]], op: str, values: list[str]
) -> Callable[[dict[str, Any]], bool]:
    def test(issue: dict[str, Any]) -> bool:
        present = any(v.lower() in values for v in getter(issue) if v)
        return present if op in ("=", "in") else not present

    return test


_JQL_FIELDS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "project": lambda i: [i["fields"]["project"]["key"]],
    "key": lambda i: [i["key"]],
    "issuekey": lambda i: [i["key"]],
    "status": lambda i: [i["fields"]["status"]["name"]],
    "issuetype": lambda i: [i["fields"]["issuetype"]["name"]],
    "type": lambda i: [i["fields"]["issuetype"]["name"]],
    "labels": lambda i: list(i["fields"]["labels"]),
    "parent": lambda i: [(i["fields"]["parent"] or {}).get("key", "")],
    "epic link": lambda i: [i["fields"][EPIC_LINK_FIELD] or ""],
    EPIC_LINK_FIELD: lambda i: [i["fields"][EPIC_LINK_FIELD] or ""],
}


def _user(ref: Any) -> dict[str, Any] | None:
    """An assignee as Jira answers it: the full user object, not just the name that was sent."""
    if not isinstance(ref, dict) or not ref.get("name"):
        return None
    name = str(ref["name"])
    return {"name": name, "key": name, "displayName": name, "active": True}


def _error(status: int, message: str) -> Reply:
    return json_reply({"errorMessages": [message], "errors": {}}, status)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
