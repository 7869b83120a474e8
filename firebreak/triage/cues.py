"""Compiles the word tables of `lexicon.py` into two lookups the scorer walks once per token:
one for single tokens, one for phrases keyed by their first token (longest phrase first)."""

from __future__ import annotations

from dataclasses import dataclass

from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE

from firebreak.triage import lexicon as lx


@dataclass(frozen=True, slots=True)
class Cue:
    """What one token or phrase tells us. `valence` None means: no opinion of its own."""

    valence: float | None = None
    complaint: float = 0.0
    venting: float = 0.0
    praise: float = 0.0
    sarcasm: float = 0.0
    harm: bool = False


def _merge(table: dict, key: object, **changes: object) -> None:
    old: Cue = table.get(key, Cue())
    fields = {name: getattr(old, name) for name in Cue.__slots__}
    fields.update(changes)
    table[key] = Cue(**fields)


def build_single() -> dict[str, Cue]:
    single: dict[str, Cue] = {}
    for word, valence in lx.vader_lexicon().items():
        single[word] = Cue(valence=valence)
    for table in (lx.VALENCE_OVERRIDES, lx.EMOJI):
        for word, valence in table.items():
            _merge(single, word, valence=valence)
    for word, valence in lx.HASHTAGS.items():
        _merge(single, word, valence=valence)
    for table in (lx.COMPLAINT, lx.SERVICE_FAILURE):
        for word, weight in table.items():
            _merge(single, word, complaint=max(weight, single.get(word, Cue()).complaint))
    for word, weight in lx.VENTING.items():
        _merge(single, word, venting=weight)
    for word, weight in lx.PRAISE.items():
        _merge(single, word, praise=weight)
    for word in lx.HARM:
        old = single.get(word, Cue())
        _merge(
            single,
            word,
            harm=True,
            complaint=max(old.complaint, lx.HARM_COMPLAINT),
            valence=old.valence if old.valence is not None else -1.0,
        )
    for phrase, weight in lx.SARCASM_PHRASES.items():
        if len(phrase) == 1:
            _merge(single, phrase[0], sarcasm=weight)
    for phrase, valence in lx.PHRASE_VALENCE.items():
        if len(phrase) == 1:
            _merge(single, phrase[0], valence=valence)
    for phrase, weight in lx.PRAISE_PHRASES.items():
        if len(phrase) == 1:
            _merge(single, phrase[0], praise=weight)
    return single


Phrases = tuple[tuple[int, dict[tuple[str, ...], Cue]], ...]


def build_phrases() -> dict[str, Phrases]:
    """Phrases keyed by their first token, grouped by length, longest first: matching costs one
    set lookup per length, however many phrases share a first token ("can't log in", "can't
    pay", ...)."""
    table: dict[tuple[str, ...], Cue] = {}
    for phrase, valence in lx.PHRASE_VALENCE.items():
        _merge(table, phrase, valence=valence)
    for phrases in (lx.COMPLAINT_PHRASES, lx.SERVICE_FAILURE_PHRASES):
        for phrase, weight in phrases.items():
            _merge(table, phrase, complaint=max(weight, table.get(phrase, Cue()).complaint))
    for phrase, weight in lx.VENTING_PHRASES.items():
        _merge(table, phrase, venting=weight)
    for phrase, weight in lx.PRAISE_PHRASES.items():
        _merge(table, phrase, praise=weight)
    for phrase, weight in lx.SARCASM_PHRASES.items():
        _merge(table, phrase, sarcasm=weight)
    for phrase in lx.HARM_PHRASES:
        old = table.get(phrase, Cue())
        _merge(
            table,
            phrase,
            harm=True,
            complaint=max(old.complaint, 1.0),
            valence=old.valence if old.valence is not None else -2.0,
        )
    by_first: dict[str, dict[int, dict[tuple[str, ...], Cue]]] = {}
    for phrase, cue in table.items():
        if len(phrase) > 1:
            by_first.setdefault(phrase[0], {}).setdefault(len(phrase), {})[phrase] = cue
    return {
        first: tuple(sorted(by_size.items(), reverse=True)) for first, by_size in by_first.items()
    }


NEGATORS: frozenset[str] = frozenset(NEGATE) | lx.NEGATORS_EXTRA
BOOSTERS: dict[str, float] = dict(BOOSTER_DICT)
