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
    ) -> None:
        """Print the alerts a trigger would raise on FILE; nothing is stored or sent."""
        from firebreak.detection.engine import DetectionEngine
        from firebreak.signals.parsing import FileFormatError, read_file

        if format is not None and format not in ("volume", "csv", "ndjson"):
            fail(f"--format {format!r} is not one of: volume, csv, ndjson")
        name, trigger = _trigger(playbook)
        engine = DetectionEngine({name: trigger})
        rejected = 0
        previous = None
        try:
            for row in read_file(file, format):  # type: ignore[arg-type]
                if row.signal is None:
                    rejected += 1
                    err_console.print(f"{file}:{row.line}: skipped: {row.reason}", highlight=False)
                    continue
                signal = row.signal.model_dump()
                if previous is not None and signal["created_at"] < previous:
                    err_console.print(
                        f"{file}:{row.line}: earlier than the row before; counted where it falls",
                        highlight=False,
                    )
                previous = signal["created_at"]
                for alert in engine.observe(signal):
                    if as_json:
                        print(orjson.dumps(alert.summary()).decode())
                    else:
                        console.print(
                            f"{alert.at.isoformat()}  {alert.severity}  {alert.rule}: "
                            f"{alert.value:g} against {alert.baseline:.1f}",
                            highlight=False,
                        )
        except FileFormatError as exc:
            fail(str(exc))
        except UnicodeDecodeError as exc:
            fail(f"{file}: not a text file ({exc.reason})")
        if rejected:
            err_console.print(f"{rejected} row(s) skipped (see above)", highlight=False)
