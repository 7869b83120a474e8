"""CLI: `firebreak replay FILE`: a recorded stream into a running API or in-process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import console, database, err_console, fail
from firebreak.settings import get_settings
from firebreak.signals.ingest import IngestResult
from firebreak.signals.parsing import FileFormatError, Row, read_file
from firebreak.signals.schema import SignalIn

SHOWN_REJECTIONS = 20


class _Sink:
    """Where batches go: the API over HTTP, or an in-process Ingestor."""

    def send(self, signals: list[SignalIn]) -> IngestResult:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections and wait for playbook runs this process started."""


class _HttpSink(_Sink):
    def __init__(self, url: str, token: str | None) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=120)
        self._httpx = httpx

    def send(self, signals: list[SignalIn]) -> IngestResult:
        import orjson

        body = orjson.dumps([s.model_dump(mode="json") for s in signals])
        try:
            response = self._client.post(
                "/api/v1/signals", content=body, headers={"Content-Type": "application/json"}
            )
        except self._httpx.HTTPError as exc:
            raise ReplayError(f"cannot reach the API at {self._client.base_url}: {exc}") from None
        if response.status_code not in (200, 207, 422):
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text[:200]
            raise ReplayError(f"the API answered {response.status_code}: {detail}")
        data = response.json()
        return IngestResult(
            accepted=data["accepted"],
            duplicates=data["duplicates"],
            rejected=data["rejected"],
            alerts=data.get("alerts", 0),
            incidents_opened=data.get("incidents_opened", []),
            incidents_escalated=data.get("incidents_escalated", []),
        )

    def close(self) -> None:
        self._client.close()


class _LocalSink(_Sink):
    def __init__(self, launch: bool) -> None:
        from api.launching import default_launcher, held_launcher
        from firebreak.signals.ingest import Ingestor, build_detection, load_triggers

        settings = get_settings()
        engine = database(settings)
        self._runs: list[Any] = []
        launcher = default_launcher(settings, engine) if launch else held_launcher(engine)

        def on_opened(incident_id: int) -> None:
            self._runs.append(launcher(incident_id))

        self._ingestor = Ingestor(
            engine, build_detection(load_triggers(settings.playbooks_dir)), on_opened
        )
        self._ingestor.restore()

    def send(self, signals: list[SignalIn]) -> IngestResult:
        return self._ingestor.ingest(signals)

    def close(self) -> None:
        threads = [r for r in self._runs if hasattr(r, "join")]
        if threads:
            console.print(f"Waiting for {len(threads)} playbook run(s) to finish...")
            for thread in threads:
                thread.join()


class ReplayError(RuntimeError):
    pass


