"""End-to-end ingestion speed through `POST /api/v1/signals`, against triage alone.

One command: `.venv/bin/python bench/ingest_speed.py [--signals N] [--batch B]`.
Starts `uvicorn api.main:create_app` in a subprocess on loopback with a fresh SQLite database and
the shipped playbooks (so detection runs), posts JSON batches over HTTP with two client threads,
and prints signals/s sustained, then the same texts through `Triager().score` alone in this
process and the ratio. Target: >= 10,000 signals/s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token"
OPENINGS = ["@acme", "Hey @acme", "@acme_help", "So @acme", "@AcmeAir"]
BODIES = [
    "my flight was cancelled and nobody answers the phone",
    "thanks for nothing, lost my bag again",
    "great crew today, smooth flight and friendly staff",
    "is the 9:40 to Lyon delayed? no update on the app",
    "charged twice for the same ticket, refund refused",
    "still waiting 3 hours on hold, this is a joke",
    "love the new lounge, coffee was excellent",
    "where do I change my seat online?",
    "the app crashes every time I try to check in",
    "just landed, on time for once",
]
ENDINGS = ["", " #fail", " 😡", " 🙏", " !!!", " http://t.co/x1", " #travel"]


def make_signals(count: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    return [
        {
            "source": "twitter",
            "source_id": str(i),
            "author": f"user{rng.randrange(50_000)}",
            "author_reach": rng.choice((12, 150, 900, 4_000, 120_000)),
            "text": f"{rng.choice(OPENINGS)} {rng.choice(BODIES)}{rng.choice(ENDINGS)}",
            "brand": "acme",
            "language": "en",
            "created_at": (start + timedelta(milliseconds=40 * i)).isoformat(),
        }
        for i in range(count)
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FIREBREAK_HOME": str(home),
        "FIREBREAK_API_TOKENS": orjson.dumps({TOKEN: ["ingest", "reviewer"]}).decode(),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("FIREBREAK_DATABASE_URL", None)
    cmd = [
        sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the API did not start within 60 s")


def post_all(port: int, bodies: list[bytes], threads: int) -> tuple[float, int, int, float]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    accepted = incidents = 0
    server_ms = 0.0

    def post(client: httpx.Client, body: bytes) -> dict[str, object]:
        response = client.post("/api/v1/signals", content=body, headers=headers)
        response.raise_for_status()
        result = response.json()
        timing = response.headers.get("server-timing", "dur=0")
        result["server_ms"] = float(timing.rsplit("dur=", 1)[1])
        return result

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        began = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            for result in pool.map(lambda b: post(client, b), bodies):
                accepted += int(result["accepted"])  # type: ignore[call-overload]
                incidents += len(result["incidents_opened"])  # type: ignore[arg-type]
                server_ms += float(result["server_ms"])  # type: ignore[arg-type]
        return time.perf_counter() - began, accepted, incidents, server_ms / 1000


def settle(port: int, limit: float = 180) -> None:
    """Wait for the playbook runs the warm-up opened to end: the first one boots Prefect's
    ephemeral server (~20 s of one core), a one-off that is not ingestion's steady state."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    began = time.monotonic()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        while time.monotonic() - began < limit:
            incidents = client.get("/api/v1/incidents").json()
            running = 0
            for incident in incidents:
                events = client.get(f"/api/v1/incidents/{incident['id']}/timeline").json()
                kinds = [e["kind"] for e in events["timeline"] if e["kind"].startswith("playbook.")]
                if not kinds or kinds[-1] == "playbook.started":
                    running += 1
            if not running:
                print(
                    f"warm-up: {len(incidents)} incident(s) opened, their playbook runs ended "
                    f"after {time.monotonic() - began:.0f} s; measuring now"
                )
                return
            time.sleep(1)
    print(f"warm-up: playbook runs still going after {limit:.0f} s; measuring anyway")


def triage_alone(signals: list[dict[str, object]]) -> float:
    from firebreak.triage import Triager

    triager = Triager()
    began = time.perf_counter()
    for s in signals:
        triager.score(str(s["text"]), author=str(s["author"]), reach=int(s["author_reach"]))  # type: ignore[call-overload]
    return len(signals) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    signals = make_signals(args.signals)
    bodies = [orjson.dumps(signals[i : i + args.batch]) for i in range(0, len(signals), args.batch)]
    with tempfile.TemporaryDirectory(prefix="firebreak-bench-") as tmp:
        port = free_port()
        server = start_server(Path(tmp), port)
        try:
            warm = make_signals(2_000, seed=1)
            for w in warm:
                w["source"] = "warmup"
            post_all(port, [orjson.dumps(warm)], 1)
            settle(port)
            seconds, accepted, incidents, server_s = post_all(port, bodies, args.threads)
        finally:
            server.terminate()
            server.wait(timeout=30)
    rate = accepted / seconds
    triage_rate = triage_alone(signals)
    cpu = _cpu_model()
    print(f"machine: {os.cpu_count()} CPUs, {cpu}")
    print(
        f"end to end  POST /api/v1/signals: {accepted:,} signals in {seconds:.2f} s "
        f"= {rate:,.0f} signals/s (batches of {args.batch}, {args.threads} client threads, "
        f"SQLite, {incidents} incident(s) opened)"
    )
    print(
        f"  server-side ingestion (Server-Timing, summed over requests, which overlap when "
        f"--threads > 1): {server_s:.2f} s "
        f"= {accepted / server_s:,.0f} signals/s"
    )
    print(f"triage alone (same texts, this process): {triage_rate:,.0f} signals/s")
    print(f"ratio end-to-end / triage alone: {rate / triage_rate:.2f}")
    print(f"target >= 10,000 signals/s: {'met' if rate >= 10_000 else 'NOT met'}")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
