"""The knowledge base: the schema of ``cards/`` and its loader.

Content is data reviewed like code. Every file is validated when the service starts and by
``cds-service check-content``; each problem is reported as ``file:line: message`` so a reviewer can fix
it without reading Python. The service refuses to start on invalid content.

The schema, file by file (each file holds one top-level key of :class:`KnowledgeBase`):

- ``meta.yaml``: content version, review date and status, the cards' source label and topic.
- ``references.yaml``: every citation, with its verification status and link.
- ``conditions.yaml``: milia and its variants, with codes, synonyms and the criteria of each variant.
- ``mimics.yaml``: look-alikes, with the features that tell each apart and what to do.
- ``red-flags.yaml``: findings that call for a clinician, how each is recognised, its escalation.
- ``triggers.yaml``: causes of secondary milia (drugs, procedures, diseases, exposures).
- ``management.yaml``: the treatment ladder, what not to do, prevention, when to see a clinician.
- ``order-cautions.yaml``: cautions for orders (order-select, order-sign).
- ``override-reasons.yaml``: the reasons a clinician may give for dismissing a card.
- ``templates.yaml``: card kinds (indicator, summary and detail with placeholders) and suggestions.
- ``lexicon.yaml``: the concepts recognition uses, with their terms; lesion words; context cues.
- ``abbreviations.yaml``: shorthand used in notes, with expansions; found wherever the expansion is.
- ``sites.yaml``: body sites as a hierarchy of regions, with terms and codes.
- ``patients.yaml``: age bands and patient states (pregnancy, immunosuppression) rules may ask for.
- ``drugs.yaml``: drug classes by ATC/RxNorm codes and generic and brand names.
- ``handouts.yaml``: patient handouts in plain words, per variant and age group.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import quote_plus

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

CONTENT_FILES = (
    "meta.yaml",
    "references.yaml",
    "conditions.yaml",
    "mimics.yaml",
    "red-flags.yaml",
    "triggers.yaml",
    "management.yaml",
    "order-cautions.yaml",
    "override-reasons.yaml",
    "templates.yaml",
    "lexicon.yaml",
    "abbreviations.yaml",
    "sites.yaml",
    "patients.yaml",
    "drugs.yaml",
    "handouts.yaml",
)

Id = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Text = Annotated[str, Field(min_length=1)]

#: Wording that claims something is absent: a missed red flag would read as reassurance.
_ABSENCE = re.compile(
    r"\bno (?:red[- ]flags?|warning signs?|concerning (?:features?|signs?))\b"
    r"|\bred[- ]flags? (?:are |is )?(?:absent|not present|excluded|ruled out)\b",
    re.IGNORECASE,
)


def _claims_no_absence(text: str) -> str:
    if _ABSENCE.search(text):
        raise ValueError(
            "card text claims an absence ('no red flag'); say what was read and when to examine"
        )
    return text


#: Text shown on a card.
CardText = Annotated[Text, AfterValidator(_claims_no_absence)]


def _code_as_text(value: Any) -> Any:
    # An unquoted SNOMED CT id is read by YAML as a number; a code is always text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


CodeText = Annotated[Text, BeforeValidator(_code_as_text)]


class _Content(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------------------ building blocks


class Code(_Content):
    system: Text
    code: CodeText
    display: Text
    #: True only when code and meaning were confirmed in a named public source. Only verified codes
    #: are matched; unverified ones are listed so a reviewer sees them.
    verified: bool
    #: ``prefix`` matches a class and everything below it (ATC D07AC matches D07AC01).
    match: Literal["exact", "prefix"] = "exact"
    #: The code means more than the item (ICD-10-CM L72.0 "Epidermal cyst" for milia): it counts
    #: only when the record also names the item in words or by another code.
    broader: bool = False
    note: str | None = None


class Statement(_Content):
    """One clinical sentence and the references it rests on."""

    text: CardText
    cites: Annotated[list[Id], Field(min_length=1)]
    #: Shown only to these patients (age bands, states): make-up advice is not for a baby.
    patient: PatientFilter | None = None


DurationSource = Literal["words", "notes", "conditions"]
_DURATION_SOURCES: tuple[DurationSource, ...] = ("words", "notes", "conditions")


class PatientFilter(_Content):
    """Who a rule applies to: the patient's age band and states (ids in patients.yaml)."""

    #: Any one of these age bands (patients.yaml age_bands).
    ages: list[Id] = Field(default_factory=list)
    #: Every one of these states is recorded (patients.yaml patient_states).
    states: list[Id] = Field(default_factory=list)
    #: None of these states is recorded.
    not_states: list[Id] = Field(default_factory=list)
    #: With no birth date on record, does an age-limited rule apply? ``applies`` where missing it
    #: would be unsafe (a red flag), ``does-not-apply`` where it would mislead (a newborn variant).
    unknown_age: Literal["applies", "does-not-apply"] = "does-not-apply"


