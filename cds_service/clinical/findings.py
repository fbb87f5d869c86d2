"""Findings: typed clinical facts read from the FHIR record, each pointing back to its resources.

What is read, and from where:

- *mentions* of knowledge-base items (milia, variants, mimics and their features, red flags, triggers,
  order cautions), from codes (Condition, Observation code/value/interpretation/components,
  Procedure, medicines) and from free text (notes, ``valueString``, code text, narrative) through the
  clinical NLP reader; each with its status: present, historical or uncertain;
- lesion *measurements* in millimetres (``valueQuantity`` in mm or cm, components, or "3 mm" in text)
  with their site and time, so that growth between two measurements is a finding;
- *medicines* (MedicationRequest, MedicationStatement, and draft orders) with route, site and how many
  days they have been (or are meant to be) used;
- the patient's *age* at the time of the hook; the *count* of lesions; when milia began.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, Literal

from ..fhir.record import ClinicalRecord
from . import fields
from .nlp import plain_text
from .sites import SiteIndex
from .text import LesionKind, MentionStatus, TextLesion, TextReader
from .vocabulary import Vocabulary, label

log = logging.getLogger(__name__)

_MILIA_LABEL = label("condition", "milia")

Via = Literal["code", "text"]

_NOT_PRESENT = {"refuted", "entered-in-error"}
_UNCERTAIN = {"unconfirmed", "provisional", "differential"}
_INACTIVE = {"inactive", "remission", "resolved"}
_VOID = {"entered-in-error", "cancelled", "not-done"}
_STOPPED = {"completed", "stopped"}
_LENGTH_UNITS = {
    "mm": 1.0,
    "millimeter": 1.0,
    "millimetre": 1.0,
    "cm": 10.0,
    "centimeter": 10.0,
    "centimetre": 10.0,
}
_COUNT_IN_TEXT = re.compile(
    r"\b(?:x\s?(\d{1,3})|(\d{1,3})\s+(?:milia|milium|lesions?|papules?|cysts?|bumps?))\b", re.I
)
#: Words that make an Observation's length a lesion's size, not a height or a circumference.
LESION_WORDS = frozenset(
    {"lesion", "lesions", "papule", "papules", "cyst", "cysts", "nodule", "nodules"}
    | {"milia", "milium", "diameter", "size"}
)
#: The lesion words no other one contains ("lesion" finds "lesions"): the relevance filter asks
#: for every vital sign, so the pattern is kept short, on lower-case text.
_LESION_WORDS = re.compile(
    "|".join(sorted(w for w in LESION_WORDS if not any(o != w and o in w for o in LESION_WORDS)))
)


def names_lesion(text: str) -> bool:
    """Whether a measurement's code names a lesion (anywhere in a word: "Diameters")."""
    return _LESION_WORDS.search(text.lower()) is not None


#: Plausible lesion sizes only: anything larger is not a milia-like lesion measurement.
_MAX_LESION_MM = 100.0


#: How long ago "since childhood" is taken to be when the record has no birth date.
_UNDATED_STAGE_DAYS = 365.0


@dataclass(frozen=True)
class Mention:
    label: str
    status: MentionStatus
    source: str
    via: Via
    #: The words or code display that matched, for the card's explanation.
    text: str = ""
    #: The lesion the words were said of: a milia-like lesion, another lesion, or none named.
    lesion: LesionKind = "none"
    #: Said in the same sentence as a milia-like lesion.
    same_sentence: bool = False
    #: Sites (with their regions) said with the words.
    sites: tuple[str, ...] = ()
    #: Found by a code broader than the item (L72.0 for milia): needs corroboration.
    broad: bool = False


@dataclass(frozen=True)
class Measurement:
    site: str
    size_mm: float
    when: datetime | None
    source: str


@dataclass(frozen=True)
class Lesion:
    """One milia-like lesion as a note describes it, so that rules can ask for attributes of the
    same lesion (solitary AND larger than 3 mm), not of several."""

    source: str
    sizes_mm: tuple[float, ...] = ()
    solitary: bool = False
    sites: tuple[str, ...] = ()


