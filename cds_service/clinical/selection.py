"""Which prefetched resources can matter, decided on the raw JSON before any FHIR validation.

Most of a real prefetch is vital signs and labs that cannot concern milia, and validating a resource
with fhir.resources costs about 150 µs (performance.md), a hundred times what it costs to look at a
few of its fields. A resource is kept when one of its codings is a code the knowledge base knows, or
when its text holds a word that can begin a term of the text reader (a concept, a name, a lesion
word). The fields looked at are the reader's own (:mod:`.fields`), so a dropped resource is one the
reader would have found nothing in. Kept resources are then validated strictly and read in full, so
a false positive only costs time; the look is cheap enough to run on every resource.

For one hook call (:meth:`RelevanceFilter.for_call`) the filter also reads ahead: a Condition,
Observation or Procedure kept for its words alone has its texts read as the reader will read them
(the reading is remembered, so the reader does not read them twice), and is dropped, unvalidated,
when they say nothing: "Thyroid not enlarged, no nodules palpable" holds a lesion word and no
finding. Nor does a finding said of another lesion or structure, when every rule that asks for it
counts it only of the milia-like lesion (:meth:`.Vocabulary.lesion_bound`): "Throat mildly
erythematous", at every visit. A heavy chart's exam findings are mostly such texts, and
validating each costs more than looking at all of its vital signs. Reading ahead has the call's
own reading budget; past it, a resource is kept as before.

Charts repeat themselves (a few vital-sign codes said hundreds of times, the same exam findings at
every visit), and so do the charts of a clinic: a decision the resource itself settled is
remembered from call to call, by a digest of what it depends on (never the text); one the call's
budget settled is not.

A chart also comes back whole (the same patient's record on every order selected), and its vital
signs differ from the last ones only in value, time and id. A call's filter (:class:`CallFilter`)
is also the screen of the body's decoding (:mod:`..fhir.lean_body`): a resource like one dropped
before, byte for byte or in every field the decision reads, is not even parsed, and its entry is
left out of the body (:data:`..fhir.lean_body.NOT_RELEVANT`). A Bundle that comes back byte for
byte has the positions of the entries it kept remembered, and the others are not looked at.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import orjson
from msgspec import UNSET, UnsetType

from ..fhir.lean_body import NOT_RELEVANT
from ..fhir.prefetch import is_fhir_type
from ..memory import Memory
from . import fields
from .findings import LESION_WORDS, ReadingLimits, names_lesion
from .nlp import MAX_TEXT, filter_text
from .text import FILTER_WORD, TextReader
from .vocabulary import Vocabulary

#: Texts whose decision is remembered per worker (by a digest of the text, never the text itself).
_REMEMBERED = 8192
#: Resources whose decision is remembered per worker (by a digest of :func:`_serialised`):
#: about 50 bytes each.
_REMEMBERED_RESOURCES = 32768
#: Resources dropped whole, remembered per worker by a hash of their bytes (never the bytes):
#: about 100 bytes each.
_REMEMBERED_DROPPED = 32768
#: Bundles remembered by their raw JSON (a few positions each): the charts of a clinic's day.
_REMEMBERED_BUNDLES = 4096
#: Fields whose presence alone a decision depends on: a quantity (a measured lesion,
#: :func:`_measures_lesion`), a coded answer (it supersedes earlier ones).
_FLAGS = ("valueCodeableConcept", "valueQuantity")
#: The types whose texts the reader reads for findings and nothing else: one whose texts say
#: nothing gives the reader nothing. (Medicines are read for more than findings: route, days.)
_READ_AHEAD = frozenset({"Condition", "Observation", "Procedure"})
#: Texts read ahead between two looks at the clock.
_CLOCK_EVERY = 8


class _Budget:
    """What is left of one call's read-ahead (the reader's limits, counted separately)."""

    def __init__(self, limits: ReadingLimits) -> None:
        self.limits = limits
        self.chars = limits.chars_per_request
        self.deadline = time.thread_time() + limits.cpu_ms / 1000  # the call's own clock
        self.texts = 0

    def allows(self, text: str) -> bool:
        if len(text) > min(self.limits.chars_per_note, self.chars):
            return False
        # The clock every few texts: reading it costs as much as a remembered reading, and a
        # few short texts past the deadline cost a few milliseconds at most.
        self.texts += 1
        if self.texts % _CLOCK_EVERY == 0 and time.thread_time() > self.deadline:
            self.chars = 0
            return False
        self.chars -= len(text)
        return True


class _Call:
    """One hook call's read-ahead budget, and what its texts showed: a chart says "Heart rate"
    hundreds of times and an exam finding at every visit. Kept no longer than the call, as it
    holds texts."""

    def __init__(self, limits: ReadingLimits) -> None:
        self.budget = _Budget(limits)
        #: Per text: could reading it give a mention or a lesion.
        self.found: dict[str, bool] = {}
        #: Per text read ahead in full: did the reading give a mention or a lesion.
        self.said: dict[str, bool] = {}
        #: Per resource, as :func:`_serialised`: kept or not.
        self.decided: dict[bytes, bool] = {}


class RelevanceFilter:
    def __init__(
        self, vocabulary: Vocabulary, reader: TextReader, limits: ReadingLimits | None = None
    ) -> None:
        self._vocabulary = vocabulary
        ends = reader.term_ends
        # None: a term can begin with any number, so no word screen is safe; every text is read.
        self._ends = None if ends is None else {**ends, **{w: frozenset({w}) for w in LESION_WORDS}}
        self._words = frozenset(self._ends or ())
        #: First words without letters or digits, which no word of the text can be.
        self._bare = frozenset(w for w in self._words if not FILTER_WORD.fullmatch(w))
        self._reader = reader
        self._lesion_bound = vocabulary.lesion_bound()
        self._split = reader.split_names
        self._limits = limits or ReadingLimits()
        # The most of a text the reader reads (the settings' per-note limit, or its own).
        self._limit = max(self._limits.chars_per_note, MAX_TEXT)
        #: Per text (by its digest): could reading it give a mention or a lesion.
        self._decided: Memory[bytes, bool] = Memory(_REMEMBERED)
        #: Per resource (a digest of :func:`_serialised`, never the text): kept or not, when its
        #: own content decided it.
        self._resources: Memory[bytes, bool] = Memory(_REMEMBERED_RESOURCES)
        #: Resources dropped, by the hash of their raw JSON: their type, and their length in
        #: bytes, which a hit must match too.
        self._dropped: Memory[int, tuple[str, int]] = Memory(_REMEMBERED_DROPPED)
        #: Prefetched Bundles, by the hash of their raw JSON: their length in bytes, their
        #: number of entries, and the positions of the entries not dropped.
        self._bundles: Memory[int, tuple[int, int, tuple[int, ...]]] = Memory(_REMEMBERED_BUNDLES)

    def for_call(self) -> CallFilter:
        """The filter for one hook call: it reads ahead, within a budget of its own."""
        return CallFilter(self, _Call(self._limits))

    def __call__(self, resource: dict[str, Any]) -> bool:
        return self.keeps(resource, None)

    def keeps(self, resource: dict[str, Any], call: _Call | None) -> bool:
        kind = resource.get("resourceType")
        if not isinstance(kind, str) or kind not in _PLANS:
            # A type whose findings the reader does not read; one that is no FHIR R4 type at
            # all ("Foo", none) is kept, for validation to name it in a 400: it is not this
            # service's to guess what it held.
            return not is_fhir_type(kind)
        plan = _PLANS[kind]
        firsts = resource.keys() & plan.keys()
        if call is None:
            return self._keeps(resource, None, kind, plan, firsts)[0]
        # A chart repeats itself (a few vital-sign codes said hundreds of times, the same exam
        # findings at every visit), and so do charts: the decision on what the reader reads of
        # a resource is remembered, within the call by what it says, across calls by a digest.
        read = _serialised(kind, resource, firsts)
        if read is None:
            return self._keeps(resource, call, kind, plan, firsts)[0]
        kept = call.decided.get(read)
        if kept is not None:
            return kept
        key = hashlib.blake2b(read, digest_size=16).digest()
        kept = self._resources.get(key)
        if kept is None:
            kept, final = self._keeps(resource, call, kind, plan, firsts)
            if final:
                self._resources.put(key, kept)
        # Within the call even a decision its budget settled stands: the budget only shrinks.
        call.decided[read] = kept
        return kept

    def _keeps(
        self,
        resource: dict[str, Any],
        call: _Call | None,
        kind: str,
        plan: dict[str, tuple[tuple[_Walk, bool], ...]],
        firsts: set[str],
    ) -> tuple[bool, bool]:
        """Whether to keep the resource, and whether that is final: False when the call's
        read-ahead budget, not the resource, decided (it is kept, and decided again next time)."""
        said: list[str] = []  # the texts the reader reads (fields.texts)
        named: list[str] = []  # and what its codings say, which the reader reads for some types
        knows = self._vocabulary.knows_code
        # Only the paths whose first field the resource has (a set intersection, in C): a vital
        # sign has two of the twelve an Observation can hold a finding in.
        for first in firsts:
            for walk, is_concept in plan[first]:
                for value in walk(resource):
                    if not is_concept:
                        if value and isinstance(value, str):
                            said.append(value)
                        continue
                    if not isinstance(value, dict):
                        continue
                    displays: list[str] | None = None
                    for coding in _codings(value):
                        if not isinstance(coding, dict):
                            continue
                        system, code = coding.get("system"), coding.get("code")
                        if (
                            isinstance(system, str)
                            and isinstance(code, str)
                            and knows(system, code)
                        ):
                            return True, True
                        display = coding.get("display")  # with or without a system and code
                        if display and isinstance(display, str):
                            displays = [*displays, display] if displays else [display]
                    if displays:
                        named += displays
                        # A medicine is named by its text and displays together (the reader's
                        # _concept_text): "Coconut" + "oil".
                        text = value.get("text")
                        if text and isinstance(text, str):
                            named.append(" ".join([text, *displays]))
                        elif len(displays) > 1:
                            named.append(" ".join(displays))
        if kind == "Observation" and _measures_lesion(resource):
            return True, True  # it may measure a lesion ("Size of skin lesion", 4 mm)
        texts = said + named
        if not texts:
            return False, True
        # Each text on its own, as the reader reads them: joined, "Nose bleeding" and "Risk
        # assessed" would read as the ignored phrase "bleeding risk".
        if not any(self._could_find(text, call) for text in texts):
            return False, True
        if call is None or kind not in _READ_AHEAD:
            return True, True
        if "valueCodeableConcept" in resource:
            # A coded answer supersedes earlier ones, said or not (_latest_answers).
            return True, True
        return self._says_something(said, call)

    def _could_find(self, text: str, call: _Call | None) -> bool:
        found = call.found.get(text) if call is not None else None
        if found is not None:
            return found
        # Exam findings repeat from visit to visit and chart to chart ("Throat mildly
        # erythematous"): the decision is remembered by the text's digest, screened or read.
        key = hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).digest()
        found = self._decided.get(key)
        if found is None:
            found = self._screen(text) and self._reader.could_find(text, self._limit)
            self._decided.put(key, found)
        if call is not None:
            call.found[text] = found
        return found

    def _screen(self, text: str) -> bool:
        """Whether the words of a text could hold a term (a set look-up; the reader decides)."""
        ends = self._ends
        if ends is None:
            return True
        seen = filter_text(text)
        words = set(FILTER_WORD.findall(seen))
        # "mileum", "penicilamine": the reader reads them as the name
        words.update(self._reader.corrections(words).values())
        words |= self._split.names(seen)  # "mill ya": the reader joins split names too
        # A word that can begin a term first: most texts stop here ...
        firsts = set(self._words.intersection(words))
        for bare in self._bare:  # ">", "↑": looked for as written
            if bare in seen:
                firsts.add(bare)
        # ... and one a term that begins with it can end with ("BP 132/80": "bp" begins terms,
        # none of which ends in this text).
        return any(_may_end(ends[w], words) for w in firsts)

    def _says_something(self, texts: list[str], call: _Call) -> tuple[bool, bool]:
        """Whether the reader finds anything in the texts, and whether that was read (final) or
        assumed: a text past the call's budget is kept for the reader, which has its own."""
        budget = call.budget
        for text in texts:
            says = call.said.get(text)
            if says is None:
                if not budget.allows(text):
                    return True, False  # not read ahead: the reader reads it, within its own budget
                # The reader's own call (digest and length), so its reading is the one remembered.
                reading = self._reader.read(text, budget.deadline, len(text))
                if not reading.complete:
                    return True, False  # out of time: the reader reads it again, not this call
                says = bool(reading.lesions) or any(
                    m.lesion != "other" or not self._lesion_bound.issuperset(m.labels)
                    for m in reading.mentions
                )
                call.said[text] = says
            if says:
                return True, True
        return False, True


