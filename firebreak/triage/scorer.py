"""`Triager`: one pass over the tokens of a post, summing lexicon valence (negation, boosters,
ALL CAPS, "but") and cue weights (complaint, venting, praise, sarcasm, harm), then deciding
label, kind and priority. Built for the ingestion hot path: all tables are compiled once."""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from firebreak.triage import lexicon as lx
from firebreak.triage.categories import categorise
from firebreak.triage.cues import BOOSTERS, NEGATORS, Cue, Phrases, build_phrases, build_single
from firebreak.triage.history import AuthorHistory
from firebreak.triage.model import LinearModel, probabilities, shipped_model
from firebreak.triage.priority import priority
from firebreak.triage.result import Kind, Label, TriageResult

_STRIP = re.compile(r"https?://\S+|www\.\S+|@\w+")
_TOKEN = re.compile(
    r"#?[0-9a-zà-ÿœ]+(?:['\-/][0-9a-zà-ÿœ]+)*"  # words, #tags; inner apostrophe/hyphen/slash
    r"|[:;=8][\-o^']?[()\[\]dpo/\\|*3]"  # emoticons
    r"|<3|!+|\?+"
    r"|[\U0001F300-\U0001FAFF\u2600-\u27BF]"  # emoji
)
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_NO_CAPS: frozenset[str] = frozenset()
_ARTICLES = frozenset({"an", "a", "one"})
_NEGATOR, _BUT, _COUNT, _NEVER, _POLITE, _RESOLUTION, _TAG = 1, 2, 4, 8, 16, 32, 64
_ASKING = lx.QUESTION_STARTERS | lx.INFO_STARTERS | {"where"}
_NEGATIVE_KINDS = frozenset({"complaint", "venting"})
_NEGATION_REACH = 3
_NEGATION_SCALAR = -0.74  # VADER's value
_BOOST = 0.293
_CAPS_BOOST = 0.733
_COMPLAINT_VALENCE = -1.1  # per unit of complaint evidence
_COMPLAINT_CAP = 3.0
_PRAISE_VALENCE = 1.0
_NORMALISER = 15.0  # VADER's alpha: maps a sum to (-1, 1)
_POSITIVE_AT = 0.2
_NEGATIVE_AT = -0.2


class Reading(NamedTuple):
    """What one pass of the lexicon found in a post: its own verdict, the evidence behind it,
    the tokens, and the cue features the learned model weighs (in `model.CUE_NAMES` order)."""

    sentiment: float
    complaint: float
    venting: float
    praise: float
    sarcasm: float
    question: bool
    harm: bool
    tokens: list[str]
    cues: tuple[float, ...]


