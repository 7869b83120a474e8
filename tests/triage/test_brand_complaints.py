"""Complaints to brands that name no failure: contempt, a threat to go public, a rival who did
better. The first two are the issue's examples (issue 13); the others were written by the team
for this test (not taken from any corpus). A missed complaint is the costly error."""

from __future__ import annotations

import pytest

from firebreak.triage import Triager


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager()


@pytest.mark.parametrize(
    "text",
    [
        # issue 13's examples, read as praise (+0.40, +0.69) before
        "@acme you clearly know nothing about customer service, everyone will hear about this",
        "@acme good try but your competitor got me there sooner and safer",
        # ours
        "@acme nice try, but your competitors actually answer the phone",
        "@acme your staff are clueless, trust me everyone will hear about this",
        "@acme honestly your competition does this better and cheaper",
    ],
)
def test_complaints_with_no_failure_named_are_negative_complaints(
    triager: Triager, text: str
) -> None:
    result = triager.score(text)
    assert (result.label, result.kind) == ("negative", "complaint"), result
    assert result.priority > 0.3


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("@acme you clearly know nothing about customer service", "staff_service"),
        ("my flight was delayed 4 hours and then cancelled", "delay_or_cancellation"),
        ("you lost my luggage and the other bag arrived smashed", "lost_or_damaged"),
        ("charged twice and still no refund after a month", "billing_refund"),
        ("the app keeps crashing and I can't log in", "outage_app_failure"),
        ("the charger caught fire overnight, this is dangerous", "product_defect_safety"),
        ("the new seats are so uncomfortable, worst trip ever", "other"),
    ],
)
def test_complaints_carry_their_category(triager: Triager, text: str, category: str) -> None:
    result = triager.score(text)
    assert result.kind in ("complaint", "venting"), result
    assert result.category == category, result


@pytest.mark.parametrize(
    "text",
    ["great crew, landed early", "what time does the store open?", "Acme opens in Lyon"],
)
def test_posts_that_are_not_complaints_have_no_category(triager: Triager, text: str) -> None:
    assert triager.score(text).category is None


def test_the_shipped_model_loads_once_and_scores() -> None:
    """The weights ship in the package (no ../shared, no download) and change readings: the
    learned scorer is what `Triager()` uses by default."""
    from firebreak.triage.model import shipped_model

    model = shipped_model()
    assert model is not None
    assert shipped_model() is model  # read once per process
    assert 0.0 <= model.negative_margin <= 2.0
    assert len(model.words) > 1000
    learned, lexicon = Triager(), Triager(model=None)
    assert learned.model is model
    assert lexicon.model is None
    text = "@acme good try but your competitor got me there sooner and safer"
    assert learned.score(text).label == "negative"
    assert learned.score("thanks @acme, the refund arrived today, great service").label == (
        "positive"
    )