@dataclass(frozen=True)
class MedicineUse:
    #: Labels of the vocabulary the medicine matched (triggers, order cautions).
    labels: tuple[str, ...]
    name: str
    #: Route, dose form and instructions, lower case, for the content's route and site words.
    route_text: str
    site_text: str
    days: int | None
    source: str
    status: MentionStatus
    draft: bool
    #: Body sites named in the dosage, site and notes, with their regions (cheeks: cheek, face).
    sites: tuple[str, ...] = ()
    #: Refills allowed and the quantity of one fill (grams or millilitres), when the order says.
    refills: int | None = None
    quantity: float | None = None


@dataclass(frozen=True)
class Findings:
    mentions: tuple[Mention, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    #: The milia-like lesions the notes describe, one by one.
    lesions: tuple[Lesion, ...] = ()
    medicines: tuple[MedicineUse, ...] = ()
    age_days: int | None = None
    lesion_count: int | None = None
    #: Earliest record of milia (onset, recorded date or observation time).
    milia_since: datetime | None = None
    #: Earliest note or observation of milia (problem-list dates left out).
    milia_noted_since: datetime | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: How long milia-like lesions have been present by the notes ("x 6 wks"), in days.
    milia_days_written: float | None = None
    #: New milia-like lesions appeared within this many days ("came up over ten days").
    onset_within_days: float | None = None
    #: Sites of the milia-like lesions, with their regions (lower-eyelid, eyelid, periocular, face).
    milia_sites: tuple[str, ...] = ()
    #: Growth a note reports between two sizes of one milia-like lesion ("2 mm then, 4 mm now").
    growth_written_mm: float | None = None
    #: How many free-text notes and coded entries were read (cards say what they rest on).
    notes_read: int = 0
    #: Notes not read in full: over the reading limits (the card says so).
    notes_cut: int = 0
    coded_read: int = 0
    #: Each record entry read, in words a clinician finds it by ("exam note of 2026-11-20").
    described: tuple[tuple[str, str], ...] = ()

    def with_label(self, wanted: str) -> list[Mention]:
        return list(self._by_label.get(wanted, ()))

    @cached_property
    def _by_label(self) -> dict[str, list[Mention]]:
        # Reasoning asks for a label about a hundred times a call; the mentions, in order, once.
        index: dict[str, list[Mention]] = {}
        for mention in self.mentions:
            index.setdefault(mention.label, []).append(mention)
        return index


# ---------------------------------------------------------------------------------- small readers


def _codings(concept: Any) -> Iterator[tuple[str, str, str]]:
    for coding in getattr(concept, "coding", None) or ():
        if coding.system and coding.code:
            yield coding.system, coding.code, coding.display or coding.code


def _status_code(concept: Any) -> str:
    """A status code (clinical or verification); some EHRs leave out the fixed HL7 system."""
    return next((c.code for c in getattr(concept, "coding", None) or () if c.code), "")


def _reference(resource: Any) -> str:
    kind = resource.get_resource_type()
    return f"{kind}/{resource.id}" if resource.id else kind


def _concept_text(concept: Any) -> str:
    if concept is None:
        return ""
    parts = [concept.text or ""] + [c.display or "" for c in concept.coding or ()]
    return " ".join(p for p in parts if p)


def _notes(resource: Any) -> list[str]:
    texts = [n.text for n in getattr(resource, "note", None) or () if n.text]
    narrative = getattr(resource, "text", None)
    if narrative is not None and getattr(narrative, "div", None):
        texts.append(plain_text(narrative.div))
    return texts


def _instant(value: Any) -> datetime | None:
    """A FHIR date/dateTime as an aware datetime (dates at midnight UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def _to_mm(value: float, unit: str) -> float | None:
    factor = _LENGTH_UNITS.get(unit.lower().strip("[]"))
    return value * factor if factor is not None else None


def _site(resource: Any, index: SiteIndex) -> str:
    """The site id of sites.yaml for the resource's body site (skin of cheek = cheek), else the
    code or text as written."""
    sites = getattr(resource, "bodySite", None)
    site: Any = sites[0] if isinstance(sites, list) and sites else sites
    if not site:
        return "unspecified"
    for system, code, _ in _codings(site):
        known = index.by_code.get((system, code))
        if known is not None:
            return known
    coded = next(_codings(site), None)
    return f"{coded[0]}|{coded[1]}" if coded else (site.text or "unspecified").lower()


# ---------------------------------------------------------------------------------------- reader


@dataclass(frozen=True)
class ReadingLimits:
    """How much free text one request may have read (settings: ``text_*``)."""

    chars_per_note: int = 20_000
    chars_per_request: int = 150_000
    cpu_ms: int = 1500


@dataclass
class _Tally:
    """What one read of a record has seen so far: milia-like lesions in text, which entries were
    read as text and as codes, and what is left of the reading budget."""

    limits: ReadingLimits = field(default_factory=ReadingLimits)
    lesions: list[tuple[TextLesion, MentionStatus, str]] = field(default_factory=list)
    texts: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    #: Notes not read in full (too long, or over the request's budget).
    cut: set[str] = field(default_factory=set)
    chars_read: int = 0
    #: On the call's own processor clock (``time.thread_time``): a worker's other threads, busy
    #: with other calls, do not spend this call's budget.
    deadline: float = 0.0

    def __post_init__(self) -> None:
        self.deadline = time.thread_time() + self.limits.cpu_ms / 1000

    def take(self, text: str, source: str) -> str:
        """The part of ``text`` the budget allows to be read ("" when none)."""
        room = min(self.limits.chars_per_note, self.limits.chars_per_request - self.chars_read)
        if time.thread_time() > self.deadline:
            room = 0
        if len(text) > room:
            self.cut.add(source)
            text = text[: max(room, 0)]
        self.chars_read += len(text)
        return text


class RecordReader:
    """Reads a :class:`ClinicalRecord` into :class:`Findings`; built once per worker."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        text_reader: TextReader,
        limits: ReadingLimits | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.text = text_reader
        self.limits = limits or ReadingLimits()
        self.sites = text_reader.sites

    # -- mentions

    def _coded(
        self,
        concepts: Iterable[Any],
        status: MentionStatus,
        source: str,
        tally: _Tally | None = None,
    ) -> Iterator[Mention]:
        for concept in concepts:
            for system, code, display in _codings(concept):
                if tally is not None:
                    tally.codes.add(source)
                for found in self.vocabulary.labels_for_code(system, code):
                    # A broader code counts outright when its own display names the item.
                    broad = self.vocabulary.is_broader(system, code, found) and not any(
                        found in m.labels for m in self.text.read(display).mentions
                    )
                    yield Mention(found, status, source, "code", display.lower(), broad=broad)

    def _written(
        self, texts: Iterable[str], status: MentionStatus, source: str, tally: _Tally
    ) -> Iterator[Mention]:
        for whole in texts:
            tally.texts.add(source)
            text = tally.take(whole, source)
            if not text:
                continue
            reading = self.text.read(text, tally.deadline, len(text))
            if not reading.complete:
                tally.cut.add(source)
            for mention in reading.mentions:
                # A historical resource keeps its status; otherwise the words' own status stands
                # (a provisional Condition's text is not "in doubt" unless its words say so).
                found = "historical" if status == "historical" else mention.status
                for item in mention.labels:
                    yield Mention(
                        item,
                        found,
                        source,
                        "text",
                        mention.text,
                        mention.lesion,
                        mention.same_sentence,
                        mention.sites,
                    )
            for lesion in reading.lesions:
                found = "historical" if status == "historical" else lesion.status
                tally.lesions.append((lesion, found, source))
                if not lesion.named:
                    # A lesion described as milia look, without the word: a milia-like lesion.
                    yield Mention(
                        _MILIA_LABEL,
                        found,
                        source,
                        "text",
                        f"milia-like {lesion.text}",
                        "milia",
                        True,
                        lesion.sites,
                    )

    def _condition(self, condition: Any, tally: _Tally) -> Iterator[Mention]:
        verification = _status_code(condition.verificationStatus)
        if verification in _NOT_PRESENT:
            return
        status: MentionStatus = "present"
        if _status_code(condition.clinicalStatus) in _INACTIVE:
            status = "historical"
        elif verification in _UNCERTAIN:
            status = "uncertain"
        source = _reference(condition)
        yield from self._coded(fields.concepts(condition, "Condition"), status, source, tally)
        yield from self._written(fields.texts(condition, "Condition"), status, source, tally)

    def _observation(self, observation: Any, tally: _Tally) -> Iterator[Mention]:
        if observation.status in _VOID:
            return
        source = _reference(observation)
        yield from self._coded(
            fields.concepts(observation, "Observation"), "present", source, tally
        )
        yield from self._written(fields.texts(observation, "Observation"), "present", source, tally)

    def _procedure(self, procedure: Any, tally: _Tally) -> Iterator[Mention]:
        if procedure.status in _VOID:
            return
        status: MentionStatus = "historical" if procedure.status == "completed" else "present"
        source = _reference(procedure)
        yield from self._coded(fields.concepts(procedure, "Procedure"), status, source, tally)
        yield from self._written(fields.texts(procedure, "Procedure"), status, source, tally)

    # -- medicines

    def _medicine(self, resource: Any, now: datetime, draft: bool) -> MedicineUse | None:
        if resource.status in _VOID:
            return None
        status: MentionStatus = "historical" if resource.status in _STOPPED else "present"
        concept = getattr(resource, "medicationCodeableConcept", None)
        source = _reference(resource)
        labels = [m.label for m in self._coded([concept], status, source)] if concept else []
        name = _concept_text(concept)
        labels += [item for m in self.text.read(name).mentions for item in m.labels] if name else []
        shown = (concept.text or next((d for _, _, d in _codings(concept)), "")) if concept else ""
        dosages = (
            getattr(resource, "dosageInstruction", None) or getattr(resource, "dosage", None) or ()
        )
        route_parts = [name]
        site_parts = []
        for dosage in dosages:
            route_parts += [
                _concept_text(dosage.route),
                dosage.text or "",
                _concept_text(dosage.method),
            ]
            site_parts += [
                _concept_text(dosage.site),
                dosage.text or "",
                dosage.patientInstruction or "",
            ]
            site_parts += [_concept_text(a) for a in dosage.additionalInstruction or ()]
        site_parts += _notes(resource)
        return MedicineUse(
            labels=tuple(dict.fromkeys(labels)),
            name=shown or "medicine",
            route_text=" ".join(route_parts).lower(),
            site_text=" ".join(site_parts).lower(),
            sites=self.text.sites_in(" ".join(site_parts)),
            days=_days_of_use(resource, dosages, now, draft),
            refills=_refills(resource),
            quantity=_quantity(resource),
            source=source,
            status=status,
            draft=draft,
        )

    # -- the whole record

    def read(self, record: ClinicalRecord) -> Findings:
        now = record.now
        tally = _Tally(self.limits)
        mentions: list[Mention] = []
        for condition in record.of_type("Condition"):
            mentions += self._condition(condition, tally)
        for observation in _latest_answers(record.of_type("Observation")):
            mentions += self._observation(observation, tally)
        for procedure in record.of_type("Procedure"):
            mentions += self._procedure(procedure, tally)
        medicines = [
            self._medicine(r, now, draft=False)
            for kind in ("MedicationRequest", "MedicationStatement")
            for r in record.of_type(kind)
        ]
        medicines += [
            self._medicine(r, now, draft=True)
            for r in record.draft_orders
            if r.get_resource_type() in {"MedicationRequest", "MedicationStatement"}
        ]
        meds = tuple(m for m in medicines if m is not None)
        patient = record.patient
        birth = getattr(patient, "birthDate", None) if patient is not None else None
        milia_sources = {
            m.source
            for m in mentions
            if m.label.startswith(("condition:", "variant:")) and m.status != "historical"
        }
        age_days = (now.date() - birth).days if isinstance(birth, date) else None
        if age_days is not None and age_days < 0:
            age_days = None  # a birth date in the future says nothing about the age
        current = [(les, src) for les, st, src in tally.lesions if st != "historical"]
        days = [les.days for les, _ in current if les.days is not None]
        # "since birth", "since her early twenties": as long as the patient has been older. With
        # no birth date, a stage of life after birth ("since childhood") is taken as a year ago:
        # unknown, but rarely short, and this is a red flag's input.
        for since in (les.since_age_days for les, _ in current):
            if since is None:
                continue
            if age_days is None:
                if since > 0:
                    days.append(_UNDATED_STAGE_DAYS)
            elif since < age_days:
                days.append(age_days - since)
        onsets = [les.onset_within_days for les, _ in current if les.plural]
        sites = [site for les, _ in current for site in les.sites]
        sites += self.sites.with_regions(_coded_sites(record, milia_sources, self.sites))
        # A size recorded at another place than the milia (a nevus on the back) is not theirs.
        measurements = [
            m
            for m in _measurements(record, milia_sources, self.sites)
            if m.source in milia_sources
            or m.site not in self.sites.regions
            or self.sites.same_region([m.site], sites)
        ]
        measurements += [
            Measurement(les.sites[0] if les.sites else "unspecified", size, None, src)
            for les, src in current
            for size in les.sizes_mm
            if 0 < size <= _MAX_LESION_MM
        ]
        lesions = tuple(
            Lesion(src, tuple(les.sizes_mm), les.solitary, les.sites) for les, src in current
        )
        if tally.cut:
            log.warning(
                "free text over the reading limits: %d notes not read in full", len(tally.cut)
            )
        return Findings(
            mentions=tuple(dict.fromkeys(mentions)),
            measurements=tuple(measurements),
            lesions=lesions,
            medicines=meds,
            age_days=age_days,
            lesion_count=_lesion_count(
                record, milia_sources, self.vocabulary.kb.lexicon.count_words
            ),
            milia_since=_earliest(record, milia_sources),
            milia_noted_since=_earliest(record, milia_sources, ("Observation",)),
            now=now,
            milia_days_written=max(days) if days else None,
            onset_within_days=min((o for o in onsets if o is not None), default=None),
            milia_sites=tuple(dict.fromkeys(sites)),
            growth_written_mm=max((les.growth_mm for les, _ in current), default=None),
            notes_read=len(tally.texts),
            notes_cut=len(tally.cut) + record.unread,
            coded_read=len(tally.codes - tally.texts),
            described=tuple(_describe(record)),
        )


def _latest_answers(observations: Iterable[Any]) -> list[Any]:
    """Observations, except coded answers to a question answered again later: a pregnancy status
    of "pregnant" in 2023 is superseded by "not pregnant" in 2026."""
    read = []
    for obs in observations:
        question = next(_codings(obs.code), None) if obs.valueCodeableConcept else None
        when = _instant(obs.effectiveDateTime) or _instant(obs.issued)
        read.append((obs, question[:2] if question and when else None, when))
    latest: dict[tuple[str, str], datetime] = {}
    for _, key, when in read:
        if key is not None and when is not None:
            latest[key] = max(latest.get(key, when), when)
    # Kept unless answered again since.
    return [obs for obs, key, when in read if key is None or when is None or when >= latest[key]]


# ------------------------------------------------------------------------------- measured facts


def _lesion_resources(record: ClinicalRecord) -> Iterator[Any]:
    for resource in (*record.of_type("Observation"), *record.of_type("Condition")):
        if getattr(resource, "status", None) in _VOID:
            continue
        yield resource


def _coded_sites(record: ClinicalRecord, milia_sources: set[str], sites: SiteIndex) -> list[str]:
    """Sites of the record entries about milia, by their coded or written bodySite."""
    found = []
    for resource in _lesion_resources(record):
        if _reference(resource) in milia_sources:
            site = _site(resource, sites)
            if site in sites.regions:
                found.append(site)
    return found


def _measurements(
    record: ClinicalRecord, milia_sources: set[str], sites: SiteIndex
) -> Iterator[Measurement]:
    for resource in _lesion_resources(record):
        source = _reference(resource)
        site = _site(resource, sites)
        when = _instant(getattr(resource, "effectiveDateTime", None)) or _instant(
            getattr(resource, "recordedDate", None)
        )
        period = getattr(resource, "effectivePeriod", None)
        if when is None and period is not None:
            when = _instant(period.start)
        about_lesion = source in milia_sources or bool(
            names_lesion(_concept_text(getattr(resource, "code", None)))
        )
        quantities = []
        value = getattr(resource, "valueQuantity", None)
        if value is not None and about_lesion:
            quantities.append(value)
        for component in getattr(resource, "component", None) or ():
            if component.valueQuantity is not None and (
                about_lesion or names_lesion(_concept_text(component.code))
            ):
                quantities.append(component.valueQuantity)
        sizes = [
            _to_mm(float(q.value), q.code or q.unit or "")
            for q in quantities
            if q.value is not None and (q.code or q.unit)
        ]
        for size in sizes:
            if size is not None and 0 < size <= _MAX_LESION_MM:
                yield Measurement(site, size, when, source)


def _texts_of(resource: Any) -> list[str]:
    return fields.texts(resource, resource.get_resource_type())


def _lesion_count(
    record: ClinicalRecord, milia_sources: set[str], words: dict[str, int]
) -> int | None:
    """The largest count recorded for milia: a number ("x 6", "12 papules"), a count word of the
    lexicon ("numerous", "dozens"), or an Observation's integer value."""
    many = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.I) if words else None
    counts = []
    for resource in _lesion_resources(record):
        if _reference(resource) not in milia_sources:
            continue
        for written in _texts_of(resource):
            counts += [int(a or b) for a, b in _COUNT_IN_TEXT.findall(written)]
            if many is not None:
                counts += [words[w.lower()] for w in many.findall(written)]
        value = getattr(resource, "valueInteger", None)
        if isinstance(value, int):
            counts.append(value)
    return max(counts) if counts else None


