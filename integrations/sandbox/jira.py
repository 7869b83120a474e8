"""A Jira REST v2 emulator, Cloud or Data Center: issues, epics, comments, transitions, search.

Enough of Jira for `jira.JIRA` to create an epic and linked tasks, comment, transition and search
with a small JQL subset (`jira_jql.py`). Errors carry `errorMessages`/`errors` like Jira, so the
client's `JIRAError` text is the real one. Each flavour refuses what the real one refuses:

- Cloud: Basic auth with the account's email and API token; assignees by `accountId` (`name` is
  ignored, the issue stays unassigned, as on Cloud); tasks hang under an epic by `parent`;
  `GET /rest/api/2/search` is gone (410), `/rest/api/{2,3}/search/jql` refuses unbounded JQL.
- Data Center: a personal access token as `Authorization: Bearer` only; `parent` only on
  sub-tasks, tasks join an epic through the Epic Link custom field; epics need an Epic Name;
  assignees by username; no `/search/jql`.
- Both: summary required and at most 255 characters (UTF-16 units, as Java counts them); a
  field the create screen does not have is refused by name; dates as YYYY-MM-DD.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from integrations.sandbox.base import Reply, Request, json_reply
from integrations.sandbox.jira_jql import EPIC_LINK_FIELD, compile_jql

FLAVOURS = ("cloud", "datacenter")
EPIC_NAME_FIELD = "customfield_10011"
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


def _field(fid: str, name: str, schema: dict[str, Any], custom: bool = False) -> dict[str, Any]:
    return {
        "id": fid,
        "key": fid,
        "name": name,
        "custom": custom,
        "navigable": True,
        "searchable": True,
        "clauseNames": [fid, name.lower()] if custom else [fid],
        "schema": schema,
    }


SYSTEM_FIELDS = [
    _field("project", "Project", {"type": "project", "system": "project"}),
    _field("issuetype", "Issue Type", {"type": "issuetype", "system": "issuetype"}),
    _field("summary", "Summary", {"type": "string", "system": "summary"}),
    _field("description", "Description", {"type": "string", "system": "description"}),
    _field("status", "Status", {"type": "status", "system": "status"}),
    _field("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
    _field("parent", "Parent", {"type": "issuelink", "system": "parent"}),
    _field("assignee", "Assignee", {"type": "user", "system": "assignee"}),
    _field("duedate", "Due date", {"type": "date", "system": "duedate"}),
]
DC_EPIC_FIELDS = [
    _field(
        EPIC_LINK_FIELD,
        "Epic Link",
        {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-epic-link", "customId": 10014},
        custom=True,
    ),
    _field(
        EPIC_NAME_FIELD,
        "Epic Name",
        {"type": "string", "custom": "com.pyxis.greenhopper.jira:gh-epic-label", "customId": 10011},
        custom=True,
    ),
]
# What the create screen has, per flavour: anything else is refused by name, as Jira does.
SETTABLE = {"project", "issuetype", "summary", "description", "labels", "assignee", "duedate"}
CLOUD_SELF = "5f1a000000000000000f1b00"
CANNOT_SET = "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
NOT_FOUND = "Issue does not exist or you do not have permission to see it."
SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


class JiraEmulator:
    service = "jira"

    def __init__(
        self,
        user: str,
        token: str,
        project: str = "CRISIS",
        *,
        flavour: str = "datacenter",
        usernames: tuple[str, ...] = (),
        account_ids: tuple[str, ...] = (),
    ) -> None:
        self.user, self.token, self.project_key = user, token, project
        self.flavour = flavour
        # The people of the site: Data Center knows them by username, Cloud by account id.
        self.usernames, self.account_ids = set(usernames), set(account_ids)
        self.base_url = ""  # set once the server knows its port, for `self` links
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
            ("GET", re.compile(r"/rest/api/2/serverInfo"), self._server_info),
            ("GET", re.compile(r"/rest/api/2/myself"), self._myself),
            ("GET", re.compile(r"/rest/api/2/user"), self._user_get),
            ("GET", re.compile(r"/rest/api/2/field"), lambda r: json_reply(self.fields())),
            ("GET", re.compile(r"/rest/api/2/project/(?P<ref>[^/]+)"), self._project),
            ("POST", re.compile(r"/rest/api/2/issue"), self._create),
            ("GET", re.compile(r"/rest/api/2/issue/(?P<key>[^/]+)"), self._get),
            ("GET", re.compile(r"/rest/api/2/issue/(?P<key>[^/]+)/comment"), self._comments),
            ("POST", re.compile(r"/rest/api/2/issue/(?P<key>[^/]+)/comment"), self._comment),
            ("GET", re.compile(r"/rest/api/2/issue/(?P<key>[^/]+)/transitions"), self._trans),
            ("POST", re.compile(r"/rest/api/2/issue/(?P<key>[^/]+)/transitions"), self._move),
            ("GET", re.compile(r"/rest/api/2/search"), self._search),
            ("GET", re.compile(r"/rest/api/[23]/search/jql"), self._search_jql),
            ("POST", re.compile(r"/rest/api/[23]/search/jql"), self._search_jql),
        ]
        self.reset()

    @property
    def flavour(self) -> str:
        return self._flavour

    @flavour.setter
    def flavour(self, value: str) -> None:
        if value not in FLAVOURS:
            raise ValueError(f"unknown Jira flavour {value!r}; expected one of {FLAVOURS}")
        self._flavour = value

    @property
    def cloud(self) -> bool:
        return self._flavour == "cloud"

    def fields(self) -> list[dict[str, Any]]:
        return SYSTEM_FIELDS if self.cloud else SYSTEM_FIELDS + DC_EPIC_FIELDS

    def reset(self) -> None:
        self.issues: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(10100)
        self._numbers = itertools.count(1)
        self._comment_ids = itertools.count(20000)

    def state(self) -> dict[str, Any]:
        return {"flavour": self.flavour, "issues": [self._view(i) for i in self.issues.values()]}

    def fault_reply(self, status: int, retry_after: int | None) -> Reply:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        message = {429: "Rate limit exceeded.", 503: "Service unavailable"}.get(
            status, "Internal server error"
        )
        return json_reply({"errorMessages": [message], "errors": {}}, status, **headers)

    def handle(self, request: Request) -> Reply:
        if not self._authorised(request.headers.get("authorization", "")):
            scheme = "Basic" if self.cloud else "Bearer"
            return json_reply(
                {"errorMessages": ["You are not authenticated. Authentication required."]},
                401,
                **{"WWW-Authenticate": f'{scheme} realm="protected-area"'},
            )
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                return handler(request, **match.groupdict())
        return _error(404, "Not found: " + request.path)

    def _authorised(self, header: str) -> bool:
        """Cloud: Basic with email and API token. Data Center: the personal access token as
        Bearer; sent as a Basic password it is refused, as Data Center refuses it."""
        if not self.cloud:
            return header == f"Bearer {self.token}"
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
                **(
                    {"version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0]}
                    if self.cloud
                    else {"version": "9.12.0", "versionNumbers": [9, 12, 0]}
                ),
                "deploymentType": "Cloud" if self.cloud else "Server",
                "buildNumber": 100000 if self.cloud else 9120000,
                "serverTitle": "Firebreak Jira sandbox",
            }
        )

    def _myself(self, request: Request) -> Reply:
        if self.cloud:
            return json_reply(
                {
                    "self": f"{self.base_url}/rest/api/2/user?accountId={CLOUD_SELF}",
                    "accountId": CLOUD_SELF,
                    "emailAddress": self.user,
                    "displayName": "Firebreak",
                    "active": True,
                }
            )
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
        is_epic = issue_type is not None and issue_type["name"] == "Epic"
        for name in fields:
            if name not in self._settable(is_epic):
                errors[name] = CANNOT_SET.format(name=name)
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif _java_length(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        description = fields.get("description")
        if description is not None and not isinstance(description, str):
            errors["description"] = "Operation value must be a string"
        if not self.cloud and is_epic:
            epic_name = fields.get(EPIC_NAME_FIELD)
            if not isinstance(epic_name, str) or not epic_name.strip():
                errors[EPIC_NAME_FIELD] = "Epic Name is required."
            elif _java_length(epic_name) > 255:
                errors[EPIC_NAME_FIELD] = "Epic Name must be less than 255 characters."
        link_field = "parent" if self.cloud else EPIC_LINK_FIELD
        epic = fields.get(link_field)
        if self.cloud and epic is not None:
            epic = epic.get("key", epic.get("id")) if isinstance(epic, dict) else "?"
        if epic is not None and link_field not in errors:
            target = self._find(str(epic))
            if target is None or target["fields"]["issuetype"]["name"] != "Epic":
                errors[link_field] = f"Could not find epic '{epic}'."
            else:
                epic = target["key"]
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or any(" " in str(label) for label in labels):
            errors["labels"] = "Labels cannot contain spaces."
        due = fields.get("duedate")
        if due is not None and not _is_date(due):
            errors["duedate"] = f"Error parsing date string: {due}"
        assignee = fields.get("assignee")
        if assignee is not None and (problem := self._assignee_problem(assignee)):
            errors["assignee"] = problem
        if errors:
            return json_reply({"errorMessages": [], "errors": errors}, 400)
        number = next(self._numbers)
        key, issue_id = f"{self.project_key}-{number}", str(next(self._ids))
        self.issues[key] = {
            "id": issue_id,
            "key": key,
            "epic": epic,
            "fields": {
                "summary": summary,
                "description": description,
                "issuetype": issue_type,
                "project": {"id": "10000", "key": self.project_key},
                "status": STATUSES["To Do"],
                "labels": list(labels),
                "assignee": self._user(assignee),
                "duedate": due,
                "created": _now(),
                **({} if self.cloud or not is_epic else {EPIC_NAME_FIELD: fields[EPIC_NAME_FIELD]}),
            },
            "comments": [],
        }
        return json_reply({"id": issue_id, "key": key, "self": self._self(issue_id)}, 201)

    def _settable(self, is_epic: bool) -> set[str]:
        if self.cloud:
            return SETTABLE | {"parent"}
        # Data Center: `parent` is for sub-tasks only; epics take a name, the rest an Epic Link.
        return SETTABLE | {EPIC_NAME_FIELD if is_epic else EPIC_LINK_FIELD}

    def _assignee_problem(self, ref: Any) -> str | None:
        """Data Center wants `name` (an accountId-only object is refused); Cloud reads only
        `accountId` and ignores a `name`. Both refuse a person the site does not have."""
        if not isinstance(ref, dict):
            return "expected Object"
        if self.cloud:
            account = ref.get("accountId") or ref.get("id")
            if account and str(account) not in self.account_ids:
                return f"Account ID {account} does not exist."
            return None
        name = ref.get("name")
        if not name:
            return "expected Object containing a 'name' property"
        if str(name) not in self.usernames:
            return f"User '{name}' does not exist."
        return None

    def _user_get(self, request: Request) -> Reply:
        """`GET /rest/api/2/user?accountId=` (Cloud) or `?username=` (Data Center)."""
        if self.cloud:
            account = request.query.get("accountId", "")
            if account not in self.account_ids:
                return _error(
                    404, f"Specified user does not exist or you do not have access: {account}"
                )
            return json_reply(self._user({"accountId": account}))
        name = request.query.get("username", "")
        if not name:
            return _error(
                400, "Either the 'username' or the 'key' query parameters need to be provided"
            )
        if name not in self.usernames:
            return _error(404, f"The user named '{name}' does not exist")
        return json_reply(self._user({"name": name}))

    def _user(self, ref: dict[str, Any] | None) -> dict[str, Any] | None:
        """An assignee as Jira answers it. Cloud knows people only by accountId and ignores
        `name` (the issue stays unassigned); Data Center by username."""
        if not ref:
            return None
        if self.cloud:
            account = ref.get("accountId") or ref.get("id")
            if not account:
                return None
            return {"accountId": str(account), "displayName": str(account), "active": True}
        name = ref.get("name")
        if not name:
            return None
        return {"name": str(name), "key": str(name), "displayName": str(name), "active": True}

    def _self(self, issue_id: str) -> str:
        return f"{self.base_url}/rest/api/2/issue/{issue_id}"

    def _find(self, ref: str) -> dict[str, Any] | None:
        return self.issues.get(ref) or next(
            (i for i in self.issues.values() if i["id"] == ref), None
        )

    def _view(self, issue: dict[str, Any]) -> dict[str, Any]:
        fields = dict(issue["fields"])
        epic = issue.get("epic")
        if self.cloud:
            fields["parent"] = {"key": epic} if epic else None
        elif fields["issuetype"]["name"] != "Epic":
            fields[EPIC_LINK_FIELD] = epic
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
        if self.cloud:
            return _error(410, SEARCH_GONE)
        found = self._matching(request.query.get("jql", ""))
        if isinstance(found, Reply):
            return found
        start = int(request.query.get("startAt", 0) or 0)
        size = int(request.query.get("maxResults", 50) or 50)
        return json_reply(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": found[start : start + size],
            }
        )

    def _search_jql(self, request: Request) -> Reply:
        """Cloud's enhanced search: pages by `nextPageToken`, no `total`, bounded JQL only."""
        if not self.cloud:
            return _error(404, "null for uri: " + request.path)
        params = request.body if isinstance(request.body, dict) else request.query
        jql = str(params.get("jql") or "")
        if not jql.strip():
            return _error(
                400,
                "Unbounded JQL queries are not allowed here. "
                "Please add a search restriction to your query.",
            )
        found = self._matching(jql)
        if isinstance(found, Reply):
            return found
        start = int(params.get("nextPageToken") or 0)
        size = min(int(params.get("maxResults", 50) or 50), 5000)
        page = found[start : start + size]
        body: dict[str, Any] = {"issues": page, "isLast": start + size >= len(found)}
        if not body["isLast"]:
            body["nextPageToken"] = str(start + size)
        return json_reply(body)

    def _matching(self, jql: str) -> list[dict[str, Any]] | Reply:
        try:
            predicate = compile_jql(jql)
        except ValueError as e:
            return _error(400, f"Error in the JQL Query: {e}")
        return [self._view(i) for i in self.issues.values() if predicate(i)]


def _java_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 10


def _error(status: int, message: str) -> Reply:
    return json_reply({"errorMessages": [message], "errors": {}}, status)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
