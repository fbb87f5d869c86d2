"""Clinical free text: concepts of the lexicon found in notes, with their status and their lesion.

How a note is read (one pass per note, linear in its length):

1. spaCy tokenises it (the reviewed abbreviations of ``cards/abbreviations.yaml`` are kept whole:
   "h/o", "s/p"; "x6wks" is split into "x 6 wks") and splits it into sentences (also at line breaks);
   a long note is read in passages of whole sentences (:mod:`.nlp`).
2. Phrase matchers (:mod:`.matchers`) find the knowledge base's terms: every concept of the lexicon
   and every phrase of a red flag, look-alike, cause or variant, expanded with inflections and
   abbreviations (:mod:`.terms`). The longest span wins and keeps the names found inside it.
3. medspaCy's ConText, with the lexicon's extra cues, marks each mention negated, hypothetical, family,
   historical or uncertain. Negated, hypothetical and family mentions are dropped.
4. A second matcher finds the lesions the note speaks of (milia, a generic papule or bump, another
   lesion such as a mole), the words that describe them (colour, small, firm, cannot be squeezed),
   body sites, sizes and time expressions (:mod:`.timetext`).
5. Each mention, site, size and duration is **attached to a lesion**: the nearest lesion of its
   sentence; in a sentence naming none, the lesion the note last spoke of; in a note naming none,
   nothing (the record entry it comes from decides). A generic lesion is milia-like when described as
   milia look (white and small, firm, not expressible, or at a typical site), another lesion when
   described otherwise (brown, pink, a different site from the milia of the same note).

What the reader returns is the mentions with the lesion they belong to, and the milia-like lesions
with their sites, sizes and durations, for :mod:`.findings` to turn into findings.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import itertools
import re
import string
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ContentError
from ..memory import Memory
from .kinship import set_aside_patient_kin
from .matchers import TermMatcher, widen
from .nlp import (
    MAX_TEXT,
    build_pipeline,
    context_of,
    cue_literal,
    cue_reach,
    cues,
    list_break,
    negation_reach,
    normalise,
    passages,
    questions,
    scopes,
    sentence_index,
    tokenizer_words,
)
from .sites import SiteIndex
from .spelling import NearWords
from .terms import (
    Inflect,
    TermError,
    has_word,
    parse,
    sequences,
    shorthands,
    with_shorthand,
)
from .timetext import TimeExpression, TimeReader

if TYPE_CHECKING:
    from .knowledge import KnowledgeBase

MentionStatus = Literal["present", "historical", "uncertain"]
LesionKind = Literal["milia", "other", "none"]

#: Texts remembered (by digest) per worker.
_CACHE_SIZE = 4096
#: Words before a colour that make it a change, not the lesion's colour ("becoming more yellow").
_CHANGE_WORDS = frozenset(
    {"more", "becoming", "become", "became", "turned", "turning", "now", "went"}
)
#: Words that say a lesion is there: a time after one is how long the lesion named before it has
#: been present ("milia over the irradiated skin, present about 8 months"; "milia, unchanged over
#: the past year per pt. Seb keratosis"), not a medicine's time nor a later lesion's.
_PRESENCE = frozenset(
    {"present", "persisting", "persistent", "persisted", "there", "unchanged", "stable", "static"}
)
#: Words between a presence word and its time: "present for about 8 months", "stable over the
#: past year", "there x 3/12".
_PRESENCE_LEAD = frozenset(
    {"for", "x", "about", "approx", "approximately", "around", "~", "over", "the", "past", "last"}
    | {".", "since", "now", "at", "least", "some", "nearly", "almost", "roughly", "c"}
)
#: The label of words that say the writer is unsure what a lesion is ("r/o BCC", "?syringoma").
_UNSURE = "red-flag:diagnosis-uncertain"
#: Words before a verb that make it a clause of its own ("has bled", "keeps crusting").
_AUXILIARIES = frozenset(
    {"has", "have", "had", "is", "was", "are", "were", "keeps", "kept", "now", "then", "still"}
    | {"recently", "occasionally", "sometimes", "intermittently", "often", "repeatedly"}
)
#: Past forms that end in neither -s nor -ed.
_PAST_FORMS = frozenset({"bled", "grew", "grown", "became", "got", "broke", "swelled", "swollen"})
#: Lesion anchor kinds.
_MILIA, _GENERIC, _OTHER = "LESION_MILIA", "LESION_GENERIC", "LESION_OTHER"
#: A body structure that is not skin: an "other lesion" only in a sentence naming no lesion, so
#: "throat erythematous" is no inflamed lesion while "milia, one inflamed; lungs clear" still is.
_NOT_SKIN = "NOT_SKIN"
#: Words as the relevance pre-filter sees them: runs of letters, and runs of digits, of lower-case
#: text. A run of letters is cut where a digit begins, as the tokenizer cuts "2milia" (the reader's
#: tokens are never cut finer, except by the tokenizer's special cases: see ``_split_aliases``).
FILTER_WORD = re.compile(r"[a-z]+|[0-9]+")
_WORD = re.compile(r"[A-Za-z]+")


def _tails(lasts: frozenset[str] | None) -> frozenset[str] | None:
    """The pre-filter's words a term can end with; None (any) when one of its last tokens is
    punctuation only ("milia ?")."""
    if lasts is None:
        return None
    tails = set()
    for token in lasts:
        chunk = FILTER_WORD.findall(token.lower())[-1:]
        if not chunk:
            return None
        tails.update(chunk)
    return frozenset(tails)


def _split_aliases(nlp: Any) -> dict[str, set[str]]:
    """Per word of a token the tokenizer cuts out of a longer word by a special case, the
    pre-filter's words of the text it was cut from: "won't" is read as "wo" + "n't", where the
    pre-filter sees "won" and "t"; "cannot" as "can" + "not", where it sees "cannot"."""
    aliases: dict[str, set[str]] = {}
    for written, tokens in nlp.tokenizer.rules.items():
        whole = written.lower()
        raw = [(m.start(), m.end(), m.group()) for m in FILTER_WORD.finditer(whole)]
        at = 0
        for token in tokens:
            orth = str(token.get(65, token.get("ORTH", ""))).lower()  # 65: spacy.symbols.ORTH
            start = whole.find(orth, at) if orth else -1
            if start < 0:  # a special case that rewrites its text: any of its words may do
                for piece in FILTER_WORD.findall(orth):
                    aliases.setdefault(piece, set()).update(w for _, _, w in raw)
                continue
            for m in FILTER_WORD.finditer(orth):
                s, e = start + m.start(), start + m.end()
                found = {w for rs, re_, w in raw if rs < e and s < re_ and w != m.group()}
                if found:
                    aliases.setdefault(m.group(), set()).update(found)
            at = start + len(orth)
    return aliases


#: Labels that name a thing (milia, a variant, a look-alike, a drug) rather than describe a lesion.
_NAME_KINDS = ("condition:", "variant:", "mimic:", "trigger:", "caution:")
#: Labels of names a slip of which is read as the name (spelling.NearWords).
_NAMED = (*_NAME_KINDS, "drug-class:", "state:")
_DESCRIPTORS = ("COLOUR", "SMALL", "FIRM", "NOEXPRESS", "OTHERCOLOUR")
#: How many: said to be one lesion ("solitary"), or several ("a few", "numerous").
_NUMBERS = ("SOLITARY", "MANY")
#: A range joined by a hyphen or an en dash ("1-2 mm", "4\u20135 mm").
_DASHES = "-\u2013"
_SIZE = re.compile(rf"^(\d+(?:\.\d+)?)(?:\s*[{_DASHES}]\s*(\d+(?:\.\d+)?))?$")
_MM = {"mm": 1.0, "millimetre": 1.0, "millimeter": 1.0, "cm": 10.0, "centimetre": 10.0}
_MM.update({"millimetres": 1.0, "millimeters": 1.0, "centimetres": 10.0, "centimeters": 10.0})


@dataclass(frozen=True)
class TextMention:
    #: Every knowledge-base item the words name ("clobetasol": a trigger and an order caution).
    labels: tuple[str, ...]
    text: str
    status: MentionStatus
    #: The lesion the words are said of: a milia-like lesion, another lesion, or none named.
    lesion: LesionKind = "none"
    #: Said in the same sentence as that lesion.
    same_sentence: bool = False
    #: Site ids (with their regions) said nearest the words, in their sentence.
    sites: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextLesion:
    """A milia-like lesion the note speaks of: milia named, or a lesion described as milia look."""

    named: bool
    status: MentionStatus
    text: str
    plural: bool
    sites: tuple[str, ...] = ()
    sizes_mm: tuple[float, ...] = ()
    #: How long it has been present, in days, when the note says.
    days: float | None = None
    #: New lesions appearing within this many days ("came up over ten days", "every week").
    onset_within_days: float | None = None
    #: Present since the patient was this old, in days (0: since birth): the patient's age says
    #: how long.
    since_age_days: float | None = None
    #: The note gives two sizes, the later larger ("1 mm at last visit, 2.5 mm today"): by how much.
    growth_mm: float = 0.0
    #: Said to be one lesion: "a solitary papule", "milium on the nose" (not "a few milia").
    solitary: bool = False


@dataclass(frozen=True)
class TextReading:
    mentions: tuple[TextMention, ...] = ()
    lesions: tuple[TextLesion, ...] = ()
    #: False when the time budget ended the reading before the last passage.
    complete: bool = True


# ------------------------------------------------------------------------------------ the reader


@dataclass
class _Lesion:
    kind: str
    start: int
    end: int
    sentence: int
    text: str
    status: MentionStatus | None = None
    descriptors: set[str] = field(default_factory=set)
    sites: list[str] = field(default_factory=list)
    sizes: list[float] = field(default_factory=list)
    times: list[TimeExpression] = field(default_factory=list)
    resolved: LesionKind = "none"
    #: Milia are on it ("a red plaque studded with milia"): what is said of it is said of them.
    bears_milia: bool = False


class TextReader:
    """A spaCy/medspaCy pipeline that finds the knowledge base's concepts in free text."""

    def __init__(self, kb: KnowledgeBase, phrases: Iterable[tuple[str, str]]) -> None:
        """``phrases``: (term, label) pairs: the terms of every item of the knowledge base."""
        self.sites = SiteIndex(kb.sites)
        #: Red flags said of the lesion itself (an erosion, bleeding, growth), not of the patient.
        self._lesion_findings = frozenset(
            f"red-flag:{flag.id}"
            for flag in kb.red_flags
            if flag.recognise.scope in {"lesion", "milia"}
        )
        #: ConText cues that say a thing has gone (the lexicon's ``gone: true``).
        self._gone_cues = frozenset(
            cue_literal(number, cue.cue)
            for number, cue in enumerate(kb.lexicon.context)
            if cue.gone
        )
        nlp = build_pipeline(kb)  # imports spaCy, quietly
        self._nlp = nlp
        #: The words of a term as the tokenizer reads them (used while the matchers are built).
        self._tokens = tokenizer_words(nlp)
        #: ConText cues of a condition: "if", "return if", "unless", "should there".
        self._conditional_cues = frozenset(
            rule.literal
            for rule in context_of(nlp).rules
            if rule.category == "HYPOTHETICAL" and _CONDITIONAL.search(rule.literal.lower())
        )
        #: Cues after which a lesion described but not named is none (:meth:`_read_passage`):
        #: gone, in a condition, or said in general.
        generic = frozenset(
            cue_literal(number, cue.cue)
            for number, cue in enumerate(kb.lexicon.context)
            if cue.generic
        )
        self._unreal_cues = self._gone_cues | self._conditional_cues
        self._generic_cues = generic
        #: Per drug class, the words of a route or dose form that take a drug out of it
        #: ("tacrolimus 0.1% oint" is no systemic immunosuppression), as orders read them.
        self._not_routes = {
            f"drug-class:{drugs.id}": tuple(drugs.not_routes)
            for drugs in kb.drug_classes
            if drugs.not_routes
        }
        self._shorthands = shorthands(kb.abbreviations, self._tokens)
        concepts = {c.id: c.terms for c in kb.lexicon.concepts}
        self._concepts = concepts
        #: Terms of lexicon concepts: a longer one means itself only ("open sore" is no "sore").
        self._concept_terms = {t.lower() for terms in concepts.values() for t in terms}
        #: Terms of concepts whose words' findings stand ("on a red, swollen plaque").
        self._describing_terms = {
            t.lower() for c in kb.lexicon.concepts if c.keeps_findings for t in c.terms
        }

        # Targets: one rule key per term; a key carries every label that uses the term.
        self._labels: dict[str, set[str]] = {}
        self._targets = TermMatcher(nlp)
        for term, item_label in phrases:
            self._labels.setdefault(term, set()).add(item_label)
        # The lexicon's words for milia name milia too, so their status is read like any name;
        # sites are read with their status too ("not on the lid margin").
        for term in kb.lexicon.lesions.milia:
            self._labels.setdefault(term, set()).add("condition:milia")
        for site_id, terms in self.sites.terms.items():
            for term in terms:
                self._labels.setdefault(term, set()).add(f"site:{site_id}")
        # Ignored phrases and "won't squeeze" are read and set aside: the negation inside the
        # phrase must not reach the words after it.
        for term in (*kb.lexicon.ignore, *kb.lexicon.milia_like.cannot_express):
            self._labels.setdefault(term, set())
        # Names of sites and lesions are nouns: their plurals, not every verb form ("margined").
        nouns = {t for terms in self.sites.terms.values() for t in terms}
        for term in self._labels:
            self._add(self._targets, term, term, "noun" if term in nouns else True)

        # Anchors: lesions, their descriptors, sites, sizes.
        self._anchors = TermMatcher(nlp)
        lesions = kb.lexicon.lesions
        known = {w for term in self._labels for w in term.lower().replace("|", " ").split()}
        #: Misspelt milia names ("mileum", "millium", "milai") and the name each stands for.
        self.misspellings = misspellings(lesions.milia, known | set(lesions.not_misspellings))
        names = {n.lower(): n.lower() for n in lesions.milia if n.isalpha()}
        #: Names broken in two by dictation ("mill ya", "milly a").
        self.split_names = SplitNames({**self.misspellings, **names})
        #: Long names of drugs, procedures, look-alikes and conditions typed with one slip
        #: ("penicilamine").
        self._near = NearWords(
            (
                term
                for term, labels in self._labels.items()
                if any(label.startswith(_NAMED) for label in labels)
            ),
            known | set(lesions.not_misspellings),
        )
        for kind, terms in ((_MILIA, lesions.milia), (_GENERIC, lesions.generic)):
            for term in terms:
                self._add(self._anchors, term, kind)
        for term in lesions.refer_back:
            self._add(self._anchors, term, _GENERIC, False)
        self._refer_back = frozenset(t.lower() for t in lesions.refer_back)
        self._hearsay = frozenset(t.lower() for t in kb.lexicon.hearsay)
        #: Look-alikes that cannot be a cancer.
        self._benign_mimics = frozenset(
            f"mimic:{m.id}" for m in kb.mimics if not m.malignant_potential
        )
        self._carried = tuple(t.lower() for t in kb.lexicon.carried_forward)
        self._bearing = frozenset(t.lower() for t in lesions.bearing)
        self._bearing_near = self._bearing | {t.lower() for t in lesions.bearing_near}
        self._borne_on = frozenset(t.lower() for t in lesions.borne_on)
        self._beside = frozenset(t.lower() for t in lesions.beside)
        # Other lesions: the lexicon's list, every look-alike's name and the words for skin
        # cancer ("colloid milium" is not milium; "a BCC on her back two years ago" is no
        # duration of the milia); and the structures that are not skin ("throat erythematous"
        # is no inflamed lesion).
        others = [*lesions.other, *(n for m in kb.mimics for n in m.synonyms)]
        others += concepts.get("skin-cancer", ())
        for term in others:
            self._add(self._anchors, term, _OTHER)
        for term in lesions.not_skin:
            self._add(self._anchors, term, _NOT_SKIN)
        look = kb.lexicon.milia_like
        for kind, terms in zip(
            _DESCRIPTORS,
            (look.colour, look.small, look.firm, look.cannot_express, look.other_colour),
            strict=True,
        ):
            for term in terms:
                self._add(self._anchors, term, kind)
        for kind, terms in zip(
            _NUMBERS, (lesions.solitary, [*lesions.several, *kb.lexicon.count_words]), strict=True
        ):
            for term in terms:
                self._add(self._anchors, term, kind, False)
        for term in concepts.get("appear", ()):
            self._add(self._anchors, term, "APPEAR", True)
        for site_id, terms in self.sites.terms.items():
            for term in terms:
                self._add(self._anchors, term, f"SITE:{site_id}")
        units = sorted(_MM)
        self._anchors.add_patterns(
            "SIZE",
            [
                [
                    {"TEXT": {"REGEX": rf"^\d+(\.\d+)?([{_DASHES}]\d+(\.\d+)?)?$"}},
                    {"LOWER": {"IN": units}},
                ],
                [
                    {"TEXT": {"REGEX": r"^\d+(\.\d+)?$"}},
                    {"LOWER": {"IN": ["x", "by", "-", "\u2013", "to"]}},
                    {"TEXT": {"REGEX": r"^\d+(\.\d+)?$"}},
                    {"LOWER": {"IN": units}},
                ],
            ],
        )
        self._size_words = dict(kb.lexicon.size_words)
        #: A size this small describes a lesion as milia-like ("1 mm white papule").
        self._small_mm = kb.lexicon.milia_like.small_mm_at_most
        for word in self._size_words:
            self._add(self._anchors, word, "SIZEWORD")
        self._time = TimeReader(kb.lexicon.time)
        self._cache: Memory[bytes, TextReading] = Memory(_CACHE_SIZE)
        self._lock = threading.RLock()

    # -- building

    def _add(self, matcher: Any, term: str, key: str, inflect: Inflect = "noun") -> None:
        try:
            slots = parse(term, self._tokens, self._concepts)
        except TermError as exc:  # check-content reports these with file and line
            raise ContentError([f"term '{term}': {exc.message}"]) from exc
        matcher.add_sequences(
            key,
            (v for seq in sequences(slots, inflect) for v in with_shorthand(seq, self._shorthands)),
        )

    @cached_property
    def term_ends(self) -> dict[str, frozenset[str] | None] | None:
        """Per word a target or a lesion word can begin with, the words it can end with (None:
        any): a text that holds no such pair of words can give no mention and no lesion. Words
        are those the pre-filter sees (``FILTER_WORD``: "non-healing" is non ... healing), with
        the words of the text a special case cuts a token from ("won't": "won" for "wo").
        None when a target or a lesion word can begin with any number ("# papules"): no list
        of first words then holds them all, and every text has to be read."""
        if self._targets.any_first() or self._anchors.any_first() & {_MILIA, _GENERIC}:
            return None
        aliases = _split_aliases(self._nlp)
        ends: dict[str, frozenset[str] | None] = {}
        for matcher in (self._targets, self._anchors):
            for first, lasts in matcher.ends().items():
                # A first token without letters or digits (">", "↑") is its own key: the
                # pre-filter looks for it in the text as it is.
                heads = FILTER_WORD.findall(first.lower())[:1] or [first.lower()]
                tails = _tails(lasts)
                if tails is not None:
                    tails = tails.union(*(aliases.get(t, ()) for t in tails))
                for head in (heads[0], *aliases.get(heads[0], ())):
                    ends[head] = widen(ends.get(head, frozenset()), tails)
        return ends

    def corrections(self, words: set[str]) -> dict[str, str]:
        """Each of ``words`` (lower case) that is a misspelt name, and the name: a milia name
        one letter off ("mileum"), a long name one slip off ("penicilamine")."""
        # Looked up word by word: a set's intersection with a dict walks the whole dict.
        misspelt = self.misspellings
        found = {w: misspelt[w] for w in words if w in misspelt}
        found.update(self._near.corrections(words))
        return found

    def _normalised(self, text: str, limit: int = MAX_TEXT) -> str:
        """``text`` as every reading reads it: normalised, misspelt names as the name."""
        text = self.split_names.join(normalise(text, limit))
        fixes = self.corrections(set(FILTER_WORD.findall(text.lower())))
        if not fixes:
            return text
        return _WORD.sub(lambda m: fixes.get(m[0].lower(), m[0]), text)

    def could_find(self, text: str, limit: int = MAX_TEXT) -> bool:
        """Whether reading ``text`` could give a mention or a lesion: a term or a lesion word is
        in it (the relevance pre-filter's exact check; context is not read). Read in the
        reader's passages and up to its ``limit``, as :meth:`read` reads it."""
        for passage in passages(self._normalised(text, limit)):
            doc = self._nlp.make_doc(passage)
            self._set_targets(doc)
            if any(self._entity_labels(doc, entity) for entity in doc.ents):
                return True
            if any(key in {_MILIA, _GENERIC} for key, _, _ in self._anchors(doc)):
                return True
        return False

    def sites_in(self, text: str) -> tuple[str, ...]:
        """The body sites a text names, with their regions ("to the cheeks": cheek, face)."""
        if not text.strip():
            return ()
        doc = self._nlp.make_doc(self._normalised(text))
        found = [k.removeprefix("SITE:") for k, _, _ in self._anchors(doc) if k.startswith("SITE:")]
        return self.sites.with_regions(found)

    # -- reading

    def read(self, text: str, deadline: float | None = None, limit: int = MAX_TEXT) -> TextReading:
        """What ``text`` says (cached by a digest of the text: the same notes are read again at
        every hook of a chart, and only the digest and the findings are kept, never the text).
        Past ``deadline`` (``time.thread_time()``: the call's own processor time) no further
        passage is read; the reading says it is incomplete and is not cached."""
        # The limit is part of what is read: the same note read whole and read in part differ.
        digest = hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16)
        digest.update(limit.to_bytes(8, "big"))
        key = digest.digest()
        # One reading at a time per worker: the pipeline's components and the cache are shared
        # by the worker's threads (reading is CPU-bound: the GIL would serialise it anyway).
        with self._lock:
            cached = self._cache.get(key)
            if cached is None:
                cached = self._read(text, deadline, limit)
                if cached.complete:
                    self._cache.put(key, cached)
        return cached

    def _read(self, text: str, deadline: float | None, limit: int) -> TextReading:
        """A long note is read in passages of whole sentences: ConText weighs every cue against
        every mention of its document, so one document per passage keeps the work linear in the
        length of the note. A lesion named in one passage is not the referent of the next."""
        pieces = passages(self._normalised(text, limit))
        if len(pieces) == 1:
            return self._read_passage(pieces[0])
        readings: list[TextReading] = []
        for piece in pieces:
            if deadline is not None and readings and time.thread_time() > deadline:
                break
            readings.append(self._read_passage(piece))
        return TextReading(
            tuple(m for r in readings for m in r.mentions),
            tuple(les for r in readings for les in r.lesions),
            complete=len(readings) == len(pieces),
        )

    def _read_passage(self, text: str) -> TextReading:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            doc = self._nlp.make_doc(text)
            for _, component in self._nlp.pipeline:
                if component is context_of(self._nlp):
                    self._set_targets(doc)
                doc = component(doc)
        set_aside_patient_kin(doc)
        sentence_of = sentence_index(doc)
        lesions, facts = self._anchor_facts(doc, sentence_of)
        entities = []
        asked = questions(doc, sentence_of)
        milia_at = {les.start: les for les in lesions if les.kind == _MILIA}
        gone_cues = _gone_cue_starts(doc, self._gone_cues)
        denied_to = -1  # where the last finding denied by a "none" before it ends
        for entity in doc.ents:
            if (
                entity._.is_negated
                and any(lbl.startswith("red-flag:") for lbl in self._entity_labels(doc, entity))
                and _asserted_after_a_list(doc, entity)
            ):
                entity._.is_negated = False
            if entity._.is_negated and entity._.is_uncertain and _doubt_is_nearer(entity):
                # "does not look like a typical milium and I can't exclude a basal cell": the
                # nearer cue says what is in doubt.
                entity._.is_negated = False
            before = doc[entity.start - 1].lower_ if entity.start > 0 else ""
            listed = before in {"or", "nor", ","} and entity.start - 1 == denied_to
            if before == "none" or (listed and entity.start not in milia_at):
                # "milia on the cheeks, none painful or crusted": ConText's "none" reads backward
                # only ("blisters: none"), and one token cannot be two cues. The list it begins
                # is of findings: "none tender, milia on the nose" still names milia.
                entity._.is_negated = True
                denied_to = entity.end
            if entity._.is_negated or entity._.is_family or entity._.is_hypothetical:
                status: MentionStatus | None = None
            elif entity._.is_uncertain:
                status = "uncertain"
            elif entity._.is_historical:
                status = "historical"
            else:
                status = "present"
            if status == "present" and sentence_of[entity.start] in asked:
                status = "uncertain"  # "Closed comedones or milia?"
            if (
                status == "present"
                and entity.start in milia_at
                and _subject_gone(doc, entity, gone_cues)
            ):
                status = "historical"  # "Milia ... noted at the newborn check have now cleared"
            entities.append((entity, status))
            for position in range(entity.start, entity.end):
                lesion = milia_at.get(position)
                if lesion is not None:
                    lesion.status = status
        self._set_aside_superseded(doc, entities, milia_at)
        # Lesions named as milia but negated, hypothetical or family are no lesion at all; a site
        # said so ("not on the lid margin") is no site of anything. A look-alike or a cancer named
        # as a possibility ("?BCC") is a diagnosis weighed for the lesion at hand, not another one.
        # Token coverage, computed once: every check below is then a look-up (linear work).
        size = len(doc)
        considered = _covered(
            size,
            [
                (e.start, e.end)
                for e, status in entities
                # "r/o BCC", "ddx BCC": words that are the doubt themselves.
                if status == "uncertain" or _UNSURE in self._entity_labels(doc, e)
            ],
        )
        # A lesion described but not named is none when said to have gone ("the white spots she
        # had on her lids have gone"), in a condition ("call if she notices tiny white bumps")
        # or in general ("explained that tiny white bumps can form in scars"; not "explained
        # that the white spots on her knuckles are milia"). Not when denied, worried about or
        # said of a relative: those cues reach too far for a description ("L lower lid (not
        # margin): 2mm firm white papule"; "Mum has a hard white spot" told by her daughter;
        # "worried about persistent white spots"), and a missed lesion hides its red flags.
        unreal = _covered(size, cue_reach(doc, lambda m: m.rule.literal in self._unreal_cues))
        for start, end in _generic_reach(doc, self._generic_cues):
            for i in range(start, end):
                if doc[i].lower_ in _DEFINITE:
                    break  # "the spots on her knuckles": the patient's own
                unreal[i] = True
        lesions = [
            les
            for les in lesions
            if not (les.kind == _MILIA and les.status is None)
            and not (les.kind == _OTHER and considered[les.start])
        ]
        unsaid = _covered(
            size,
            [
                (e.start, e.end)
                for e, status in entities
                if status in (None, "historical") and self._site_entity(doc, e)
            ],
        )
        # A size or a time is negated only up to a comma ("no itch, 4 mm, x 8/12").
        unsure_fact = _covered(size, scopes(doc, {"HYPOTHETICAL", "FAMILY"}) + negation_reach(doc))
        drug_then_no_lesion = _after_drug(
            size,
            [e.end for e, status in entities if self._drug_entity(doc, e)],
            [les.start for les in lesions],
            sentence_of,
        )
        times = [(start, end) for fact, start, end, _ in facts if fact == "TIME"]
        # "over the last few months": "few" counts months, not lesions.
        facts = [
            f for f in facts if not (f[0] in _NUMBERS and any(s <= f[1] < e for s, e in times))
        ]
        index = _LesionIndex(lesions)
        orphans: dict[int, TimeExpression] = {}
        for fact, start, end, value in facts:
            if fact.startswith("SITE:") and unsaid[start]:
                continue
            if fact in {"TIME", "SIZE"} and unsure_fact[start]:
                continue  # "if still present in 6 months", "no lesion over 3 mm"
            presence = fact == "TIME" and _after_presence(doc, start)
            if fact == "TIME" and value.frame == "ago" and not index.said_in(sentence_of[start]):
                orphans[sentence_of[start]] = value  # "had a peel about eight months ago."
            if fact == "TIME" and drug_then_no_lesion[start] and not presence:
                continue  # "on Cuprimine for 4 years": how long the drug was taken
            owner = index.nearest(start, end, sentence_of[start])
            if presence:
                owner = index.before(start, sentence_of[start]) or owner
            if fact.startswith("SITE:") and _after_preposition(doc, start):
                # "papules on the ears; milia on the cheeks": a site after "on" is where the
                # lesion just named is.
                owner = index.before(start, sentence_of[start]) or owner
            if owner is None:
                continue
            if fact in _DESCRIPTORS or fact in _NUMBERS:
                owner.descriptors.add(fact)
            elif fact.startswith("SITE:"):
                owner.sites.append(fact.removeprefix("SITE:"))
            elif fact == "SIZE":
                owner.sizes.append(value)
            elif fact == "TIME":
                owner.times.append(value)
        _date_from_the_cause(doc, lesions, orphans)
        # Dropped once the facts are attached: the words that described it are not another's.
        lesions = [les for les in lesions if not (les.kind == _GENERIC and unreal[les.start])]
        self._resolve(lesions)
        self._find_bearers(doc, lesions, facts)
        mentions = []
        milia_sites = [site for les in lesions if les.resolved == "milia" for site in les.sites]
        sites_by_sentence: dict[int, list[tuple[int, int, str]]] = {}
        for k, s, e, _ in facts:
            if k.startswith("SITE:"):
                sites_by_sentence.setdefault(sentence_of[s], []).append(
                    (s, e, k.removeprefix("SITE:"))
                )
        self._described_now(doc, entities, index, sentence_of, sites_by_sentence)
        for entity, status in entities:
            if status is None:
                continue
            of_entity = self._entity_labels(doc, entity)
            labels = tuple(sorted(of_entity - self._off_route(doc, entity, of_entity)))
            if not labels:
                continue
            said_of = index.nearest(entity.start, entity.end, sentence_of[entity.start])
            if status == "historical" and any(
                (named := milia_at.get(i)) is not None and named.status == "present"
                for i in range(entity.start, entity.end)
            ):
                status = "present"  # named in the past, described today (_described_now)
            # The site said nearest the words, in their sentence ("XRT to the scalp ...; milia on
            # the cheeks": the radiotherapy's site is the scalp).
            own_sites = _nearest_site(
                sites_by_sentence.get(sentence_of[entity.start], ()), entity.start, entity.end
            )
            kind: LesionKind = "none"
            if said_of is not None:
                kind = "milia" if said_of.bears_milia else said_of.resolved
            # Said before any lesion, of a body site the note's milia are not at: "painful
            # ingrown toenail R hallux. Incidentally 2 milia L cheek."
            if (
                said_of is None
                and own_sites
                and milia_sites
                and not self.sites.same_region(own_sites, milia_sites)
            ):
                kind = "other"
            mentions.append(
                TextMention(
                    labels,
                    entity.text.lower(),
                    status,
                    kind,
                    bool(said_of and said_of.sentence == sentence_of[entity.start]),
                    self.sites.with_regions(own_sites),
                )
            )
        found = tuple(self._milia_like(lesions))
        return TextReading(tuple(mentions), found)

    def _set_aside_superseded(
        self,
        doc: Any,
        entities: list[tuple[Any, MentionStatus | None]],
        milia_at: dict[int, _Lesion],
    ) -> None:
        """Milia named in someone else's words or in an earlier note carried into this one,
        before a sentence that answers otherwise, are not there: "Her beautician told her the
        bumps on her forehead are milia ... O/E: closed comedones. No milia.", "Mum asked about
        her own milia ... Baby: no milia", "Previous exam carried forward: milia both lids ...
        Exam today: no milia seen", 'Referred as "milia". O/E ... colloid milium'. A look-alike
        answers only when it cannot be a cancer and no red flag is in the note: a lesion
        referred as milia that may be a BCC is what the service is for."""
        named = [
            n
            for n, (entity, status) in enumerate(entities)
            if status is not None and entity.start in milia_at
        ]
        if not named:
            return  # most passages name no milia: nothing to look for
        text = doc.text.lower()
        marks = [text.find(words) for words in self._carried]
        carried = min((at for at in marks if at >= 0), default=len(text))
        # Most notes name milia in no one else's words: nothing to answer, and nothing to do.
        told = [
            n
            for n in named
            if (entity := entities[n][0]).start_char > carried
            or _quoted(doc, entity)
            or any(t.lower_ in self._hearsay for t in doc[entity.sent.start : entity.start])
        ]
        if not told:
            return
        answers = [
            entity.start
            for entity, status in entities
            if status is None
            and entity._.is_negated
            and entity.start in milia_at
            and not (entity._.is_family or entity._.is_hypothetical)
        ]
        labels = [(e, status, self._entity_labels(doc, e)) for e, status in entities]
        if not any(
            status is not None and any(lbl.startswith("red-flag:") for lbl in found)
            for _, status, found in labels
        ):
            answers += [
                e.start
                for e, status, found in labels
                if status == "present" and found & self._benign_mimics  # not "I wonder about"
            ]
        last = max(answers, default=-1)
        for n in told:
            entity = entities[n][0]
            if entity.sent.end <= last:  # answered in a later sentence
                entities[n] = (entity, None)
                milia_at[entity.start].status = None

    def _off_route(self, doc: Any, entity: Any, labels: set[str]) -> set[str]:
        """The drug classes among ``labels`` that a drug named in the text is out of by the
        route or dose form said with it, in its sentence: "tacrolimus 0.1% oint", "topical
        tacrolimus"."""
        classes = labels & self._not_routes.keys()
        if not classes:
            return set()
        sentence = entity.sent
        before = max(sentence.start, entity.start - _ROUTE_BEFORE)
        after = min(sentence.end, entity.end + _ROUTE_AFTER)
        near = " ".join(t.lower_ for t in (*doc[before : entity.start], *doc[entity.end : after]))
        return {label for label in classes if has_word(self._not_routes[label], near)}

    def _described_now(
        self,
        doc: Any,
        entities: list[tuple[Any, MentionStatus | None]],
        index: _LesionIndex,
        sentence_of: list[int],
        sites_by_sentence: dict[int, list[tuple[int, int, str]]],
    ) -> None:
        """A milium named in the past and, in a later sentence, found today with a red flag of
        its own: "Seen previously with a milium R lower lid. Today: 3 mm, with a central
        erosion". The lesion is there now (a new lesion would have been named: "now a 4 mm
        pearly papule"), unless it was said to have gone ("milia as a child, resolved") or the
        finding is said of another part of the body ("Attends today re L knee pain")."""
        gone = {
            start
            for entity, status in entities
            if status == "historical"
            and any(m.rule.literal in self._gone_cues for m in entity._.modifiers)
            for start in range(entity.start, entity.end)
        }
        for entity, status in entities:
            if status != "present" or not self._entity_labels(doc, entity) & self._lesion_findings:
                continue
            said_of = index.nearest(entity.start, entity.end, sentence_of[entity.start])
            if (
                said_of is not None
                and said_of.kind == _MILIA
                and said_of.status == "historical"
                and said_of.sentence < sentence_of[entity.start]
                and said_of.start not in gone
            ):
                own = _nearest_site(
                    sites_by_sentence.get(sentence_of[entity.start], ()), entity.start, entity.end
                )
                # Where the milium was said to be, in its own sentence (the lesion's sites also
                # hold those of the sentences after it).
                named_at = _nearest_site(
                    sites_by_sentence.get(said_of.sentence, ()), said_of.start, said_of.end
                )
                if own and named_at and not self.sites.same_region(own, named_at):
                    continue
                said_of.status = "present"

    def _set_targets(self, doc: Any) -> None:
        """Entities from the target matcher: the longest match wins, keeping all labels inside."""
        from spacy.tokens import Span
        from spacy.util import filter_spans

        matches = self._targets(doc)
        spans = [doc[s:e] for _, s, e in matches]
        chosen = filter_spans(spans)
        keys: dict[tuple[int, int], set[str]] = {}
        for key, s, e in matches:
            keys.setdefault((s, e), set()).add(key)
        labelled = []
        inner: dict[tuple[int, int], set[str]] = {}
        for span in chosen:
            own = keys.get((span.start, span.end), set())
            found = self._labels_of(own)
            if not found:
                inner[(span.start, span.end)] = found
                labelled.append(span)
                continue  # a phrase read and set aside ("hot weather", "red reflex")
            mimic = any(lbl.startswith("mimic:") for lbl in found)
            for (s, e), names in keys.items():
                # A longer term keeps the names inside it ("numerous milia" says milia), not their
                # attributes ("open sore" is an ulcer, not pain; "colloid milium" is no milium).
                if span.start <= s and e <= span.end and (s, e) != (span.start, span.end):
                    labels = self._labels_of(names)
                    if mimic:
                        found |= {n for n in labels if n.startswith(_NAME_KINDS[2:])}
                    elif own & self._concept_terms and not own & self._describing_terms:
                        found |= {n for n in labels if n.startswith(_NAME_KINDS)}
                    else:
                        found |= labels
            inner[(span.start, span.end)] = found
            labelled.append(span)
        doc.ents = [Span(doc, s.start, s.end, label="TARGET") for s in labelled]
        doc.user_data["target_keys"] = inner

    def _site_entity(self, doc: Any, entity: Any) -> bool:
        return any(lbl.startswith("site:") for lbl in self._entity_labels(doc, entity, True))

    def _drug_entity(self, doc: Any, entity: Any) -> bool:
        return any(
            lbl.startswith(("trigger:", "caution:", "drug-class:"))
            for lbl in self._entity_labels(doc, entity)
        )

    def _entity_labels(self, doc: Any, entity: Any, sites: bool = False) -> set[str]:
        """The knowledge-base labels of an entity (site labels only when asked: a site is read
        as a fact about a lesion, not as a mention)."""
        labels = doc.user_data.get("target_keys", {}).get((entity.start, entity.end), set())
        return labels if sites else {lbl for lbl in labels if not lbl.startswith("site:")}

    def _labels_of(self, keys: Iterable[str]) -> set[str]:
        return set().union(*(self._labels.get(k, set()) for k in keys))

    def _anchor_facts(
        self, doc: Any, sentence_of: list[int]
    ) -> tuple[list[_Lesion], list[tuple[str, int, int, Any]]]:
        from spacy.util import filter_spans

        by_kind: dict[str, list[Any]] = {}
        for key, s, e in self._anchors(doc):
            by_kind.setdefault(key, []).append(doc[s:e])
        with_lesion = {
            sentence_of[sp.start] for k in (_MILIA, _GENERIC, _OTHER) for sp in by_kind.get(k, [])
        }
        by_kind[_NOT_SKIN] = [
            sp for sp in by_kind.get(_NOT_SKIN, []) if sentence_of[sp.start] not in with_lesion
        ]
        lesion_spans = filter_spans(
            [sp for k in (_MILIA, _GENERIC, _OTHER, _NOT_SKIN) for sp in by_kind.get(k, [])]
        )
        kind_of = {
            (sp.start, sp.end): _OTHER if k == _NOT_SKIN else k
            for k in (_NOT_SKIN, _MILIA, _GENERIC, _OTHER)
            for sp in by_kind.get(k, [])
        }
        lesions = [
            _Lesion(
                kind_of[(sp.start, sp.end)],
                sp.start,
                sp.end,
                sentence_of[sp.start],
                sp.text.lower(),
            )
            for sp in lesion_spans
        ]
        lesions = _joined(lesions)
        facts: list[tuple[str, int, int, Any]] = []
        descriptive = filter_spans(
            [sp for k in (*_DESCRIPTORS, *_NUMBERS, "SIZEWORD") for sp in by_kind.get(k, [])]
            + [sp for k, v in by_kind.items() if k.startswith("SITE:") for sp in v]
        )
        kinds = {
            (sp.start, sp.end): k
            for k, v in by_kind.items()
            if k in _DESCRIPTORS or k in _NUMBERS or k == "SIZEWORD" or k.startswith("SITE:")
            for sp in v
        }
        for sp in descriptive:
            kind = kinds[(sp.start, sp.end)]
            if kind == "SIZEWORD":
                size = self._size_words.get(sp.text.lower())
                if size is not None:
                    facts.append(("SIZE", sp.start, sp.end, size))
                    if size <= self._small_mm:
                        facts.append(("SMALL", sp.start, sp.end, None))
                continue
            if kind == "OTHERCOLOUR" and {
                t.lower_ for t in doc[max(0, sp.start - 2) : sp.start]
            } & (_CHANGE_WORDS):
                continue
            facts.append((kind, sp.start, sp.end, None))
        for sp in filter_spans(by_kind.get("SIZE", [])):
            size = _size_mm(sp)
            if size is not None:
                facts.append(("SIZE", sp.start, sp.end, size))
                if size <= self._small_mm:
                    facts.append(("SMALL", sp.start, sp.end, None))
        appearing = {sentence_of[sp.start] for sp in by_kind.get("APPEAR", [])}
        for expression in self._time.read(doc):
            if expression.frame in {"within", "every"} and (
                sentence_of[expression.start] not in appearing
            ):
                if expression.frame == "every":
                    continue  # "monthly photos" says nothing of new lesions
                # "stable over 7 months": how long it has been there, not how fast new ones came
                expression = dataclasses.replace(expression, frame="for")
            facts.append(("TIME", expression.start, expression.end, expression))
        return lesions, facts

    def _resolve(self, lesions: list[_Lesion]) -> None:
        """Decide which lesions are milia-like: named milia; generic ones described so; generic
        ones not described otherwise and not at another site than the note's milia."""
        for first, second in itertools.pairwise(lesions):
            if first.kind == _MILIA and second.kind == _GENERIC and second.start - first.end <= 1:
                second.kind = _MILIA  # "a milium-like papule", "milia-type spot"
                second.status = first.status
        for lesion in lesions:
            if lesion.kind == _MILIA:
                lesion.resolved = "milia"
            elif lesion.kind == _OTHER:
                lesion.resolved = "other"
            else:
                d = lesion.descriptors
                typical = bool(set(lesion.sites) & self.sites.typical)
                if ("COLOUR" in d and ({"SMALL", "FIRM", "NOEXPRESS"} & d or typical)) or (
                    "NOEXPRESS" in d and ({"SMALL", "FIRM"} & d)
                ):
                    lesion.resolved = "milia"
                elif "OTHERCOLOUR" in d and "COLOUR" not in d:
                    lesion.resolved = "other"
                else:
                    lesion.resolved = "none"
        milia_sites = [les.sites for les in lesions if les.resolved == "milia"]
        if any(les.kind == _MILIA and les.status == "uncertain" for les in lesions):
            # "yellow papules ... colloid milium vs milia": the lesions described are the ones
            # in question, whatever their colour.
            for lesion in lesions:
                if lesion.kind == _GENERIC and lesion.resolved == "other":
                    lesion.resolved = "milia"
        for before, lesion in zip([None, *lesions], lesions, strict=False):
            if lesion.text in self._refer_back and before is not None:
                lesion.resolved = before.resolved  # "milia on the nose ... one of them bled"
        unsited = any(not sites for sites in milia_sites)
        milia_places = self.sites.places(site for sites in milia_sites for site in sites)
        for lesion in lesions:
            if lesion.resolved != "none":
                continue
            if milia_sites and lesion.sites:
                # Same region as any of the note's milia, or milia named without a site.
                same = unsited or self.sites.places(lesion.sites).overlaps(milia_places)
                lesion.resolved = "milia" if same else "other"
            elif milia_sites:
                lesion.resolved = "milia"  # "?milia L lid. The lesion bleeds on touch."

    def _find_bearers(
        self, doc: Any, lesions: list[_Lesion], facts: list[tuple[str, int, int, Any]]
    ) -> None:
        """Mark the lesions milia are on, next to each other in a sentence: "an erythematous,
        oedematous plaque studded with numerous 1-2 mm milia", "milia arising on an indurated
        plaque", "a red plaque behind the L ear covered in milia". Another lesion or a new
        clause between the two, a site that no word of bearing follows, or milia only beside
        the lesion ("with a milium next to it"), and they are two lesions."""
        sites = [s for kind, s, _, _ in facts if kind.startswith("SITE:")]
        # What is said of the lesion between the two is not a clause of its own: "plaque, red
        # and swollen, studded with dozens of 1-2 mm white milia".
        said = {i for entity in doc.ents for i in range(entity.start, entity.end)}
        for first, second in itertools.pairwise(lesions):
            if first.sentence != second.sentence:
                continue
            if second.resolved == "milia" and first.resolved != "milia":
                carrier, milia, words = first, second, self._bearing_near
            elif first.resolved == "milia" and second.resolved != "milia":
                carrier, milia, words = second, first, self._borne_on
            else:
                continue
            between = doc[first.end : second.start]
            gap = [t for t in between if t.i not in said]
            # A site between them is the plaque's when a word of bearing follows it ("plaque
            # behind the L ear studded with milia"); else the milia's own ("plaque on the shin
            # with milia on the cheeks" has no site between, but the milia are elsewhere).
            site = max((s for s in sites if first.end <= s < second.start), default=None)
            if site is not None and (
                carrier is not first
                or not any(t.lower_ in self._bearing for t in doc[site : second.start])
            ):
                continue
            if (
                len(gap) > _BEARER_GAP
                or not any(t.lower_ in words for t in between)
                or any(t.lower_ in _CLAUSE_BREAKS for t in gap)
                or any(t.lower_ in self._beside for t in doc[milia.end : milia.end + 2])
            ):
                continue
            carrier.bears_milia = True

    def _milia_like(self, lesions: list[_Lesion]) -> Iterator[TextLesion]:
        for lesion in lesions:
            if lesion.resolved != "milia":
                continue
            named = lesion.kind == _MILIA
            days = [t.present_days for t in lesion.times if t.present_days is not None]
            onset = [t.days for t in lesion.times if t.frame in {"within", "every"}]
            ages = [t.days for t in lesion.times if t.frame == "age"]
            yield TextLesion(
                # A generic word that only refers back to named milia describes nothing new.
                named=named or not _described(lesion),
                status=lesion.status or "present",
                text=lesion.text,
                # "milia" ("millia", "milia-like") is plural without an s; "a milium" is one
                # lesion, never a crop.
                plural=lesion.text.endswith("s")
                or (lesion.text.startswith("mil") and "ium" not in lesion.text),
                sites=self.sites.with_regions(lesion.sites),
                sizes_mm=tuple(lesion.sizes),
                days=max(days) if days else None,
                onset_within_days=min(onset) if onset else None,
                since_age_days=max(ages) if ages else None,
                growth_mm=_growth(lesion.sizes),
                solitary=_solitary(lesion),
            )


