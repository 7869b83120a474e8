"""From bytes and files to validated signals: a verdict per item, never one error for all.

API bodies are a JSON array or NDJSON. Files (`firebreak replay`) are NDJSON, CSV with named
columns, or a volume series (`timestamp,value`). File readers stream: memory stays flat.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from firebreak.signals.schema import SignalIn, signal_adapter

# Validating a whole clean array in one call is the fast path; any error falls back per item.
_batch_adapter: TypeAdapter[list[SignalIn]] = TypeAdapter(list[SignalIn])

MAX_BATCH = 10_000
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "text/jsonl")

FileFormat = Literal["ndjson", "csv", "volume"]


def _loads(data: bytes) -> Any:
    """JSON to Python objects; a syntax error is a ValueError.

    Not orjson here: it turns an integer over 64 bits into a float, so 2**70 followers would
    be misreported and a numeric tweet id silently rounded. pydantic-core keeps integers exact,
    and reads NaN/Infinity, which the model then rejects for that item alone.
    """
    return from_json(data)


class BodyError(ValueError):
    """The body as a whole is unusable (not JSON, too many items): nothing in it is accepted."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in the ingestion worker process, it crosses back pickled: keep the status.
        return (_body_error, (str(self), self.status))


def _body_error(message: str, status: int) -> BodyError:
    return BodyError(message, status=status)


class FileFormatError(ValueError):
    """A file cannot be read at all (missing, wrong columns): reported before any row."""


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int  # position in the batch (API) or line number (files)
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "reason": self.reason}


