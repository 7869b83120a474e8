"""Per-author memory of negative posts, bounded so a stream of millions of authors stays flat."""

from __future__ import annotations

from collections import OrderedDict


class AuthorHistory:
    """Least-recently-seen authors are forgotten first once `max_authors` is reached."""

    __slots__ = ("_counts", "max_authors")

    def __init__(self, max_authors: int = 100_000) -> None:
        if max_authors < 1:
            raise ValueError("max_authors must be at least 1")
        self.max_authors = max_authors
        self._counts: OrderedDict[str, int] = OrderedDict()

    def prior(self, author: str) -> int:
        """Negative posts already seen from `author` (0 for a stranger)."""
        return self._counts.get(author, 0)

    def record(self, author: str, negative: bool) -> None:
        counts = self._counts
        if author in counts:
            counts.move_to_end(author)
            if negative:
                counts[author] += 1
            return
        counts[author] = 1 if negative else 0
        if len(counts) > self.max_authors:
            counts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._counts)