def _growth(sizes: list[float]) -> float:
    """Sizes of one lesion in the order written: a later larger size is growth ("was 2 mm, now
    4 mm"); a later smaller one is not."""
    if len(sizes) < 2:
        return 0.0
    return max(0.0, sizes[-1] - min(sizes[:-1]))


def _joined(lesions: list[_Lesion]) -> list[_Lesion]:
    """ "milium-like papule", "milia type spot": a milia word right before a generic lesion word
    is one lesion (what is said of either is said of it), named by the generic word."""
    out: list[_Lesion] = []
    for lesion in lesions:
        before = out[-1] if out else None
        if (
            before is not None
            and before.kind == _MILIA
            and lesion.kind == _GENERIC
            and lesion.start - before.end <= 1
            and lesion.sentence == before.sentence
        ):
            out[-1] = dataclasses.replace(
                lesion, kind=_MILIA, start=before.start, text=f"{before.text} {lesion.text}"
            )
            continue
        out.append(lesion)
    return out


def _solitary(lesion: _Lesion) -> bool:
    """One lesion: said so, or named in the singular without a word for several."""
    if "SOLITARY" in lesion.descriptors:
        return True
    singular = not lesion.text.endswith(("s", "a", "ae"))  # milia, miliae, papules
    return singular and "MANY" not in lesion.descriptors


