"""The author history spends its bound only on authors who have posted something negative."""

from firebreak.triage import AuthorHistory, Triager


def test_calm_strangers_take_no_slot_and_read_as_strangers() -> None:
    history = AuthorHistory(max_authors=2)
    history.record("a", True)
    history.record("calm", False)
    history.record("b", True)
    history.record("calm2", False)
    assert len(history) == 2
    assert history.prior("calm") == 0
    assert history.prior("a") == 1  # not pushed out by the calm authors
    assert history.prior("b") == 1


def test_a_known_complainer_stays_recent_when_posting_calmly() -> None:
    history = AuthorHistory(max_authors=2)
    history.record("a", True)
    history.record("b", True)
    history.record("a", False)  # a is now the most recent, with its count kept
    history.record("c", True)  # evicts b
    assert history.prior("a") == 1
    assert history.prior("b") == 0
    assert history.prior("c") == 1


def test_a_stream_of_one_time_praisers_leaves_the_history_empty() -> None:
    triager = Triager(max_authors=10)
    for i in range(100):
        triager.score("love this airline, great crew", author=f"fan{i}")
    triager.score("still no refund for my cancelled flight", author="ann")
    assert len(triager.history) == 1
    first = triager.score("still no refund for my cancelled flight", author="bob").priority
    again = triager.score("still no refund for my cancelled flight", author="ann").priority
    assert again > first
