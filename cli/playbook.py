"""CLI: `firebreak playbook validate|graph` (and `rehearse`): playbooks checked before a crisis."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from cli.common import console, fail


def _templates_option() -> Path | None:
    return typer.Option(
        None,
        "--templates",
        help="Templates folder (default: `templates/` beside each playbook).",
        file_okay=False,
    )


def register(app: typer.Typer) -> None:
    """Add the `playbook` group to `app`."""
    group = typer.Typer(help="Validate, graph and rehearse playbooks.", no_args_is_help=True)
    app.add_typer(group, name="playbook")

    @group.command("validate")
    def validate(
        paths: list[Path] = typer.Argument(..., help="Playbook files or folders (*.yaml)."),
        templates: Path | None = _templates_option(),
    ) -> None:
        """Report every error in every playbook, each with file:line:column; exit 1 on any."""
        from firebreak.playbook.validate import expand_paths, validate_paths

        files = expand_paths(paths)
        if not files:
            fail(f"no playbooks (*.yaml) found in {', '.join(map(str, paths))}")
        diagnostics = validate_paths(files, templates_dir=templates)
        for diagnostic in diagnostics:
            where = f"{diagnostic.file}:{diagnostic.line}:{diagnostic.column}"
            console.print(
                f"[bold]{escape(where)}[/]: [red]{escape(diagnostic.message)}[/]",
                highlight=False,
                soft_wrap=True,
            )
            if diagnostic.hint:
                console.print(
                    f"  [dim]hint:[/] {escape(diagnostic.hint)}", highlight=False, soft_wrap=True
                )
        broken = len({d.file for d in diagnostics})
        if diagnostics:
            console.print(
                f"[bold red]{len(diagnostics)} error(s)[/] in {broken} of {len(files)} file(s)"
            )
            raise typer.Exit(1)
        console.print(f"[bold green]ok[/]: {len(files)} playbook(s) valid")

    @group.command("graph")
    def graph(
        path: Path = typer.Argument(..., help="Playbook file."),
        templates: Path | None = _templates_option(),
    ) -> None:
        """Print the step graph as Mermaid text (paste into docs or mermaid.live)."""
        from firebreak.playbook.graph import mermaid
        from firebreak.playbook.loader import PlaybookError, load_playbook

        try:
            playbook = load_playbook(path, templates_dir=templates)
        except PlaybookError as exc:
            for diagnostic in exc.diagnostics:
                console.print(escape(str(diagnostic)), highlight=False)
            fail(f"{path} is not a valid playbook; fix the errors above first")
        print(mermaid(playbook), end="")

    # `rehearse` (engine engineer) registers on `group` here: add it below this line.
    from cli.rehearse import register_rehearse

    register_rehearse(group)