class LesionRule(_Content):
    """Attributes that must all hold for ONE milia-like lesion (not spread over several)."""

    size_mm_over: float | None = Field(default=None, gt=0)
    #: Said to be one lesion ("a solitary papule", "milium"), not several.
    solitary: bool | None = None
    #: At one of these sites (ids in sites.yaml, any part of them).
    sites: list[Id] = Field(default_factory=list)


class Recognition(_Content):
    """How something is recognised in the record. Any one listed route is enough (``any_of`` is
    a route: one of its sub-rules), and then every gate (``patient``, ``all_of``, ``none_of``,
    ``needs_*``) must hold. A rule made of gates only (no route) holds when its gates do.

    ``text`` phrases are matched in free text by the clinical NLP pipeline, which drops negated,
    hypothetical, historical and family-history mentions.
    """

    codes: list[Code] = Field(default_factory=list)
    text: list[Text] = Field(default_factory=list)
    #: A lesion measured larger than this many millimetres.
    size_mm_over: float | None = Field(default=None, gt=0)
    #: Two measurements of the same lesion or site at least this many millimetres apart, growing.
    growth_mm_at_least: float | None = Field(default=None, gt=0)
    #: The lesion or condition has been present for more than this many days.
    duration_days_over: int | None = Field(default=None, gt=0)
    #: Where that duration may come from: the notes' words ("x 8 months"), the dates of notes and
    #: observations that record the lesion, the dates of problem-list conditions. A stable entry
    #: long on the problem list is a known problem, not an unexplained persistence.
    duration_from: list[DurationSource] = Field(default_factory=lambda: list(_DURATION_SOURCES))
    #: At least this many lesions recorded.
    count_at_least: int | None = Field(default=None, gt=1)
    #: Historical mentions count too ("history of BCC", a resolved Condition, a past procedure).
    include_history: bool = False
    #: An uncertain mention of a look-alike ("rule out BCC", "milia vs syringoma") counts.
    uncertain_mention: bool = False
    #: Concepts of lexicon.yaml whose terms recognise this (any one).
    concepts: list[Id] = Field(default_factory=list)
    #: Concepts that count only when said to be considered ("r/o basal cell", "?SCC").
    uncertain_concepts: list[Id] = Field(default_factory=list)
    #: What the words must be said of. patient: anywhere in the record; lesion: not another lesion
    #: of the same note; milia: the milia-like lesion itself (named in the sentence or just
    #: before); site: the milia-like lesion or its site region.
    scope: Literal["patient", "lesion", "milia", "site"] = "patient"
    #: The milia-like lesion is at one of these sites (ids in sites.yaml, any part of them counts).
    sites: list[Id] = Field(default_factory=list)
    #: Many milia-like lesions appeared within this many days ("came up over ten days", "new ones
    #: every week").
    onset_within_days: int | None = Field(default=None, gt=0)
    #: Counts only when the record also holds a cause of secondary milia (triggers.yaml).
    needs_trigger: bool = False
    #: Any of these causes (ids in triggers.yaml) found in the record is enough.
    triggers: list[Id] = Field(default_factory=list)
    #: Counts only when one of these causes is also in the record.
    needs_triggers: list[Id] = Field(default_factory=list)
    #: Counts only when the record also mentions one of these lexicon concepts (a steroid named
    #: with "atrophic skin").
    needs_concepts: list[Id] = Field(default_factory=list)
    #: A mention said to be considered ("?BCC") counts; false where only a fact may count (a
    #: history of skin cancer is not "rule out BCC").
    count_uncertain: bool = True
    #: Milia is a confirmed coded Condition on the problem list (a known, diagnosed problem).
    milia_on_problem_list: bool = False
    #: Drug classes (ids in drugs.yaml): their codes and names recognise it.
    drug_classes: list[Id] = Field(default_factory=list)
    #: Attributes of one and the same milia-like lesion (solitary AND larger than 3 mm).
    lesion: LesionRule | None = None
    #: Who the rule applies to.
    patient: PatientFilter | None = None
    #: Sub-rules that must all hold / at least one must hold / none may hold.
    all_of: list[Recognition] = Field(default_factory=list)
    any_of: list[Recognition] = Field(default_factory=list)
    none_of: list[Recognition] = Field(default_factory=list)

    # Cached: content is frozen once loaded, and every hook call asks each rule these again.
    @cached_property
    def routes(self) -> bool:
        """The rule lists a route of its own (not only gates)."""
        return bool(
            self.codes
            or self.text
            or self.concepts
            or self.drug_classes
            or self.milia_on_problem_list
            or self.uncertain_mention
            or self.triggers
            or self.sites
            or self.lesion
            or self.any_of
            or any(
                v is not None
                for v in (
                    self.size_mm_over,
                    self.growth_mm_at_least,
                    self.duration_days_over,
                    self.count_at_least,
                    self.onset_within_days,
                )
            )
        )

    @cached_property
    def gates(self) -> bool:
        """The rule lists a gate (a condition every match must meet)."""
        return bool(
            self.patient is not None
            or self.all_of
            or self.none_of
            or self.needs_trigger
            or self.needs_triggers
            or self.needs_concepts
        )

    @cached_property
    def parts(self) -> tuple[tuple[str, Recognition], ...]:
        """Sub-rules with their path ("all_of.0"), for labels and checks."""
        return tuple(
            (f"{name}.{i}", sub)
            for name in ("all_of", "any_of", "none_of")
            for i, sub in enumerate(getattr(self, name))
        )


