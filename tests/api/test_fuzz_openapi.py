"""Schema-driven fuzzing (schemathesis) of every operation, over real HTTP with valid tokens.

Hypothesis generates requests from the published OpenAPI document, valid ones and invalid ones;
every response must be no 5xx and must match the document: a documented status, content type
and body schema. Bounded: a fixed number of examples per operation and mode, derandomized
(the same examples every run).

Schemathesis's pytest plugin (`from_fixture`) does not work with pytest 9, so the strategies
are driven here directly, one Hypothesis run per operation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from firebreak import gates
from firebreak.store.db import engine_for
from tests.api.live import Live, live_api

EXAMPLES = 15  # per operation, variant and mode: ~330 requests, about a minute
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# An admin token passes every role check except approvals (comms only: a documented 403).
HEADERS = {"Authorization": "Bearer tok-admin"}
GATES = {"approve_statement": "approval", "exec_ack": "ack"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    # With a signing secret, an unsigned Slack call is a 401 (without one: a documented 503).
    secret = {"FIREBREAK_SLACK_SIGNING_SECRET": "fuzz-signing-secret"}
    with live_api(tmp_path_factory.mktemp("fuzz"), **secret) as server:
        _seed(server)
        yield server


def _seed(live: Live) -> None:
    """Incident 1 with two open gates, so that the fuzz also reaches 200s and 409s."""
    declared = httpx.post(
        f"{live.url}/api/v1/incidents",
        json={"playbook": "storm", "inputs": {"product": "fuzz"}},
        headers=HEADERS,
    )
    assert declared.status_code == 201, declared.text
    with Session(engine_for(f"sqlite:///{live.home / 'firebreak.db'}")) as session:
        for step_id, kind in GATES.items():
            gates.open_gate(
                session,
                incident_id=declared.json()["incident"]["id"],
                step_id=step_id,
                kind=kind,
                audience="comms" if kind == "approval" else "lead",
                subject={},
                due_at=None,
            )
        session.commit()


def _fuzz(live: Live, mode: GenerationMode) -> tuple[Counter[int], list[str]]:
    api = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 7, "the document lists fewer operations than the API has"
    variants: list[tuple[Any, dict[str, Any] | None]] = []
    for operation in operations:
        variants.append((operation, None))
        if "{step_id}" in operation.path:  # the seeded gates (the first decision wins: 409 next)
            variants += [(operation, {"incident_id": 1, "step_id": step}) for step in GATES]
        elif "{incident_id}" in operation.path:
            variants.append((operation, {"incident_id": 1}))
    for operation, path_parameters in variants:

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=live.url, headers=HEADERS)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=HEADERS)

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid request exists"
            # e.g. GET /healthz takes no input at all: nothing can be wrong in it
        except (Exception, BaseExceptionGroup) as exc:  # every operation reported, not the first
            where = f" {path_parameters}" if path_parameters else ""
            failures.append(f"{operation.label}{where} ({mode.value}): {exc}")
    return statuses, failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(live: Live, mode: GenerationMode) -> None:
    statuses, failures = _fuzz(live, mode)
    print(f"{mode.value}: {sum(statuses.values())} requests, statuses {dict(statuses)}")
    assert not failures, "\n\n".join(failures)
    assert not [code for code in statuses if code >= 500]