class CallFilter:
    """One hook call's filter (:meth:`RelevanceFilter.for_call`), and its body's screen
    (:mod:`..fhir.lean_body`): a resource is not parsed when an earlier call dropped one with the
    same bytes, or with the same fields the decision depends on (:func:`_shape`: a vital sign
    of the same code, whatever its value, time and id), and the ones this call drops are
    remembered by both.

    The keys are Python's 64-bit hash of the bytes, SipHash keyed afresh in every process, so no
    one can aim a resource at another's and two share a key by chance about once in 2**64
    look-ups; a hit must match the length in bytes as well. A resource is remembered only when
    dropped: a dropped decision is always the resource's own (the call's budget only ever
    keeps)."""

    def __init__(self, owner: RelevanceFilter, call: _Call) -> None:
        self._owner = owner
        self._call = call
        self._dropped = owner._dropped
        #: Per resource parsed from raw JSON this call (by id: the body holds them all the call
        #: long): the keys and lengths of its bytes and of its shape.
        self._raw: dict[int, tuple[tuple[int, int], ...]] = {}
        #: Per Bundle of this call (by id, as above): the key and length of its raw JSON.
        self._bundle_keys: dict[int, tuple[int, int]] = {}

    def __call__(self, resource: dict[str, Any]) -> bool:
        kept = self._owner.keeps(resource, self._call)
        if not kept and (keys := self._raw.pop(id(resource), None)) is not None:
            kind = resource.get("resourceType")
            if isinstance(kind, str) and kind in _PLANS:
                for key, size in keys:
                    self._dropped.put(key, (kind, size))
        return kept

    def positions(self, bundle: msgspec.Raw, count: int) -> Sequence[int]:
        # A chart comes back whole (the same patient's record at every order selected): the
        # entries its resources' own content dropped before are dropped again, unlooked at.
        data = bytes(bundle)
        key = hash(data)
        self._bundle_keys[id(bundle)] = (key, len(data))
        known = self._owner._bundles.get(key)
        if known is not None and known[:2] == (len(data), count):
            return known[2]
        return range(count)

    def remember(self, bundle: msgspec.Raw, count: int, kept: Sequence[int]) -> None:
        key, size = self._bundle_keys[id(bundle)]
        self._owner._bundles.put(key, (size, count, tuple(kept)))

    def parse(self, raw: msgspec.Raw) -> Any:
        data = bytes(raw)  # a copy: neither Raw nor a view of it is hashable
        key = hash(data)
        known = self._dropped.get(key)
        if known is not None and known[1] == len(data):
            return NOT_RELEVANT
        keys = [(key, len(data))]
        shape = _shape(data)
        if shape is not None:
            kind, said = shape
            known = self._dropped.get(shaped := hash(said))
            if known is not None and known == (kind, len(said)):
                self._dropped.put(key, (kind, len(data)))  # by its bytes next time
                return NOT_RELEVANT
            keys.append((shaped, len(said)))
        resource = orjson.loads(data)
        if isinstance(resource, dict):
            self._raw[id(resource)] = tuple(keys)
        return resource