class Concept(_Content):
    """Something the service recognises by codes and words: milia, a variant, a mimic."""

    id: Id
    name: Text
    codes: list[Code] = Field(default_factory=list)
    #: Words and phrases (synonyms, misspellings) for free-text matching, lower case.
    synonyms: list[Text] = Field(default_factory=list)
    about: list[Statement] = Field(default_factory=list)


# ------------------------------------------------------------------------------------- content


class SignOff(_Content):
    """A clinical review recorded for this content version: who (their role) and when."""

    role: Text
    date: date
    name: str | None = None


class Meta(_Content):
    content_version: Text
    #: When the content last changed.
    edited: date
    status: Literal["draft", "reviewed", "approved"]
    #: The dermatology review of this version; until it is recorded, the status is draft.
    sign_off: SignOff | None = None
    source: Source

    @property
    def provenance(self) -> str:
        """The content's status as it is, for every card and page."""
        if self.sign_off is None:
            return "draft, awaiting dermatology review"
        return f"{self.status}: reviewed by a {self.sign_off.role.lower()} on {self.sign_off.date}"


class Topic(_Content):
    system: Text
    code: CodeText
    display: Text


class Source(_Content):
    label: Text
    url: Text | None = None
    topic: Topic


_KIND_ORDER = ("peer-reviewed", "reference-work", "consumer")
_VERIFICATION_ORDER = ("verified", "partly-verified", "unverified")


