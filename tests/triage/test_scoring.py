"""The scorer on the hard cases of customer-service text, and the priority it assigns.
These posts are not in the evaluation set: they check that the rules generalise."""

from __future__ import annotations

import pytest

from firebreak.triage import AuthorHistory, Triager


@pytest.fixture
def triager() -> Triager:
    return Triager()


@pytest.mark.parametrize(
    ("text", "label", "kind"),
    [
        # sarcasm: praise words around a breached expectation
        ("Thanks for nothing @Acme, my parcel is lost again", "negative", "complaint"),
        ("great job losing my bag AGAIN @SkyCo", "negative", "complaint"),
        ("love waiting 2 hours for a call back. really love it", "negative", "complaint"),
        ("Oh great, the app crashed again right at checkout", "negative", "complaint"),
        # breach with no negative word at all
        ("still waiting 3 hours on hold", "negative", "complaint"),
        ("ordered on the 2nd, it's the 20th, nothing has arrived", "negative", "complaint"),
        # polite complaints
        (
            "Hi, could you please look into my refund? It has been 5 weeks. Thanks",
            "negative",
            "complaint",
        ),
        # questions that are complaints
        ("why is my internet down for the third time this week?", "negative", "complaint"),
        ("where is my order?? 2 weeks now", "negative", "complaint"),
        # praise with a negative word
        ("no complaints, crew was amazing", "positive", "praise"),
        ("Can't fault the service, not a single problem", "positive", "praise"),
        ("they fixed the outage in 20 minutes, great support", "positive", "praise"),
        # negated praise
        ("support was not helpful at all and my router is still broken", "negative", "complaint"),
        ("not impressed with the new menu", "negative", "venting"),
        # venting: emotion without a specific failure
        ("@Acme you are the worst company ever", "negative", "venting"),
        ("never shopping there again", "negative", "venting"),
        # information questions mention problems without complaining
        pytest.param(
            "Does my ticket cover a cancelled connection?",
            "neutral",
            "question",
            # The learned model's negative margin tips this info question into a complaint
            # (docs/triage.md, limits). Strict: the day it reads right again, this says so.
            marks=pytest.mark.xfail(strict=True, reason="learned model: read as a complaint"),
        ),
        ("what is the baggage allowance on long-haul flights?", "neutral", "question"),
        # neutral statements
        ("Acme opens a new store in Lyon next month", "neutral", "other"),
        # emoji, emoticons, French
        ("the delivery is 90 minutes late 😡", "negative", "complaint"),
        ("best pizza in town 😍", "positive", "praise"),
        ("Colis perdu, toujours pas de remboursement", "negative", "complaint"),
        ("Merci pour la livraison rapide, parfait !", "positive", "praise"),
    ],
)
def test_hard_cases(triager: Triager, text: str, label: str, kind: str) -> None:
    result = triager.score(text)
    assert (result.label, result.kind) == (label, kind), result


def test_vader_alone_misreads_the_sarcasm_we_read_right(triager: Triager) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    text = "thanks for nothing, great job losing my bag"
    assert SentimentIntensityAnalyzer().polarity_scores(text)["compound"] > 0
    assert triager.score(text).sentiment < 0


def test_outputs_stay_in_range_for_odd_input(triager: Triager) -> None:
    for text in ["", "   ", "!!!???", "😡" * 50, "a" * 10_000, "http://x.y @a #b", "\x00\n\t"]:
        result = triager.score(text)
        assert -1.0 <= result.sentiment <= 1.0
        assert 0.0 <= result.priority <= 1.0
        assert result.label in ("negative", "neutral", "positive")


def test_result_serialises_in_the_documented_order(triager: Triager) -> None:
    assert list(triager.score("fine").as_dict()) == [
        "sentiment",
        "label",
        "kind",
        "priority",
        "category",
    ]


def test_reach_raises_priority_log_scaled(triager: Triager) -> None:
    text = "my flight was cancelled and nobody answers the phone"
    nobody, thousand, million = (triager.score(text, reach=r).priority for r in (0, 1_000, 10**6))
    assert nobody < thousand < million
    assert million == 1.0 or million > 0.9