def _described(lesion: _Lesion) -> bool:
    return lesion.kind == _GENERIC and bool(lesion.descriptors & {"COLOUR", "NOEXPRESS"})


class _LesionIndex:
    """Lesions by sentence, to find the one a fact is said of without scanning them all."""

    def __init__(self, lesions: list[_Lesion]) -> None:
        self._by_sentence: dict[int, list[_Lesion]] = {}
        for lesion in lesions:
            self._by_sentence.setdefault(lesion.sentence, []).append(lesion)
        self._starts = {s: [les.start for les in group] for s, group in self._by_sentence.items()}
        self._sentences = sorted(self._by_sentence)

    def nearest(self, start: int, end: int, sentence: int) -> _Lesion | None:
        """The nearest lesion of the sentence (the one before on a tie); in a sentence naming
        none, the last lesion of an earlier sentence: the one the note was speaking of."""
        group = self._by_sentence.get(sentence)
        if group:
            at = bisect.bisect_right(self._starts[sentence], start)
            candidates = group[max(0, at - 1) : at + 1]
            return min(
                candidates,
                key=lambda les: (
                    0
                    if les.start <= start < les.end
                    else min(abs(les.start - end), abs(start - les.end)),
                    les.start > start,
                ),
            )
        at = bisect.bisect_left(self._sentences, sentence)
        return self._by_sentence[self._sentences[at - 1]][-1] if at > 0 else None

    def said_in(self, sentence: int) -> bool:
        """Whether the sentence names a lesion."""
        return sentence in self._by_sentence

    def before(self, start: int, sentence: int) -> _Lesion | None:
        """The last lesion named before ``start`` in its sentence, if any."""
        group = self._by_sentence.get(sentence)
        if not group:
            return None
        at = bisect.bisect_right(self._starts[sentence], start)
        return group[at - 1] if at > 0 and group[at - 1].start < start else None