def _earliest(
    record: ClinicalRecord,
    milia_sources: set[str],
    kinds: tuple[str, ...] = ("Condition", "Observation"),
) -> datetime | None:
    times = []
    for resource in _lesion_resources(record):
        if _reference(resource) not in milia_sources or resource.get_resource_type() not in kinds:
            continue
        onset_period = getattr(resource, "onsetPeriod", None)
        candidates = [
            getattr(resource, "onsetDateTime", None),
            onset_period.start if onset_period is not None else None,
            getattr(resource, "recordedDate", None),
            getattr(resource, "effectiveDateTime", None),
        ]
        times += [t for t in (_instant(c) for c in candidates) if t is not None]
    return min(times) if times else None


_KIND_WORDS = {
    "Condition": "the condition recorded",
    "Observation": "the observation of",
    "Procedure": "the procedure of",
    "MedicationRequest": "the medication order of",
    "MedicationStatement": "the medication statement of",
}


def _describe(record: ClinicalRecord) -> Iterator[tuple[str, str]]:
    """Each entry's reference with words and a date, never its text (cards show these)."""
    for kind, words in _KIND_WORDS.items():
        for resource in record.of_type(kind):
            when = next(
                (
                    _instant(getattr(resource, name, None))
                    for name in _DATE_FIELDS
                    if _instant(getattr(resource, name, None)) is not None
                ),
                None,
            )
            if kind == "Observation" and fields.texts(resource, kind):
                words = "the note of"
            if when is None:  # "the condition", not "the condition recorded undated"
                yield _reference(resource), words.rsplit(" ", 1)[0]
            else:
                yield _reference(resource), f"{words} {when.date().isoformat()}"
    for resource in record.draft_orders:
        yield _reference(resource), "the order being placed"


