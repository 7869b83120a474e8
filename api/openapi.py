"""The OpenAPI document tells the truth about errors: one body model, every status a route returns.

Routers declare the statuses only they know (404, 409, 400...) with `errors(...)`. The rest is
derived here once for every route from what the route is made of:
- a bearer-token dependency: 401; a role check: 403;
- any validated path, query or body parameter: 422 (FastAPI's own 422 schema is replaced:
  our handler answers `ErrorBody`, not FastAPI's list); a JSON body: 400 when it is not JSON;
- every route: 413 (the body limit is middleware, for all requests) and 500 (the catch-all).
Every error status without a schema of its own gets `ErrorBody`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.schemas import ErrorBody

ERROR_REF = "#/components/schemas/ErrorBody"

DESCRIPTIONS: dict[int, str] = {
    400: "The body cannot be read (not JSON, not the expected form); `detail` says what",
    401: "Missing or invalid credentials",
    403: "The token's roles do not admit this request; `detail` names the roles needed",
    404: "No such resource; `detail` names what was looked for",
    409: "The request conflicts with the resource's state (e.g. a gate already decided)",
    413: "The request body is over the limit (64 MiB; counted while streaming)",
    422: "A field is invalid or out of range: `errors` lists each one with its location",
    500: "An unexpected error; the traceback is in the server log under the given reference",
    502: "A service behind Firebreak (Slack, Jira, PagerDuty) failed; `detail` names it",
    503: "A dependency of the service is unavailable or not configured",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the given error statuses with the error body model."""
    return {code: {"model": ErrorBody, "description": DESCRIPTIONS[code]} for code in codes}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _validates(dependant: Dependant) -> bool:
    if dependant.path_params or dependant.query_params or dependant.header_params:
        return True
    if dependant.cookie_params or dependant.body_params:
        return True
    return any(_validates(sub) for sub in dependant.dependencies)


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route with its effective path and dependencies, wherever it was included.

    FastAPI 0.150 keeps included routers as nodes (`app.routes` no longer lists the routes);
    `iter_route_contexts` gives the route as it is served (what OpenAPI generation walks too).
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI: the routes are flat
        yield from (route for route in app.routes if isinstance(route, APIRoute))
        return
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def route_error_statuses(route: Any) -> set[int]:
    """The error statuses a route can answer, from its dependencies and parameters."""
    from api import auth  # late: auth imports the settings dependency, which imports nothing here

    statuses = {413, 500}
    for call in _calls(route.dependant):
        if call is auth.authenticate:
            statuses.add(401)
        elif getattr(call, "__qualname__", "").startswith("require_roles."):
            statuses.add(403)
        elif call is auth.slack_signed:
            statuses |= {401, 503}
    if _validates(route.dependant):
        statuses.add(422)
    if route.dependant.body_params:
        statuses.add(400)  # FastAPI's own answer to a body that is not JSON (or not UTF-8)
    return statuses


def install(app: FastAPI, extra_schemas: dict[str, type[BaseModel]] | None = None) -> None:
    """Generate the document once, then complete every operation's error responses."""
    original = app.openapi

    completed: list[int] = []  # the id of the last document completed here

    def openapi() -> dict[str, Any]:
        schema = original()  # FastAPI caches it until the routes change
        if completed and completed[-1] == id(schema):
            return schema
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in {"ErrorBody": ErrorBody, **(extra_schemas or {})}.items():
            _add_component(components, name, model)
        for route in api_routes(app):
            if route.include_in_schema:
                for method in route.methods:
                    operation = schema["paths"][route.path_format].get(method.lower())
                    if operation is not None:
                        _complete(operation, route_error_statuses(route))
        if "/HTTPValidationError" not in json.dumps(schema["paths"]):
            # FastAPI's 422 model, replaced above by what the handler really sends.
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
        completed.append(id(schema))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_component(components: dict[str, Any], name: str, model: type[BaseModel]) -> None:
    generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for sub_name, sub in generated.pop("$defs", {}).items():
        components.setdefault(sub_name, sub)
    components[name] = generated


def _complete(operation: dict[str, Any], statuses: set[int]) -> None:
    responses = operation.setdefault("responses", {})
    for code in sorted(statuses):
        responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
    for code, response in responses.items():
        if not code.isdigit() or int(code) < 400:
            continue
        content = response.get("content", {}).get("application/json", {})
        ref = content.get("schema", {}).get("$ref", "")
        if not content.get("schema") or ref.endswith("/HTTPValidationError"):
            response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
        if int(code) in DESCRIPTIONS and response.get("description") in (
            None,
            "",
            "Validation Error",
        ):
            response["description"] = DESCRIPTIONS[int(code)]
    operation["responses"] = dict(sorted(responses.items()))
