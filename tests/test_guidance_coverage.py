"""Every point of the milia guidance lives somewhere in cards/.

The checklist below was written from shared/seed/milia-guidance-article.txt (and, marked "clinical",
from shared/reference/clinical.md), independently of the content. Each point names the part of the
knowledge base where it must live and words that must all appear in one record there. The terminal
summary of the run lists every point with the file and line where it was found.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from cds_service.clinical.knowledge import CONTENT_FILES, KnowledgeBase
from cds_service.clinical.loading import load_knowledge
from cds_service.clinical.yamlfile import YamlDocument, load
from tests.conftest import ROOT

CARDS = ROOT / "cards"

# (section, guidance point, where in cards/, words that must all appear in one record there)
CHECKLIST: list[tuple[str, str, str, list[str]]] = [
    # What milia are
    (
        "what",
        "tiny keratin cysts, 1-2 mm, white or yellowish",
        "conditions",
        [r"keratin", r"1.2 ?mm", r"white|yellow"],
    ),
    (
        "what",
        "not pimples: no pus, will not pop when squeezed",
        "card_templates",
        [r"not pimples", r"squeez"],
    ),
    ("what", "common in newborns", "conditions", [r"newborn|neonat", r"half|common|40"]),
    # Types
    ("types", "primary milia", "conditions", [r"primary-milia"]),
    (
        "types",
        "secondary milia after injury, burns, blisters, procedures",
        "conditions",
        [r"secondary-milia", r"burn|blister|injur|damag"],
    ),
    (
        "types",
        "neonatal milia resolve within weeks, no treatment",
        "conditions",
        [r"neonatal-milia", r"week"],
    ),
    (
        "types",
        "multiple eruptive milia, clusters, genetic links",
        "conditions",
        [r"multiple-eruptive-milia"],
    ),
    ("types (clinical)", "milia en plaque", "conditions", [r"milia-en-plaque"]),
    (
        "types (clinical)",
        "genodermatosis-associated milia",
        "conditions",
        [r"genodermatosis-milia", r"gorlin|bazex|rombo"],
    ),
    # Causes
    ("causes", "sun damage", "triggers", [r"sun|solar|actinic"]),
    ("causes", "heavy or oil-based skincare products", "triggers", [r"occlusive|heavy|oil"]),
    ("causes", "skin trauma: burns", "triggers", [r"burn"]),
    ("causes", "blistering conditions", "triggers", [r"blister"]),
    ("causes", "cosmetic procedures", "triggers", [r"dermabrasion|laser|peel"]),
    (
        "causes",
        "long-term heavy steroid creams",
        "triggers",
        # The class (drugs.yaml) holds the ATC codes D07AC and D07AD.
        [r'"drug_classes": \["potent-topical-corticosteroids"\]', r"corticosteroid|steroid"],
    ),
    ("causes", "certain medications", "triggers", [r"l01bc02|fluorouracil"]),
    ("causes (clinical)", "ciclosporin", "triggers", [r"l04ad01|ciclosporin"]),
    ("causes (clinical)", "kinase inhibitors", "triggers", [r"l01ec01|vemurafenib"]),
    # Red flags (the guidance's list)
    ("red flags", "change in size, colour or shape", "red_flags", [r"size", r"colou?r", r"shape"]),
    ("red flags", "painful", "red_flags", [r"pain"]),
    ("red flags", "spreading rapidly", "red_flags", [r"spread"]),
    (
        "red flags",
        "after an injury and not improving",
        "red_flags",
        [r"injur|trauma", r"improv|not heal"],
    ),
    ("red flags", "unsure whether it is milia", "red_flags", [r"uncertain|unsure|doubt"]),
    ("red flags", "bleeding or crusting", "red_flags", [r"bleed", r"crust"]),
    ("red flags", "growing larger", "red_flags", [r"growth_mm_at_least|grow"]),
    (
        "red flags",
        "persisting for many months",
        "red_flags",
        [r"duration_days_over", r"month|persist"],
    ),
    ("red flags", "other symptoms alongside", "red_flags", [r"symptom"]),
    (
        "red flags",
        "history of skin cancer",
        "red_flags",
        [r"history", r"skin cancer|carcinoma|melanoma"],
    ),
    ("red flags", "ulceration", "red_flags", [r"ulcer"]),
    ("red flags (clinical)", "larger than 3 mm", "red_flags", [r"size_mm_over.: 3"]),
    (
        "red flags (clinical)",
        "pearly, rolled edge, telangiectasia",
        "red_flags",
        [r"pearly", r"telangiectas"],
    ),
    (
        "red flags (clinical)",
        "blistering or fragility on sun-exposed hands",
        "red_flags",
        [r"blister|fragil"],
    ),
    (
        "red flags (clinical)",
        "neonatal milia persisting beyond about 3 months",
        "red_flags",
        [r"neonat|newborn|infant", r'"ages": \["infant"\]', r'"duration_days_over": 90'],
    ),
    ("red flags (clinical)", "eyelid margin or lash loss", "red_flags", [r"eyelid|lash"]),
    # Mimics
    ("mimics", "basal cell carcinoma", "mimics", [r"basal-cell-carcinoma", r"254701007"]),
    ("mimics", "sebaceous hyperplasia", "mimics", [r"sebaceous-hyperplasia", r"umbilicat"]),
    ("mimics", "syringomas", "mimics", [r"syringoma", r"eyelid"]),
    ("mimics", "closed comedones", "mimics", [r"closed-comedones", r"acne"]),
    ("mimics (clinical)", "molluscum contagiosum", "mimics", [r"molluscum"]),
    ("mimics (clinical)", "xanthelasma", "mimics", [r"xanthelasma"]),
    ("mimics (clinical)", "epidermoid cyst", "mimics", [r"epidermoid"]),
    ("mimics (clinical)", "trichoepithelioma", "mimics", [r"\"id\": \"trichoepithelioma\""]),
    ("mimics (clinical)", "colloid milium", "mimics", [r"colloid"]),
    ("mimics (clinical)", "milia-like calcinosis cutis", "mimics", [r"calcinosis"]),
    # Treatment ladder
    (
        "treatment",
        "leave them alone; many resolve in weeks to months",
        "management.ladder",
        [r"leave-alone", r"month"],
    ),
    (
        "treatment",
        "gentle exfoliation: salicylic acid, glycolic acid",
        "management.ladder",
        [r"salicylic", r"glycolic"],
    ),
    (
        "treatment",
        "professional extraction with a sterile needle",
        "management.ladder",
        [r"needle", r"extract"],
    ),
    (
        "treatment",
        "prescription retinoids, irritation around the eyes",
        "management.ladder",
        [r"retinoid", r"eye|periocular"],
    ),
    (
        "treatment (clinical)",
        "retinoids avoided in pregnancy",
        "management.ladder",
        [r"retinoid", r"pregnan"],
    ),
    (
        "treatment",
        "chemical peels, laser resurfacing, microdermabrasion",
        "management.ladder",
        [r"peel", r"laser", r"microdermabrasion"],
    ),
    # What not to do
    ("avoid", "no sharp tools at home", "management.avoid", [r"sharp|needle|tool"]),
    ("avoid", "do not dig them out / squeeze / pick", "management.avoid", [r"squeez|pick|dig"]),
    ("avoid", "no harsh scrubs", "management.avoid", [r"scrub"]),
    ("avoid", "no heavy oily creams around the eyes", "management.avoid", [r"eye", r"cream|oil"]),
    (
        "avoid",
        "DIY removal: scarring, infection, dark spots, redness",
        "management.avoid",
        [r"scar", r"infect"],
    ),
    # Prevention
    ("prevention", "non-comedogenic products", "management.prevention", [r"non-comedogenic"]),
    ("prevention", "remove makeup thoroughly", "management.prevention", [r"make-?up"]),
    ("prevention", "sunscreen daily", "management.prevention", [r"sunscreen|sun protection"]),
    ("prevention", "avoid thick eye creams", "management.prevention", [r"eye cream"]),
    (
        "prevention",
        "gentle exfoliation once or twice a week",
        "management.prevention",
        [r"exfoliat", r"week"],
    ),
    ("prevention", "avoid long-term heavy steroid creams", "management.prevention", [r"steroid"]),
    # When to speak to a doctor
    (
        "see a clinician",
        "any persistent, changing or unusual lesion",
        "management.see_clinician",
        [r"chang|persist|unusual"],
    ),
    ("neonates", "newborns: no treatment, reassure", "management.neonatal", [r"treatment|reassur"]),
    # References of the guidance
    (
        "references",
        "Berk et al. 2022, G Ital Dermatol Venereol",
        "references",
        [r"berk-2022", r"unverified"],
    ),
    ("references", "Kaushik & Gupta, StatPearls: Milia", "references", [r"kaushik", r"statpearls"]),
    ("references", "Nalluri & Gopinath 2018, Primary milia", "references", [r"nalluri"]),
    ("references", "Patel & Kroumpouzos 2017, Benign cutaneous tumors", "references", [r"patel"]),
    (
        "references",
        "Sachdeva & Balsekar 2009, Transient skin lesions in a newborn",
        "references",
        [r"sachdeva"],
    ),
    (
        "references (clinical)",
        "Berk & Bayliss 2008 by verified DOI",
        "references",
        [r"10\.1016/j\.jaad\.2008\.07\.034", r"\"verified\""],
    ),
]

FOUND: list[tuple[str, str, str]] = []


@cache
def knowledge() -> KnowledgeBase:
    return load_knowledge(CARDS)


@cache
def documents() -> dict[str, YamlDocument]:
    docs: dict[str, YamlDocument] = {}
    for name in CONTENT_FILES:
        doc = load(CARDS / name)
        for key in doc.data:
            docs[str(key)] = doc
    return docs


def records(where: str) -> list[tuple[tuple[str | int, ...], Any]]:
    """(location, record) for each record of a part of the knowledge base, e.g. management.avoid."""
    node: Any = knowledge()
    location: tuple[str | int, ...] = ()
    for part in where.split("."):
        node = getattr(node, part)
        location = (*location, part)
    if isinstance(node, dict):
        return [((*location, key), value) for key, value in node.items()]
    return [((*location, index), value) for index, value in enumerate(node)]


def text_of(record: Any) -> str:
    return json.dumps(record.model_dump(mode="json")).lower()


@pytest.mark.parametrize(
    ("section", "point", "where", "words"), CHECKLIST, ids=[f"{c[0]}: {c[1]}" for c in CHECKLIST]
)
def test_guidance_point_lives_in_cards(
    section: str, point: str, where: str, words: list[str]
) -> None:
    for location, record in records(where):
        text = text_of(record)
        if all(re.search(word, text) for word in words):
            doc = documents()[str(location[0])]
            FOUND.append((section, point, f"{doc.path.relative_to(ROOT)}:{doc.line_of(location)}"))
            return
    pytest.fail(f"guidance point not in cards/{where}: {point} (looked for {words})")


def test_every_reference_of_the_guidance_keeps_its_verification_status() -> None:
    guidance = [r for r in knowledge().references if r.origin == "guidance"]
    assert len(guidance) >= 5
    for reference in guidance:
        if reference.verification != "verified":
            # An unconfirmed PMID is never linked (clinical.md §3).
            assert reference.link is None or "pubmed.ncbi.nlm.nih.gov/?term=" in reference.link