class Reference(_Content):
    id: Id
    #: The label of the card link to this reference.
    short: Annotated[str, Field(min_length=1, max_length=100)]
    citation: Text
    verification: Literal["verified", "partly-verified", "unverified"]
    doi: str | None = None
    url: str | None = None
    #: Terms for a PubMed search link, used when there is no verified DOI or URL.
    search: str | None = None
    #: Which guidance point(s) this reference comes from: "guidance" or "clinical".
    origin: Literal["guidance", "clinical"]
    #: What the source is: cards cite peer-reviewed sources first.
    kind: Literal["peer-reviewed", "reference-work", "consumer"]
    note: str | None = None

    @property
    def weight(self) -> tuple[int, int]:
        """How a citation is ordered: peer-reviewed before reference works before consumer
        articles, and verified before partly verified before unverified."""
        return _KIND_ORDER.index(self.kind), _VERIFICATION_ORDER.index(self.verification)

    @property
    def link(self) -> str | None:
        """A verified DOI, else the URL seen, else a PubMed search; never an unconfirmed PMID."""
        if self.doi and self.verification == "verified":
            return f"https://doi.org/{self.doi}"
        if self.url:
            return self.url
        if self.search:
            return "https://pubmed.ncbi.nlm.nih.gov/?term=" + quote_plus(self.search)
        return None


class VariantCriteria(_Content):
    """When a milia finding is this variant. All listed conditions must hold."""

    #: The variant needs a trigger of secondary milia in the record.
    needs_trigger: bool = False
    #: Words in the record that name or describe the variant (any one).
    text: list[Text] = Field(default_factory=list)
    count_at_least: int | None = Field(default=None, gt=1)
    #: Codes in the record (e.g. an associated syndrome) that point to the variant (any one).
    codes: list[Code] = Field(default_factory=list)
    #: Any of these red flags (ids in red-flags.yaml) found makes the variant, whatever else.
    red_flags: list[Id] = Field(default_factory=list)
    #: Who the variant applies to (age bands, states); a variant named in words must fit too.
    patient: PatientFilter | None = None
    #: Any rule of the rule language (morphology, counts with a time, vetoes) that must hold.
    rule: Recognition | None = None


class Condition(Concept):
    kind: Literal["milia", "variant"]
    criteria: VariantCriteria | None = None
    #: Management steps (ids in management.yaml) that suit this variant, in order.
    management: list[Id] = Field(default_factory=list)


class Feature(_Content):
    """A feature found in the record that points to a mimic rather than milia."""

    id: Id
    label: Text
    recognise: Recognition
    #: A setting that makes the look-alike likelier (Down syndrome, acne elsewhere) without saying
    #: anything of the lesion: named with the look-alike's other features, never enough alone.
    supporting: bool = False


NamedStatus = Literal["present", "uncertain"]
_NAMED_STATUSES: tuple[NamedStatus, ...] = ("present", "uncertain")


class Mimic(Concept):
    #: How a mention of the mimic's name must be said for the mimic to be worth ruling out; a
    #: malignant mimic named as present is a history (a red flag), not a look-alike to rule out.
    named_when: list[NamedStatus] = Field(default_factory=lambda: list(_NAMED_STATUSES))
    features: Annotated[list[Feature], Field(min_length=1)]
    #: How the mimic differs from milia (for the card's explanation).
    differs: Annotated[list[Statement], Field(min_length=1)]
    action: Annotated[list[Statement], Field(min_length=1)]
    #: True for mimics that may be malignant: any of their features is a red flag.
    malignant_potential: bool = False


class _Item(_Content):
    """A named item a card can list: red flag, trigger, order caution."""

    id: Id
    name: Text
    #: The name used in a card summary.
    short: Annotated[str, Field(min_length=1, max_length=40)]


class RedFlag(_Item):
    recognise: Recognition
    #: Mimics this flag points to (ids in mimics.yaml).
    points_to: list[Id] = Field(default_factory=list)
    escalation: Annotated[list[Statement], Field(min_length=1)]
    #: From the guidance article ("guidance") or the clinical reference ("clinical").
    origin: Literal["guidance", "clinical"]