#: Tokens between milia and the lesion they are on, at most, besides the words of what is said
#: of it ("plaque studded with numerous 1-2 mm milia": seven; "with dozens of 1-2 mm white": nine).
_BEARER_GAP = 12
#: Words that begin another clause: the lesions either side of one are not one on the other.
_CLAUSE_BREAKS = frozenset({".", ";", ":", "and", "but", "or", "while", "whereas", "also", "plus"})


#: Words that put a site after the lesion it locates ("milia on the cheeks").
_PREPOSITIONS = frozenset(
    {
        "on",
        "at",
        "in",
        "over",
        "of",
        "to",
        "behind",
        "under",
        "around",
        "along",
        "across",
        "below",
        "above",
        "near",
        "beside",
        "within",
        "onto",
        "upon",
    }
)


def _after_preposition(doc: Any, start: int) -> bool:
    """A site whose few preceding words hold a locative preposition ("on the sun-exposed ears")."""
    for token in reversed(doc[max(0, start - 6) : start]):
        if token.lower_ in _PREPOSITIONS:
            return True
        if token.is_punct and token.text not in {"-", "/"}:
            return False
    return False


def _covered(size: int, spans: Iterable[tuple[int, int]]) -> list[bool]:
    """Which tokens fall in any of the spans (a difference array: linear in tokens and spans)."""
    delta = [0] * (size + 1)
    for start, end in spans:
        start, end = max(0, start), min(size, end)
        if start < end:
            delta[start] += 1
            delta[end] -= 1
    covered, depth = [], 0
    for step in delta[:size]:
        depth += step
        covered.append(depth > 0)
    return covered


