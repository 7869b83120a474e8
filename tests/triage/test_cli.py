"""`firebreak triage FILE`, as a user runs it: output per row, in order; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["triage", *args])


def _objects(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_csv_json_gives_one_object_per_row_in_order(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text(
        'id,body\n1,"thanks for nothing, 3 hours on hold"\n2,"crew was amazing, no complaints"\n'
        '3,"what is the baggage allowance?"\n',
        encoding="utf-8",
    )
    result = _run(str(path), "--format", "csv", "--text-column", "body", "--json")
    assert result.exit_code == 0, result.output
    rows = _objects(result.stdout)
    assert [(r["label"], r["kind"]) for r in rows] == [
        ("negative", "complaint"),
        ("positive", "praise"),
        ("neutral", "question"),
    ]
    assert list(rows[0]) == ["sentiment", "label", "kind", "priority", "category"]
    assert all(-1 <= r["sentiment"] <= 1 and 0 <= r["priority"] <= 1 for r in rows)


def test_missing_column_lists_the_columns_that_exist(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text("id,message\n1,hello\n", encoding="utf-8")
    result = _run(str(path), "--format", "csv", "--json")
    assert result.exit_code == 2
    assert "'text'" in result.stderr and "id, message" in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = _run(str(tmp_path / "nope.csv"), "--json")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_bad_ndjson_lines_are_named_and_good_ones_still_printed(tmp_path: Path) -> None:
    path = tmp_path / "posts.ndjson"
    path.write_bytes(
        b'{"text": "my bag is lost again"}\n'
        b"{not json\n"
        b'{"body": "wrong field"}\n'
        b'"a bare string"\n'
        b'{"text": "\xff\xfe broken bytes"}\n'
        b'{"text": "amazing service, thank you"}\n'
    )
    result = _run(str(path), "--json")  # format guessed from the suffix
    assert result.exit_code == 1
    assert [r["label"] for r in _objects(result.stdout)] == ["negative", "positive"]
    for line in ("line 2: not valid JSON", "line 3: no string field 'text'", "line 4", "line 5"):
        assert line in result.stderr
    assert "4 row(s) skipped" in result.stderr
    assert "Traceback" not in result.output


def test_csv_row_with_wrong_field_count_is_named(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text("text,user\nlost my bag,ann\ntoo,many,fields\nlove it,bob\n", encoding="utf-8")
    result = _run(str(path), "--json")
    assert result.exit_code == 1
    assert len(_objects(result.stdout)) == 2
    assert "line 3: 3 fields where the header has 2" in result.stderr


def test_author_and_reach_columns_feed_priority(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    rows = ["text,user,followers"]
    rows += ["still no refund after 3 weeks,ann,10"] * 4
    rows += ["still no refund after 3 weeks,bob,2000000"]
    rows += ["still no refund after 3 weeks,cat,lots"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = _run(str(path), "--author-column", "user", "--reach-column", "followers", "--json")
    priorities = [r["priority"] for r in _objects(result.stdout)]
    assert priorities[0] < priorities[3]  # ann's fourth complaint ranks above her first
    assert priorities[4] > priorities[0]  # a large audience ranks above a small one
    assert "line 7: reach 'lots' is not a number" in result.stderr


def test_text_format_and_rich_table(tmp_path: Path) -> None:
    path = tmp_path / "posts.txt"
    path.write_text("my flight was cancelled\n\nbest coffee ever\n", encoding="utf-8")
    result = _run(str(path), "--format", "text")
    assert result.exit_code == 0, result.output
    assert "complaint" in result.stdout and "praise" in result.stdout
    assert "Triage" in result.stdout