class Trigger(_Item):
    kind: Literal["drug", "procedure", "disease", "exposure", "product"]
    recognise: Recognition
    #: For drugs: only use for longer than this counts (e.g. long-term topical steroids).
    min_use_days: int | None = Field(default=None, gt=0)
    #: For drugs: the routes that count (free text or EDQM display, lower case); any when empty.
    routes: list[Text] = Field(default_factory=list)
    advice: Annotated[list[Statement], Field(min_length=1)]


class ManagementStep(_Content):
    id: Id
    name: Text
    statements: Annotated[list[Statement], Field(min_length=1)]
    cautions: list[Statement] = Field(default_factory=list)
    #: Offered only to these patients (age bands, states): a child never gets an adult step.
    #: When the age is unknown, an age-limited step is listed with its limit named.
    patient: PatientFilter | None = None


class Management(_Content):
    ladder: Annotated[list[ManagementStep], Field(min_length=1)]
    avoid: Annotated[list[Statement], Field(min_length=1)]
    prevention: Annotated[list[Statement], Field(min_length=1)]
    see_clinician: Annotated[list[Statement], Field(min_length=1)]
    neonatal: Annotated[list[Statement], Field(min_length=1)]


class OrderCaution(_Item):
    #: The ordered drug (codes or words in the order).
    drug: Recognition
    #: Words in the order's dosage, site or note that make the caution apply; any when empty.
    site_text: list[Text] = Field(default_factory=list)
    #: Body sites (ids in sites.yaml, any part of them) that make the caution apply; with
    #: ``site_text``, either is enough; with neither, any site.
    sites: list[Id] = Field(default_factory=list)
    #: Only orders meant for longer than this (days) count; any duration when unset.
    min_duration_days: int | None = Field(default=None, gt=0)
    #: Show the caution only when the patient's record concerns milia (keeps unrelated orders quiet).
    requires_milia: bool = True
    #: Show it only for these patients (pregnancy, an age band), whatever the site of the order.
    patient: PatientFilter | None = None
    #: An order with no stated duration counts as long when it allows at least this many refills
    #: or at least this quantity (grams or millilitres) in one fill.
    long_when_refills_at_least: int | None = Field(default=None, ge=1)
    long_when_quantity_at_least: float | None = Field(default=None, gt=0)
    statements: Annotated[list[Statement], Field(min_length=1)]


class OverrideReason(_Content):
    code: Id
    display: Text
    #: How long a card overridden for this reason stays quiet for the patient.
    snooze_days: int = Field(ge=0)


class OverrideReasons(_Content):
    system: Text
    reasons: Annotated[list[OverrideReason], Field(min_length=1)]
    #: A card dismissed without one of these reasons stays quiet this long (0: not at all).
    unlisted_snooze_days: int = Field(default=1, ge=0)


#: Placeholders a template may use, each with the longest text the renderer puts there.
PLACEHOLDERS: dict[str, int] = {
    "red_flags": 60,
    "mimics": 40,
    "trigger": 40,
    "variant": 40,
    "caution": 40,
    "read": 40,
}


class SuggestionTemplate(_Content):
    """A one-click suggestion: a FHIR resource the EHR creates when the clinician accepts it."""

    label: Annotated[str, Field(min_length=1, max_length=80)]
    #: service-request: a ServiceRequest proposal (referral, biopsy) for the patient, with the
    #: card's findings as its reason. problem-list-entry: a provisional problem-list Condition,
    #: offered only when the record does not already hold it coded.
    kind: Literal["service-request", "problem-list-entry"]
    #: Codes of the resource's CodeableConcept; only verified ones are sent.
    codes: list[Code] = Field(default_factory=list)
    text: Text
    #: For a service request: who should perform it (ServiceRequest.performerType text and codes;
    #: only verified codes are sent).
    performer_type: Text | None = None
    performer_codes: list[Code] = Field(default_factory=list)
    recommended: bool = False
    #: Once accepted, the card that offered it stays quiet this long for the patient (the request
    #: is pending); a new red flag still shows it.
    pending_days: int = Field(default=90, ge=0)