@dataclass(slots=True)
class ParsedBatch:
    signals: list[tuple[int, SignalIn]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def describe_errors(error: ValidationError, prefix: str = "") -> str:
    """`/3/created_at: Input should be a valid datetime; ...`: where, then what is wrong."""
    parts = []
    for err in error.errors(include_url=False):
        loc = "/".join(str(p) for p in err["loc"])
        where = f"{prefix}/{loc}" if loc else prefix
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def validate_item(index: int, item: Any, batch: ParsedBatch) -> None:
    if not isinstance(item, Mapping):
        batch.rejected.append(
            Rejection(index, f"/{index}: expected a JSON object, got {type(item).__name__}")
        )
        return
    try:
        batch.signals.append((index, signal_adapter.validate_python(item)))
    except ValidationError as exc:
        batch.rejected.append(Rejection(index, describe_errors(exc, f"/{index}")))


def _is_ndjson(body: bytes, content_type: str | None) -> bool:
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media in NDJSON_TYPES:
            return True
        if media == "application/json":
            return False
    # Sniffed: an array starts with '['; several top-level objects mean NDJSON.
    return body.lstrip()[:1] != b"["


def parse_body(
    body: bytes, content_type: str | None = None, *, max_items: int = MAX_BATCH
) -> ParsedBatch:
    """Validate every item of a JSON array or NDJSON body; bad items become rejections."""
    if not body.strip():
        raise BodyError("The body is empty: send a JSON array of signals or NDJSON (one per line)")
    if _is_ndjson(body, content_type):
        return _parse_ndjson(body, max_items)
    try:
        signals = _batch_adapter.validate_json(body)
    except ValidationError:
        pass  # some item is bad (or it is not an array): find which, item by item
    else:
        _check_size(len(signals), max_items)
        return ParsedBatch(signals=list(enumerate(signals)))
    try:
        items = _loads(body)
    except ValueError as exc:
        raise BodyError(f"The body is not valid JSON: {exc}") from None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise BodyError(
            f"Expected a JSON array of signal objects, got a JSON {type(items).__name__}",
            status=422,
        )
    _check_size(len(items), max_items)
    batch = ParsedBatch()
    for index, item in enumerate(items):
        validate_item(index, item, batch)
    return batch


def _check_size(count: int, max_items: int) -> None:
    if count > max_items:
        raise BodyError(
            f"The batch has {count} items; at most {max_items} are accepted per request: "
            "split it into smaller batches",
            status=413,
        )


def _parse_ndjson(body: bytes, max_items: int) -> ParsedBatch:
    lines = [line for line in body.splitlines() if line.strip()]
    _check_size(len(lines), max_items)
    batch = ParsedBatch()
    parsed_any = False
    for index, line in enumerate(lines):
        try:
            item = _loads(line)
        except ValueError as exc:
            batch.rejected.append(Rejection(index, f"/{index}: not valid JSON: {exc}"))
            continue
        parsed_any = True
        validate_item(index, item, batch)
    if not parsed_any:
        # A single pretty-printed object spans lines: try the body as one JSON document.
        try:
            whole = _loads(body)
        except ValueError:
            whole = None
        if isinstance(whole, dict):
            batch = ParsedBatch()
            validate_item(0, whole, batch)
            return batch
        # Not one line parsed: the client did not send JSON at all; say so once.
        first = batch.rejected[0].reason.split(": ", 1)[1] if batch.rejected else ""
        raise BodyError(
            f"The body is not JSON or NDJSON ({first}); send a JSON array of signals "
            "or one JSON object per line"
        )
    return batch


# -- files -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a file: a signal, or the reason it was rejected; `line` is 1-based."""

    line: int
    signal: SignalIn | None = None
    reason: str | None = None


def read_ndjson(path: Path) -> Iterator[Row]:
    with _open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                item = _loads(raw)
            except ValueError as exc:
                yield Row(line_no, reason=f"not valid JSON: {exc}")
                continue
            yield _row(line_no, item)


# SignalIn fields a CSV column can fill, with the column names tried when none is given.
CSV_FIELDS: dict[str, tuple[str, ...]] = {
    "created_at": ("created_at", "timestamp", "time", "date", "tweet_created"),
    "text": ("text", "message", "body", "content"),
    "author": ("author", "user", "name", "username"),
    "author_reach": ("author_reach", "followers", "reach"),
    "source": ("source",),
    "source_id": ("source_id", "id", "tweet_id"),
    "channel": ("channel", "queue"),
    "language": ("language", "lang"),
    "url": ("url",),
    "brand": ("brand", "airline"),
    "topic": ("topic",),
    "sentiment": ("sentiment",),
    "type": ("type",),
    "value": ("value", "count"),
    "interval_seconds": ("interval_seconds",),
}


def csv_mapping(header: Iterable[str], chosen: Mapping[str, str | None]) -> dict[str, str]:
    """Field -> column: the columns named on the command line (which must exist), else defaults."""
    columns = list(header)
    mapping: dict[str, str] = {}
    for fld, column in chosen.items():
        if column is None:
            continue
        if column not in columns:
            raise FileFormatError(
                f"Column {column!r} (for {fld}) is not in the file; its columns are: "
                + ", ".join(columns)
            )
        mapping[fld] = column
    for fld, candidates in CSV_FIELDS.items():
        if fld not in mapping:
            found = next((c for c in candidates if c in columns), None)
            if found is not None:
                mapping[fld] = found
    if "created_at" not in mapping:
        raise FileFormatError(
            "No time column found: name it with --time-column; the file's columns are: "
            + ", ".join(columns)
        )
    return mapping


def read_csv(
    path: Path, columns: Mapping[str, str | None] | None = None, *, source: str | None = None
) -> Iterator[Row]:
    with _open(path, "r", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            raise FileFormatError(f"{path}: the file is empty (no header row)")
        mapping = csv_mapping(reader.fieldnames, columns or {})
        for record in reader:
            line_no = reader.line_num
            item = {f: record[c] for f, c in mapping.items() if record.get(c) not in (None, "")}
            if source and "source" not in item:
                item["source"] = source
            yield _row(line_no, item)


def read_volume(
    path: Path, *, channel: str | None = None, source: str | None = None
) -> Iterator[Row]:
    """`timestamp,value` counts per interval; the interval is the gap to the previous row."""
    name = channel or path.stem
    src = source or "volume"
    with _open(path, "r", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise FileFormatError(f"{path}: the file is empty")
        if [h.strip().lower() for h in header[:2]] != ["timestamp", "value"]:
            raise FileFormatError(
                f"{path}: a volume series starts with the header 'timestamp,value', "
                f"found {','.join(header)!r}"
            )
        previous: datetime | None = None
        for record in reader:
            line_no = reader.line_num
            if len(record) < 2:
                yield Row(line_no, reason=f"expected 'timestamp,value', got {','.join(record)!r}")
                continue
            item: dict[str, Any] = {
                "type": "volume",
                "source": src,
                "source_id": f"{name}@{record[0].strip()}",
                "channel": name,
                "created_at": record[0],
                "value": record[1],
            }
            row = _row(line_no, item)
            if row.signal is not None:
                current = row.signal.created_at
                if previous is not None and current > previous:
                    row.signal.interval_seconds = int((current - previous).total_seconds())
                previous = current
            yield row


def read_file(path: Path, fmt: FileFormat | None = None, **options: Any) -> Iterator[Row]:
    fmt = fmt or sniff_format(path)
    if fmt == "ndjson":
        return read_ndjson(path)
    if fmt == "csv":
        return read_csv(path, options.get("columns"), source=options.get("source"))
    if fmt == "volume":
        return read_volume(path, channel=options.get("channel"), source=options.get("source"))
    raise FileFormatError(f"Unknown format {fmt!r}: use ndjson, csv or volume")


def sniff_format(path: Path) -> FileFormat:
    if path.suffix.lower() in (".ndjson", ".jsonl", ".json"):
        return "ndjson"
    with _open(path, "r", newline="") as fh:
        first = fh.readline().strip().lower()
    if first.startswith("{"):
        return "ndjson"
    if first.replace(" ", "") == "timestamp,value":
        return "volume"
    return "csv"


def _row(line_no: int, item: Any) -> Row:
    if not isinstance(item, Mapping):
        return Row(line_no, reason=f"expected a JSON object, got {type(item).__name__}")
    try:
        return Row(line_no, signal=signal_adapter.validate_python(item))
    except ValidationError as exc:
        return Row(line_no, reason=describe_errors(exc))


def _open(path: Path, mode: str, **kwargs: Any) -> Any:
    try:
        if "b" in mode:
            return path.open(mode)
        return path.open(mode, encoding="utf-8", errors="replace", **kwargs)
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileFormatError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise FileFormatError(f"{path}: permission denied") from None
