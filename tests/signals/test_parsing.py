"""Bodies and files to signals: every bad item named by index/line and field, the rest kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from firebreak.signals.parsing import (
    BodyError,
    FileFormatError,
    parse_body,
    read_csv,
    read_file,
    read_volume,
)


def test_array_keeps_good_items_and_names_the_bad_ones() -> None:
    body = orjson.dumps(
        [
            {"text": "flight cancelled", "source": "twitter", "source_id": 17},
            {"text": "ok", "created_at": "yesterday"},
            {"type": "mention"},
            "just a string",
            {"text": "fine", "sentiment": 1.5},
            {"type": "volume", "queue": "billing", "value": 42, "interval_seconds": 300},
        ]
    )
    batch = parse_body(body, "application/json")
    assert [i for i, _ in batch.signals] == [0, 5]
    assert batch.signals[0][1].source_id == "17"
    assert batch.signals[1][1].channel == "billing"
    reasons = {r.index: r.reason for r in batch.rejected}
    assert reasons[1].startswith("/1/created_at:")
    assert "non-empty 'text'" in reasons[2]
    assert "expected a JSON object" in reasons[3]
    assert reasons[4].startswith("/4/sentiment:") and "less than or equal to 1" in reasons[4]


def test_ndjson_by_content_type_and_sniffed() -> None:
    body = b'{"text": "a"}\n\n{"text": \n{"text": "c", "created_at": "2024-05-01T10:00:00"}\n'
    for content_type in ("application/x-ndjson", None):
        batch = parse_body(body, content_type)
        assert [i for i, _ in batch.signals] == [0, 2]
        assert batch.rejected[0].index == 1 and "not valid JSON" in batch.rejected[0].reason
        # A time without an offset is read as UTC.
        assert batch.signals[1][1].created_at == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_body_that_is_not_json_is_one_clear_error() -> None:
    with pytest.raises(BodyError, match="not JSON") as err:
        parse_body(b"hello world", None)
    assert err.value.status == 400
    with pytest.raises(BodyError, match="not valid JSON"):
        parse_body(b"[1, 2", "application/json")
    with pytest.raises(BodyError, match="JSON array"):
        parse_body(b"42", "application/json")


def test_more_than_ten_thousand_items_is_refused_whole() -> None:
    body = orjson.dumps([{"text": "x"}] * 10_001)
    with pytest.raises(BodyError, match="10001 items; at most 10000") as err:
        parse_body(body, "application/json")
    assert err.value.status == 413
    ndjson = b'{"text": "x"}\n' * 10_001
    with pytest.raises(BodyError, match="at most 10000"):
        parse_body(ndjson, "application/x-ndjson")


def test_volume_signal_needs_its_count() -> None:
    batch = parse_body(b'[{"type": "volume", "queue": "calls"}]', "application/json")
    assert "needs a 'value'" in batch.rejected[0].reason


def test_csv_with_named_columns_reports_bad_rows_by_line(tmp_path: Path) -> None:
    path = tmp_path / "tweets.csv"
    path.write_text(
        "tweet_id,when,body,handle,followers\n"
        "1,2024-05-01 10:00:00,bag lost again,ann,120\n"
        "2,not a time,late again,bob,5\n"
        "3,2024-05-01 10:02:00,,carl,7\n"
        "4,2024-05-01 10:03:00,great crew,dee,-3\n"
        "5,2024-05-01 10:04:00,thanks,eve,40\n"
    )
    columns = {"created_at": "when", "text": "body", "author": "handle"}
    rows = list(read_csv(path, columns, source="twitter"))
    good = [r for r in rows if r.signal]
    assert [r.line for r in good] == [2, 6]
    assert good[0].signal is not None and good[0].signal.author_reach == 120
    assert good[0].signal.source_id == "1" and good[0].signal.source == "twitter"
    bad = {r.line: r.reason for r in rows if r.reason}
    assert set(bad) == {3, 4, 5}
    assert "created_at" in bad[3] and "text" in bad[4] and "author_reach" in bad[5]


def test_csv_missing_column_lists_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("when,body\n2024-05-01,hi\n")
    with pytest.raises(FileFormatError, match=r"'message'.*columns are: when, body"):
        list(read_csv(path, {"created_at": "when", "text": "message"}))


def test_volume_series_infers_the_interval(tmp_path: Path) -> None:
    path = tmp_path / "Twitter_volume_ACME.csv"
    path.write_text(
        "timestamp,value\n2015-02-26 21:42:53,104\n2015-02-26 21:47:53,100\nbad,row\n"
        "2015-02-26 21:52:53,99\n"
    )
    rows = list(read_file(path))  # sniffed from the header
    signals = [r.signal for r in rows if r.signal]
    assert [s.value for s in signals] == [104, 100, 99]
    assert signals[0].type == "volume" and signals[0].channel == "Twitter_volume_ACME"
    assert [s.interval_seconds for s in signals] == [None, 300, 300]
    assert [r.line for r in rows if r.reason] == [4]


def test_missing_file_and_wrong_header_are_clear(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        list(read_file(tmp_path / "nope.ndjson"))
    wrong = tmp_path / "v.csv"
    wrong.write_text("time,count\n")
    with pytest.raises(FileFormatError, match="timestamp,value"):
        list(read_volume(wrong))