Section = Literal["red-flags", "mimics", "triggers", "neonatal", "cautions"]


class CardWhen(_Content):
    """Facts of an assessment a card kind needs (all must hold)."""

    hook: Literal["patient-view", "order"] = "patient-view"
    #: A red flag, or a look-alike that may be malignant.
    escalate: bool | None = None
    #: Look-alike features or names recorded.
    mimics: bool | None = None
    #: The record is consistent with milia.
    milia: bool | None = None
    #: One of these variants (ids in conditions.yaml) fits.
    variants: list[Id] = Field(default_factory=list)
    #: A cause of secondary milia is recorded.
    triggers: bool | None = None
    #: An order caution applies.
    cautions: bool | None = None


class GuidanceLink(_Content):
    label: Annotated[str, Field(min_length=1, max_length=80)]
    #: A section of the guidance page.
    section: Literal[
        "about",
        "variants",
        "red-flags",
        "look-alikes",
        "causes",
        "management",
        "avoid",
        "prevention",
        "see-clinician",
        "newborns",
    ]


class CardTemplate(_Content):
    indicator: Literal["info", "warning", "critical"]
    summary: CardText
    detail: Annotated[list[Statement], Field(min_length=1)]
    #: References shown as the card's links, in order.
    links: list[Id] = Field(default_factory=list)
    #: Management the detail shows: the steps offered to this patient, what not to do, prevention.
    management: list[Literal["steps", "avoid", "prevention"]] = Field(default_factory=list)
    #: One-click suggestions (ids in ``suggestions``), offered with at-most-one selection.
    suggestions: list[Id] = Field(default_factory=list)
    #: The section of the guidance page (/guidance/milia) the card links to, and the link's label.
    guidance: GuidanceLink | None = None
    #: When the card applies: every listed fact of the assessment must hold.
    when: CardWhen
    #: The sections of the other files the detail shows, in order.
    sections: list[Section] = Field(default_factory=list)


# --------------------------------------------------------------------------------- the lexicon


class LexiconConcept(_Content):
    id: Id
    #: Terms in base form; the loader adds inflections and abbreviations (see lexicon.yaml).
    terms: Annotated[list[Text], Field(min_length=1)]
    #: A longer term of a concept means itself only ("open sore" is no "sore"); with this, what
    #: its words say of the lesion stands too ("on a red, swollen plaque" is red and swollen).
    keeps_findings: bool = False


class LesionWords(_Content):
    milia: Annotated[list[Text], Field(min_length=1)]
    generic: Annotated[list[Text], Field(min_length=1)]
    other: Annotated[list[Text], Field(min_length=1)]
    #: Body structures that are not skin (the throat, the lungs, the eardrum): what a note says of
    #: them ("throat erythematous") is not said of a skin lesion.
    not_skin: list[Text] = Field(default_factory=list)
    #: Words that refer back to the lesion just named (read as written, not inflected).
    refer_back: list[Text] = Field(default_factory=list)
    #: Words that say one lesion ("solitary") or several ("a few"; count words count too).
    solitary: list[Text] = Field(default_factory=list)
    several: list[Text] = Field(default_factory=list)
    #: English words one letter from a milia name, which are not misspellings of it ("cilia", the
    #: eyelashes): every other word one letter from one is read as the name.
    not_misspellings: list[Text] = Field(default_factory=list)
    #: Words that put milia on another lesion, after it ("a plaque studded with milia") or
    #: before it ("milia on a red plaque"): what is said of that lesion is said of the milia on
    #: it. One word each, read as written.
    bearing: list[Text] = Field(default_factory=list)
    #: Words of bearing only when no site stands between the two ("with").
    bearing_near: list[Text] = Field(default_factory=list)
    borne_on: list[Text] = Field(default_factory=list)
    #: Words that put milia beside a lesion, not on it ("a papule with a milium next to it").
    beside: list[Text] = Field(default_factory=list)