def _after_drug(
    size: int, drug_ends: list[int], lesion_starts: list[int], sentence_of: list[int]
) -> list[bool]:
    """Tokens that follow a drug's name in its sentence with no lesion named in between."""
    drug_end, lesion_start = set(drug_ends), set(lesion_starts)
    marked, open_drug = [], False
    for i in range(size):
        if i and sentence_of[i] != sentence_of[i - 1]:
            open_drug = False
        if i in drug_end:
            open_drug = True
        if i in lesion_start:
            open_drug = False
        marked.append(open_drug)
    return marked


def misspellings(names: Iterable[str], words: set[str]) -> dict[str, str]:
    """Every word one letter from a one-word name of five letters or more (a letter added,
    dropped, changed, or two swapped) that begins with the name's first letter (a slip rarely
    changes it, and "ilium", "Emilia", "cilia" are other words), but for ``words``: the word and
    the name it stands for."""
    names = [name.lower() for name in names if len(name) >= 5 and name.isalpha()]
    found: dict[str, str] = {}
    for name in names:
        for variant in sorted(_one_letter_from(name)):
            if variant[:1] == name[:1] and len(variant) >= 4 and variant not in words:
                found.setdefault(variant, name)
    return {variant: name for variant, name in found.items() if variant not in names}


#: How many words before and after a drug's name its route or dose form is looked for
#: ("topical tacrolimus"; "tacrolimus 0.1 % oint": four after).
_ROUTE_BEFORE, _ROUTE_AFTER = 2, 5


