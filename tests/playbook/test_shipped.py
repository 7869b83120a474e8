"""The five shipped playbooks: they validate, rehearse green, and a broken copy is located."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from firebreak.playbook.loader import PlaybookError, load_playbook
from firebreak.playbook.rehearse import rehearse
from firebreak.playbook.validate import validate_paths

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
SHIPPED = [
    "social-media-storm",
    "service-outage",
    "product-safety",
    "executive-callout",
    "positive-wave",
]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_playbook_validates(name: str) -> None:
    playbook = load_playbook(PLAYBOOKS / f"{name}.yaml")
    assert playbook.name == name
    text = (PLAYBOOKS / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=playbook.schema.json")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_playbook_rehearses_green_with_approve_reject_and_timeout(name: str) -> None:
    reports = rehearse(PLAYBOOKS / f"{name}.yaml")
    assert [r.mismatches for r in reports] == [[] for _ in reports]
    outcomes = {
        step.outputs.get("outcome")
        for report in reports
        for step in report.result.steps.values()
        if step.outputs.get("outcome")
    }
    assert {"approved", "rejected", "timed_out"} <= outcomes


@pytest.mark.parametrize("name", SHIPPED)
def test_a_broken_copy_gives_located_errors(name: str, tmp_path: Path) -> None:
    shutil.copytree(PLAYBOOKS / "templates", tmp_path / "templates")
    text = (PLAYBOOKS / f"{name}.yaml").read_text(encoding="utf-8")
    # Three typical mistakes: a misspelt action, a need of a missing step, a bad duration.
    broken = text.replace("uses: approval.request", "uses: approval.reqest", 1)
    first = broken.index("\n", broken.index("    uses: "))  # the first step has no `needs`
    broken = broken[:first] + "\n    needs: [no_such_step]" + broken[first:]
    broken = broken.replace("timeout: ", "timeout: soon #", 1)
    path = tmp_path / f"{name}.yaml"
    path.write_text(broken, encoding="utf-8")
    diagnostics = validate_paths([path])
    messages = "\n".join(d.message for d in diagnostics)
    assert "approval.reqest" in messages
    assert "no_such_step" in messages
    assert all(d.file.endswith(f"{name}.yaml") and d.line > 0 for d in diagnostics)
    lines = broken.splitlines()
    typo = next(d for d in diagnostics if "approval.reqest" in d.message)
    assert "approval.reqest" in lines[typo.line - 1]
    with pytest.raises(PlaybookError):
        load_playbook(path)


def test_a_scenario_that_expects_the_wrong_thing_fails_with_a_diff(tmp_path: Path) -> None:
    shutil.copytree(PLAYBOOKS / "templates", tmp_path / "templates")
    shutil.copy(PLAYBOOKS / "positive-wave.yaml", tmp_path / "positive-wave.yaml")
    (tmp_path / "positive-wave.rehearsal.yaml").write_text(
        "roles: ../roles.sandbox.yaml\n"
        "scenarios:\n"
        "  - name: wrong on purpose\n"
        "    answers: {approve_thanks: {outcome: rejected}}\n"
        "    expect:\n"
        "      steps: [{post_thanks: succeeded}]\n"
        "      outputs: {approve_thanks.outcome: approved}\n",
        encoding="utf-8",
    )
    shutil.copy(PLAYBOOKS / "roles.sandbox.yaml", tmp_path.parent / "roles.sandbox.yaml")
    (report,) = rehearse(tmp_path / "positive-wave.yaml")
    text = "\n".join(report.mismatches)
    assert "step post_thanks:\n  - expected succeeded\n  + actual   skipped" in text
    assert (
        "output approve_thanks.outcome:\n  - expected 'approved'\n  + actual   'rejected'" in text
    )