class MiliaLikeWords(_Content):
    colour: Annotated[list[Text], Field(min_length=1)]
    small: Annotated[list[Text], Field(min_length=1)]
    firm: Annotated[list[Text], Field(min_length=1)]
    cannot_express: Annotated[list[Text], Field(min_length=1)]
    other_colour: Annotated[list[Text], Field(min_length=1)]
    #: A measured size up to this (mm) describes a lesion as small, as the `small` words do.
    small_mm_at_most: float = Field(default=3, gt=0)


ContextCategory = Literal[
    "NEGATED_EXISTENCE",
    "POSSIBLE_EXISTENCE",
    "HYPOTHETICAL",
    "HISTORICAL",
    "FAMILY",
    "PSEUDO",
    "TERMINATE",
]


class ContextCue(_Content):
    cue: Text
    category: ContextCategory
    direction: Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"]
    max_scope: int | None = Field(default=None, gt=0)
    #: The cue says the thing has gone ("cleared", "resolved"), not only that it was there
    #: before ("h/o", "seen previously"): findings said later are not of the gone lesion.
    gone: bool = False
    #: The cue says what follows is said in general or as advice ("explained that tiny white
    #: bumps can form in healing scars"): a lesion described after it is none of the patient's.
    generic: bool = False


class TimeWords(_Content):
    """Words of time expressions: "x 6 wks", "for 18/12", "since last winter"."""

    #: Unit words by unit (day, week, month, year).
    units: dict[Literal["day", "week", "month", "year"], list[Text]]
    #: Number words and their value ("a couple" = 2, "half" = 0.5).
    numbers: dict[str, float]
    #: Seasons and the month (1-12) in their middle, for "since last winter".
    seasons: dict[str, int]
    #: Words before a time that says when to look again ("RTC 1 yr"): not a duration.
    follow_up: list[Text] = Field(default_factory=list)
    #: Stages of life and the age in years each begins ("since childhood", "since her early
    #: twenties"): how long a lesion has been present follows from the patient's age.
    life_stages: dict[str, Annotated[float, Field(ge=0, le=120)]] = Field(default_factory=dict)


class Lexicon(_Content):
    concepts: list[LexiconConcept]
    lesions: LesionWords
    milia_like: MiliaLikeWords
    context: list[ContextCue] = Field(default_factory=list)
    #: Phrases read and set aside: they hold a concept's word but say nothing of a lesion.
    ignore: list[Text] = Field(default_factory=list)
    #: Words that put a name in someone else's mouth ("her beautician told her the bumps are
    #: milia", "mum thinks they're milia"): milia named so are set aside when a later sentence
    #: of the note denies milia. One word each, read as written.
    hearsay: list[Text] = Field(default_factory=list)
    #: Words that mark what follows as an earlier note's, carried into this one ("Previous exam
    #: carried forward"): milia named after them are set aside when a later sentence denies
    #: milia ("Exam today: no milia seen").
    carried_forward: list[Text] = Field(default_factory=list)
    time: TimeWords
    #: Sizes said in words, in millimetres ("pinpoint" = 1, "pea-sized" = 6).
    size_words: dict[str, float] = Field(default_factory=dict)
    #: How many lesions a count word stands for at least ("dozens" = 24, "several" = 3).
    count_words: dict[str, int] = Field(default_factory=dict)


class Abbreviation(_Content):
    short: Text
    expansion: Text
    #: Where the abbreviation means the expansion and nothing else (the reviewer's judgement).
    unambiguous: Text
    case_sensitive: bool = False
    #: False: listed to record that the shorthand is deliberately NOT expanded (ambiguous).
    expand: bool = True


class Site(_Content):
    id: Id
    terms: Annotated[list[Text], Field(min_length=1)]
    #: Milia are typical at this site.
    typical: bool = False
    #: A whole region (the face, the trunk, a limb): two sites that share only it are two places.
    whole: bool = False
    codes: list[Code] = Field(default_factory=list)
    parts: list[Site] = Field(default_factory=list)


