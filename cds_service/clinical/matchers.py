"""A term matcher that stays fast with thousands of inflected terms.

spaCy's token-pattern ``Matcher`` evaluates every pattern's predicates at every token: with the
lexicon's terms (a few thousand patterns, many with ``IN`` sets of inflections) that cost about half a
millisecond for a two-word text. Most terms are plain word sequences once their alternatives are
spelled out, and spaCy's ``PhraseMatcher`` finds those by hashing, whatever their number. So each
sequence of positions is spelled out into phrases for a ``PhraseMatcher`` (on LOWER, or on ORTH for
case-sensitive abbreviations); only sequences with a number position ("#"), a regular expression or
too many spellings stay token patterns. Both report matches as ``(key, start, end)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from .terms import Position, token_pattern

#: A sequence with more spellings than this stays a token pattern.
_MAX_SPELLINGS = 4000


class TermMatcher:
    def __init__(self, nlp: Any) -> None:
        from spacy.matcher import Matcher, PhraseMatcher

        self._vocab = nlp.vocab
        self._lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._orth = PhraseMatcher(nlp.vocab, attr="ORTH")
        self._patterns = Matcher(nlp.vocab)
        #: Keys a match of which can begin with any token (a number position, a regular expression).
        self._any_first: set[str] = set()
        #: Per lower-case first word, the words a match can end with (None: any).
        self._ends: dict[str, frozenset[str] | None] = {}

    def add_sequences(self, key: str, sequences: Iterable[list[Position | None]]) -> None:
        lower: list[tuple[str, ...]] = []
        orth: list[tuple[str, ...]] = []
        patterns: list[list[dict[str, Any]]] = []
        for sequence in sequences:
            spelled = _spellings(sequence)
            if spelled is None:
                patterns.append(token_pattern(sequence))
                first, last = sequence[0], sequence[-1]
                if first is None:
                    self._any_first.add(key)
                else:
                    for word in first[1]:
                        self._end(word, None if last is None else last[1])
                continue
            attr, words_list = spelled
            for words in words_list:
                self._end(words[0], (words[-1],))
                (orth if attr == "ORTH" else lower).append(words)
        self._add_phrases(self._lower, key, lower)
        self._add_phrases(self._orth, key, orth)
        if patterns:
            self._patterns.add(key, patterns)

    def add_patterns(self, key: str, patterns: list[list[dict[str, Any]]]) -> None:
        """Token patterns kept as they are (sizes: a number regex and a unit)."""
        self._patterns.add(key, patterns)
        self._any_first.add(key)

    def _add_phrases(self, matcher: Any, key: str, phrases: list[tuple[str, ...]]) -> None:
        if not phrases:
            return
        from spacy.tokens import Doc

        matcher.add(key, [Doc(self._vocab, words=list(p)) for p in dict.fromkeys(phrases)])

    def __call__(self, doc: Any) -> list[tuple[str, int, int]]:
        strings = doc.vocab.strings
        found = [(strings[m], s, e) for m, s, e in self._lower(doc)]
        found += [(strings[m], s, e) for m, s, e in self._orth(doc)]
        if len(self._patterns):
            found += [(strings[m], s, e) for m, s, e in self._patterns(doc)]
        return found

    def _end(self, first: str, lasts: Iterable[str] | None) -> None:
        key = first.lower()
        more = None if lasts is None else frozenset(w.lower() for w in lasts)
        self._ends[key] = widen(self._ends.get(key, frozenset()), more)

    def ends(self) -> dict[str, frozenset[str] | None]:
        """Per lower-case token a match can begin with, the tokens it can end with (None: any).
        Matches of the keys in ``any_first()`` are not in it."""
        return dict(self._ends)

    def any_first(self) -> frozenset[str]:
        """The keys a match of which can begin with any token, so no first word finds them."""
        return frozenset(self._any_first)


def widen(known: frozenset[str] | None, more: frozenset[str] | None) -> frozenset[str] | None:
    """Words a match can end with, from two sets of them (None: any word, which absorbs all)."""
    return None if known is None or more is None else known | more


def _spellings(
    sequence: list[Position | None],
) -> tuple[str, list[tuple[str, ...]]] | None:
    """Every spelling of a sequence of word positions, or None for a token pattern."""
    if any(position is None for position in sequence):
        return None
    attrs = {position[0] for position in sequence if position is not None}
    if len(attrs) != 1:
        return None
    total = 1
    for position in sequence:
        total *= len(position[1]) if position is not None else 1
        if total > _MAX_SPELLINGS:
            return None
    words = [sorted(position[1]) for position in sequence if position is not None]
    return attrs.pop(), list(itertools.product(*words))
