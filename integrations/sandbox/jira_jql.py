"""The JQL subset the Jira emulator understands: `field (=|!=|in|not in) value` joined by AND."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

EPIC_LINK_FIELD = "customfield_10014"
_CLAUSE = re.compile(
    r'\s*(?P<field>"[^"]+"|[A-Za-z_][\w.\[\]]*)\s*(?P<op>!=|=|\bnot in\b|\bin\b)\s*'
    r'(?P<value>"[^"]*"|\([^)]*\)|[^\s()]+)\s*',
    re.IGNORECASE,
)


def compile_jql(jql: str) -> Callable[[dict[str, Any]], bool]:
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
    "parent": lambda i: [i.get("epic") or ""],
    "epic link": lambda i: [i.get("epic") or ""],
    EPIC_LINK_FIELD: lambda i: [i.get("epic") or ""],
    "cf[10014]": lambda i: [i.get("epic") or ""],
}