#: Where an entry's date is, in the order looked at.
_DATE_FIELDS = (
    "effectiveDateTime",
    "recordedDate",
    "onsetDateTime",
    "performedDateTime",
    "authoredOn",
    "issued",
)


#: Longest duration a medicine is counted for (a value of 1e308 years is an error, not a fact).
_MAX_USE_DAYS = 200 * 365


def _whole_days(value: float) -> int:
    if value != value or value < 0:  # NaN or negative
        return 0
    return int(min(value, _MAX_USE_DAYS))


def _days_per(unit: str) -> float:
    """Days in one UCUM time unit (d, wk, mo, a) or its spelled-out name."""
    unit = unit.lower()
    if unit.startswith(("w", "wk")):
        return 7
    if unit.startswith("mo"):
        return 30.4
    if unit in {"a", "y", "yr", "year", "years"}:
        return 365.25
    return 1


def _days_between(start: Any, end: Any) -> int | None:
    first, last = _instant(start), _instant(end)
    if first is None or last is None:
        return None
    return max(0, (last - first).days)


#: Units of a fill that measure how much cream or lotion is supplied.
_AMOUNT_UNITS = {"g", "gm", "gram", "grams", "ml", "mL", "milliliter", "millilitre"}


def _refills(resource: Any) -> int | None:
    dispense = getattr(resource, "dispenseRequest", None)
    return getattr(dispense, "numberOfRepeatsAllowed", None) if dispense is not None else None