def _serialised(kind: str, resource: dict[str, Any], firsts: set[str]) -> bytes | None:
    """What the decision on a resource depends on: its type, the fields the reader reads
    (serialised, in C: whatever they hold is in it, names included, so two resources that differ
    there never share it; the same fields in another order only miss the memory), and whether a
    quantity (a measured lesion, :func:`_measures_lesion`) or a coded answer comes with them.
    None for a resource orjson cannot serialise (an integer beyond 64 bits), decided afresh."""
    try:
        flags = [flag for flag in _FLAGS if flag in resource]
        return orjson.dumps((kind, flags, {k: resource[k] for k in firsts}))
    except orjson.JSONEncodeError:
        return None


def _may_end(lasts: frozenset[str] | None, words: set[str]) -> bool:
    return lasts is None or not lasts.isdisjoint(words)


_Walk = Callable[[dict[str, Any]], Sequence[Any]]
_codings = fields.walker("coding[]")


def _plan(kind: str) -> dict[str, tuple[tuple[_Walk, bool], ...]]:
    """The reader's paths for ``kind`` (:mod:`.fields`), compiled, by their first field; True
    for a concept."""
    paths = [(p, True) for p in fields.CONCEPT_PATHS.get(kind, ())]
    paths += [(p, False) for p in fields.TEXT_PATHS.get(kind, ())]
    plan: dict[str, list[tuple[_Walk, bool]]] = {}
    for path, is_concept in paths:
        first = path.split(".")[0].removesuffix("[]")
        plan.setdefault(first, []).append((fields.walker(path), is_concept))
    return {first: tuple(found) for first, found in plan.items()}


