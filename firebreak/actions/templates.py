"""Message templates (`playbooks/templates/*.j2`): sandboxed Jinja2, strict on undefined names."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "playbooks" / "templates"


class TemplateRenderError(Exception):
    """A template is missing, does not compile, or reads a name the context lacks."""


class TemplateRenderer:
    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory else DEFAULT_TEMPLATES_DIR
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(str(self.directory)),
            undefined=StrictUndefined,
            autoescape=False,  # plain text for Slack, Jira and statements, not HTML
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._lock = threading.Lock()  # Jinja2's template cache is not meant for racing loads

    def render(self, name: str, context: dict[str, Any]) -> str:
        try:
            with self._lock:
                template = self._env.get_template(name)
            return template.render(**context).strip()
        except TemplateNotFound:
            raise TemplateRenderError(f"template '{name}' not found in {self.directory}") from None
        except TemplateError as exc:
            where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
            raise TemplateRenderError(f"template '{name}'{where}: {exc.message}") from None