class _Rejections:
    """The first rows rejected, to show, and how many in all: a file of millions of bad rows
    must not be held in memory for a summary that shows twenty."""

    def __init__(self) -> None:
        self.shown: list[tuple[int, str]] = []
        self.count = 0

    def add(self, line: int, reason: str) -> None:
        self.count += 1
        if len(self.shown) < SHOWN_REJECTIONS:
            self.shown.append((line, reason))


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def _paced(rows: Iterator[Row], speed: float | None) -> Iterator[tuple[Row, float]]:
    """Each row with the wall-clock second it is due (0 when replaying as fast as possible)."""
    first: datetime | None = None
    start = time.monotonic()
    for row in rows:
        if speed is None or row.signal is None:
            yield row, 0.0
            continue
        if first is None:
            first = row.signal.created_at
        yield row, start + (row.signal.created_at - first).total_seconds() / speed


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("replay")
    def replay(
        file: Path = typer.Argument(..., help="NDJSON, CSV or a `timestamp,value` volume series."),
        fmt: Literal["ndjson", "csv", "volume"] | None = typer.Option(
            None, "--format", help="ndjson, csv or volume (default: from the file)."
        ),
        api: str | None = typer.Option(None, "--api", help="A running API's URL; default: here."),
        token: str | None = typer.Option(
            None, "--token", envvar="FIREBREAK_TOKEN", help="Bearer token for --api."
        ),
        speed: float | None = typer.Option(
            None, "--speed", min=0.001, help="Replay at N times real speed (from created_at)."
        ),
        fast: bool = typer.Option(False, "--fast", help="As fast as possible (the default)."),
        batch: int = typer.Option(1000, "--batch", min=1, max=10_000, help="Signals per batch."),
        time_column: str | None = typer.Option(None, "--time-column", help="CSV: time column."),
        text_column: str | None = typer.Option(None, "--text-column", help="CSV: text column."),
        author_column: str | None = typer.Option(None, "--author-column", help="CSV: author."),
        reach_column: str | None = typer.Option(None, "--reach-column", help="CSV: followers."),
        id_column: str | None = typer.Option(None, "--id-column", help="CSV: id in the source."),
        brand_column: str | None = typer.Option(None, "--brand-column", help="CSV: brand."),
        source: str | None = typer.Option(None, "--source", help="Source name for every row."),
        channel: str | None = typer.Option(None, "--channel", help="Volume: the queue/channel."),
        launch: bool = typer.Option(
            True, "--launch/--no-launch", help="In-process: run the playbooks of new incidents."
        ),
    ) -> None:
        """Replay a recorded stream of signals; bad rows are reported by line, the rest ingested."""
        if fast and speed is not None:
            fail("--fast and --speed exclude each other: pick one.")
        columns = {
            "created_at": time_column,
            "text": text_column,
            "author": author_column,
            "author_reach": reach_column,
            "source_id": id_column,
            "brand": brand_column,
        }
        if not file.is_file():
            fail(f"{file}: no such file.")
        try:
            rows = read_file(file, fmt, columns=columns, source=source, channel=channel)
            total = _count_lines(file)
            sink: _Sink = _HttpSink(api, token) if api else _LocalSink(launch)
        except FileFormatError as exc:
            fail(str(exc))
        summary = IngestResult()
        rejected = _Rejections()
        pending: list[SignalIn] = []
        lines: list[int] = []

        def flush() -> None:
            if pending:
                result = sink.send(pending)
                for r in result.rejected:  # the server's verdicts, mapped back to file lines
                    rejected.add(lines[r["index"]], r["reason"])
                result.rejected = []
                summary.add(result)
                pending.clear()
                lines.clear()

        columns_ui = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        try:
            with Progress(*columns_ui, console=err_console, transient=True) as progress:
                task = progress.add_task(f"Replaying {file.name}", total=total)
                for row, due in _paced(rows, speed):
                    wait = due - time.monotonic()
                    if wait > 0:
                        flush()
                        time.sleep(wait)
                    if row.signal is None:
                        rejected.add(row.line, row.reason or "invalid")
                    else:
                        pending.append(row.signal)
                        lines.append(row.line)
                        if len(pending) >= batch:
                            flush()
                    progress.update(task, completed=row.line)
                flush()
                progress.update(task, completed=total)
        except FileFormatError as exc:
            fail(str(exc))
        except ReplayError as exc:
            _print_summary(summary, rejected)
            fail(f"{exc} (the counts above were stored before it stopped).")
        finally:
            sink.close()
        _print_summary(summary, rejected)


def _print_summary(summary: IngestResult, rejected: _Rejections) -> None:
    for line, reason in rejected.shown:
        err_console.print(f"[yellow]line {line}:[/] {reason}", highlight=False)
    if rejected.count > len(rejected.shown):
        err_console.print(f"... and {rejected.count - len(rejected.shown)} more rejected rows")
    table = Table("accepted", "duplicates", "rejected", "alerts", "opened", "escalated")
    table.add_row(
        str(summary.accepted),
        str(summary.duplicates),
        str(rejected.count),
        str(summary.alerts),
        ", ".join(map(str, summary.incidents_opened)) or "-",
        ", ".join(map(str, summary.incidents_escalated)) or "-",
    )
    console.print(table)
