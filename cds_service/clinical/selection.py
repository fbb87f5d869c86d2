"""Which prefetched resources can matter, decided on the raw JSON before any FHIR validation.

Most of a real prefetch is vital signs and labs that cannot concern milia, and validating a resource
with fhir.resources costs about 150 µs (performance.md), a hundred times what it costs to look at a
few of its fields. A resource is kept when one of its codings is a code the knowledge base knows, or
when its text holds a word that can begin a term of the text reader (a concept, a name, a lesion
word). The fields looked at are the reader's own (:mod:`.fields`), so a dropped resource is one the
reader would have found nothing in. Kept resources are then validated strictly and read in full, so
a false positive only costs time; the look is cheap enough to run on every resource.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any

from . import fields
from .findings import LESION_WORDS
from .text import TextReader
from .vocabulary import Vocabulary

_WORD = re.compile(r"[a-z0-9]+")
#: Texts whose decision is remembered per worker (by a digest of the text, never the text itself).
_REMEMBERED = 8192


class RelevanceFilter:
    def __init__(self, vocabulary: Vocabulary, reader: TextReader) -> None:
        self._vocabulary = vocabulary
        self._words = frozenset(reader.first_words() | LESION_WORDS)
        self._reader = reader
        self._decided: dict[bytes, bool] = {}
        self._lock = threading.Lock()

    def __call__(self, resource: dict[str, Any]) -> bool:
        kind = resource.get("resourceType")
        plan = _PLANS.get(kind) if isinstance(kind, str) else None
        if plan is None:
            return False  # a type whose findings the reader does not read
        texts: list[str] = []
        knows = self._vocabulary.knows_code
        # Only the paths whose first field the resource has (a set intersection, in C): a vital
        # sign has two of the twelve an Observation can hold a finding in.
        for first in resource.keys() & plan.keys():
            for path, is_concept in plan[first]:
                for value in fields.values(resource, path):
                    if not is_concept:
                        if value and isinstance(value, str):
                            texts.append(value)
                        continue
                    if not isinstance(value, dict):
                        continue
                    for coding in fields.values(value, "coding[]"):
                        if not isinstance(coding, dict):
                            continue
                        system, code = coding.get("system"), coding.get("code")
                        if not isinstance(system, str) or not isinstance(code, str):
                            continue  # strict validation reports it if the resource is kept
                        if knows(system, code):
                            return True
                        display = coding.get("display")
                        if isinstance(display, str):
                            texts.append(display)
        if not texts:
            return False
        text = " ".join(texts)
        # A word that can begin a term first (a set look-up): most texts stop here.
        words = set(_WORD.findall(text.lower()))
        if self._words.isdisjoint(words):
            return False
        if kind == "Observation" and not LESION_WORDS.isdisjoint(words):
            return True  # its code names a lesion: it measures one ("Size of skin lesion", 4 mm)
        key = hashlib.blake2b(f"{kind}\n{text}".encode(), digest_size=16).digest()
        known = self._decided.get(key)
        if known is None:
            known = self._reader.could_find(text)
            # Exam findings repeat from visit to visit ("Throat mildly erythematous").
            with self._lock:  # the worker's threads share the memory
                if len(self._decided) >= _REMEMBERED:
                    self._decided.pop(next(iter(self._decided)), None)
                self._decided[key] = known
        return known


def _plan(kind: str) -> dict[str, tuple[tuple[str, bool], ...]]:
    """The reader's paths for ``kind`` (:mod:`.fields`) by their first field; True for a concept."""
    paths = [(p, True) for p in fields.CONCEPT_PATHS.get(kind, ())]
    paths += [(p, False) for p in fields.TEXT_PATHS.get(kind, ())]
    plan: dict[str, list[tuple[str, bool]]] = {}
    for path, is_concept in paths:
        plan.setdefault(path.split(".")[0].removesuffix("[]"), []).append((path, is_concept))
    return {first: tuple(found) for first, found in plan.items()}


_PLANS = {kind: _plan(kind) for kind in fields.CONCEPT_PATHS.keys() | fields.TEXT_PATHS.keys()}