_CONDITIONAL = re.compile(r"\b(?:if|unless|should|in case)\b")


#: Short words a split name's second part cannot be: "walks a mile a day", "the mill is".
_SHORT_WORDS = frozenset(
    re.findall(
        r"\w+",
        "a i an am as at be by do if in is it me my no of on or so to up us we and are but can "
        "did for had has her him his its not now one the too two was who yet",
    )
)


#: Words that put milia after what the sentence before told: "developed over the following
#: weeks", "appeared during healing", "present since it healed".
_AFTER_THE_CAUSE = frozenset(
    {"following", "during", "since", "after", "afterwards", "subsequently", "thereafter", "then"}
)
_QUOTES = frozenset({'"', "'", "\u201c", "\u201d", "\u2018", "\u2019"})
#: Words that make what follows a particular thing, the patient's: "the", "her", "these".
_DEFINITE = frozenset(
    {"the", "her", "his", "their", "its", "these", "those", "this", "pt's", "patient's", "your"}
)
#: Words that say a thing is not there any more.
_GONE_WORDS = frozenset({"cleared", "resolved", "gone", "disappeared", "faded", "vanished"})
#: Words before milia that are still the subject of their sentence ("The nasal milia").
_SUBJECT_LEAD = 2
#: Words that end the subject's clause before its verb.
_SUBJECT_BREAKS = frozenset(
    {",", ";", ":", "-", "and", "but", "while", "whereas", "although", "though", "yet", "however"}
)
#: Words after "and" or "but" that go on with the same subject ("but have all cleared").
_ELIDED = frozenset({"have", "has", "had", "are", "is", "were", "was", "now", "all", "since"})
#: Words between a denial and the doubt it denies, at most ("no clinical suspicion of").
_DENIED_DOUBT = 2
#: The "-ium" of a name as dictation writes it, joined: "millie um", "mill ee um", "milly um".
_HEARD_IUM = re.compile(r"(?:ie|ee|y|e)um$")