def test_harm_keywords_raise_priority(triager: Triager) -> None:
    plain = triager.score("my order arrived late and cold").priority
    harmful = triager.score("my order arrived late and gave my son food poisoning").priority
    assert harmful > plain + 0.3


def test_praise_is_never_urgent_even_from_a_large_account(triager: Triager) -> None:
    assert triager.score("amazing crew, thank you!", reach=5_000_000).priority == 0.0


def test_repeat_complainers_escalate(triager: Triager) -> None:
    text = "still no refund for my cancelled flight"
    first = triager.score(text, author="ann").priority
    for _ in range(5):
        later = triager.score(text, author="ann").priority
    stranger = triager.score(text, author="bob").priority
    assert later > first
    assert stranger == first


def test_praise_does_not_count_as_a_complaint_in_history(triager: Triager) -> None:
    for _ in range(5):
        triager.score("love this airline, great crew", author="cat")
    assert triager.history.prior("cat") == 0


def test_author_history_is_bounded_and_forgets_the_least_recent() -> None:
    history = AuthorHistory(max_authors=2)
    history.record("a", True)
    history.record("b", True)
    history.record("a", True)  # a is now the most recent
    history.record("c", True)  # evicts b
    assert len(history) == 2
    assert history.prior("a") == 2
    assert history.prior("b") == 0
    assert history.prior("c") == 1


@pytest.mark.parametrize(
    "text",
    [
        "@acme the app is down again, cannot check in #fail",
        "app is down, cannot log in at all",
        "@acme your site is down",
        "cannot check in",
        "acme.com went down in the middle of my payment",
        "website's down and checkout just says error 503",
        "payments are down again, card declined at the till",
        "the app keeps crashing and now it won't load at all",
        "unable to sign in since this morning",
        "why can't I log in?? third time today",
        "streaming keeps timing out, 504 gateway timeout every time",
        "login not working, stopped working after the update",
        "the wifi is offline again",
        "l'appli est en panne, impossible de me connecter",
        "le site ne marche pas depuis ce matin",
    ],
)
def test_service_failures_are_negative_complaints(triager: Triager, text: str) -> None:
    # The service-outage playbook filters on label == 'negative' and the word 'down'.
    result = triager.score(text)
    assert (result.label, result.kind) == ("negative", "complaint"), result
    assert result.priority > 0.3


@pytest.mark.parametrize(
    ("text", "label", "kind"),
    [
        # asking whether there is an outage states no grievance
        ("is the app down?", "neutral", "question"),
        ("is your website down right now?", "neutral", "question"),
        # the failure is over or denied
        ("the app is no longer down, thanks", "positive", "praise"),
        ("site is back up, thanks team", "positive", "praise"),
        pytest.param(
            "in three years the app has never been down once, impressive",
            "positive",
            "praise",
            # The lexicon reads praise; the learned model reads neutral (never a complaint).
            marks=pytest.mark.xfail(strict=True, reason="learned model: read as neutral"),
        ),
        # 'down' and 'can' in their ordinary senses
        ("prices went down this week, nice", "positive", "praise"),
        ("can I check in online for tomorrow's flight?", "neutral", "question"),
    ],
)
def test_outage_words_negated_or_asked_are_not_complaints(
    triager: Triager, text: str, label: str, kind: str
) -> None:
    result = triager.score(text)
    assert (result.label, result.kind) == (label, kind), result


def test_a_hashtag_is_not_negated_by_the_words_before_it(triager: Triager) -> None:
    # "#fail" used to be read as "not fail" after "cannot", turning the post into praise.
    tagged = triager.score("I cannot believe it #fail")
    assert tagged.label == "negative", tagged
    assert triager.score("not a fail at all").sentiment > 0  # a plain word still is


def test_a_number_that_starts_a_phrase_still_counts_as_a_wait(triager: Triager) -> None:
    # "5" starts "5 stars"; "5 hours" must still read as waiting.
    assert triager.score("on the phone 5 hours").kind == "complaint"
    assert triager.score("5 stars").kind == "praise"
