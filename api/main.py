"""`create_app()`: the JSON API. Thin routers over the domain; JSON errors, never tracebacks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api import openapi
from api.deps import Launcher
from api.launching import default_launcher
from api.middleware import BodyLimit, CatchAll
from api.routers import accounts, controls, health, incidents, signals, slack
from api.sweeper import RunSweeper
from firebreak.settings import Settings, get_settings
from firebreak.signals.ingest import Ingestor, build_detection, load_triggers
from firebreak.signals.schema import SignalIn
from firebreak.store.db import engine_for

log = logging.getLogger("firebreak.api")


def create_app(settings: Settings | None = None, launcher: Launcher | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine_for(settings.effective_database_url)
    # Runs a crash interrupted (or that never started) are picked up, at start-up and then
    # periodically, by the real launcher only (tests hand in their own).
    resume_on_start = launcher is None
    launcher = launcher or default_launcher(settings, engine)
    detection = build_detection(load_triggers(settings.playbooks_dir))
    ingestor = Ingestor(engine, detection, launcher, worker=settings.use_ingest_worker)
    ingestor.restore()

    sweeper = RunSweeper(settings) if resume_on_start else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ingestor.start()
        if sweeper is not None:
            sweeper.start()
        try:
            yield
        finally:
            # Graceful shutdown: no new runs, in-flight steps get a bounded grace, runs left
            # waiting are resumed by the next start (never marked crashed).
            if sweeper is not None:
                sweeper.stop()
                # `firebreak serve` exits next; elsewhere (tests) later runs must still wait.
                exiting = getattr(app.state, "exit_after_shutdown", False)
                _stop_runs(settings.shutdown_grace_seconds, exiting=exiting)
            ingestor.close()

    app = FastAPI(
        title="Firebreak",
        version="0.1.0",
        description="Crisis-response orchestration: signals in, incidents, playbooks, gates.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.launcher = launcher
    app.state.ingestor = ingestor
    app.include_router(health.router)
    app.include_router(signals.router)
    app.include_router(incidents.router)
    app.include_router(controls.router)
    app.include_router(slack.router)
    app.include_router(accounts.router)
    openapi.install(app, extra_schemas={"SignalIn": SignalIn})  # signals are read raw, for speed
    _install_error_handlers(app)
    # Outermost last: a 500 never resets the connection, and no body passes the limit.
    app.add_middleware(BodyLimit)
    app.add_middleware(CatchAll)
    return app


def _stop_runs(grace_seconds: float, *, exiting: bool) -> None:
    try:
        from flows.launcher import stop_runs
    except ImportError:
        return
    stop_runs(grace_seconds, exiting=exiting)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        items = []
        for err in exc.errors():
            loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append(f"{'/'.join(str(p) for p in loc)}: {msg}")
            items.append({"loc": loc, "msg": msg, "type": str(err.get("type", "invalid"))})
        return JSONResponse(
            {"detail": "; ".join(problems) or "Invalid request", "errors": items},
            status_code=422,
        )
