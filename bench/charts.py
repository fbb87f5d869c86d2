"""Charts that look like production for the benchmark (issue 17), built with the fixture builder
(fixtures/scenarios/build.py):

- the heavy chart: 500 vital signs, 300 short free-text exam findings from 60 earlier visits that
  say nothing about milia, 11 coded conditions, and one milia exam note (about 165 KiB);
- the same chart with notes that differ on every request: each body of a pre-generated pool has its
  own 300 findings and its own milia note, so no text cache can hide the cost of reading;
- a newborn chart; an order-sign with a long medication list.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fixtures" / "scenarios"))

import build  # noqa: E402  (the fixture builder is a script, not a package)

PID = "bench-heavy"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

#: Vital signs: LOINC code, display, unit, typical value and spread.
VITALS = [
    ("8867-4", "Heart rate", "/min", 74, 12),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", 132, 14),
    ("8462-4", "Diastolic blood pressure", "mm[Hg]", 82, 9),
    ("8310-5", "Body temperature", "Cel", 36.8, 0.4),
    ("9279-1", "Respiratory rate", "/min", 16, 3),
    ("29463-7", "Body weight", "kg", 84, 6),
    ("59408-5", "Oxygen saturation", "%", 97, 2),
]

#: Eleven ordinary conditions (none of them skin): SNOMED CT code, display.
CONDITIONS = [
    ("38341003", "Hypertensive disorder"),
    ("44054006", "Diabetes mellitus type 2"),
    ("55822004", "Hyperlipidemia"),
    ("195967001", "Asthma"),
    ("235595009", "Gastroesophageal reflux disease"),
    ("396275006", "Osteoarthritis"),
    ("35489007", "Depressive disorder"),
    ("40930008", "Hypothyroidism"),
    ("433144002", "Chronic kidney disease stage 3"),
    ("414916001", "Obesity"),
    ("61582004", "Allergic rhinitis"),
]

#: Short exam findings of an ordinary visit, with slots varied per note (none mentions milia or a
#: skin lesion).
FINDINGS = [
    "Lungs clear to auscultation {side}, no wheeze or crackles.",
    "Heart regular rate and rhythm, no murmur; BP {sys}/{dia} today.",
    "Abdomen soft, non-tender, no organomegaly; bowel sounds {bowel}.",
    "No pedal oedema; peripheral pulses {pulse} bilaterally.",
    "Throat mildly erythematous, tonsils {tonsil}, no exudate.",
    "{Side} knee: crepitus on flexion, no effusion, ROM {rom} degrees.",
    "Alert and oriented x3, mood {mood}, affect congruent.",
    "Thyroid not enlarged, no nodules palpable; weight {weight} kg.",
    "Ears: TMs intact, {side} canal with a little wax.",
    "Feet examined: sensation intact to monofilament, nails {nails}.",
    "Chest expansion symmetrical, percussion resonant, RR {rr}.",
    "Nasal mucosa {nasal}, no polyps seen.",
]
SLOTS = {
    "side": ["bilaterally", "on the left", "on the right", "throughout"],
    "Side": ["Left", "Right"],
    "bowel": ["normal", "active", "present in all quadrants"],
    "pulse": ["palpable", "2+", "normal"],
    "tonsil": ["not enlarged", "grade 1", "grade 2"],
    "mood": ["euthymic", "low", "good", "a bit flat"],
    "nails": ["thickened", "normal", "trimmed"],
    "nasal": ["pale and boggy", "normal", "mildly congested"],
}

#: Milia exam notes written the ways clinicians write them (none carries a red flag).
MILIA_NOTES = [
    "Several 1-2 mm firm white papules on both cheeks, consistent with milia. No change, asymptomatic.",
    "Milia x4 periorbital, pinpoint, pearly white; present for a few months, not bothering her.",
    "Skin: tiny white cysts upper cheeks/nasal bridge c/w milia, stable since last visit.",
    "Few milia on the chin and forehead, 1 mm, smooth, no erythema, no bleeding.",
    "Multiple small white keratin cysts around the eyes (milia), unchanged, pt reassured.",
]


def _findings_note(rng: random.Random) -> str:
    template = rng.choice(FINDINGS)
    values = {k: rng.choice(v) for k, v in SLOTS.items()}
    values.update(
        sys=rng.randint(110, 150),
        dia=rng.randint(65, 95),
        rom=rng.randint(90, 135),
        weight=rng.randint(70, 98),
        rr=rng.randint(12, 20),
    )
    return template.format(**values)


def _vital(index: int, rng: random.Random) -> dict[str, Any]:
    code, display, unit, typical, spread = VITALS[index % len(VITALS)]
    value = round(typical + rng.uniform(-spread, spread), 1)
    return {
        "resourceType": "Observation",
        "id": f"vital-{index}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code}], "text": display},
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": build.day(-(index // len(VITALS)) * 7),
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def heavy_chart(seed: int = 0) -> dict[str, Any]:
    """The heavy chart; ``seed`` varies every free-text note (0 is the fixed chart)."""
    rng = random.Random(seed)
    pat = build.patient(PID, "1961-04-12", "female")
    vitals = [_vital(i, rng) for i in range(500)]
    findings = [
        build.exam(
            f"finding-{visit}-{k}",
            PID,
            text=_findings_note(rng),
            code=(LOINC, "29545-1", "Physical findings"),
            when=build.day(-visit * 14 - 7),
        )
        for visit in range(60)
        for k in range(5)
    ]
    milia_note = build.exam(
        "milia-note", PID, text=MILIA_NOTES[seed % len(MILIA_NOTES)], when=build.day(-1)
    )
    conditions = [
        build.condition(
            f"condition-{i}", PID, (SNOMED, code, display), text=display, onset=build.day(-900 - i)
        )
        for i, (code, display) in enumerate(CONDITIONS)
    ]
    request = build.patient_view(
        f"bench-heavy-{seed}",
        pat,
        conditions=conditions,
        observations=[*vitals, *findings, milia_note],
    )
    request["hookInstance"] = f"bench-{seed:08d}-0000-4000-8000-000000000000"
    # As many EHRs send a search: entries with their resource only.
    for bundle in request["prefetch"].values():
        if isinstance(bundle, dict) and bundle.get("resourceType") == "Bundle":
            bundle["entry"] = [{"resource": e["resource"]} for e in bundle.get("entry", [])]
    return request


def newborn_chart() -> dict[str, Any]:
    pat = build.patient("bench-newborn", build.day(-12), "male")
    notes = [
        build.exam(
            "newborn-1",
            "bench-newborn",
            text="Term baby, feeding well. Tiny white spots on the nose and cheeks since birth.",
            when=build.day(-1),
        ),
        build.exam(
            "newborn-2",
            "bench-newborn",
            text="Anterior fontanelle soft, red reflex present bilaterally, hips stable.",
            when=build.day(-1),
        ),
    ]
    return build.patient_view("bench-newborn", pat, observations=notes)


#: Ordinary long-term medicines (RxNorm ingredient codes) for the long medication list.
MEDICINES = [
    ("29046", "lisinopril 10 mg tablet"),
    ("6809", "metformin 500 mg tablet"),
    ("83367", "atorvastatin 20 mg tablet"),
    ("435", "albuterol inhaler"),
    ("7646", "omeprazole 20 mg capsule"),
    ("161", "acetaminophen 500 mg tablet"),
    ("36437", "sertraline 50 mg tablet"),
    ("10582", "levothyroxine 75 mcg tablet"),
    ("17767", "amlodipine 5 mg tablet"),
    ("41493", "meloxicam 7.5 mg tablet"),
]


def order_sign_long_list() -> dict[str, Any]:
    pid = "bench-orders"
    pat = build.patient(pid, "1958-02-03", "female")
    meds = [
        build.medication(f"med-{i}", pid, (RXNORM, code, text), text=text, dosage="once daily")
        for i in range(30)
        for code, text in [MEDICINES[i % len(MEDICINES)]]
    ]
    steroid = build.medication(
        "order-clobetasol",
        pid,
        (RXNORM, "2541", "clobetasol"),
        text="clobetasol propionate 0.05% cream, apply to the face twice daily",
        status="draft",
        route="topical",
        days=60,
    )
    request = build.order("bench-order-sign-long", "order-sign", pat, [steroid, *meds[:29]])
    return request
