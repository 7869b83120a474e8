"""Request dependencies: settings, the database session, the ingestor, the flow launcher."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from firebreak.settings import Settings
from firebreak.signals.ingest import Ingestor

Launcher = Callable[[int], object]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def get_ingestor(request: Request) -> Ingestor:
    return request.app.state.ingestor


def get_launcher(request: Request) -> Launcher:
    return request.app.state.launcher


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
IngestorDep = Annotated[Ingestor, Depends(get_ingestor)]
LauncherDep = Annotated[Launcher, Depends(get_launcher)]
