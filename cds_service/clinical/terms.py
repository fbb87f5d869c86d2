"""Terms of the lexicon as spaCy token patterns: inflections, abbreviations, alternatives.

A reviewer writes a term once, in base form ("bleed", "get bigger", "change in|of size|colour"); this
module turns it into token patterns that match every way a note writes it: inflections from
lemminflect (bled, bleeding, getting bigger; written down in :mod:`.inflections`), the reviewed
abbreviations of ``abbreviations.yaml`` ("basal cell carcinoma" also matches "BCC"), alternatives
(``a|b``), optional words (``word?``), other concepts (``<id>``) and numbers (``#``). The syntax is
documented in ``cards/lexicon.yaml``.

Patterns match on the LOWER token attribute, so matching is case-insensitive, except for an
abbreviation marked case sensitive, which matches on ORTH.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import CDSError
from .inflections import inflect

#: Words never inflected: function words keep their one form ("in" is not "inned"), and so do
#: possessives, sides and directions ("right" is not "righted", "upper" not "uppers").
_WORDS_KEPT_AS_WRITTEN = """
a an the of in on to with and or at by for is are be than that it as from has have had not no
this these those its very more most over under up down out into
her his their our your my right left upper lower inner outer central medial lateral both each every
"""
_FUNCTION_WORDS = frozenset(_WORDS_KEPT_AS_WRITTEN.split())
#: A term with more alternatives than this is cut short (the content check reports none today).
_MAX_PATTERNS_PER_TERM = 64

Tokenize = Callable[[str], list[str]]


class TermError(CDSError, ValueError):
    """A term that cannot be read: its text says what is wrong. Also a ValueError, so that pydantic
    reports it with the content's file and line when raised in a validator."""

    status = 500
    issue_code = "invariant"


@dataclass(frozen=True)
class Slot:
    """One place of a term: the token sequences that may stand there."""

    choices: tuple[tuple[str, ...], ...]
    optional: bool = False
    number: bool = False


def _as_written(word: str) -> frozenset[str] | None:
    """The word alone when it is not to be inflected ("=red", "in", "mm", "h/o"), else None."""
    if word.startswith("=") and len(word) > 1:
        return frozenset({word[1:]})
    if not word.isalpha() or word in _FUNCTION_WORDS or len(word) < 3:
        return frozenset({word})
    return None


def forms(word: str) -> frozenset[str]:
    """The word and its inflections ("bleed" → bleed, bleeds, bled, bleeding)."""
    kept = _as_written(word)
    return kept if kept is not None else inflect(word, "all")


def noun_forms(word: str) -> frozenset[str]:
    """The word and its plural only: a body site is a noun ("cheek", "cheeks")."""
    kept = _as_written(word)
    return kept if kept is not None else inflect(word, "noun")


def parse(term: str, tokenize: Tokenize, concepts: Mapping[str, Iterable[str]]) -> list[Slot]:
    """A term as a list of slots; ``concepts`` resolves ``<id>`` references."""
    slots: list[Slot] = []
    for raw in term.lower().split():
        optional = raw.endswith("?") and len(raw) > 1
        body = raw[:-1] if optional else raw
        if body == "#":
            slots.append(Slot((), optional, number=True))
            continue
        if body.startswith("<") and body.endswith(">"):
            ref = body[1:-1]
            if ref not in concepts:
                raise TermError(f"'<{ref}>' names no concept of the lexicon")
            # A concept used inside a term brings its one-word terms and their alternatives.
            words = [w for t in concepts[ref] if " " not in t for w in t.split("|")]
            choices = tuple(tuple(tokenize(w.rstrip("?"))) for w in words if w)
        else:
            choices = tuple(_tokens(alt, tokenize) for alt in body.split("|") if alt)
        if not choices or any(not c for c in choices):
            raise TermError(f"empty alternative in '{raw}'")
        slots.append(Slot(choices, optional))
    if not slots:
        raise TermError("empty term")
    _check_phrase_alternatives(term, slots)
    if all(slot.optional for slot in slots):
        # "dx?" is "dx" made optional, not "dx" then a question mark: it would match nothing
        # or anything. A literal "?" is its own word ("dx ?").
        raise TermError(f"every word of '{term}' is optional ('?' after a word makes it optional)")
    return slots


def _check_phrase_alternatives(term: str, slots: list[Slot]) -> None:
    """'|' joins single words: "due to start|plan to start" is due, to, start or plan, to,
    start, five words in a row, and never matches. A word offered in two places of a term with
    different alternatives is that mistake ("sparse|thin , thin|sparse hair" offers the same)."""
    for i, first in enumerate(slots):
        for second in slots[i + 1 :]:
            shared = set(first.choices) & set(second.choices)
            if shared and set(first.choices) != set(second.choices):
                word = " ".join(sorted(shared)[0])
                raise TermError(
                    f"'{word}' is an alternative in two places of '{term}': '|' joins single "
                    "words ('a b|c d' is a, then b or c, then d); write each phrase as a term"
                )


def _tokens(alternative: str, tokenize: Tokenize) -> tuple[str, ...]:
    """An alternative's tokens; "=word" keeps its mark so that the word is not inflected."""
    if alternative.startswith("=") and len(alternative) > 1:
        words = tokenize(alternative[1:])
        return tuple(f"={w}" for w in words)
    return tuple(tokenize(alternative))


