"""Offline triage of a post: sentiment, label, kind (complaint/venting/praise/question/other) and
priority. Nothing is downloaded at run time; see docs/triage.md for how it works and its figures."""

from firebreak.triage.history import AuthorHistory
from firebreak.triage.result import KINDS, LABELS, Kind, Label, TriageResult
from firebreak.triage.scorer import Triager

__all__ = ["KINDS", "LABELS", "AuthorHistory", "Kind", "Label", "TriageResult", "Triager"]
