"""A term matcher that stays fast with thousands of inflected terms.

spaCy's token-pattern ``Matcher`` evaluates every pattern's predicates at every token: with the
lexicon's terms (a few thousand patterns, many with ``IN`` sets of inflections) that cost about half a
millisecond for a two-word text. Most terms are plain word sequences once their alternatives are
spelled out, and those are found by hashing, whatever their number. So each sequence of positions
is spelled out into phrases of a :class:`PhraseIndex` (on lower-case words, or as written for
case-sensitive abbreviations); only sequences with a number position ("#"), a regular expression or
too many spellings stay token patterns. Both report matches as ``(key, start, end)``.

The index is a dictionary of word tuples rather than spaCy's ``PhraseMatcher``: the content spells
out about 48,000 phrases, and building a spaCy ``Doc`` for each cost about 0.85 s of every
start-up; a tuple costs nothing to build, and finding phrases costs one look-up per word of a text.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from .terms import Position, token_pattern

#: A sequence with more spellings than this stays a token pattern.
_MAX_SPELLINGS = 4000


class PhraseIndex:
    """Phrases (tuples of words) under keys, found in a text's words as ``(key, start, end)``:
    every occurrence of every phrase, overlapping ones included, each key once per place."""

    def __init__(self) -> None:
        #: Per first word: the lengths of its phrases, longest first, and the keys per phrase.
        self._by_first: dict[str, tuple[list[int], dict[tuple[str, ...], dict[str, None]]]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_first)

    def add(self, key: str, phrases: Iterable[tuple[str, ...]]) -> None:
        for phrase in phrases:
            if not phrase:
                continue
            lengths, keys = self._by_first.setdefault(phrase[0], ([], {}))
            keys.setdefault(phrase, {})[key] = None
            if len(phrase) not in lengths:
                lengths.append(len(phrase))
                lengths.sort(reverse=True)

    def find(self, words: list[str]) -> list[tuple[str, int, int]]:
        found = []
        count = len(words)
        for start, word in enumerate(words):
            entry = self._by_first.get(word)
            if entry is None:
                continue
            lengths, keys = entry
            for length in lengths:
                end = start + length
                if end <= count:
                    for key in keys.get(tuple(words[start:end]), ()):
                        found.append((key, start, end))
        return found


class TermMatcher:
    def __init__(self, nlp: Any) -> None:
        from spacy.matcher import Matcher

        self._lower = PhraseIndex()
        self._orth = PhraseIndex()
        # The patterns are made by token_pattern, never written by hand: spaCy's check of each
        # (a pydantic model per pattern) would only slow start-up; a test runs it on them all.
        self._patterns = Matcher(nlp.vocab, validate=False)
        #: Keys a match of which can begin with any token (a number position, a regular expression).
        self._any_first: set[str] = set()
        #: Per lower-case first word, the words a match can end with (None: any).
        self._ends: dict[str, frozenset[str] | None] = {}

    def add_sequences(self, key: str, sequences: Iterable[list[Position | None]]) -> None:
        lower: list[tuple[str, ...]] = []
        orth: list[tuple[str, ...]] = []
        patterns: list[list[dict[str, Any]]] = []
        for sequence in sequences:
            first, last = sequence[0], sequence[-1]
            if first is None:
                self._any_first.add(key)
            elif len(sequence) == 1:
                for word in first[1]:
                    self._end(word, (word,))
            else:
                for word in first[1]:
                    self._end(word, None if last is None else last[1])
            spelled = _spellings(sequence)
            if spelled is None:
                patterns.append(token_pattern(sequence))
            elif spelled[0] == "ORTH":
                orth += spelled[1]
            else:
                lower += spelled[1]
        self._lower.add(key, lower)
        self._orth.add(key, orth)
        if patterns:
            self._patterns.add(key, patterns)

    def add_patterns(self, key: str, patterns: list[list[dict[str, Any]]]) -> None:
        """Token patterns kept as they are (sizes: a number regex and a unit)."""
        self._patterns.add(key, patterns)
        self._any_first.add(key)

    def __call__(self, doc: Any) -> list[tuple[str, int, int]]:
        found = self._lower.find([t.lower_ for t in doc]) if self._lower else []
        if self._orth:
            found += self._orth.find([t.text for t in doc])
        if len(self._patterns):
            strings = doc.vocab.strings
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
    attr = attrs.pop()
    if attr == "LOWER":
        words = [sorted({w.lower() for w in p[1]}) for p in sequence if p is not None]
    else:
        words = [sorted(p[1]) for p in sequence if p is not None]
    return attr, list(itertools.product(*words))