Position = tuple[str, frozenset[str]]  # (token attribute, values)


Inflect = bool | str  # True: every inflection; "noun": plurals only; False: as written


def _forms(word: str, inflect: Inflect) -> frozenset[str]:
    if inflect == "noun":
        return noun_forms(word)
    return forms(word) if inflect else frozenset({word.removeprefix("=") or word})


def _positions(tokens: tuple[str, ...], inflect: Inflect) -> list[Position]:
    return [("LOWER", _forms(t, inflect)) for t in tokens]


def sequences(slots: list[Slot], inflect: Inflect = True) -> list[list[Position | None]]:
    """Every sequence of positions the slots allow; ``None`` marks a number position."""
    per_slot: list[list[list[Position | None]]] = []
    for slot in slots:
        options: list[list[Position | None]] = []
        if slot.number:
            options.append([None])
        else:
            single = [c[0] for c in slot.choices if len(c) == 1]
            if single:
                merged = frozenset().union(*(_forms(w, inflect) for w in single))
                options.append([("LOWER", merged)])
            options += [list(_positions(c, inflect)) for c in slot.choices if len(c) > 1]
        if slot.optional:
            options.append([])
        per_slot.append(options)
    found = []
    for combination in itertools.islice(itertools.product(*per_slot), _MAX_PATTERNS_PER_TERM):
        sequence = [p for part in combination for p in part]
        if sequence:
            found.append(sequence)
    return found


@dataclass(frozen=True)
class Shorthand:
    short: tuple[str, ...]
    expansion: tuple[str, ...]
    case_sensitive: bool


class Shorthands(tuple[Shorthand, ...]):
    """Abbreviations to expand, in order, with the places of those whose expansion begins with
    a word: a term's words then meet only the few that can apply (start-up spells out thousands
    of terms against a few hundred abbreviations)."""

    by_first: dict[str, list[int]]

    def __new__(cls, entries: Iterable[Shorthand]) -> Shorthands:
        made = super().__new__(cls, entries)
        made.by_first = {}
        for place, entry in enumerate(made):
            made.by_first.setdefault(entry.expansion[0], []).append(place)
        return made


def shorthands(
    abbreviations: Iterable[Any], tokenize: Tokenize, case_sensitive: bool = True
) -> Shorthands:
    """The abbreviations to expand, their words as the tokenizer reads them: "non-melanoma skin
    cancer" is non - melanoma skin cancer in a term, so it must be in its expansion too."""
    return Shorthands(
        Shorthand(
            tuple(tokenize(a.short)),
            tuple(tokenize(a.expansion)),
            case_sensitive and a.case_sensitive,
        )
        for a in abbreviations
        if a.expand
    )


def with_shorthand(
    sequence: list[Position | None], shorthands: Iterable[Shorthand]
) -> list[list[Position | None]]:
    """The sequence and its variants with a run of words written as its abbreviation."""
    known = shorthands if isinstance(shorthands, Shorthands) else Shorthands(shorthands)
    present = {w for position in sequence if position is not None for w in position[1]}
    places = sorted({p for w in present & known.by_first.keys() for p in known.by_first[w]})
    variants = [sequence]
    for entry in (known[p] for p in places):
        size, first = len(entry.expansion), entry.expansion[0]
        for start in range(len(sequence) - size + 1):
            here = sequence[start]
            if here is None or first not in here[1]:
                continue
            run = sequence[start : start + size]
            if all(p is not None and w in p[1] for p, w in zip(run, entry.expansion, strict=True)):
                attr = "ORTH" if entry.case_sensitive else "LOWER"
                # Abbreviations take a plural too: "SCCs", "BCCs".
                words = [w.upper() if entry.case_sensitive else w for w in entry.short]
                short: list[Position | None] = [
                    (attr, frozenset({w, f"{w}s"} if w.isalnum() else {w})) for w in words
                ]
                rest = sequence[start + size :]
                variants.append(sequence[:start] + short + rest)
                if rest and size == 1 and words[-1].isalpha():
                    # A word cut short is often written with its full stop, which the tokenizer
                    # splits off: "porphyria cut. tarda", "hx. of" (an acronym's stop ends a
                    # sentence: "BCC. Reviewed").
                    variants.append(sequence[:start] + short + [_FULL_STOP] + rest)
    return variants


_FULL_STOP: Position = ("ORTH", frozenset({"."}))


def token_pattern(sequence: list[Position | None]) -> list[dict[str, Any]]:
    """A spaCy Matcher pattern for one sequence of positions."""
    pattern: list[dict[str, Any]] = []
    for position in sequence:
        if position is None:
            pattern.append({"LIKE_NUM": True})
            continue
        attr, values = position
        if len(values) == 1:
            pattern.append({attr: next(iter(values))})
        else:
            pattern.append({attr: {"IN": sorted(values)}})
    return pattern


def has_word(words: Iterable[str], text: str) -> bool:
    """Any of ``words`` in ``text`` as whole words ("cutaneous" is not in "subcutaneous")."""
    return any(re.search(rf"(?<![\w-]){re.escape(w.lower())}(?![\w-])", text) for w in words)
