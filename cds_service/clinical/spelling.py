"""Long names written with one slip: "penicilamine", "flurouracil", "dermabraison".

A note's drug, procedure or look-alike name is often typed fast or dictated. A word of seven letters
or more that is not itself a word of the knowledge base, and that is one slip (a letter added,
dropped or changed, or two swapped) from one of its long one-word names (eight letters or more),
is read as that name when exactly one name is that close. The slip must be after the first two
letters, and before the last two or the last one, which it shares with the name: that rules most
words out with a set look-up or two, and a slip at either end is rarer. Short words are left
alone: "scar" and "star" are both words. Names are indexed by their deletions (each name with one
letter left out), so a word is looked up with as many dictionary look-ups as it has letters, and
nothing it reads is kept.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Names shorter than this are not corrected: a slip there is as likely another word.
LONGEST_SLIP = 8


class NearWords:
    def __init__(self, names: Iterable[str], words: Iterable[str]) -> None:
        """``names``: one-word names to correct to; ``words``: words that are never a slip (the
        knowledge base's own words, and the exceptions its reviewers listed)."""
        self._words = frozenset(w.lower() for w in words)
        self._names = frozenset(n.lower() for n in names if len(n) >= LONGEST_SLIP and n.isalpha())
        self._deleted: dict[str, set[str]] = {}
        for name in self._names:
            for variant in _deletions(name):
                self._deleted.setdefault(variant, set()).add(name)
        #: The first two letters and the last two of every name and of every name with a letter
        #: left out: a word with one slip between them keeps both, and most words of a note
        #: have other ones, so they are passed over with one set look-up.
        spelt = [w for w in (*self._names, *self._deleted) if len(w) >= LONGEST_SLIP - 1]
        self._ends = frozenset(w[:2] + w[-2:] for w in spelt)
        #: ... or the first three and the last one: a slip just before the last letter
        #: ("molluscom").
        self._ends_late = frozenset(w[:3] + w[-1] for w in spelt)

    def name_for(self, word: str) -> str | None:
        """The one long name ``word`` is a slip of, if there is exactly one."""
        word = word.lower()
        return self._nearest(word) if self._may_slip(word) else None

    def corrections(self, words: Iterable[str]) -> dict[str, str]:
        """Each of ``words`` (lower case) that is a slip of a long name, and that name."""
        found = {}
        for word in words:
            # Most words are short, begin or end otherwise, or are known: one check, no more.
            if self._may_slip(word) and (name := self._nearest(word)) is not None:
                found[word] = name
        return found

    def _may_slip(self, word: str) -> bool:
        return (
            len(word) >= LONGEST_SLIP - 1
            and (word[:2] + word[-2:] in self._ends or word[:3] + word[-1] in self._ends_late)
            and word not in self._words
            and word not in self._names
        )

    def _nearest(self, word: str) -> str | None:
        found = set(self._deleted.get(word, ()))  # a letter dropped: "penicilamine"
        for variant in _deletions(word):
            if variant in self._names:
                found.add(variant)  # a letter added
            found |= self._deleted.get(variant, set())  # changed or swapped: "dermabraison"
        # A slip rarely changes the first letter: "baseline" is no "vaseline".
        found = {name for name in found if name[0] == word[0] and _one_slip(word, name)}
        return found.pop() if len(found) == 1 else None


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_slip(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one letter added, dropped or changed, or two adjacent
    letters swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        i, j = diffs[0], diffs[-1]
        return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
