"""Per-author memory of negative posts, bounded so a stream of millions of authors stays flat."""

from __future__ import annotations

from collections import OrderedDict


class AuthorHistory:
    """Authors with a negative post, least-recently-seen forgotten first past `max_authors`."""

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
        if not negative:
            # A stranger with nothing negative reads the same as one never seen: no slot. Most
            # authors post once and calmly, so the bound is spent on the ones who complain.
            return
        counts[author] = 1
        if len(counts) > self.max_authors:
            counts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._counts)
