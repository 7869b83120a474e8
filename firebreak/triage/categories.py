"""What a complaint is about: one of `CATEGORIES`, from families of cue words and phrases.
Runs only on posts the scorer already reads as complaints or venting, over the tokens the
lexicon pass produced, so it costs one dict lookup per token of a negative post.

Each cue adds its weight to its family; the family with the most weight wins, ties going to
the family listed first in `CATEGORIES` (safety before the rest: it is the costliest to miss).
A complaint with no cue at all is `other`. Data, not code: a new cue is one line."""

from __future__ import annotations

from typing import Literal

Category = Literal[
    "product_defect_safety",
    "delay_or_cancellation",
    "lost_or_damaged",
    "billing_refund",
    "outage_app_failure",
    "staff_service",
    "other",
]
CATEGORIES: tuple[Category, ...] = (
    "product_defect_safety",
    "delay_or_cancellation",
    "lost_or_damaged",
    "billing_refund",
    "outage_app_failure",
    "staff_service",
    "other",
)

# Every word weighs 1.0. A word listed in two families counts for the first one.
_WORDS: dict[Category, str] = {
    "product_defect_safety": """
        unsafe dangerous hazard hazardous defect defective faulty recall recalled injured injury
        injuries burn burned burnt burns fire smoke exploded explode explosion overheating
        overheated overheats shock electrocuted poisoning poisoned allergic allergy contaminated
        mould mold moldy rotten expired sick vomiting hospital choking glass toxic leak leaking
        melted sparks sparking cracked shattered malfunction malfunctioning dangereux brûlure
        intoxication
    """,
    "delay_or_cancellation": """
        delayed delay delays late cancelled canceled cancellation cancellations cancelling
        canceling rescheduled overdue stranded missed tarmac diverted overbooked bumped retard
        retardé annulé annulée waiting waited
    """,
    "lost_or_damaged": """
        lost losing lose missing damaged smashed crushed ripped torn dented stolen misplaced bag
        bags luggage baggage suitcase parcel package perdu perdue cassé abîmé colis valise
    """,
    "billing_refund": """
        refund refunds refunded reimburse reimbursement charged overcharged charge charges
        billed bill billing invoice fee fees price prices pricing money paid pay payment
        subscription chargeback compensation voucher scam ripoff rip-off expensive debit credit
        remboursement facture facturé prix
    """,
    "outage_app_failure": """
        outage outages down offline app apps website site crash crashed crashing crashes error
        errors bug bugs buggy glitch glitches server servers login log-in signin wifi internet
        connection network signal 404 500 502 503 504 buffering froze freezes frozen update
        updated loading load timeout disconnected disconnects reboot boot ios5 ios android panne
        appli connecter
    """,
    "staff_service": """
        rude staff agent agents employee employees crew attendant attendants manager
        representative rep reps support helpline hold unhelpful ignored ignoring unanswered
        nobody answer answers answered respond response responded reply replied attitude service
        customer hung yelled screamed laughed accused incompetent personne
    """,
}

# Phrases beat their words: "on hold" is the service, "hasn't arrived" a delay, "money back" a
# refund. Weight 2 so one phrase outweighs one stray word of another family.
_PHRASES: dict[Category, tuple[str, ...]] = {
    "product_defect_safety": (
        "caught fire",
        "food poisoning",
        "burst into flames",
        "made me sick",
        "got sick",
        "went bad",
        "not safe",
        "stopped working",
        "fell apart",
        "came apart",
    ),
    "delay_or_cancellation": (
        "still waiting",
        "hasn't arrived",
        "has not arrived",
        "not arrived",
        "never arrived",
        "didn't arrive",
        "nothing has arrived",
        "nothing arrived",
        "not here yet",
        "where is my",
        "missed my connection",
        "missed connection",
        "no show",
        "didn't turn up",
        "didn't show up",
        "still not here",
        "taking forever",
    ),
    "lost_or_damaged": (
        "lost my",
        "lost our",
        "wrong item",
        "wrong order",
        "arrived broken",
        "arrived damaged",
        "broken when",
        "half missing",
        "items missing",
    ),
    "billing_refund": (
        "money back",
        "charged twice",
        "double charged",
        "charged me",
        "still no refund",
        "hidden fees",
        "hidden fee",
        "card declined",
    ),
    "outage_app_failure": (
        "not working",
        "isn't working",
        "won't load",
        "doesn't work",
        "can't log",
        "cannot log",
        "can't login",
        "cannot login",
        "can't sign",
        "unable to log",
        "unable to sign",
        "keeps crashing",
        "is down",
        "are down",
        "went down",
        "not loading",
        "won't open",
        "check in online",
        "can't connect",
        "cannot connect",
    ),
    "staff_service": (
        "customer service",
        "customer care",
        "on hold",
        "no one answers",
        "nobody answers",
        "no response",
        "no reply",
        "hung up",
        "call back",
        "called back",
        "no help",
        "not helpful",
        "the staff",
        "your staff",
        "service desk",
        "help desk",
        "no one",
        "nobody",
        "talk to",
        "speak to",
    ),
}
_PHRASE_WEIGHT = 2.0


def _tables() -> tuple[dict[str, tuple[Category, float]], dict[str, list]]:
    single: dict[str, tuple[Category, float]] = {}
    for family, words in _WORDS.items():
        for word in words.split():
            single.setdefault(word, (family, 1.0))
    phrases: dict[str, list[tuple[tuple[str, ...], Category]]] = {}
    for family, texts in _PHRASES.items():
        for text in texts:
            words = tuple(text.split())
            phrases.setdefault(words[0], []).append((words, family))
    for candidates in phrases.values():
        candidates.sort(key=lambda item: -len(item[0]))
    return single, phrases


_SINGLE, _PHRASE_TABLE = _tables()
_RANK = {family: i for i, family in enumerate(CATEGORIES)}


def categorise(tokens: list[str]) -> Category:
    """The family whose cues weigh most in `tokens` (lower-cased, as the scorer makes them)."""
    scores: dict[Category, float] = {}
    n = len(tokens)
    i = 0
    while i < n:
        token = tokens[i].lstrip("#")
        candidates = _PHRASE_TABLE.get(token)
        if candidates is not None:
            for words, family in candidates:
                size = len(words)
                if tuple(tokens[i : i + size]) == words:
                    scores[family] = scores.get(family, 0.0) + _PHRASE_WEIGHT
                    i += size
                    break
            else:
                candidates = None
            if candidates is not None:
                continue
        hit = _SINGLE.get(token)
        if hit is not None:
            scores[hit[0]] = scores.get(hit[0], 0.0) + hit[1]
        i += 1
    if not scores:
        return "other"
    return max(scores, key=lambda family: (scores[family], -_RANK[family]))