_PLANS = {kind: _plan(kind) for kind in fields.CONCEPT_PATHS.keys() | fields.TEXT_PATHS.keys()}
#: The fields of raw JSON a decision on a resource can depend on, whatever its type
#: (:func:`_shape`): msgspec skips the others in C, and leaves these raw.
_SHAPE_FIELDS = ("resourceType", *sorted({*_FLAGS, *(f for plan in _PLANS.values() for f in plan)}))
_SHAPE: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
    msgspec.defstruct(
        "_Shape",
        [("resourceType", Any, UNSET)]
        + [(name, msgspec.Raw | UnsetType, UNSET) for name in _SHAPE_FIELDS[1:]],
        gc=False,
    )
)
#: Per type: its name, then per field its decision depends on, where the field is among
#: _SHAPE_FIELDS, its mark in the shape, and whether its value counts or only its presence.
_SHAPE_PLANS = {
    kind: (
        kind.encode(),
        tuple(
            (_SHAPE_FIELDS.index(name), b"=" + name.encode(), name in plan)
            for name in sorted({*_FLAGS, *plan})
        ),
    )
    for kind, plan in _PLANS.items()
}


def _shape(data: bytes) -> tuple[str, bytes] | None:
    """:func:`_serialised` read from raw JSON, without building the resource: its type, and
    the type, the flags present and the raw fields of its plan joined by NUL bytes (which raw JSON
    and the plans' names cannot hold, so two different shapes never join alike). The same fields
    written otherwise (spaces, order, escapes) only miss the memory. None when the JSON is not a
    resource of a type with a plan (it is parsed, and decided as ever)."""
    try:
        values = msgspec.structs.astuple(_SHAPE.decode(data))
    except (msgspec.DecodeError, RecursionError):
        return None
    kind = values[0]
    known = _SHAPE_PLANS.get(kind) if isinstance(kind, str) else None
    if known is None:
        return None
    name, marks = known
    parts = [name]
    for at, mark, valued in marks:
        value = values[at]
        if value is not UNSET:
            parts.append(mark)
            if valued:
                parts.append(bytes(value))
    return kind, b"\0".join(parts)


def _measures_lesion(resource: dict[str, Any]) -> bool:
    """Whether an Observation may measure a lesion as the reader decides it (findings.
    _measurements): a quantity under a code, or a component's code, whose text or displays name
    a lesion word anywhere ("Lesion diameter", "Max diameters")."""
    if "valueQuantity" in resource and _names_lesion(resource.get("code")):
        return True
    components = resource.get("component")
    if not isinstance(components, list):
        return False
    said = _names_lesion(resource.get("code"))
    return any(
        isinstance(c, dict) and "valueQuantity" in c and (said or _names_lesion(c.get("code")))
        for c in components
    )


def _names_lesion(concept: Any) -> bool:
    """findings.names_lesion of a concept's text and displays (as the reader joins them: no
    lesion word holds a space, so each part can be asked alone)."""
    if not isinstance(concept, dict):
        return False
    text = concept.get("text")
    if isinstance(text, str) and names_lesion(text):
        return True
    for coding in _codings(concept):
        display = coding.get("display") if isinstance(coding, dict) else None
        if isinstance(display, str) and names_lesion(display):
            return True
    return False