def _quantity(resource: Any) -> float | None:
    """One fill's amount in grams or millilitres (a tube, a bottle), else None."""
    dispense = getattr(resource, "dispenseRequest", None)
    amount = getattr(dispense, "quantity", None) if dispense is not None else None
    if amount is None or amount.value is None:
        return None
    unit = (amount.code or amount.unit or "").strip("[]")
    return float(amount.value) if unit in _AMOUNT_UNITS or unit.lower() in _AMOUNT_UNITS else None


def _days_of_use(resource: Any, dosages: Iterable[Any], now: datetime, draft: bool) -> int | None:
    """How long the medicine has been used (record) or is meant to be used (draft order)."""
    estimates: list[int] = []
    ongoing = getattr(resource, "status", None) in {"active", "on-hold", "intended", "draft"}
    for dosage in dosages:
        repeat = dosage.timing.repeat if dosage.timing and dosage.timing.repeat else None
        if repeat is None:
            continue
        if repeat.boundsPeriod is not None:
            end = repeat.boundsPeriod.end or (None if draft else now)
            days = _days_between(repeat.boundsPeriod.start, end)
            if days is not None:
                estimates.append(days)
        if repeat.boundsDuration is not None and repeat.boundsDuration.value is not None:
            unit = (repeat.boundsDuration.code or repeat.boundsDuration.unit or "d").lower()
            scale = {
                "d": 1,
                "day": 1,
                "days": 1,
                "wk": 7,
                "week": 7,
                "weeks": 7,
                "mo": 30,
                "month": 30,
                "months": 30,
                "a": 365,
            }
            estimates.append(_whole_days(float(repeat.boundsDuration.value) * scale.get(unit, 1)))
    dispense = getattr(resource, "dispenseRequest", None)
    if dispense is not None and dispense.expectedSupplyDuration is not None:
        supply = dispense.expectedSupplyDuration
        if supply.value is not None:
            repeats = (dispense.numberOfRepeatsAllowed or 0) + 1
            unit = (supply.code or supply.unit or "d").lower()
            estimates.append(_whole_days(float(supply.value) * _days_per(unit) * repeats))
    period = getattr(resource, "effectivePeriod", None)
    if period is not None:
        days = _days_between(period.start, period.end or now)
        if days is not None:
            estimates.append(days)
    authored = getattr(resource, "authoredOn", None)
    if authored is not None and ongoing and not draft:
        days = _days_between(authored, now)
        if days is not None:
            estimates.append(days)
    return max(estimates) if estimates else None