class SplitNames:
    """Milia names that dictation breaks in two ("mill ia", "mill ya", "milly a", "mil ium"):
    the two parts written together, a "y" heard as an "i", are a name or a misspelling of one.
    ``spellings``: each one-word name and misspelling, and the name it stands for."""

    def __init__(self, spellings: dict[str, str]) -> None:
        self._spellings = spellings
        # Only words that begin as a name does ("mil"), then a short second part: a scan in C
        # that finds nothing in almost every note. A slip in the first letters is not followed
        # into split words: "mile a" must stay a mile.
        stems = sorted({name[:3] for name in spellings.values()})
        self._stems = tuple(stems)
        self._pair = re.compile(
            r"\b((?:" + "|".join(map(re.escape, stems)) + r")[a-z]*)[ \t]+([a-z]{1,3})\b",
            re.IGNORECASE,
        )

    def _name(self, first: str, second: str) -> str | None:
        first, second = first.lower(), second.lower()
        # "-ium" heard as two words ("millie um", "milly um"); a name spelt right is said whole,
        # and "um" after it is a pause ("milia, um, a few weeks").
        latin = second == "um" and self._spellings.get(first) != first
        if first in self._spellings and not latin:
            return None  # a name already, and a word after it: "milia a few weeks"
        if second in _SHORT_WORDS and not latin and not (second == "a" and first[-1:] in "iy"):
            return None  # "milly a" is the name said; "mile a" is a mile
        joined = first + second
        heard = (joined, joined.replace("y", "i"), _HEARD_IUM.sub("ium", joined))
        return next((self._spellings[w] for w in heard if w in self._spellings), None)

    def _may_hold(self, text: str) -> bool:
        lower = text.lower()
        return any(stem in lower for stem in self._stems)  # a substring search, in C

    def join(self, text: str) -> str:
        """``text`` with each split name written as the name."""
        if not self._may_hold(text):
            return text
        return self._pair.sub(lambda m: self._name(m[1], m[2]) or m[0], text)

    def names(self, text: str) -> set[str]:
        """The names split in ``text``."""
        if not self._may_hold(text):
            return set()
        found = (self._name(m[1], m[2]) for m in self._pair.finditer(text))
        return {name for name in found if name}


