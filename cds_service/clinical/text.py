"""Clinical free text: medspaCy target rules generated from the knowledge base, ConText for status.

Each phrase of the knowledge base (synonyms, recognition text) becomes a target rule labelled with the
item it names. ConText then marks each mention negated ("no bleeding"), family ("mother had BCC"),
hypothetical ("return if it bleeds"), historical ("history of BCC") or uncertain ("rule out BCC"),
so a mention counts only with the status it really has in the note.
"""

from __future__ import annotations

import hashlib
import html
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

MentionStatus = Literal["present", "historical", "uncertain"]

# Phrases this service's notes use that ConText's default rules miss.
_EXTRA_CONTEXT = (
    ("query", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("?", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("vs", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("versus", "POSSIBLE_EXISTENCE", "BIDIRECTIONAL"),
    ("differential", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("r/o", "POSSIBLE_EXISTENCE", "FORWARD"),
    ("assess for", "HYPOTHETICAL", "FORWARD"),
    ("monitor for", "HYPOTHETICAL", "FORWARD"),
    ("watch for", "HYPOTHETICAL", "FORWARD"),
    ("check for", "HYPOTHETICAL", "FORWARD"),
    ("return if", "HYPOTHETICAL", "FORWARD"),
    ("if", "HYPOTHETICAL", "FORWARD"),
    ("should it", "HYPOTHETICAL", "FORWARD"),
    ("previous", "HISTORICAL", "FORWARD"),
    ("prior", "HISTORICAL", "FORWARD"),
    ("excised", "HISTORICAL", "BACKWARD"),
    ("nil", "NEGATED_EXISTENCE", "FORWARD"),
    # The patient described, not a relative: "a child with Down syndrome".
    ("child with", "PSEUDO", "PSEUDO"),
    ("a child", "PSEUDO", "PSEUDO"),
    ("in a child", "PSEUDO", "PSEUDO"),
    (";", "TERMINATE", "TERMINATE"),
)

_TAG = re.compile(r"<[^>]+>")
#: Texts remembered (by digest) per worker.
_CACHE_SIZE = 4096
#: "Skin: no milia" - ConText reads ": no" as a backward negation ("Bleeding: no"); a heading
#: followed by a negated phrase is made its own sentence so the negation points forward.
_HEADING_THEN_NEGATION = re.compile(r":\s*(?=(?:no|not|without|denies)\s+\w)", re.IGNORECASE)


@dataclass(frozen=True)
class TextMention:
    #: Every knowledge-base item the phrase names ("clobetasol": a trigger and an order caution).
    labels: tuple[str, ...]
    text: str
    status: MentionStatus


def plain_text(value: str) -> str:
    """Narrative XHTML (``text.div``) or markdown notes as plain text."""
    return html.unescape(_TAG.sub(" ", value)) if "<" in value else value


def _normalise(text: str) -> str:
    return _HEADING_THEN_NEGATION.sub(". ", plain_text(text))


class TextReader:
    """A medspaCy pipeline that finds the knowledge base's phrases in free text."""

    def __init__(self, phrases: Iterable[tuple[str, str]]) -> None:
        """``phrases``: (phrase, label) pairs; the label names the knowledge-base item."""
        nlp = _pipeline()
        from medspacy.ner import TargetRule

        # spaCy keeps one entity per span, so each phrase is one rule carrying all its labels,
        # including those of the phrases inside it: "numerous milia" also says "milia".
        own: dict[str, set[str]] = {}
        for phrase, label in phrases:
            own.setdefault(phrase, set()).add(label)
        self._labels: dict[str, tuple[str, ...]] = {}
        for phrase in own:
            inner = [
                p for p in own if p in phrase and re.search(rf"(?<!\w){re.escape(p)}(?!\w)", phrase)
            ]
            self._labels[phrase] = tuple(sorted(set().union(*(own[p] for p in inner))))
        rules = [TargetRule(phrase, phrase) for phrase in self._labels]
        self._cache: dict[bytes, tuple[TextMention, ...]] = {}
        matcher: Any = nlp.get_pipe("medspacy_target_matcher")
        matcher.add(rules)
        self._nlp = nlp

    def read(self, text: str) -> list[TextMention]:
        """The knowledge base's items in ``text`` with their status (cached by a digest of the
        text: the same notes are read again at every hook of a chart, and only the digest and the
        matched vocabulary are kept, never the text)."""
        key = hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).digest()
        cached = self._cache.get(key)
        if cached is None:
            cached = tuple(self._read(text))
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = cached
        return list(cached)

    def _read(self, text: str) -> list[TextMention]:
        mentions = []
        with warnings.catch_warnings():
            # spaCy warns (W036) that the token-pattern matcher is empty: only phrases are used.
            warnings.simplefilter("ignore", UserWarning)
            doc = self._nlp(_normalise(text))
        for entity in doc.ents:
            if entity._.is_negated or entity._.is_family or entity._.is_hypothetical:
                continue
            status: MentionStatus = "present"
            if entity._.is_uncertain:
                status = "uncertain"
            elif entity._.is_historical:
                status = "historical"
            labels = self._labels.get(entity.label_, ())
            mentions.append(TextMention(labels, entity.text.lower(), status))
        return mentions


@lru_cache(maxsize=4)
def text_reader(phrases: frozenset[tuple[str, str]]) -> TextReader:
    """One reader per vocabulary per process: building the pipeline takes about half a second."""
    return TextReader(phrases)


def _pipeline() -> Any:
    # spaCy's CLI imports trip a click deprecation warning; PyRuSH logs every token at DEBUG.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import medspacy  # noqa: F401  (registers the medspaCy components)
        import spacy
        from loguru import logger
        from medspacy.context import ConTextRule

    logger.disable("PyRuSH")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("medspacy_target_matcher")
    context: Any = nlp.add_pipe("medspacy_context")
    context.add(
        [ConTextRule(literal, category, direction=d) for literal, category, d in _EXTRA_CONTEXT]
    )
    return nlp