class HandoutSection(_Content):
    heading: Text
    points: Annotated[list[Statement], Field(min_length=1)]


class Handout(_Content):
    """What a patient or parent takes home, in plain words."""

    id: Id
    title: Text
    #: A card about one of these variants links this handout first.
    variants: list[Id] = Field(default_factory=list)
    #: Otherwise, a card links the first handout whose filter fits the patient.
    patient: PatientFilter | None = None
    sections: Annotated[list[HandoutSection], Field(min_length=1)]


class AgeBand(_Content):
    """An age range, in days from birth: [days_at_least, days_under)."""

    id: Id
    name: Text
    days_at_least: int = Field(default=0, ge=0)
    days_under: int | None = Field(default=None, gt=0)

    def holds(self, age_days: int) -> bool:
        return age_days >= self.days_at_least and (
            self.days_under is None or age_days < self.days_under
        )


class PatientState(_Content):
    """Something true of the patient now (pregnancy, immunosuppression), by codes, words,
    observations or the drugs on the medication list."""

    id: Id
    name: Text
    recognise: Recognition


class DrugClass(_Content):
    """A class of drugs: ATC class codes (match: prefix), verified ingredient codes, and the
    generic and brand names written in orders and notes."""

    id: Id
    name: Text
    codes: list[Code] = Field(default_factory=list)
    #: Lexicon concepts holding the generic and brand names.
    concepts: list[Id] = Field(default_factory=list)
    #: Words of the route, dose form or instructions that take an order out of the class.
    not_routes: list[Text] = Field(default_factory=list)


class CardChoice(_Content):
    """Which card kinds a patient-view shows, in which order, and which stand alone."""

    order: Annotated[list[Id], Field(min_length=1)]
    #: Kinds shown without any kind after them in ``order``.
    alone: list[Id] = Field(default_factory=list)
    #: How many statements of a long list (what not to do, prevention) a card shows.
    short_list: int = Field(default=3, ge=1)


class KnowledgeBase(_Content):
    meta: Meta
    references: list[Reference]
    conditions: list[Condition]
    mimics: list[Mimic]
    red_flags: list[RedFlag]
    triggers: list[Trigger]
    management: Management
    order_cautions: list[OrderCaution]
    override_reasons: OverrideReasons
    card_templates: dict[Id, CardTemplate]
    card_choice: CardChoice
    suggestions: dict[Id, SuggestionTemplate] = Field(default_factory=dict)
    lexicon: Lexicon
    abbreviations: list[Abbreviation]
    sites: list[Site]
    age_bands: list[AgeBand]
    patient_states: list[PatientState] = Field(default_factory=list)
    drug_classes: list[DrugClass] = Field(default_factory=list)
    handouts: Annotated[list[Handout], Field(min_length=1)]

    def reference(self, ref_id: str) -> Reference:
        return next(r for r in self.references if r.id == ref_id)

    def condition(self, condition_id: str) -> Condition:
        return next(c for c in self.conditions if c.id == condition_id)

    def mimic(self, mimic_id: str) -> Mimic:
        return next(m for m in self.mimics if m.id == mimic_id)

    def red_flag(self, flag_id: str) -> RedFlag:
        return next(f for f in self.red_flags if f.id == flag_id)

    def trigger(self, trigger_id: str) -> Trigger:
        return next(t for t in self.triggers if t.id == trigger_id)

    def caution(self, caution_id: str) -> OrderCaution:
        return next(c for c in self.order_cautions if c.id == caution_id)

    def step(self, step_id: str) -> ManagementStep:
        return next(s for s in self.management.ladder if s.id == step_id)

    def age_band(self, band_id: str) -> AgeBand:
        return next(b for b in self.age_bands if b.id == band_id)

    def drug_class(self, class_id: str) -> DrugClass:
        return next(d for d in self.drug_classes if d.id == class_id)


Meta.model_rebuild()
Site.model_rebuild()
Recognition.model_rebuild()
CardTemplate.model_rebuild()
Statement.model_rebuild()