class Triager:
    """Scores posts offline. Keeps a bounded memory of each author's negative posts, so it is
    meant to be shared by one ingestion pipeline (not thread-safe).

    `model`: the learned model to combine with the lexicon (default: the one shipped in the
    package, loaded once per process); `None` scores with the lexicon alone."""

    def __init__(self, *, max_authors: int = 100_000, model: LinearModel | bool | None = True):
        self._entries = _build_entries(build_single(), build_phrases())
        self.history = AuthorHistory(max_authors)
        self.model = shipped_model() if model is True else model or None

    def score(self, text: str, *, author: str | None = None, reach: int = 0) -> TriageResult:
        reading = self._read(text)
        label: Label
        if self.model is not None:
            logit = self.model.logit(reading.tokens, reading.cues)
            negative, _, positive = probabilities(logit)
            sentiment = positive - negative
            label = self.model.label(logit)
        else:
            sentiment = reading.sentiment
            label = (
                "positive"
                if sentiment >= _POSITIVE_AT
                else "negative"
                if sentiment <= _NEGATIVE_AT
                else "neutral"
            )
        kind = _kind(label, reading)
        prior = 0
        if author:
            prior = self.history.prior(author)
            self.history.record(author, kind == "complaint" or kind == "venting")
        urgency = priority(kind, sentiment, harm=reading.harm, reach=reach, prior_negative=prior)
        category = categorise(reading.tokens) if kind in _NEGATIVE_KINDS else None
        return TriageResult(round(sentiment, 4), label, kind, urgency, category)

    def read(self, text: str) -> Reading:
        """The lexicon's pass alone (training uses it to compute the cue features)."""
        return self._read(text)

    def _read(self, text: str) -> Reading:
        lowered = _STRIP.sub(" ", text.replace("\u2019", "'")).lower()
        tokens = _TOKEN.findall(lowered)
        caps = _shouted_words(text) if _CAPS_WORD.search(text) else _NO_CAPS
        entries = self._entries
        pos = neg = polite = 0.0
        weight = 1.0
        complaint = venting = praise = sarcasm = topic = 0.0
        harm = resolved = False
        bangs = 0
        opener = tokens[0] if tokens else ""
        question = opener in lx.QUESTION_STARTERS
        asks_info = opener in lx.INFO_STARTERS and "?" in text
        last_negator = -10
        n = len(tokens)
        i = 0
        while i < n:
            token = tokens[i]
            entry = entries.get(token)
            if entry is not None:
                candidates, cue, flags = entry
                if candidates is not None:
                    matched = None
                    for size, table in candidates:
                        matched = table.get(tuple(tokens[i : i + size]))
                        if matched is not None:
                            break
                    if matched is not None:
                        if matched.valence is not None:
                            if matched.valence > 0:
                                pos += weight * matched.valence
                            else:
                                neg += weight * matched.valence
                        if i - last_negator <= _NEGATION_REACH:
                            # "has never been down", "I don't think the site is down"
                            complaint += matched.praise
                        else:
                            complaint += matched.complaint
                            if token not in _ASKING:  # "how many more days" is the grievance
                                topic += matched.complaint
                            praise += matched.praise
                        venting += matched.venting
                        sarcasm += matched.sarcasm
                        harm = harm or matched.harm
                        i += size
                        continue
                    if cue is None and not flags:
                        entry = None  # "5" starts "5 stars" but "5 hours" is a wait
            if entry is None:  # most tokens: punctuation, numbers, words with no opinion
                first = token[0]
                if first == "!":
                    bangs += len(token)
                elif first == "?":
                    question = True
                elif first.isdigit() and i + 1 < n and tokens[i + 1] in lx.DURATION_UNITS:
                    complaint += _waited(tokens, i, 1.0)
                    i += 1
                i += 1
                continue
            if flags:
                if flags & _NEVER and i + 1 < n and tokens[i + 1].endswith("ing"):
                    venting += 1.0  # "never flying/ordering/shopping ... again"
                    neg -= 2.0 * weight
                    i += 2
                    continue
                if flags & _NEGATOR:
                    last_negator = i
                elif flags & _BUT:
                    pos *= 0.5
                    neg *= 0.5
                    weight = 1.5
                elif flags & _COUNT and i + 1 < n and tokens[i + 1] in lx.DURATION_UNITS:
                    complaint += _waited(tokens, i, 0.6 if token in _ARTICLES else 1.0)
                    i += 2
                    continue
            if cue is not None:
                # A #tag is a statement of its own: "cannot check in #fail" does not negate "fail".
                negated = i - last_negator <= _NEGATION_REACH and not flags & _TAG
                valence = cue.valence
                if valence:
                    if i > 0:
                        boost = BOOSTERS.get(tokens[i - 1])
                        if boost is not None:
                            valence += math.copysign(_BOOST, valence) * (1 if boost > 0 else -1)
                    if caps and token in caps:
                        valence += math.copysign(_CAPS_BOOST, valence)
                    if negated:
                        valence *= _NEGATION_SCALAR
                    if valence <= 0:
                        neg += weight * valence
                    elif flags & _POLITE:
                        polite += weight * valence
                    else:
                        pos += weight * valence
                if negated:
                    # "didn't fix it" is a complaint; "not delayed" is not one.
                    complaint += cue.praise
                else:
                    complaint += cue.complaint
                    topic += cue.complaint
                    praise += cue.praise
                    resolved = resolved or bool(flags & _RESOLUTION)
                venting += cue.venting
                sarcasm += cue.sarcasm
                harm = harm or cue.harm
            i += 1

        if asks_info and not resolved and praise < 1.0:
            # "is there an outage?" asks about a topic; it states no grievance by itself
            complaint -= 0.7 * topic
            pos *= 0.3
            neg *= 0.3
        if resolved:
            complaint *= 0.3  # the breach mentioned is the one that was repaired
        if complaint < 0.5:
            pos += polite  # "please", "thanks" inside a complaint are politeness, not praise
        if sarcasm > 0:
            pos = -0.6 * pos  # praise words around a marker of sarcasm mean the opposite
        elif complaint >= 1.0 and complaint > 2 * praise:
            pos = -0.3 * pos  # "really helpful when you have bills": praise around a breach
        total = pos + neg
        total += _COMPLAINT_VALENCE * min(complaint, _COMPLAINT_CAP) + _PRAISE_VALENCE * praise
        if sarcasm > 0:
            total -= 1.5 * sarcasm
        if bangs and total:
            total += math.copysign(0.292 * min(bangs, 4), total)
        if caps and len(caps) >= 3 and total < 0:
            total -= 0.5  # shouting a grievance
        sentiment = total / math.sqrt(total * total + _NORMALISER)
        cues = (
            sentiment,
            pos / 4.0,
            neg / 4.0,
            min(complaint, _COMPLAINT_CAP),
            venting,
            praise,
            1.0 if sarcasm > 0 else 0.0,
            1.0 if harm else 0.0,
            1.0 if question else 0.0,
            min(bangs, 4) / 4.0,
            1.0 if resolved else 0.0,
            1.0 if asks_info else 0.0,
        )
        return Reading(sentiment, complaint, venting, praise, sarcasm, question, harm, tokens, cues)


