"""`Triager`: one pass over the tokens of a post, summing lexicon valence (negation, boosters,
ALL CAPS, "but") and cue weights (complaint, venting, praise, sarcasm, harm), then deciding
label, kind and priority. Built for the ingestion hot path: all tables are compiled once."""

from __future__ import annotations

import math
import re

from firebreak.triage import lexicon as lx
from firebreak.triage.cues import BOOSTERS, NEGATORS, build_phrases, build_single
from firebreak.triage.history import AuthorHistory
from firebreak.triage.priority import priority
from firebreak.triage.result import Kind, Label, TriageResult

_STRIP = re.compile(r"https?://\S+|www\.\S+|@\w+|#")
_TOKEN = re.compile(
    r"[0-9a-zà-ÿœ]+(?:['\-/][0-9a-zà-ÿœ]+)*"  # words, with inner apostrophe/hyphen/slash
    r"|[:;=8][\-o^']?[()\[\]dpo/\\|*3]"  # emoticons
    r"|<3|!+|\?+"
    r"|[\U0001F300-\U0001FAFF\u2600-\u27BF]"  # emoji
)
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
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


class Triager:
    """Scores posts offline. Keeps a bounded memory of each author's negative posts, so it is
    meant to be shared by one ingestion pipeline (not thread-safe)."""

    def __init__(self, *, max_authors: int = 100_000) -> None:
        self._single = build_single()
        self._phrases = build_phrases()
        self.history = AuthorHistory(max_authors)

    def score(self, text: str, *, author: str | None = None, reach: int = 0) -> TriageResult:
        sentiment, kind, harm = self._read(text)
        label: Label = (
            "positive"
            if sentiment >= _POSITIVE_AT
            else "negative"
            if sentiment <= _NEGATIVE_AT
            else "neutral"
        )
        prior = 0
        if author:
            prior = self.history.prior(author)
            self.history.record(author, kind == "complaint" or kind == "venting")
        urgency = priority(kind, sentiment, harm=harm, reach=reach, prior_negative=prior)
        return TriageResult(round(sentiment, 4), label, kind, urgency)

    def _read(self, text: str) -> tuple[float, Kind, bool]:
        lowered = _STRIP.sub(" ", text.replace("\u2019", "'")).lower()
        tokens = _TOKEN.findall(lowered)
        caps = _shouted_words(text)
        single, phrases = self._single, self._phrases
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
            candidates = phrases.get(token)
            if candidates is not None:
                matched = None
                for phrase, cue in candidates:
                    size = len(phrase)
                    if tuple(tokens[i : i + size]) == phrase:
                        matched = cue
                        break
                if matched is not None:
                    if matched.valence is not None:
                        if matched.valence > 0:
                            pos += weight * matched.valence
                        else:
                            neg += weight * matched.valence
                    complaint += matched.complaint
                    venting += matched.venting
                    praise += matched.praise
                    sarcasm += matched.sarcasm
                    harm = harm or matched.harm
                    i += size
                    continue
            first = token[0]
            if first == "!":
                bangs += len(token)
                i += 1
                continue
            if first == "?":
                question = True
                i += 1
                continue
            if token == "never" and i + 1 < n and tokens[i + 1].endswith("ing"):
                venting += 1.0  # "never flying/ordering/shopping ... again"
                neg -= 2.0 * weight
                i += 2
                continue
            if token in NEGATORS:
                last_negator = i
            elif token == "but" or token == "mais":
                pos *= 0.5
                neg *= 0.5
                weight = 1.5
            elif (token.isdigit() or token in lx.NUMBER_WORDS or token in ("an", "a", "one")) and (
                i + 1 < n and tokens[i + 1] in lx.DURATION_UNITS
            ):
                fast = i > 0 and tokens[i - 1] in lx.FAST_PREPOSITIONS
                early = i + 2 < n and tokens[i + 2] == "early"
                if not fast and not early:
                    complaint += 0.6 if token in ("an", "a", "one") else 1.0
                i += 2
                continue
            cue = single.get(token)
            if cue is not None:
                negated = i - last_negator <= _NEGATION_REACH
                if cue.valence:
                    valence = cue.valence
                    if i > 0:
                        boost = BOOSTERS.get(tokens[i - 1])
                        if boost is not None:
                            valence += math.copysign(_BOOST, valence) * (1 if boost > 0 else -1)
                    if token in caps:
                        valence += math.copysign(_CAPS_BOOST, valence)
                    if negated:
                        valence *= _NEGATION_SCALAR
                    if valence <= 0:
                        neg += weight * valence
                    elif token in lx.POLITE:
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
                    resolved = resolved or token in lx.RESOLUTION
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
        return sentiment, _kind(sentiment, complaint, venting, praise, sarcasm, question), harm


def _shouted_words(text: str) -> frozenset[str]:
    if not _CAPS_WORD.search(text):
        return frozenset()
    return frozenset(word.lower() for word in _CAPS_WORD.findall(text))


def _kind(
    sentiment: float,
    complaint: float,
    venting: float,
    praise: float,
    sarcasm: float,
    question: bool,
) -> Kind:
    if sentiment >= _POSITIVE_AT:
        if question and praise == 0 and complaint == 0:
            return "question"
        return "praise"
    if sentiment <= _NEGATIVE_AT:
        if complaint >= 1.0 and complaint >= venting:
            return "complaint"
        if venting == 0 and (sarcasm > 0 or question or complaint > 0):
            return "complaint"
        return "venting"
    if complaint >= 1.5:
        return "complaint"
    return "question" if question else "other"
