"""Validating playbooks: every error in every file, each located and saying what to write instead.

Pydantic checks shapes and types; the semantic checks here (references, cycles, expressions,
templates) read the raw document, so they still run when a shape error sits elsewhere in the file.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ValidationError

from firebreak.detection.checks import trigger_problems
from firebreak.expressions import (
    OPEN,
    ExpressionError,
    compile_condition,
    compile_value,
)
from firebreak.playbook.loader import Diagnostic, Document, Path_, parse_text, read_document
from firebreak.playbook.model import (
    ACTION_ARGS,
    ACTION_OUTPUTS,
    BRANCHES,
    EXPRESSION_PATTERN,
    IDENTIFIER_PATTERN,
    ON_FAILURE_POLICIES,
    ROLE_PATTERN,
    SLUG_PATTERN,
    STEP_MODELS,
    Playbook,
    validation_context,
)

# Root names a step's expressions may read (the engine's context).
STEP_CONTEXT_NAMES = ("incident", "inputs", "steps", "roles", "now", "playbook")
ACTION_NAMES = tuple(ACTION_ARGS)

_PATTERN_TEXT = {
    IDENTIFIER_PATTERN: "letters, digits and _, starting with a letter (e.g. war_room)",
    SLUG_PATTERN: "lower-case letters, digits and -, e.g. social-media-storm",
    ROLE_PATTERN: "lower-case letters, digits, - and _, e.g. contact-centre",
    EXPRESSION_PATTERN: "an expression written as ${{ ... }}",
}


def validate_paths(
    paths: Iterable[str | Path], *, templates_dir: Path | None = None
) -> list[Diagnostic]:
    """Every problem in every playbook; directories expand to their *.yaml files."""
    diagnostics: list[Diagnostic] = []
    for path in expand_paths(paths):
        diagnostics.extend(validate_file(path, templates_dir=templates_dir)[1])
    return diagnostics


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.glob("*.yaml"))
                if not p.name.endswith(".rehearsal.yaml") and not p.name.startswith("roles.")
            )
        else:
            found.append(path)
    return found


def validate_file(
    path: Path, *, templates_dir: Path | None = None
) -> tuple[Playbook | None, list[Diagnostic]]:
    document = read_document(path)
    if isinstance(document, Diagnostic):
        return None, [document]
    return validate_document(document, templates_dir or path.parent / "templates")


def validate_text(
    text: str, file: str = "<playbook>", *, templates_dir: Path | None = None
) -> tuple[Playbook | None, list[Diagnostic]]:
    document = parse_text(text, file)
    if isinstance(document, Diagnostic):
        return None, [document]
    return validate_document(document, templates_dir or Path("playbooks/templates"))


def validate_document(
    document: Document, templates_dir: Path
) -> tuple[Playbook | None, list[Diagnostic]]:
    data = document.data
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}"
        return None, [
            Diagnostic(
                document.file,
                1,
                1,
                f"a playbook is a mapping with name, version and steps; this file is {what}",
            )
        ]
    checker = _Checker(document, templates_dir)
    playbook: Playbook | None = None
    try:
        playbook = Playbook.model_validate(data, context=validation_context(data))
    except ValidationError as exc:
        checker.pydantic_errors(exc)
    except (RecursionError, ValueError, TypeError) as exc:  # defensive: never a traceback
        checker.add((), f"cannot validate: {exc}")
    checker.semantic()
    diagnostics = sorted(set(checker.diagnostics), key=lambda d: (d.line, d.column, d.message))
    return (None if diagnostics else playbook), diagnostics


# ----------------------------------------------------------------------------------------- checker


def _nearest(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.5)


def _did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    near = _nearest(word, choices)
    return f"did you mean {' or '.join(repr(n) for n in near)}?" if near else None


def _show_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unwrap_models(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic models reachable through Optional/list/dict/Annotated in a field annotation."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_unwrap_models(arg))
    return found


class _Checker:
    def __init__(self, document: Document, templates_dir: Path) -> None:
        self.document = document
        self.templates_dir = templates_dir
        self.diagnostics: list[Diagnostic] = []
        self.data: dict[str, Any] = document.data
        self._jinja = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)

    def add(
        self,
        path: Path_,
        message: str,
        hint: str | None = None,
        *,
        key: bool = False,
        at: tuple[int, int] | None = None,
    ) -> None:
        line, column = at or self.document.locate(path, key=key)
        self.diagnostics.append(Diagnostic(self.document.file, line, column, message, hint))

    # -- pydantic

    def _real_path(self, loc: tuple[Any, ...]) -> Path_:
        """The error's path in the document: union tags and type names dropped."""
        node: Any = self.data
        real: list[str | int] = []
        for part in loc:
            present = (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            )
            if present:
                real.append(part)
                node = node[part]
            elif isinstance(node, dict) and isinstance(part, str) and not _is_tag(part):
                # A missing or unknown key: keep it, the message names it.
                real.append(part)
                node = None
        return tuple(real)

    def _fields_for(self, parent: Path_) -> list[str] | None:
        if len(parent) >= 2 and parent[0] == "steps" and isinstance(parent[1], int):
            step = _get(self.data, parent[:2])
            uses = step.get("uses") if isinstance(step, dict) else None
            if uses not in STEP_MODELS:
                return None
            if len(parent) == 2:
                return _aliases(STEP_MODELS[uses])
            if parent[2] == "with":
                model: type[BaseModel] | None = ACTION_ARGS[uses]
                node: Any = step.get("with")
                for part in parent[3:]:
                    if isinstance(part, int):
                        continue
                    field = _field_named(model, part) if model else None
                    found = _unwrap_models(field.annotation) if field else []
                    model = found[0] if len(found) == 1 else None
                    node = node.get(part) if isinstance(node, dict) else None
                return _aliases(model) if model else None
            if parent[2] == "retry":
                from firebreak.playbook.model import Retry

                return _aliases(Retry)
            return None
        model = self._generic_model(parent)
        return _aliases(model) if model else None

    def _generic_model(self, parent: Path_) -> type[BaseModel] | None:
        model: type[BaseModel] | None = Playbook
        for part in parent:
            if model is None:
                return None
            if isinstance(part, int):
                continue
            field = _field_named(model, part)
            if field is None:
                # A dict value model (inputs.<name>): keep the model of the dict's values.
                continue
            found = _unwrap_models(field.annotation)
            model = found[0] if len(found) == 1 else None
        return model

    def pydantic_errors(self, exc: ValidationError) -> None:
        by_path: dict[Path_, list[tuple[str, str | None, bool]]] = {}
        for error in exc.errors(include_url=False):
            path = self._real_path(tuple(error["loc"]))
            if error["type"] == "union_tag_invalid":
                path = (*path, "uses")
            message, hint, at_key = self._explain(error, path)
            by_path.setdefault(path, [])
            if (message, hint, at_key) not in by_path[path]:
                by_path[path].append((message, hint, at_key))
        for path, problems in by_path.items():
            if len(problems) > 1:
                # Union members each complain; one message listing what would be accepted.
                messages = list(dict.fromkeys(m for m, _, _ in problems))
                hint = next((h for _, h, _ in problems if h), None)
                self.add(path, f"{_show_path(path)}: " + "; or ".join(messages), hint)
                continue
            message, hint, at_key = problems[0]
            self.add(path, f"{_show_path(path)}: {message}" if path else message, hint, key=at_key)

    def _explain(self, error: Any, path: Path_) -> tuple[str, str | None, bool]:
        kind = error["type"]
        message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        ctx = error.get("ctx") or {}
        if kind == "union_tag_invalid":
            tag = str(ctx.get("tag"))
            hint = _did_you_mean(tag, ACTION_NAMES)
            return (
                f"unknown action {tag!r}",
                (hint + " " if hint else "") + f"actions: {', '.join(ACTION_NAMES)}",
                False,
            )
        if kind == "union_tag_not_found":
            return (
                "a step needs `uses:` naming an action",
                f"actions: {', '.join(ACTION_NAMES)}",
                False,
            )
        if kind == "missing":
            fields = self._fields_for(path[:-1])
            return (
                f"missing required field `{path[-1]}`" if path else message,
                (f"fields here: {', '.join(fields)}" if fields else None),
                False,
            )
        if kind == "extra_forbidden":
            name = str(path[-1]) if path else "?"
            fields = self._fields_for(path[:-1]) or []
            near = _did_you_mean(name, fields)
            listed = f"fields here: {', '.join(fields)}" if fields else None
            hint = " ".join(h for h in (near, listed) if h) or None
            return f"unknown field `{name}`", hint, True
        if kind == "string_pattern_mismatch":
            pattern = str(ctx.get("pattern"))
            wanted = _PATTERN_TEXT.get(pattern)
            if pattern == EXPRESSION_PATTERN:
                return "must be an expression written as ${{ ... }}", None, False
            if wanted:
                return f"{error.get('input')!r} is not valid: write {wanted}", None, False
        if kind == "literal_error":
            return f"{error.get('input')!r} is not allowed: {message.lower()}", None, False
        if kind in ("dict_type", "model_type", "model_attributes_type"):
            return f"expected a mapping (key: value), got {_kind(error.get('input'))}", None, False
        if kind == "list_type":
            return f"expected a list, got {_kind(error.get('input'))}", None, False
        if kind == "too_short" and path == ("steps",):
            return "a playbook needs at least one step", None, False
        return message, None, False

    # -- semantic

    def semantic(self) -> None:
        self._trigger()
        steps = self.data.get("steps")
        if not isinstance(steps, list):
            return
        self.roles = set(self.data["roles"]) if isinstance(self.data.get("roles"), dict) else set()
        inputs = self.data.get("inputs")
        self.inputs = set(inputs) if isinstance(inputs, dict) else set()
        ids: dict[str, int] = {}
        uses_of: dict[str, str] = {}
        for index, step in enumerate(steps):
            if not isinstance(step, dict) or not isinstance(step.get("id"), str):
                continue
            step_id = step["id"]
            if step_id in ids:
                first_line = self.document.locate(("steps", ids[step_id], "id"))[0]
                self.add(
                    ("steps", index, "id"),
                    f"duplicate step id {step_id!r}",
                    f"first defined on line {first_line}; give each step its own id",
                )
                continue
            ids[step_id] = index
            if step_id in ON_FAILURE_POLICIES:
                self.add(
                    ("steps", index, "id"),
                    f"step id {step_id!r} is reserved: `on_failure: {step_id}` is a policy",
                    "rename the step, e.g. " + repr(f"{step_id}_step"),
                )
            if isinstance(step.get("uses"), str):
                uses_of[step_id] = step["uses"]
        self.ids, self.uses_of = ids, uses_of
        depends: dict[str, set[str]] = {step_id: set() for step_id in ids}
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            step_id = step.get("id") if isinstance(step.get("id"), str) else None
            for target, path in self._references(index, step):
                if target not in ids:
                    self._missing_step(target, path)
                    continue
                if step_id is None:
                    continue
                kind = path[2]
                if kind == "needs":
                    depends[step_id].add(target)
                elif kind == "on_failure":
                    depends[target].add(step_id)
                else:
                    depends[target].add(step_id)  # a branch step runs after its gate
                    if target == step_id:
                        self.add(path, f"step {step_id!r} names itself in {kind}")
            on_failure = step.get("on_failure")
            if step_id and on_failure == step_id:
                self.add(("steps", index, "on_failure"), "on_failure cannot name the same step")
        self._cycles(depends)
        for index, step in enumerate(steps):
            if isinstance(step, dict):
                self._expressions(index, step, depends)
                self._templates(index, step)

    def _references(self, index: int, step: dict[str, Any]) -> list[tuple[str, Path_]]:
        found: list[tuple[str, Path_]] = []
        needs = step.get("needs")
        if isinstance(needs, str):
            found.append((needs, ("steps", index, "needs")))
        elif isinstance(needs, list):
            found.extend(
                (n, ("steps", index, "needs", i)) for i, n in enumerate(needs) if isinstance(n, str)
            )
        for branch in BRANCHES.get(str(step.get("uses")), ()):
            targets = step.get(branch)
            if isinstance(targets, str):
                found.append((targets, ("steps", index, branch)))
            elif isinstance(targets, list):
                found.extend(
                    (t, ("steps", index, branch, i))
                    for i, t in enumerate(targets)
                    if isinstance(t, str)
                )
        on_failure = step.get("on_failure")
        if isinstance(on_failure, str) and on_failure not in ON_FAILURE_POLICIES:
            found.append((on_failure, ("steps", index, "on_failure")))
        return found

    def _missing_step(self, target: str, path: Path_) -> None:
        existing = list(self.ids)
        near = _did_you_mean(target, existing)
        hint = (near + " " if near else "") + f"steps: {', '.join(existing) or 'none'}"
        if path[2] == "on_failure":
            hint = "write continue, fail, stop, or a step id; " + hint
        self.add(path, f"{path[2]} names step {target!r}, which does not exist", hint)

    def _cycles(self, depends: dict[str, set[str]]) -> None:
        state: dict[str, int] = {}
        reported: set[frozenset[str]] = set()

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            trail.append(node)
            for dep in sorted(depends.get(node, ())):
                if state.get(dep) == 1:
                    cycle = [*trail[trail.index(dep) :], dep]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        self.add(
                            ("steps", self.ids[cycle[0]], "id"),
                            "steps depend on each other in a cycle: " + " -> ".join(cycle),
                            "remove one of these `needs` (or gate branches) to break the cycle",
                        )
                elif state.get(dep) is None:
                    visit(dep, trail)
            trail.pop()
            state[node] = 2

        for node in depends:
            if node not in state:
                visit(node, [])

    def _ancestors(self, step_id: str, depends: dict[str, set[str]]) -> set[str]:
        seen: set[str] = set()
        todo = list(depends.get(step_id, ()))
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(depends.get(node, ()))
        return seen

    def _expressions(self, index: int, step: dict[str, Any], depends: dict[str, set[str]]) -> None:
        step_id = step.get("id") if isinstance(step.get("id"), str) else None
        compiled: list[tuple[Path_, Any]] = []
        condition = step.get("if")
        if isinstance(condition, str):
            path: Path_ = ("steps", index, "if")
            try:
                compiled.append((path, compile_condition(condition)))
            except ExpressionError as exc:
                self._expression_error(path, exc)
        arguments = step.get("with")
        if arguments is not None:
            base: Path_ = ("steps", index, "with")
            try:
                value = compile_value(arguments)
            except ExpressionError as exc:
                self._expression_error((*base, *exc.path), exc)
            else:
                compiled.extend(((*base, *where), expr) for where, expr in value.expressions())
        ancestors = self._ancestors(step_id, depends) if step_id else set()
        for path, expression in compiled:
            text = _get(self.data, path)
            start = text.find(expression.source) if isinstance(text, str) else -1
            at = self.document.string_column(path, start) if start > 0 else None
            for name in sorted(expression.names - set(STEP_CONTEXT_NAMES)):
                self.add(
                    path,
                    f"expression reads undefined name {name!r}",
                    f"names available in a step: {', '.join(STEP_CONTEXT_NAMES)}",
                    at=at,
                )
            for chain in sorted(expression.paths):
                self._reference(path, chain, step_id, ancestors, at)

    def _reference(
        self,
        path: Path_,
        chain: tuple[str, ...],
        step_id: str | None,
        ancestors: set[str],
        at: tuple[int, int] | None,
    ) -> None:
        if chain[0] == "inputs" and len(chain) >= 2 and chain[1] not in self.inputs:
            self.add(
                path,
                f"inputs.{chain[1]} is not declared in `inputs:`",
                f"inputs: {', '.join(sorted(self.inputs)) or 'none declared'}",
                at=at,
            )
        if chain[0] == "roles" and len(chain) >= 2 and chain[1] not in self.roles:
            self.add(path, f"roles.{chain[1]} is not declared in `roles:`", at=at)
        if chain[0] != "steps" or len(chain) < 2:
            return
        target = chain[1]
        if target not in self.ids:
            self._missing_step(target, (*path[:2], f"reference steps.{target} in", *path[2:]))
            return
        uses = self.uses_of.get(target)
        outputs = ACTION_OUTPUTS.get(uses or "")
        if outputs is not None and len(chain) >= 3 and chain[2] not in outputs:
            listed = ", ".join(outputs) or "none"
            near = _did_you_mean(chain[2], outputs)
            self.add(
                path,
                f"steps.{target} ({uses}) has no output {chain[2]!r}",
                (near + " " if near else "") + f"outputs of {uses}: {listed}",
                at=at,
            )
        if step_id is not None and target != step_id and target not in ancestors:
            self.add(
                path,
                f"step {step_id!r} reads steps.{target} but does not need it, so it may run first",
                f"add `needs: [{target}]` to step {step_id!r}",
                at=at,
            )
        if target == step_id:
            self.add(path, f"step {step_id!r} reads its own outputs", at=at)

    def _trigger(self) -> None:
        """Fields and severities the trigger's expressions name, against what detection has."""
        for problem in trigger_problems(self.data.get("trigger")):
            path: Path_ = ("trigger", problem.key)
            at = None
            if problem.offset is not None:
                line, column = self.document.string_column(path, problem.offset)
                # The loader may not keep a flow scalar's quoting style: skip its opening quote.
                lines = self.document.text.splitlines()
                if self.document.styles.get(path, "plain") == "plain" and line <= len(lines):
                    first = self.document.locate(path)[1] - 1
                    if lines[line - 1][first : first + 1] in ('"', "'"):
                        column += 1
                at = (line, column)
            self.add(path, problem.message, problem.hint, at=at)

    def _expression_error(self, path: Path_, exc: ExpressionError) -> None:
        line, column = self.document.string_column(path, exc.column - 1)
        self.add(path, f"{_show_path(path[2:]) or 'expression'}: {exc.message}", at=(line, column))

    def _templates(self, index: int, step: dict[str, Any]) -> None:
        arguments = step.get("with")
        if not isinstance(arguments, dict):
            return
        name = arguments.get("template")
        if not isinstance(name, str) or OPEN in name:
            return
        path: Path_ = ("steps", index, "with", "template")
        base = self.templates_dir.resolve()
        file = (base / name).resolve()
        if base not in file.parents:
            self.add(path, f"template {name!r} is outside {self.templates_dir}")
            return
        if not file.is_file():
            existing = (
                sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
                if base.is_dir()
                else []
            )
            near = _did_you_mean(name, existing)
            hint = (near + " " if near else "") + (
                f"templates: {', '.join(existing)}" if existing else f"none in {self.templates_dir}"
            )
            self.add(path, f"template {name!r} does not exist in {self.templates_dir}", hint)
            return
        try:
            self._jinja.parse(file.read_text(encoding="utf-8"))
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = f" (line {line} of the template)" if line else ""
            self.add(path, f"template {name!r} does not compile{where}: {exc.message or exc}")
        except (OSError, UnicodeDecodeError) as exc:
            self.add(path, f"template {name!r} cannot be read: {exc}")


def _is_tag(part: str) -> bool:
    """Loc parts pydantic adds for unions and validators, not keys of the document."""
    plain_types = ("str", "int", "float", "bool", "list", "dict", "none", "is-instance")
    return (
        part in ACTION_ARGS
        or part.startswith(("function-", "literal[", "list[", "dict[", "timedelta"))
        or part in plain_types
    )


def _field_named(model: type[BaseModel], name: Any) -> Any:
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return field
    return None


def _aliases(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {dict: "a mapping", list: "a list", str: "text"}.get(type(value), type(value).__name__)
