"""Inflections of the lexicon's words: lemminflect's answers, written down ahead of time.

Building the text reader asks for the inflections of about 1,700 words ("bleed": bled, bleeding).
lemminflect answers from tables of all of English, which take a third of a second or more to load
and about 50 MB in every worker (bench/README.md, "Issue 17"). Its answers for the content's words
are kept in ``inflections.json`` beside this module (``make inflections`` writes it). A word the
table lacks (content edited since) is asked of lemminflect as before, so the table saves time and
memory and never changes what is matched; ``tests/test_inflections.py`` fails when the table is
behind the content or behind lemminflect.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("inflections.json")
#: Every inflection of a word, or its plural only (a body site is a noun: "cheek", "cheeks").
KINDS = ("all", "noun")

#: The words asked for while recording (regenerating the table), by kind; None otherwise.
_asked: dict[str, set[str]] | None = None
#: (kind, word) asked for and not in the table.
_missing: set[tuple[str, str]] = set()


def inflect(word: str, kind: str) -> frozenset[str]:
    """The word and its inflections of ``kind``, from the table when it has them."""
    if _asked is not None:
        _asked[kind].add(word)
        return _live(word, kind)
    return _cached(word, kind)


@lru_cache(maxsize=16384)
def _cached(word: str, kind: str) -> frozenset[str]:
    found = _table()[kind].get(word)
    if found is None:
        _missing.add((kind, word))
        return _live(word, kind)
    return frozenset(found)


def missing() -> int:
    """How many of the words asked for so far the table lacked (lemminflect answered)."""
    return len(_missing)


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, list[str]]]:
    try:
        table: dict[str, dict[str, list[str]]] = json.loads(TABLE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        table = {}
    return {kind: table.get(kind, {}) for kind in KINDS}


def _live(word: str, kind: str) -> frozenset[str]:
    """lemminflect's answer (the table holds exactly these)."""
    get_all_inflections, get_all_oov, get_all_lemmas = _lemminflect()
    found = {word}
    if kind == "noun":
        plural = get_all_inflections(word, upos="NOUN") or get_all_oov(word, "NOUN")
        found.update(f for group in plural.values() for f in group)
        return frozenset(f.lower() for f in found)
    lemmas = {lemma for group in get_all_lemmas(word).values() for lemma in group}
    if not lemmas:
        found.update(f for group in get_all_oov(word, "NOUN").values() for f in group)
        return frozenset(found)
    for lemma in lemmas | {word}:
        found.add(lemma)
        for group in get_all_inflections(lemma).values():
            found.update(group)
    return frozenset(f.lower() for f in found)


@lru_cache(maxsize=1)
def _lemminflect() -> tuple[Any, Any, Any]:
    # lemminflect imports spaCy, whose CLI imports trip a click deprecation warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from lemminflect import getAllInflections, getAllInflectionsOOV, getAllLemmas
    return getAllInflections, getAllInflectionsOOV, getAllLemmas


@contextmanager
def recording() -> Iterator[dict[str, set[str]]]:
    """Every word asked for inside the block, answered by lemminflect (the table is not read)."""
    global _asked
    _asked = {kind: set() for kind in KINDS}
    try:
        yield _asked
    finally:
        _asked = None


def table_for(build: Callable[[], object]) -> dict[str, dict[str, list[str]]]:
    """The table of the words ``build`` asks for: it must build a new TextReader (the shared one
    of :func:`.text.text_reader` may be built already, and then asks for nothing). Not for use
    while other threads build readers: the recording is the process's."""
    with recording() as asked:
        build()
    return {
        kind: {word: sorted(_live(word, kind)) for word in sorted(asked[kind])} for kind in KINDS
    }


def write_table(table: dict[str, dict[str, list[str]]]) -> None:
    # One line per word, so that a content change shows as a readable diff.
    kinds = []
    for kind in KINDS:
        lines = [f"    {json.dumps(w)}: {json.dumps(f)}" for w, f in sorted(table[kind].items())]
        kinds.append(f'  "{kind}": {{\n' + ",\n".join(lines) + "\n  }")
    TABLE.write_text("{\n" + ",\n".join(kinds) + "\n}\n", encoding="utf-8")
    _table.cache_clear()
    _cached.cache_clear()
    _missing.clear()
