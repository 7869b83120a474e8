"""`firebreak playbook rehearse`: exit status and report."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


def test_rehearse_passes_on_a_shipped_playbook() -> None:
    result = CliRunner().invoke(
        app, ["playbook", "rehearse", str(PLAYBOOKS / "positive-wave.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "3 scenario(s) passed" in result.output


def test_rehearse_fails_with_a_clear_message_without_a_rehearsal_file(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.rehearsal.yaml"
    result = CliRunner().invoke(
        app,
        [
            "playbook",
            "rehearse",
            str(PLAYBOOKS / "positive-wave.yaml"),
            "--rehearsal",
            str(missing),
        ],
    )
    assert result.exit_code == 1
    assert "no rehearsal file" in result.output
    assert "Traceback" not in result.output


def test_rehearse_exits_1_on_a_mismatch(tmp_path: Path) -> None:
    rehearsal = tmp_path / "wrong.rehearsal.yaml"
    rehearsal.write_text(
        "scenarios:\n"
        "  - name: expects a post that never happens\n"
        "    answers: {approve_thanks: {outcome: never}}\n"
        "    expect: {outputs: {post_thanks.ts: '1'}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app,
        [
            "playbook",
            "rehearse",
            str(PLAYBOOKS / "positive-wave.yaml"),
            "--rehearsal",
            str(rehearsal),
        ],
    )
    assert result.exit_code == 1
    assert "FAIL" in result.output and "post_thanks.ts" in result.output
