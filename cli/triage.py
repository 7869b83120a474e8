"""CLI: `firebreak triage FILE` scores every post in a CSV, NDJSON or plain-text file."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO

import orjson
import typer
from rich.console import Console
from rich.table import Table

from firebreak.triage import Triager, TriageResult


class Format(StrEnum):
    csv = "csv"
    ndjson = "ndjson"
    text = "text"


_SUFFIXES = {".csv": Format.csv, ".ndjson": Format.ndjson, ".jsonl": Format.ndjson}


class BadRow(Exception):
    """A row we cannot score; the message says why, the line says where."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")


class MissingColumn(Exception):
    pass


Row = tuple[int, str, str | None, int]  # line, text, author, reach


def _lines(handle: IO[bytes]) -> Iterator[tuple[int, str | BadRow]]:
    for number, raw in enumerate(handle, start=1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield number, BadRow(number, f"not UTF-8 text ({exc.reason} at byte {exc.start})")


def _reach(value: object, line: int) -> int:
    if value is None or value == "":
        return 0
    try:
        reach = int(float(str(value)))
    except ValueError:
        raise BadRow(line, f"reach {value!r} is not a number") from None
    if reach < 0:
        raise BadRow(line, f"reach {reach} is negative")
    return reach


def _read_text(handle: IO[bytes], _: str, __: str | None, ___: str | None):
    for number, line in _lines(handle):
        if isinstance(line, BadRow):
            yield line
        elif line.strip():  # blank lines separate nothing in a plain-text file
            yield number, line.rstrip("\r\n"), None, 0


def _read_ndjson(handle: IO[bytes], column: str, author: str | None, reach: str | None):
    for number, line in _lines(handle):
        if isinstance(line, BadRow):
            yield line
            continue
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield BadRow(number, f"not valid JSON ({exc})")
            continue
        if not isinstance(item, dict):
            yield BadRow(number, f"expected a JSON object, got {type(item).__name__}")
            continue
        text = item.get(column)
        if not isinstance(text, str):
            keys = ", ".join(item) or "none"
            reason = f"no string field {column!r} (fields: {keys})"
            yield BadRow(number, reason)
            continue
        try:
            yield (
                number,
                text,
                _author(item.get(author) if author else None),
                _reach(item.get(reach) if reach else None, number),
            )
        except BadRow as bad:
            yield bad


def _author(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _read_csv(handle: IO[bytes], column: str, author: str | None, reach: str | None):
    lines = (line if isinstance(line, str) else "\n" for _, line in _lines(handle))
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise MissingColumn(f"the file is empty: no header row with a {column!r} column") from None
    wanted = [name for name in (column, author, reach) if name]
    missing = [name for name in wanted if name not in header]
    if missing:
        names = ", ".join(repr(name) for name in missing)
        raise MissingColumn(f"no column {names}; the columns are: {', '.join(header)}")
    at = {name: header.index(name) for name in wanted}
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield BadRow(reader.line_num, f"malformed CSV ({exc})")
            continue
        line = reader.line_num
        if not fields:
            continue
        if len(fields) != len(header):
            yield BadRow(line, f"{len(fields)} fields where the header has {len(header)}")
            continue
        try:
            yield (
                line,
                fields[at[column]],
                _author(fields[at[author]]) if author else None,
                _reach(fields[at[reach]] if reach else None, line),
            )
        except BadRow as bad:
            yield bad


_READERS = {Format.csv: _read_csv, Format.ndjson: _read_ndjson, Format.text: _read_text}


def _table(rows: list[tuple[int, str, TriageResult]]) -> Table:
    table = Table(title="Triage", show_lines=False)
    for name, justify in (("line", "right"), ("label", "left"), ("kind", "left")):
        # the figures must stay readable in a narrow terminal; the text gives way
        table.add_column(name, justify=justify, no_wrap=True, min_width=9)
    table.add_column("sentiment", justify="right", no_wrap=True, min_width=9)
    table.add_column("priority", justify="right", no_wrap=True, min_width=8)
    table.add_column("text", overflow="ellipsis", no_wrap=True, min_width=10)
    colours = {"negative": "red", "neutral": "white", "positive": "green"}
    for line, text, result in rows:
        table.add_row(
            str(line),
            f"[{colours[result.label]}]{result.label}[/]",
            result.kind,
            f"{result.sentiment:+.2f}",
            f"{result.priority:.2f}",
            text,
        )
    return table


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("triage")
    def triage(
        file: Path = typer.Argument(..., help="Posts to score: CSV, NDJSON or one post per line."),
        format: Format | None = typer.Option(
            None, "--format", help="Input format; guessed from the file suffix when omitted."
        ),
        text_column: str = typer.Option("text", help="Column (CSV) or field (NDJSON) to score."),
        author_column: str | None = typer.Option(
            None, help="Column/field naming the author, so repeat complainers rank higher."
        ),
        reach_column: str | None = typer.Option(
            None, help="Column/field with the author's reach (followers)."
        ),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per row."),
    ) -> None:
        """Score each post: sentiment, label, kind (complaint/venting/praise/question/other) and
        priority. Bad rows are reported on stderr with their line; good rows are still printed."""
        err = Console(stderr=True, soft_wrap=True, highlight=False)  # one message per line
        if not file.is_file():
            what = "is a directory, not a file" if file.is_dir() else "does not exist"
            err.print(f"[red]Error:[/] {file} {what}.")
            raise typer.Exit(2)
        chosen = format or _SUFFIXES.get(file.suffix.lower(), Format.text)
        triager = Triager()
        rows: list[tuple[int, str, TriageResult]] = []
        bad = 0
        out = sys.stdout
        try:
            with file.open("rb") as handle:
                for row in _READERS[chosen](handle, text_column, author_column, reach_column):
                    if isinstance(row, BadRow):
                        bad += 1
                        err.print(f"[yellow]Skipped[/] {file}, {row}")
                        continue
                    line, text, author, reach = row
                    result = triager.score(text, author=author, reach=reach)
                    if as_json:
                        out.write(orjson.dumps(result._asdict()).decode() + "\n")
                    else:
                        rows.append((line, text, result))
        except MissingColumn as exc:
            err.print(f"[red]Error:[/] {file}: {exc}")
            raise typer.Exit(2) from None
        except OSError as exc:
            err.print(f"[red]Error:[/] cannot read {file}: {exc.strerror or exc}")
            raise typer.Exit(2) from None
        if not as_json:
            Console().print(_table(rows))
        if bad:
            err.print(f"{bad} row(s) skipped; the others were scored.")
            raise typer.Exit(1)