def _one_letter_from(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    letters = string.ascii_lowercase
    return (
        {a + b[1:] for a, b in splits if b}
        | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        | {a + c + b[1:] for a, b in splits if b for c in letters}
        | {a + c + b for a, b in splits for c in letters}
    )


def _asserted_after_a_list(doc: Any, entity: Any) -> bool:
    """A negation distributes over a list ("no bleeding, crusting or ulceration") but not over
    a clause after it: "not tender, bleeds on touch", "no discharge, has enlarged". A red flag
    said with a verb of its own (bleeds, bled, has grown, keeps crusting) after a comma from
    every negation before it is asserted; a plural in a list without "or" may be read so too
    ("no crusts, scabs"), which errs towards examination."""
    cues = [
        m.modifier_span
        for m in entity._.modifiers
        if m.category == "NEGATED_EXISTENCE" and m.modifier_span[1] <= entity.start
    ]
    if not cues or len(cues) != len(entity._.modifiers):
        return False
    if not _finite(doc, entity.start):
        return False
    # "no bleeding, crusts or scabs": an item of the list, not a clause.
    neighbours = {doc[i].lower_ for i in (entity.start - 1, entity.end) if 0 <= i < len(doc)}
    if neighbours & {"or", "nor", "and", "/"}:
        return False
    return all(list_break(doc, end, entity.start) is not None for _, end in cues)


def _date_from_the_cause(
    doc: Any, lesions: list[_Lesion], orphans: dict[int, TimeExpression]
) -> None:
    """Milia (named or described) without a time of their own that came after what the sentence
    before dated: "had a chemical peel about eight months ago. Milia developed over the following
    weeks" have been there about that long (a little less; the red flag counts months)."""
    if not orphans:
        return
    sentences = list(doc.sents)
    for lesion in lesions:
        before = orphans.get(lesion.sentence - 1)
        if before is None or lesion.kind == _OTHER:
            continue
        if any(t.present_days is not None or t.frame == "age" for t in lesion.times):
            continue  # how long is said of them ("over the following weeks" is how fast)
        sentence = sentences[lesion.sentence] if lesion.sentence < len(sentences) else None
        if sentence is not None and any(t.lower_ in _AFTER_THE_CAUSE for t in sentence):
            lesion.times.append(before)


def _quoted(doc: Any, entity: Any) -> bool:
    """Whether the words are in quotation marks: someone's word for it ('referred as "milia"')."""
    return (
        entity.start > 0
        and entity.end < len(doc)
        and doc[entity.start - 1].text in _QUOTES
        and doc[entity.end].text in _QUOTES
    )


def _generic_reach(doc: Any, literals: frozenset[str]) -> list[tuple[int, int]]:
    """Token ranges after the cues that say what follows is said in general, to their scope's
    end."""
    return [
        (m.modifier_span[1], m.scope_span[1])
        for m in cues(doc, lambda m: m.rule.literal in literals)
    ]


def _gone_cue_starts(doc: Any, literals: frozenset[str]) -> list[int]:
    """Where the ConText cues that say a thing has gone begin ("have now cleared")."""

    def says_gone(m: Any) -> bool:
        # "has settled" says as often that it has calmed down ("the milium that was inflamed
        # has settled"): only words that say it is not there any more.
        start, end = m.modifier_span
        return m.rule.literal in literals and any(t.lower_ in _GONE_WORDS for t in doc[start:end])

    return [m.modifier_span[0] for m in cues(doc, says_gone)]


def _subject_gone(doc: Any, entity: Any, cues: list[int]) -> bool:
    """Milia that begin their sentence and that its verb says have gone, however far the verb:
    "Milia over the nose noted at the newborn check have now cleared completely". A clause
    between ("Milia persist, but the redness has settled") and the verb is another's."""
    sentence = entity.sent
    before = doc[sentence.start : entity.start]
    if len(before) > _SUBJECT_LEAD or not all(t.is_alpha for t in before):
        return False
    for cue in cues:
        if entity.end <= cue < sentence.end:
            # A clause that goes on without a subject of its own is still theirs: "Milia came
            # up afterwards but have all cleared".
            return not any(
                t.lower_ in _SUBJECT_BREAKS and doc[t.i + 1].lower_ not in _ELIDED
                for t in doc[entity.end : cue]
            )
    return False


def _doubt_is_nearer(entity: Any) -> bool:
    """Whether the nearest cue of an entity both denied and put in doubt is a doubt. A doubt
    denied itself is no doubt: "no clinical suspicion of BCC", "no concern for EB"."""

    first, last = int(entity.start), int(entity.end)

    def distance(span: tuple[int, int]) -> int:
        start, end = span
        return max(start - last, first - end, 0)

    denials = [m.modifier_span for m in entity._.modifiers if m.category == "NEGATED_EXISTENCE"]
    nearest: dict[str, int] = {}
    for modifier in entity._.modifiers:
        span = modifier.modifier_span
        if modifier.category == "POSSIBLE_EXISTENCE" and any(
            0 <= span[0] - end <= _DENIED_DOUBT for _, end in denials
        ):
            continue
        if modifier.category in {"NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE"}:
            gap = distance(span)
            nearest[modifier.category] = min(gap, nearest.get(modifier.category, gap))
    return nearest.get("POSSIBLE_EXISTENCE", len(entity.doc)) < nearest.get(
        "NEGATED_EXISTENCE", len(entity.doc)
    )


def _finite(doc: Any, start: int) -> bool:
    """Whether the words at ``start`` are a verb said of the lesion: after an auxiliary ("has
    bled", "is growing", "keeps crusting"), or a verb's own past or present form ("bled",
    "bleeds", "enlarged")."""
    before = doc[start - 1].lower_ if start > 0 else ""
    if before in _AUXILIARIES:
        return True
    word = doc[start].lower_
    return word in _PAST_FORMS or (
        len(word) > 4 and word.endswith(("s", "ed")) and not word.endswith(("ss", "us", "is"))
    )


def _after_presence(doc: Any, start: int) -> bool:
    """Whether a time starting at ``start`` follows a word saying a lesion is there."""
    for i in range(start - 1, max(-1, start - 6), -1):
        word = doc[i].lower_
        if word in _PRESENCE:
            return True
        if word not in _PRESENCE_LEAD:
            return False
    return False


def _nearest_site(sites: Sequence[tuple[int, int, str]], start: int, end: int) -> list[str]:
    """The site said nearest [start, end) among a sentence's sites (sorted by position)."""
    at = bisect.bisect_right([s for s, _, _ in sites], start)
    near = sites[max(0, at - 1) : at + 1]
    distances = [(min(abs(s - end), abs(start - e)), site) for s, e, site in near]
    return [min(distances)[1]] if distances else []


def _size_mm(span: Any) -> float | None:
    unit = _MM.get(span[-1].lower_)
    if unit is None:
        return None
    numbers: list[float] = []
    for token in span[:-1]:
        match = _SIZE.match(token.text)
        if match:
            numbers += [float(g) for g in match.groups() if g]
    if not numbers:
        return None
    size = max(numbers) * unit
    before = [t.lower_ for t in span.doc[max(0, span.start - 2) : span.start]]
    if before[-1:] in (["&gt;"], [">"], ["over"]) or before == ["more", "than"]:
        size += 0.5  # "> 3 mm", "over 3 mm": larger than the number said
    return size


_READERS: Memory[tuple[str, frozenset[tuple[str, str]]], TextReader] = Memory(4)


def text_reader(kb: KnowledgeBase, phrases: frozenset[tuple[str, str]]) -> TextReader:
    """One reader per content per process: building the pipeline takes a few seconds, and apps
    built on the same content (tests, workers after fork) share it."""
    parts = (kb.lexicon, kb.sites, kb.abbreviations, kb.mimics, kb.red_flags)
    digest = hashlib.blake2b("".join(repr(p) for p in parts).encode(), digest_size=16).hexdigest()
    key = (digest, phrases)
    reader = _READERS.get(key)
    if reader is None:
        reader = TextReader(kb, phrases)
        _READERS.put(key, reader)
    return reader
