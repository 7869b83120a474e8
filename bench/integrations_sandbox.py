"""Sandbox start-up and per-call cost of the adapters through it.

Start-up: `Sandbox()` (three servers, a fresh CA and TLS certificate) against a bare stdlib
ThreadingHTTPServer started in the same run; the budget is 0.5 s.
Per call: `SlackChat.post` (slack_sdk over urllib) and `PagerDutyPager.trigger` (httpx2 over TLS)
against a raw `http.client` POST to the same Slack emulator.

Run: .venv/bin/python bench/integrations_sandbox.py
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from integrations.pagerduty import PagerDutyPager
from integrations.sandbox import Sandbox
from integrations.slack import SlackChat

STARTS = 10
CALLS = 300


def median_seconds(action: Callable[[], None], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bare_server_start_stop() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    server.shutdown()
    server.server_close()


def sandbox_start_stop() -> None:
    box = Sandbox().start()
    box.stop()


def main() -> None:
    bare = median_seconds(bare_server_start_stop, STARTS)
    full = median_seconds(sandbox_start_stop, STARTS)
    print(f"sandbox start+stop: {full * 1000:.1f} ms (median of {STARTS}); budget 500 ms")
    print(f"bare stdlib server start+stop: {bare * 1000:.1f} ms; ratio {full / bare:.1f}x")

    with Sandbox() as box:
        host, port = box.url("slack").removeprefix("http://").split(":")
        body = json.dumps({"channel": "general", "text": "bench"})
        headers = {
            "Authorization": f"Bearer {box.slack_token}",
            "Content-Type": "application/json",
        }

        def raw_post() -> None:
            conn = http.client.HTTPConnection(host, int(port))
            conn.request("POST", "/api/chat.postMessage", body.encode(), headers)
            conn.getresponse().read()
            conn.close()

        chat = SlackChat(box.slack_token, base_url=box.url("slack") + "/api/")
        pager = PagerDutyPager(box.routing_key, base_url=box.url("pagerduty"), ca_file=box.ca_file)
        counter = iter(range(10**9))
        raw = median_seconds(raw_post, CALLS)
        slack = median_seconds(lambda: chat.post("general", "bench"), CALLS)
        pd = median_seconds(lambda: pager.trigger("bench", dedup_key=f"b{next(counter)}"), CALLS)
        print(f"raw http.client POST: {raw * 1e3:.2f} ms/call (median of {CALLS})")
        print(f"SlackChat.post: {slack * 1e3:.2f} ms/call; ratio {slack / raw:.1f}x raw")
        print(f"PagerDutyPager.trigger (TLS): {pd * 1e3:.2f} ms/call; ratio {pd / raw:.1f}x raw")
        print(f"requests recorded: {len(box.requests())}")


if __name__ == "__main__":
    main()
