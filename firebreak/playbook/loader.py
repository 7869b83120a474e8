"""Reading playbook YAML with the line and column of every node, and loading a validated Playbook.

The YAML is converted to plain dicts and lists (what pydantic validates) while a side table keeps
where each value and each key was written, so any error path (`steps.3.with.audience`) maps back
to `file:line:column`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from firebreak.playbook.model import Playbook

# An alias bomb (`&a [*a, *a, ...]` nested) expands exponentially; stop long before memory does.
MAX_NODES = 200_000
MAX_FILE_BYTES = 2_000_000

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in one file, 1-based line and column, with a hint saying what to write."""

    file: str
    line: int
    column: int
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class PlaybookError(ValueError):
    """A playbook that does not validate; `diagnostics` lists every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


@dataclass
class Document:
    """A parsed YAML file: plain data plus where each node was written (1-based)."""

    file: str
    text: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    styles: dict[Path_, str] = field(default_factory=dict)

    def locate(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Where `path` was written; the nearest enclosing node when it was not (a missing key)."""
        path = tuple(path)
        if key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), (1, 1))

    def string_column(self, path: Path_, offset: int) -> tuple[int, int]:
        """Line and column of character `offset` (0-based) inside the string at `path`.

        Exact for one-line plain and quoted scalars; block scalars give the scalar's own place.
        """
        line, column = self.locate(path)
        style = self.styles.get(tuple(path), "plain")
        if style in ("plain", "single", "double"):
            return line, column + offset + (0 if style == "plain" else 1)
        return line, column


class _TooLarge(Exception):
    pass


def _style(value: Any) -> str:
    if isinstance(value, DoubleQuotedScalarString):
        return "double"
    if isinstance(value, SingleQuotedScalarString):
        return "single"
    if isinstance(value, (LiteralScalarString, FoldedScalarString)):
        return "block"
    return "plain"


def _plain_key(key: Any) -> Any:
    if isinstance(key, (str, int, float, bool)) or key is None:
        return str(key) if isinstance(key, str) else key
    return str(key)


def _convert(node: Any, path: Path_, document: Document, stack: set[int], count: list[int]) -> Any:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise _TooLarge
    if isinstance(node, CommentedMap):
        if id(node) in stack:
            raise _TooLarge
        stack.add(id(node))
        result: dict[Any, Any] = {}
        for key, value in node.items():
            plain = _plain_key(key)
            child = (*path, plain)
            try:
                key_line, key_col = node.lc.key(key)
                value_line, value_col = node.lc.value(key)
            except (KeyError, TypeError, AttributeError):
                key_line, key_col = value_line, value_col = node.lc.line, node.lc.col
            document.keys[child] = (key_line + 1, key_col + 1)
            document.values[child] = (value_line + 1, value_col + 1)
            result[plain] = _convert(value, child, document, stack, count)
        stack.discard(id(node))
        return result
    if isinstance(node, CommentedSeq):
        if id(node) in stack:
            raise _TooLarge
        stack.add(id(node))
        items = []
        for index, value in enumerate(node):
            child = (*path, index)
            try:
                line, col = node.lc.item(index)
            except (KeyError, TypeError, AttributeError, IndexError):
                line, col = node.lc.line, node.lc.col
            document.values[child] = (line + 1, col + 1)
            items.append(_convert(value, child, document, stack, count))
        stack.discard(id(node))
        return items
    if isinstance(node, str):
        document.styles[path] = _style(node)
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, (datetime, date)):
        # Times stay text: expressions and durations read text, and the model says what it wants.
        return node.isoformat()
    return str(node)


def parse_text(text: str, file: str) -> Document | Diagnostic:
    """Parse YAML text; a syntax error comes back as a located Diagnostic."""
    yaml = YAML(typ="rt")
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        hint = None
        if "found character '\\t'" in str(problem) or "\t" in problem:
            hint = "indent with spaces, not tabs"
        elif "DuplicateKey" in type(exc).__name__ or "duplicate key" in str(problem):
            hint = "each key may appear once in a mapping"
        return Diagnostic(file, line, column, f"YAML syntax error: {problem}", hint)
    except YAMLError as exc:
        return Diagnostic(file, 1, 1, f"YAML error: {exc}")
    except (RecursionError, MemoryError):
        return Diagnostic(file, 1, 1, "YAML nested too deeply")
    document = Document(file=file, text=text, data=None)
    document.values[()] = (1, 1)
    try:
        document.data = _convert(raw, (), document, set(), [0])
    except (_TooLarge, RecursionError):
        return Diagnostic(
            file, 1, 1, f"document too large or self-referencing (limit {MAX_NODES} nodes)"
        )
    return document


def read_document(path: Path) -> Document | Diagnostic:
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Diagnostic(file, 1, 1, f"cannot read file: {exc.strerror or exc}")
    if len(raw) > MAX_FILE_BYTES:
        return Diagnostic(file, 1, 1, f"file larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Diagnostic(file, 1, 1, f"not UTF-8 text (byte {exc.start})", "save as UTF-8")
    return parse_text(text, file)


def load_playbook(path: str | Path, *, templates_dir: Path | None = None) -> Playbook:
    """Load and fully validate one playbook; raise PlaybookError listing every problem."""
    from firebreak.playbook.validate import validate_file

    playbook, diagnostics = validate_file(Path(path), templates_dir=templates_dir)
    if diagnostics or playbook is None:
        raise PlaybookError(diagnostics)
    return playbook


def load_playbook_text(
    text: str, file: str = "<playbook>", *, templates_dir: Path | None = None
) -> Playbook:
    """`load_playbook` for text in memory (tests, API uploads)."""
    from firebreak.playbook.validate import validate_text

    playbook, diagnostics = validate_text(text, file, templates_dir=templates_dir)
    if diagnostics or playbook is None:
        raise PlaybookError(diagnostics)
    return playbook
