"""CLI: `firebreak detect FILE`: run a trigger's detectors over a file, with no side effects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from cli.common import console, err_console, fail


def _trigger(playbook: str | None) -> tuple[str, Any]:
    """(name, trigger) of the playbook named or given as a path; the default spike without one."""
    from firebreak.detection.defaults import DEFAULT_PLAYBOOK, DEFAULT_SPIKE_TRIGGER

    if playbook is None:
        return DEFAULT_PLAYBOOK, DEFAULT_SPIKE_TRIGGER
    from firebreak.playbook.catalog import PlaybookNotFound, load_named
    from firebreak.playbook.loader import PlaybookError, load_playbook
    from firebreak.settings import get_settings

    try:
        if playbook.endswith((".yaml", ".yml")) or "/" in playbook:
            loaded = load_playbook(Path(playbook))
        else:
            loaded = load_named(get_settings().playbooks_dir, playbook)
    except (PlaybookError, PlaybookNotFound, OSError) as exc:
        fail(str(exc))
    if loaded.trigger is None:
        fail(f"playbook {loaded.name!r} has no trigger: block, so nothing to detect")
    return loaded.name, loaded.trigger


def _print(alert: Any, as_json: bool) -> None:
    if as_json:
        print(orjson.dumps(alert.summary()).decode())
    else:
        console.print(
            f"{alert.at.isoformat()}  {alert.severity}  {alert.scope}  {alert.rule}: "
            f"{alert.value:g} against {alert.baseline:.1f}",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add `firebreak detect` to `app`."""

    @app.command()
    def detect(
        file: Annotated[Path, typer.Argument(help="Signals: NDJSON, CSV or a volume series.")],
        format: Annotated[
            str | None,
            typer.Option("--format", help="volume | csv | ndjson (default: guessed)."),
        ] = None,
        playbook: Annotated[
            str | None,
            typer.Option(help="Playbook name or file whose trigger to run (default: spike)."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per alert.")] = False,
        batch: Annotated[
            int,
            typer.Option(
                min=1, max=10_000, help="Signals per batch, as `replay --batch` (time-ordered)."
            ),
        ] = 1000,
        time_column: Annotated[str | None, typer.Option(help="CSV: time column.")] = None,
        text_column: Annotated[str | None, typer.Option(help="CSV: text column.")] = None,
        author_column: Annotated[str | None, typer.Option(help="CSV: author.")] = None,
        reach_column: Annotated[str | None, typer.Option(help="CSV: followers.")] = None,
        id_column: Annotated[str | None, typer.Option(help="CSV: id in the source.")] = None,
        brand_column: Annotated[str | None, typer.Option(help="CSV: brand.")] = None,
        source: Annotated[str | None, typer.Option(help="Source name for every row.")] = None,
        channel: Annotated[str | None, typer.Option(help="Volume: the queue/channel.")] = None,
    ) -> None:
        """Print the alerts a trigger would raise on FILE; nothing is stored or sent.

        Signals go through ingestion's own steps (triage, de-duplication, time order per
        batch), so a dry run alerts where `firebreak replay` of the same file would.
        """
        from firebreak.detection.dryrun import DryRun, file_alerts
        from firebreak.signals.parsing import FileFormatError

        if format is not None and format not in ("volume", "csv", "ndjson"):
            fail(f"--format {format!r} is not one of: volume, csv, ndjson")
        if not file.is_file():
            fail(f"{file}: no such file")
        name, trigger = _trigger(playbook)
        columns = {
            "created_at": time_column,
            "text": text_column,
            "author": author_column,
            "author_reach": reach_column,
            "source_id": id_column,
            "brand": brand_column,
        }
        run = DryRun({name: trigger})
        rejected = 0

        def skipped(line: int, reason: str) -> None:
            nonlocal rejected
            rejected += 1
            err_console.print(f"{file}:{line}: skipped: {reason}", highlight=False)

        def disorder(line: int) -> None:
            err_console.print(
                f"{file}:{line}: earlier than the row before; put in time order "
                "within its batch, as replay does",
                highlight=False,
            )

        try:
            alerts = file_alerts(
                file,
                format,  # type: ignore[arg-type]
                run,
                batch=batch,
                on_skip=skipped,
                on_disorder=disorder,
                columns=columns,
                source=source,
                channel=channel,
            )
            for alert in alerts:
                _print(alert, as_json)
        except FileFormatError as exc:
            fail(str(exc))
        except UnicodeDecodeError as exc:
            fail(f"{file}: not a text file ({exc.reason})")
        if rejected:
            err_console.print(f"{rejected} row(s) skipped (see above)", highlight=False)
        if run.duplicates:
            err_console.print(
                f"{run.duplicates} duplicate(s) of an earlier (source, id) not counted",
                highlight=False,
            )
