"""Bad input at the API over real HTTP: what is lost, what is answered, what it costs in memory.

One command: `.venv/bin/python bench/bad_input.py`.

Starts the API under uvicorn on loopback (fresh SQLite home, the test factory whose launcher
only records) and, on ONE keep-alive connection:
1. sends every out-of-range value of the catalogue below, each inside a signal batch between
   good items, plus bad path ids, query values and declare bodies; counts 5xx answers, closed
   connections, good items lost (stored vs sent) and items stored twice;
2. uploads 400 MiB with `Transfer-Encoding: chunked` (no Content-Length): the status, how much
   the server read before refusing, and the growth of its peak memory (VmHWM), against a
   64 MiB-minus-one upload in the same run as the baseline (the largest body it must hold).
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.api.live import Live, live_api  # noqa: E402
from tests.api.test_http_limits import chunked_upload  # noqa: E402
from tests.signals.helpers import burst  # noqa: E402

MIB = 1 << 20
HUGE = 2**70
HEADERS = {"Authorization": "Bearer tok-admin", "Content-Type": "application/json"}

# field -> out-of-range values, each sent as one item of a batch between two good ones.
SIGNAL_VALUES: dict[str, list[Any]] = {
    "author_reach": [HUGE, -HUGE, 2**31, 2**63, -1, 1e300, "9" * 40],
    "followers": [HUGE],
    "interval_seconds": [HUGE, 2**31, 0, -5, 1e300],
    "value": [HUGE, 1e300, -1, "1e999", "NaN", "Infinity"],
    "sentiment": [HUGE, 2.0, -1e300],
    "created_at": [
        HUGE,
        -HUGE,
        1e20,
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "1969-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "2024-13-01",
    ],
    "text": ["nul \u0000 byte", "x" * 20_001, ""],
    "author": ["x" * 257, "a\u0000b"],
    "source": ["x" * 65, ""],
    "source_id": ["x" * 129, "\u0000"],
    "channel": ["x" * 129],
    "language": ["x" * 17],
    "brand": ["x" * 129],
    "topic": ["x" * 129],
    "url": ["x" * 2049],
    "type": ["rumour"],
}
OTHER_REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", f"/api/v1/incidents/{HUGE}", None),
    ("GET", f"/api/v1/incidents/{2**63}", None),
    ("GET", f"/api/v1/incidents/{2**31}", None),
    ("GET", "/api/v1/incidents/-1", None),
    ("GET", f"/api/v1/incidents/{HUGE}/timeline", None),
    ("POST", f"/api/v1/incidents/{HUGE}/gates/approve", {"decision": "approve"}),
    ("POST", f"/api/v1/incidents/1/gates/{'s' * 500}", {"decision": "approve"}),
    ("GET", f"/api/v1/incidents?limit={HUGE}", None),
    ("GET", "/api/v1/incidents?limit=-1", None),
    ("POST", "/api/v1/incidents", {"playbook": "storm", "inputs": {"product": "x", "n": HUGE}}),
    ("POST", "/api/v1/incidents", {"playbook": "storm", "inputs": {"product": "\u0000"}}),
    ("POST", "/api/v1/incidents", {"playbook": "storm", "title": "t\u0000"}),
    ("POST", "/api/v1/incidents", {"playbook": "storm", "title": "t" * 501}),
    ("POST", "/api/v1/incidents", {"playbook": "s" * 129}),
    ("POST", "/api/v1/incidents/1/gates/approve", {"decision": "approve", "by": "b" * 65}),
]


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: Any) -> int:
    payload = None if body is None else json.dumps(body, allow_nan=True).encode()
    conn.request(method, path, body=payload, headers=HEADERS)
    response = conn.getresponse()
    response.read()
    if response.getheader("connection") == "close":
        raise ConnectionError(f"{method} {path}: the server closed the connection")
    return response.status


def catalogue(live: Live) -> dict[str, int]:
    conn = http.client.HTTPConnection(live.host, live.port, timeout=60)
    conn.connect()
    first = conn.sock
    tried = server_errors = resets = good_sent = 0
    for fld, values in SIGNAL_VALUES.items():
        for value in values:
            good = burst(2, prefix=f"{fld}-{tried}-")
            bad = {**good[0], "source_id": f"bad-{tried}", fld: value}
            if fld == "followers":  # the alias counts only when author_reach is absent
                del bad["author_reach"]
            tried += 1
            good_sent += 2
            try:
                status = _request(conn, "POST", "/api/v1/signals", [good[0], bad, good[1]])
            except ConnectionError:
                resets += 1
                conn = http.client.HTTPConnection(live.host, live.port, timeout=60)
                continue
            server_errors += status >= 500
    for method, path, body in OTHER_REQUESTS:
        tried += 1
        try:
            status = _request(conn, method, path, body)
        except ConnectionError:
            resets += 1
            continue
        server_errors += status >= 500
    resets += conn.sock is not first
    conn.close()
    with sqlite3.connect(live.home / "firebreak.db") as db:
        stored, distinct = db.execute(
            "SELECT count(*), count(DISTINCT source || '/' || source_id) FROM signal "
            "WHERE source_id NOT LIKE 'bad-%'"
        ).fetchone()
        bad_stored = db.execute(
            "SELECT count(*) FROM signal WHERE source_id LIKE 'bad-%'"
        ).fetchone()[0]
    return {
        "tried": tried,
        "5xx": server_errors,
        "resets": resets,
        "good sent": good_sent,
        "good lost": good_sent - distinct,
        "duplicated": stored - distinct,
        "bad stored": bad_stored,
    }


def upload(live: Live, total: int) -> tuple[int, int, int]:
    before = live.peak_rss_bytes()
    status, _, sent = chunked_upload(live, "/api/v1/signals", total=total)
    return status, sent, live.peak_rss_bytes() - before


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, live_api(Path(tmp)) as live:
        counts = catalogue(live)
    # Peak memory only grows: each upload gets a fresh server.
    with tempfile.TemporaryDirectory() as tmp, live_api(Path(tmp)) as live:
        status, sent, growth = upload(live, 400 * MIB)
    with tempfile.TemporaryDirectory() as tmp, live_api(Path(tmp)) as live:
        base_status, _, base_growth = upload(live, 64 * MIB - 1)
    print(
        f"bad inputs: {counts['tried']} requests ({sum(map(len, SIGNAL_VALUES.values()))} "
        f"out-of-range signal items, each between 2 good ones); 5xx {counts['5xx']}, "
        f"connection resets {counts['resets']}, good items lost {counts['good lost']} of "
        f"{counts['good sent']}, duplicated {counts['duplicated']}, "
        f"bad items stored {counts['bad stored']}"
    )
    print(
        f"400 MiB chunked upload: {status}, server read {sent / MIB:.0f} MiB before refusing, "
        f"peak RSS +{growth / MIB:.0f} MiB"
    )
    print(
        f"baseline, 64 MiB - 1 byte chunked (the largest body admitted; not JSON, so 400): "
        f"{base_status}, peak RSS +{base_growth / MIB:.0f} MiB; "
        f"ratio {growth / max(base_growth, 1):.2f}"
    )


if __name__ == "__main__":
    main()
