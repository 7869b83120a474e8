"""A believable mention stream for the demo: an ordinary afternoon, then a complaint going viral.

Deterministic for a given seed, so the demo tells the same story every time.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

BRAND = "acme"
HANDLE = "@AcmeAir"

_CHATTER = [
    "Boarding now with {h}, see you in Lisbon!",
    "Anyone know if {h} lets you bring a guitar as cabin bag?",
    "Smooth flight with {h} this morning, crew was lovely",
    "{h} what time does check-in open for the 7am to Berlin?",
    "Coffee on {h} is still terrible but the legroom is nice",
    "Just booked {h} for the holidays, fingers crossed",
    "Thanks {h} for the upgrade, made my day",
    "Is the {h} app down or is it just me?",
    "{h} landed 10 minutes early, not bad",
    "Waiting at gate 23 for {h}, the lounge is packed",
    "Does {h} fly to Porto in winter?",
    "Great service at the {h} desk in Terminal 2 today",
]

_SPARK = (
    "{h} lost my wheelchair on flight AC212 and nobody at the desk will help. "
    "3 hours waiting at the airport and I cannot move. This is unacceptable."
)

_WAVE = [
    "This is disgusting {h}, how do you lose someone's wheelchair?? #AcmeFail",
    "{h} fix this NOW. Disabled passengers deserve better than this",
    "Same thing happened to my dad last month with {h}. They never even apologised",
    "Boycotting {h} until they make this right #AcmeFail",
    "Thanks for nothing {h}. 3 hours and still no answer for her",
    "{h} still no reply? Your silence says everything",
    "How is this still not fixed {h}? Shameful",
    "I'm never flying {h} again after reading this",
    "{h} your customer service is a joke, answer her!",
    "Retweeting so {h} can't ignore it. Find her wheelchair",
    "Lawyer here: {h} this is a breach of passenger rights, expect a claim",
    "{h} lost my bag last week and now this?? Unbelievable",
    "Called {h} support, on hold for 90 minutes, then they hung up",
    "{h} do better. People depend on these chairs to live",
]

_AMPLIFIER = (
    "Just spoke to @maya_travels. {h} lost her wheelchair and nobody has called her back in 3 "
    "hours. Disabled passengers deserve better. Thread:"
)

_QUESTIONS = [
    "What happened with {h}? Seeing this everywhere",
    "Has {h} said anything yet about the wheelchair?",
]


def _author(rng: random.Random, pool: str) -> tuple[str, int]:
    n = rng.randint(1, 4000)
    reach = int(rng.lognormvariate(5.5, 1.6))
    return f"@{pool}{n}", reach


def mention_stream(
    start: datetime, *, seed: int = 7, calm_minutes: int = 120, storm_minutes: int = 45
) -> Iterator[dict[str, Any]]:
    """Yield signal dicts (the API's input shape) in time order."""
    rng = random.Random(seed)
    seq = 0

    def mention(at: datetime, text: str, author: str, reach: int) -> dict[str, Any]:
        nonlocal seq
        seq += 1
        return {
            "type": "mention",
            "source": "twitter",
            "source_id": f"demo-{seed}-{seq}",
            "author": author,
            "author_reach": reach,
            "text": text.format(h=HANDLE),
            "language": "en",
            "brand": BRAND,
            "created_at": at.isoformat(),
            "url": f"https://x.example/status/{seq}",
        }

    # An ordinary afternoon: a couple of mentions a minute, mostly harmless.
    t = start
    end_calm = start + timedelta(minutes=calm_minutes)
    while t < end_calm:
        t += timedelta(seconds=rng.expovariate(1 / 30))
        author, reach = _author(rng, "traveller")
        yield mention(t, rng.choice(_CHATTER), author, reach)

    # The spark: one passenger with a large audience.
    yield mention(t, _SPARK, "@maya_travels", 248_000)

    # The wave: replies and amplification grow roughly exponentially, with a contact-centre echo.
    storm_start = t
    next_volume = storm_start
    amplified = False
    while t < storm_start + timedelta(minutes=storm_minutes):
        minutes_in = (t - storm_start).total_seconds() / 60
        rate_per_min = min(80.0, 1.0 * 1.12**minutes_in)
        t += timedelta(seconds=rng.expovariate(rate_per_min / 60))
        if t >= next_volume:
            yield {
                "type": "volume",
                "source": "contact-centre",
                "source_id": f"demo-{seed}-calls-{next_volume:%H%M}",
                "channel": "baggage-and-assistance",
                "brand": BRAND,
                "value": int(12 + 3 * minutes_in + rng.randint(0, 5)),
                "interval_seconds": 300,
                "created_at": next_volume.isoformat(),
            }
            next_volume += timedelta(minutes=5)
        if not amplified and minutes_in >= 18:
            # A journalist with a large following picks it up: the reach that makes it sev1.
            amplified = True
            yield mention(t, _AMPLIFIER, "@jo_reports", 1_400_000)
        pool = _QUESTIONS if rng.random() < 0.08 else _WAVE
        author, reach = _author(rng, "angry_flyer" if pool is _WAVE else "curious")
        yield mention(t, rng.choice(pool), author, reach)
