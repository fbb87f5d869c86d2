"""Reasoning: findings weighed against the knowledge base, giving an Assessment. No FHIR, no I/O.

The rules are the content's: each red flag, look-alike feature, trigger and variant says in ``cards/``
how it is recognised (codes, words, sizes, growth, duration, age, count); this module only evaluates
those descriptions the same way for every item. It knows no disease by name.

Gating, so the service stays silent when nothing concerns milia: red flags, look-alikes, triggers and
variants are weighed only when the record mentions milia (present or uncertain, not negated, not
historical only). Order cautions need milia too unless the content says otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from .findings import Findings, Measurement, MedicineUse, Mention
from .knowledge import KnowledgeBase, LesionRule, OrderCaution, PatientFilter, Recognition
from .sites import whole_regions
from .terms import has_word
from .vocabulary import feature_label, label, part_label

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Hit:
    """An item of the knowledge base (red flag, mimic, trigger, caution) found in the record."""

    id: str
    #: Relative references of the record entries it rests on, e.g. ``Condition/123``.
    evidence: tuple[str, ...] = ()
    #: What was found, in a few words: "5 mm", "grew from 2 mm to 5 mm", "used for 120 days".
    detail: str = ""
    #: For mimics: the labels of the features found.
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    """What the record is consistent with and what concerns it, for the cards to render."""

    #: The record is consistent with milia (coded or written), with the entries that say so.
    milia: Hit | None = None
    #: Variants of milia the record fits (condition ids), most specific first.
    variants: tuple[str, ...] = ()
    red_flags: tuple[Hit, ...] = ()
    mimics: tuple[Hit, ...] = ()
    #: Mimics found that may be malignant: they escalate like red flags.
    malignant_mimics: tuple[str, ...] = ()
    triggers: tuple[Hit, ...] = ()
    cautions: tuple[Hit, ...] = ()
    #: Milia is already a coded Condition on the record (confirmed or provisional).
    on_problem_list: bool = False
    #: Patient states recorded (patients.yaml), e.g. pregnancy.
    states: tuple[Hit, ...] = ()
    #: The patient's age bands (patients.yaml); None when the age is unknown.
    age_bands: frozenset[str] | None = None

    def fits(self, patient: PatientFilter | None) -> bool:
        """Whether a statement or step limited to ``patient`` is for this patient."""
        return fits(patient, self.age_bands, {s.id for s in self.states})

    #: Management steps offered to this patient, in order, each with the age limit to name when
    #: the age is unknown ("" when none).
    steps: tuple[tuple[str, str], ...] = ()
    #: What was read: free-text notes and coded entries (the cards say so, never "nothing found").
    notes_read: int = 0
    coded_read: int = 0
    #: Notes not read in full (over the reading limits).
    notes_cut: int = 0
    #: Record entries in words and dates ("exam note of 2026-11-20"), by reference.
    described: tuple[tuple[str, str], ...] = ()

    @property
    def escalate(self) -> bool:
        """A red flag, or a look-alike that may be malignant: no benign-only card may be shown."""
        return bool(self.red_flags or self.malignant_mimics)


# ------------------------------------------------------------------------------------- helpers


def _sources(mentions: Iterable[Mention | Measurement | MedicineUse]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.source for m in mentions))


def _fmt(mm: float) -> str:
    return f"{mm:g} mm"


def fits(
    patient: PatientFilter | None, bands: frozenset[str] | None, states: Collection[str]
) -> bool:
    """Whether a patient of these age bands (None: age unknown) and states passes the filter."""
    if patient is None:
        return True
    if patient.ages:
        if bands is None:
            if patient.unknown_age != "applies":
                return False
        elif not bands & set(patient.ages):
            return False
    return all(s in states for s in patient.states) and not any(
        s in states for s in patient.not_states
    )


@dataclass(frozen=True)
class _Match:
    evidence: tuple[str, ...]
    detail: str


def _growth(measurements: Sequence[Measurement], at_least: float) -> _Match | None:
    by_site: dict[str, list[Measurement]] = {}
    for m in measurements:
        if m.when is not None:
            by_site.setdefault(m.site, []).append(m)
    for series in by_site.values():
        series.sort(key=lambda m: m.when or _EPOCH)
        first, last = series[0], series[-1]
        if last.size_mm - first.size_mm >= at_least and last.when != first.when:
            detail = f"grew from {_fmt(first.size_mm)} to {_fmt(last.size_mm)}"
            return _Match(_sources([first, last]), detail)
    return None


class _Evaluator:
    """Evaluates the content's recognition rules against one record's findings."""

    def __init__(self, findings: Findings, milia: Sequence[Mention], kb: KnowledgeBase) -> None:
        self.f = findings
        self.kb = kb
        self.milia = milia
        #: Regions too wide to say two things are at one site ("face": a cheek and a temple are not).
        self.whole_regions = whole_regions(kb.sites)
        age = findings.age_days
        #: The patient's age bands (patients.yaml); None when the age is unknown.
        self.bands = None if age is None else frozenset(b.id for b in kb.age_bands if b.holds(age))
        #: Set once causes are known: rules that need a cause of secondary milia look here.
        self.triggers: tuple[Hit, ...] = ()
        #: Patient states found, by id; every state is weighed before any rule that names one.
        self.states: dict[str, Hit] = {}
        for state in kb.patient_states:
            match = self.recognise(state.recognise, label("state", state.id))
            if match is not None:
                self.states[state.id] = Hit(state.id, match.evidence, match.detail)

    def allows(self, patient: PatientFilter | None) -> _Match | None:
        """The patient filter holds: an empty match (with the states' evidence), else None."""
        if patient is None:
            return _Match((), "")
        if not fits(patient, self.bands, self.states):
            return None
        evidence = tuple(e for s in patient.states for e in self.states[s].evidence)
        # What was found, in the record's words or codes ("recorded: kidney transplant").
        return _Match(evidence, "; ".join(self.states[s].detail for s in patient.states))

    def mentions(
        self,
        wanted: str,
        include_history: bool = False,
        scope: str = "patient",
        count_uncertain: bool = True,
    ) -> list[Mention]:
        allowed = {"present"}
        if count_uncertain:
            allowed.add("uncertain")
        if include_history:
            allowed.add("historical")
        return [
            m for m in self.f.with_label(wanted) if m.status in allowed and self._in_scope(m, scope)
        ]

    def _in_scope(self, mention: Mention, scope: str) -> bool:
        """Lesion: not said of another lesion. Site: said with the milia-like lesion, or at its
        site region ("milia in the radiotherapy field of the left cheek")."""
        if scope == "patient" or mention.via == "code":
            return True
        if scope == "lesion":
            return mention.lesion != "other"
        if scope == "milia":
            return mention.lesion == "milia"
        if mention.lesion == "milia" and mention.same_sentence:
            return True
        milia_sites = set(self.f.milia_sites)
        if not milia_sites:
            return True  # where the milia are is not recorded: the site cannot be ruled out
        own = set(mention.sites)
        return bool(own and own & milia_sites - self.whole_regions)

    def recognise(
        self,
        recognition: Recognition,
        wanted: str,
        history: bool = False,
        medicines: bool = True,
    ) -> _Match | None:
        """The rule holds: its gates (patient, needs_*, all_of, none_of) and, when it lists any,
        one of its routes. ``history`` counts historical mentions whatever the rule says;
        ``medicines=False`` leaves the medication list out (drugs named in notes still count)."""
        gated = self._gates(recognition, wanted, history, medicines)
        if gated is None:
            return None
        if not recognition.routes:
            return gated if recognition.gates else None
        found = self._route(recognition, wanted, history, medicines)
        if found is None:
            return None
        evidence = tuple(dict.fromkeys((*found.evidence, *gated.evidence)))
        return _Match(evidence, found.detail or gated.detail)

    def _gates(
        self, recognition: Recognition, wanted: str, history: bool, medicines: bool
    ) -> _Match | None:
        f = self.f
        allowed = self.allows(recognition.patient)
        if allowed is None:
            return None
        evidence, details = list(allowed.evidence), [allowed.detail] if allowed.detail else []
        for path, part in recognition.parts:
            if not path.startswith(("all_of", "none_of")):
                continue
            match = self.recognise(part, part_label(wanted, path), history, medicines)
            if path.startswith("none_of"):
                if match is not None:
                    return None
                continue
            if match is None:
                return None
            evidence += match.evidence
            details += [match.detail] if match.detail else []
        if recognition.needs_trigger and not self.triggers:
            return None
        if recognition.needs_triggers and not any(
            t.id in recognition.needs_triggers for t in self.triggers
        ):
            return None
        if recognition.needs_concepts and not any(
            m.status != "uncertain"
            for c in recognition.needs_concepts
            for m in f.with_label(label("concept", c))
        ):
            return None
        return _Match(tuple(dict.fromkeys(evidence)), "; ".join(details))

    def _route(
        self, recognition: Recognition, wanted: str, history: bool, medicines: bool
    ) -> _Match | None:
        """Any one route of ``recognition`` (codes/words, drugs, size, one lesion, growth,
        duration, count, any_of)."""
        f = self.f
        causes = [t for t in self.triggers if t.id in recognition.triggers]
        if causes:
            return _Match(
                tuple(dict.fromkeys(e for t in causes for e in t.evidence)),
                "with " + ", ".join(t.id.replace("-", " ") for t in causes),
            )
        found = self.mentions(
            wanted,
            history or recognition.include_history,
            recognition.scope,
            recognition.count_uncertain and not history,
        )
        if found:
            words = ", ".join(dict.fromkeys(m.text for m in found if m.text))
            return _Match(_sources(found), f"recorded: {words}" if words else "")
        if recognition.uncertain_mention:
            # A look-alike considered, or milia itself in doubt ("?milia", "could be milia").
            unsure = [
                m
                for m in f.mentions
                if m.status == "uncertain"
                and (
                    m.label.startswith("mimic:")
                    # a note in doubt ("?milia"), not a provisional problem-list entry
                    or (m.label.startswith("condition:") and m.via == "text")
                )
            ]
            unsure += [
                m
                for c in recognition.uncertain_concepts
                for m in f.with_label(label("concept", c))
                if m.status == "uncertain"
            ]
            if unsure:
                return _Match(_sources(unsure), "a look-alike is being considered")
        if recognition.milia_on_problem_list:
            listed = [
                m
                for m in self.milia
                if m.via == "code" and m.status == "present" and m.source.startswith("Condition/")
            ]
            if listed:
                return _Match(_sources(listed), "on the problem list")
        drugs = self._drugs(recognition, history or recognition.include_history, medicines)
        if drugs is not None:
            return drugs
        if recognition.lesion is not None:
            one = self._one_lesion(recognition.lesion)
            if one is not None:
                return one
        if recognition.size_mm_over is not None:
            large = [m for m in f.measurements if m.size_mm > recognition.size_mm_over]
            if large:
                biggest = max(large, key=lambda m: m.size_mm)
                return _Match(_sources([biggest]), _fmt(biggest.size_mm))
        if recognition.growth_mm_at_least is not None:
            grown = _growth(f.measurements, recognition.growth_mm_at_least)
            if grown is not None:
                return grown
            if (f.growth_written_mm or 0) >= recognition.growth_mm_at_least:
                return _Match(_sources(self.milia), f"grew by {_fmt(f.growth_written_mm or 0)}")
        if recognition.sites:
            wanted_sites = set(recognition.sites)
            if wanted_sites & set(f.milia_sites):
                return _Match(_sources(self.milia), "at " + ", ".join(sorted(wanted_sites)))
        if (
            recognition.onset_within_days is not None
            and f.onset_within_days is not None
            and f.onset_within_days <= recognition.onset_within_days
        ):
            return _Match(
                _sources(self.milia), f"new lesions within {round(f.onset_within_days)} days"
            )
        if recognition.duration_days_over is not None:
            sources = set(recognition.duration_from)
            days = [f.milia_days_written or 0.0] if "words" in sources else [0.0]
            since = f.milia_since if "conditions" in sources else f.milia_noted_since
            if since is not None and sources & {"notes", "conditions"}:
                days.append((f.now - since).days)
            longest = max(days)
            if longest > recognition.duration_days_over:
                return _Match(
                    _sources(self.milia), f"present for about {round(longest / 30.4)} months"
                )
        if (
            recognition.count_at_least is not None
            and (f.lesion_count or 0) >= recognition.count_at_least
        ):
            return _Match(_sources(self.milia), f"{f.lesion_count} or more lesions")
        for path, part in recognition.parts:
            if path.startswith("any_of"):
                match = self.recognise(part, part_label(wanted, path), history, medicines)
                if match is not None:
                    return match
        return None

    def _drugs(self, recognition: Recognition, history: bool, medicines: bool) -> _Match | None:
        """A drug of the rule's classes on the medication list or named in a note."""
        if not recognition.drug_classes:
            return None
        statuses = {"present", "historical"} if history else {"present"}
        uses = [
            u
            for u in (self.f.medicines if medicines else ())
            if not u.draft and u.status in statuses and self.of_classes(u, recognition.drug_classes)
        ]
        if uses:
            return _Match(_sources(uses), uses[0].name)
        named = [
            m
            for c in recognition.drug_classes
            for m in self.mentions(label("drug-class", c), history, recognition.scope, False)
        ]
        if named:
            return _Match(
                _sources(named), "recorded: " + ", ".join(dict.fromkeys(m.text for m in named))
            )
        return None

    def of_classes(self, use: MedicineUse, classes: Sequence[str]) -> bool:
        """The medicine belongs to one of the drug classes (and its route does not exclude it)."""
        for class_id in classes:
            drugs = self.kb.drug_class(class_id)
            if label("drug-class", class_id) in use.labels and not has_word(
                drugs.not_routes, use.route_text
            ):
                return True
        return False

    def _one_lesion(self, rule: LesionRule) -> _Match | None:
        """One milia-like lesion with every attribute of ``rule``."""
        for lesion in self.f.lesions:
            size = max(lesion.sizes_mm, default=0.0)
            if rule.size_mm_over is not None and size <= rule.size_mm_over:
                continue
            if rule.solitary and not lesion.solitary:
                continue
            if rule.sites and not set(rule.sites) & set(lesion.sites):
                continue
            words = ["solitary"] if rule.solitary else []
            words += [_fmt(size)] if rule.size_mm_over is not None else []
            return _Match((lesion.source,), " ".join(words) or "one lesion")
        if rule.solitary is None and not rule.sites and rule.size_mm_over is not None:
            # A coded measurement is one lesion too (its count is not said).
            large = [m for m in self.f.measurements if m.size_mm > rule.size_mm_over]
            if large:
                biggest = max(large, key=lambda m: m.size_mm)
                return _Match(_sources([biggest]), _fmt(biggest.size_mm))
        return None


# ------------------------------------------------------------------------------------ assess


def assess(findings: Findings, kb: KnowledgeBase, require_milia: bool = True) -> Assessment:
    """Weigh the findings against every item of the knowledge base. ``require_milia=False``
    weighs everything even in a record that does not mention milia (the corpus evaluation scores
    recognition itself, not the gate)."""
    milia_ids = {c.id for c in kb.conditions}
    milia = [
        m
        for m in findings.mentions
        if m.status in {"present", "uncertain"}
        and m.label.startswith("condition:")
        and m.label.removeprefix("condition:") in milia_ids
    ]
    if not any(not m.broad for m in milia):
        milia = []  # "Epidermal cyst" (L72.0) alone is not milia: the words must say so too
    ev = _Evaluator(findings, milia, kb)
    cautions = _cautions(findings, kb, ev, bool(milia))
    base = Assessment(
        cautions=cautions,
        states=tuple(ev.states.values()),
        age_bands=ev.bands,
        notes_read=findings.notes_read,
        coded_read=findings.coded_read,
        notes_cut=findings.notes_cut,
        described=findings.described,
    )
    if not milia and require_milia:
        return base

    triggers = _triggers(findings, kb, ev)
    ev.triggers = triggers
    red_flags = []
    for flag in kb.red_flags:
        match = ev.recognise(flag.recognise, label("red-flag", flag.id))
        if match is not None:
            red_flags.append(Hit(flag.id, match.evidence, match.detail))

    # The title of a broader code read as milia (L72.0 "Epidermal cyst" beside milia in words)
    # names no look-alike: the code is the milia's.
    titles = {(m.source, m.text) for m in milia if m.broad}
    mimics, malignant = [], []
    for mimic in kb.mimics:
        named = [
            m
            for m in ev.mentions(label("mimic", mimic.id))
            if m.status in mimic.named_when and (m.source, m.text) not in titles
        ]
        features, evidence, telling = [], list(_sources(named)), False
        for feature in mimic.features:
            match = ev.recognise(feature.recognise, feature_label(mimic.id, feature.id))
            if match is not None:
                features.append(feature.label)
                evidence += match.evidence
                telling = telling or not feature.supporting
        if named or telling:
            mimics.append(Hit(mimic.id, tuple(dict.fromkeys(evidence)), features=tuple(features)))
            if mimic.malignant_potential:
                malignant.append(mimic.id)

    variants = _variants(kb, ev, bool(triggers), {h.id for h in red_flags})
    coded = [m for m in milia if m.via == "code"]
    return replace(
        base,
        milia=Hit("milia", _sources(milia)) if milia else None,
        variants=variants,
        red_flags=tuple(red_flags),
        mimics=tuple(mimics),
        malignant_mimics=tuple(malignant),
        triggers=triggers,
        on_problem_list=any(m.source.startswith("Condition/") for m in coded),
        steps=_steps(kb, ev, variants),
    )


def _long_enough(use: MedicineUse, caution: OrderCaution) -> bool:
    """Meant for longer than the caution's minimum; with no duration stated, refills or a large
    fill count as long when the content says so."""
    least = caution.min_duration_days
    if least is None:
        return True
    if use.days is not None:
        return use.days > least
    refills, amount = caution.long_when_refills_at_least, caution.long_when_quantity_at_least
    return (refills is not None and (use.refills or 0) >= refills) or (
        amount is not None and (use.quantity or 0) >= amount
    )


def _is_drug(use: MedicineUse, wanted: str, recognition: Recognition, ev: _Evaluator) -> bool:
    return wanted in use.labels or ev.of_classes(use, recognition.drug_classes)


def _triggers(findings: Findings, kb: KnowledgeBase, ev: _Evaluator) -> tuple[Hit, ...]:
    hits = []
    for trigger in kb.triggers:
        wanted = label("trigger", trigger.id)
        if trigger.kind == "drug":
            uses = [
                u
                for u in findings.medicines
                if not u.draft
                and _is_drug(u, wanted, trigger.recognise, ev)
                and not (trigger.routes and not has_word(trigger.routes, u.route_text))
                and (
                    trigger.min_use_days is None
                    or (u.days is not None and u.days > trigger.min_use_days)
                )
            ]
            if uses:
                days = max((u.days for u in uses if u.days is not None), default=None)
                detail = uses[0].name + (f", used for about {days} days" if days else "")
                hits.append(Hit(trigger.id, _sources(uses), detail))
                continue
        # A drug named in a note ("on clobetasol for a year"), a burn or a procedure in the past:
        # exactly what causes secondary milia.
        # The medication list was weighed above, with the trigger's routes and duration.
        match = ev.recognise(trigger.recognise, wanted, history=True, medicines=False)
        if match is not None:
            hits.append(Hit(trigger.id, match.evidence, match.detail))
    return tuple(hits)


def _variants(
    kb: KnowledgeBase, ev: _Evaluator, has_trigger: bool, flags: set[str]
) -> tuple[str, ...]:
    findings = ev.f
    found = []
    for condition in kb.conditions:
        if condition.kind != "variant":
            continue
        criteria = condition.criteria
        # A variant named in words must still be this patient's ("neonatal milia" in an adult).
        named = criteria is None or ev.allows(criteria.patient) is not None
        named = named and bool(ev.mentions(label("condition", condition.id)))
        fits = criteria is not None and all(
            (
                ev.allows(criteria.patient) is not None,
                criteria.rule is None
                or ev.recognise(criteria.rule, label("variant-rule", condition.id)) is not None,
                not criteria.needs_trigger or has_trigger,
                not (criteria.text or criteria.codes)
                or bool(ev.mentions(label("variant", condition.id))),
                criteria.count_at_least is None
                or (findings.lesion_count or 0) >= criteria.count_at_least,
            )
        )
        flagged = criteria is not None and bool(flags & set(criteria.red_flags))
        if named or fits or flagged:
            found.append(condition.id)
    return tuple(found)


def _steps(
    kb: KnowledgeBase, ev: _Evaluator, variants: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """The management steps for the first variant that lists its own, else milia's, offered to
    this patient (age bands, states); with the age unknown, an age-limited step is listed with
    its limit named rather than withheld."""
    variant = next((kb.condition(v) for v in variants if kb.condition(v).management), None)
    base = next(c for c in kb.conditions if c.kind == "milia")
    ids = (variant or base).management or [s.id for s in kb.management.ladder]
    offered = []
    for step_id in ids:
        patient = kb.step(step_id).patient
        if ev.allows(patient) is not None:
            offered.append((step_id, ""))
        elif patient is not None and ev.bands is None and patient.ages:
            unaged = patient.model_copy(update={"ages": []})
            if ev.allows(unaged) is not None:
                offered.append((step_id, step_limit(kb, patient)))
    return tuple(offered)


def step_limit(kb: KnowledgeBase, patient: PatientFilter) -> str:
    """Who an age-limited step is for, when the patient's age is unknown: "from 12 years"."""
    youngest = min(kb.age_band(b).days_at_least for b in patient.ages)
    years = round(youngest / 365.25)
    return f"from {years} year{'s' if years != 1 else ''}" if youngest else "infants"


def _cautions(
    findings: Findings, kb: KnowledgeBase, ev: _Evaluator, has_milia: bool
) -> tuple[Hit, ...]:
    hits = []
    for caution in kb.order_cautions:
        if caution.requires_milia and not has_milia:
            continue
        allowed = ev.allows(caution.patient)
        if allowed is None:
            continue
        wanted = label("caution", caution.id)
        uses = [
            u
            for u in findings.medicines
            if u.draft
            and _is_drug(u, wanted, caution.drug, ev)
            and (
                not (caution.site_text or caution.sites)
                or has_word(caution.site_text, u.site_text)
                or bool(set(caution.sites) & set(u.sites))
            )
            and _long_enough(u, caution)
        ]
        if uses:
            hits.append(Hit(caution.id, (*_sources(uses), *allowed.evidence), uses[0].name))
    return tuple(hits)
