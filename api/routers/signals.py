"""`POST /api/v1/signals`: a JSON array or NDJSON batch; bad items rejected, good ones kept."""

from __future__ import annotations

import time

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.auth import require_roles
from api.deps import IngestorDep
from api.openapi import DESCRIPTIONS, ERROR_REF, errors
from api.schemas import ErrorBody, IngestResponse
from firebreak.signals.parsing import MAX_BATCH, BodyError

router = APIRouter(prefix="/api/v1", tags=["signals"])

_SIGNAL_SCHEMA = {"$ref": "#/components/schemas/SignalIn"}


@router.post(
    "/signals",
    response_model=IngestResponse,
    dependencies=[require_roles("ingest", "admin")],
    summary="Ingest a batch of signals",
    description=(
        f"A JSON array (`application/json`) or NDJSON (`application/x-ndjson`) of up to "
        f"{MAX_BATCH} signals. 200 when every item is accepted or a duplicate, 207 when some "
        "are rejected (each with its index and reason; the others are stored), 422 when all are."
    ),
    responses={
        207: {"model": IngestResponse, "description": "Some items rejected, the others stored"},
        **errors(400),
        413: {
            "model": ErrorBody,
            "description": f"The body is over 64 MiB or has more than {MAX_BATCH} items",
        },
        422: {
            "description": (
                "Every item rejected (the ingest report, each with its index and reason), "
                f"or the body is not an array of objects. {DESCRIPTIONS[422]}"
            ),
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/IngestResponse"},
                            {"$ref": ERROR_REF},
                        ]
                    }
                }
            },
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": _SIGNAL_SCHEMA}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def post_signals(request: Request, ingestor: IngestorDep) -> Response:
    body = await request.body()  # at most the app's body limit (api.middleware.BodyLimit)
    began = time.perf_counter()
    try:
        result = await run_in_threadpool(
            ingestor.ingest_body, body, request.headers.get("content-type")
        )
    except BodyError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    if not result.rejected:
        code = 200
    elif result.accepted or result.duplicates:
        code = 207
    else:
        code = 422
    # Server-Timing lets a client (and bench/ingest_speed.py) split server work from transport.
    took = f"ingest;dur={(time.perf_counter() - began) * 1000:.1f}"
    return Response(
        orjson.dumps(result.as_dict()),
        status_code=code,
        media_type="application/json",
        headers={"Server-Timing": took},
    )