def _waited(tokens: list[str], i: int, weight: float) -> float:
    """Evidence from "3 hours", "an hour": someone waited. "in 5 minutes", "20 min early" is
    speed, not waiting."""
    if i > 0 and tokens[i - 1] in lx.FAST_PREPOSITIONS:
        return 0.0
    if i + 2 < len(tokens) and tokens[i + 2] == "early":
        return 0.0
    return weight


def _build_entries(
    single: dict[str, Cue], phrases: dict[str, Phrases]
) -> dict[str, tuple[Phrases | None, Cue | None, int]]:
    """One lookup per token on the hot path: its phrases, its own cue, and its role flags.
    Every word with a cue also has a `#word` entry: same cue, no phrases, no role."""
    flags: dict[str, int] = {}
    for words, flag in (
        (NEGATORS, _NEGATOR),
        (("but", "mais"), _BUT),
        (lx.NUMBER_WORDS | _ARTICLES, _COUNT),
        (("never",), _NEVER),
        (lx.POLITE, _POLITE),
        (lx.RESOLUTION, _RESOLUTION),
    ):
        for word in words:
            flags[word] = flags.get(word, 0) | flag
    entries = {
        token: (phrases.get(token), single.get(token), flags.get(token, 0))
        for token in set(single) | set(phrases) | set(flags)
    }
    entries.update({f"#{word}": (None, cue, _TAG) for word, cue in single.items()})
    return entries


def _shouted_words(text: str) -> frozenset[str]:
    words = [word.lower() for word in _CAPS_WORD.findall(text)]
    return frozenset(words + [f"#{word}" for word in words])


def _kind(label: Label, reading: Reading) -> Kind:
    complaint, venting, praise = reading.complaint, reading.venting, reading.praise
    if label == "positive":
        if reading.question and praise == 0 and complaint == 0:
            return "question"
        return "praise"
    if label == "negative":
        if complaint >= 1.0 and complaint >= venting:
            return "complaint"
        if venting == 0 and (reading.sarcasm > 0 or reading.question or complaint > 0):
            return "complaint"
        return "venting"
    if complaint >= 1.5:
        return "complaint"
    return "question" if reading.question else "other"
