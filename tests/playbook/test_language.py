"""Playbook loading and validation as authors see it: located errors, the CLI, the graph."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from firebreak.playbook import PlaybookError, load_playbook, validate_paths
from firebreak.playbook.graph import mermaid

FIXTURES = Path(__file__).parent / "fixtures"
STORM = FIXTURES / "storm.yaml"


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    """The valid fixture with one edit, templates alongside."""
    text = STORM.read_text()
    assert old in text
    target = tmp_path / "storm.yaml"
    target.write_text(text.replace(old, new, 1))
    shutil.copytree(FIXTURES / "templates", tmp_path / "templates", dirs_exist_ok=True)
    return target


def errors(path: Path) -> list[str]:
    return [f"{d.line}:{d.column}: {d.message} | {d.hint}" for d in validate_paths([path])]


def test_the_example_loads_with_typed_steps_branches_and_durations() -> None:
    playbook = load_playbook(STORM)
    assert playbook.step_ids == [
        "war_room",
        "holding",
        "approve",
        "publish",
        "page_execs",
        "ladder",
    ]
    assert playbook.gated() == {
        "publish": ("approve", "on_approved"),
        "page_execs": ("approve", "on_timeout"),
    }
    approve = playbook.step("approve")
    assert approve.with_.timeout.total_seconds() == 1800
    ladder = playbook.step("ladder")
    assert [rung.after.total_seconds() for rung in ladder.with_.escalate] == [900, 1800]
    assert ladder.on_failure == "continue"
    rendered = playbook.step("war_room").compiled_with().render({"incident": {"number": 12}})
    assert rendered == {"name": "crisis-12", "invite": ["ereputation", "comms"]}
    assert playbook.step("page_execs").compiled_if().evaluate({"incident": {"severity": "sev1"}})
    assert playbook.trigger is not None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("uses: slack.post", "uses: slack.pst", "36:11: steps[3].uses: unknown action 'slack.pst'"),
        ("invite: [ereputation, comms]", "invite: [ereputation, legal]", "22:29: "),
        ("needs: [holding, war_room]", "needs: [holding, war_rom]", "names step 'war_rom'"),
        ("timeout: 30m", "timeout: 30", "32:16: steps[2].with.timeout: invalid duration"),
        ("sla: 45m", "sla: 45m\n      colour: red", "unknown field `colour`"),
        (
            '${{ steps.holding.text }}"\n      approvers',
            '${{ steps.holding.txt }}"\n      approvers',
            "steps.holding (statement.draft) has no output 'txt'",
        ),
        (
            "${{ steps.war_room.channel }}",
            "${{ steps.war_room.channel + }}",
            "38:44: with.channel: syntax error",
        ),
        ("${{ inputs.product }}", "${{ inputs.prodct }}", "inputs.prodct is not declared"),
        ("- id: war_room", "- id: stop", "18:9: step id 'stop' is reserved"),
        ("statements/holding.md.j2", "statements/holdin.md.j2", "does not exist"),
        (
            "needs: [holding, war_room]",
            "needs: [holding, war_room, publish]",
            "cycle: approve -> publish -> approve",
        ),
    ],
)
def test_each_mistake_is_reported_where_it_was_written(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    found = errors(broken_copy(tmp_path, old, new))
    assert any(expected in line for line in found), found


def test_a_read_before_need_is_caught(tmp_path: Path) -> None:
    path = broken_copy(
        tmp_path,
        "      audience: executives\n      sla",
        '      audience: executives\n      message: "${{ steps.holding.text }}"\n      sla',
    )
    found = errors(path)
    assert any("step 'ladder' reads steps.holding but does not need it" in e for e in found), found


def test_role_checks_list_the_declared_roles(tmp_path: Path) -> None:
    found = errors(broken_copy(tmp_path, "invite: [ereputation, comms]", "invite: [legal]"))
    assert any(
        "role 'legal' is not declared in `roles:` (declared: comms, ereputation, executives)" in e
        for e in found
    ), found


def test_all_errors_of_all_files_in_one_pass(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n  oops: [\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    good = tmp_path / "good.yaml"
    shutil.copy(STORM, good)
    shutil.copytree(FIXTURES / "templates", tmp_path / "templates")
    found = validate_paths([tmp_path])
    assert [(Path(d.file).name, d.line) for d in found] == [("bad.yaml", 2), ("empty.yaml", 1)]
    assert "YAML syntax error" in found[0].message


def test_load_playbook_raises_with_diagnostics(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "version: 1", "version: one")
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    assert caught.value.diagnostics[0].line == 3
    assert "version" in caught.value.diagnostics[0].message


def test_cli_validate_prints_located_errors_and_exits_1(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "uses: slack.post", "uses: slack.pst")
    result = CliRunner().invoke(app, ["playbook", "validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:36:11: steps[3].uses: unknown action 'slack.pst'" in result.output
    assert "did you mean 'slack.post'" in result.output
    assert "1 error(s) in 1 of 1 file(s)" in result.output


def test_cli_validate_ok_and_graph() -> None:
    result = CliRunner().invoke(app, ["playbook", "validate", str(FIXTURES)])
    assert result.exit_code == 0, result.output
    assert "1 playbook(s) valid" in result.output
    graph = CliRunner().invoke(app, ["playbook", "graph", str(STORM)])
    assert graph.exit_code == 0
    assert graph.output == mermaid(load_playbook(STORM))
    assert "approve -->|timeout| page_execs" in graph.output
    assert graph.output.startswith("flowchart TD\n")
