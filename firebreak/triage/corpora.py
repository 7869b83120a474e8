"""The labelled corpora the learned scorer is trained and judged on, each cut into a part
training may see and a held-out part no training or tuning sees. The cuts are fixed here, in
code, so every run (training, bench/triage_eval.py, the tests) uses the same ones.

- TweetEval (../shared/data/triage-corpora/tweeteval.csv): its own splits; `val` trains, `test`
  (12,284 tweets) is held out.
- Sanders (sanders-brands.csv): no split of its own; a row is held out when the sha256 of its
  `brand|created_at|text` falls in the lowest 30% (`_held_out_by_hash`), so the cut does not
  depend on row order and a re-export of the file keeps it.
- The team's own posts (tests/data): `triage_eval_dev.csv` trains, `triage_eval_heldout.csv`
  is held out.

The corpora's texts live in ../shared only; nothing here copies them into the repository."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "triage-corpora"
TEAM = ROOT / "tests" / "data"
SANDERS_HELD_OUT = 0.30


@dataclass(frozen=True, slots=True)
class Post:
    text: str
    label: str  # negative / neutral / positive
    kind: str = ""  # complaint / venting / praise / question / other (team set only)
    source: str = ""


@dataclass(frozen=True, slots=True)
class Split:
    name: str
    train: list[Post]
    held_out: list[Post]
    files: tuple[Path, ...]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _held_out_by_hash(key: str, fraction: float) -> bool:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") < fraction * 2**32


def tweeteval(folder: Path = SHARED) -> Split:
    path = folder / "tweeteval.csv"
    train: list[Post] = []
    held: list[Post] = []
    for row in _rows(path):
        post = Post(row["text"], row["label"], source="tweeteval")
        (held if row["split"] == "test" else train).append(post)
    return Split("tweeteval", train, held, (path,))


def sanders(folder: Path = SHARED) -> Split:
    path = folder / "sanders-brands.csv"
    train: list[Post] = []
    held: list[Post] = []
    for row in _rows(path):
        post = Post(row["text"], row["label"], source="sanders")
        key = f"{row['brand']}|{row['created_at']}|{row['text']}"
        (held if _held_out_by_hash(key, SANDERS_HELD_OUT) else train).append(post)
    return Split("sanders", train, held, (path,))


def team(folder: Path = TEAM) -> Split:
    dev, held = folder / "triage_eval_dev.csv", folder / "triage_eval_heldout.csv"

    def load(path: Path) -> list[Post]:
        return [Post(r["text"], r["label"], r["kind"], "team") for r in _rows(path)]

    return Split("team", load(dev), load(held), (dev, held))


def available(folder: Path = SHARED) -> bool:
    return (folder / "tweeteval.csv").is_file() and (folder / "sanders-brands.csv").is_file()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
