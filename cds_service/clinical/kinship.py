"""Whom a note's kinship words name: the patient, when a relative of the other generation tells.

"Mum has a white spot that is getting bigger" is family history in most notes, and the lexicon's
FAMILY cues read it so. Told by the patient's child ("Tel consult w/ daughter. Mum has a white
spot that is getting bigger"), "mum" is the patient; told by a parent ("Mum rang: son has a white
spot"), "son" is. A red flag read as a relative's would leave the card benign, so in a passage
where a relative of one generation is the one telling, the FAMILY cues that begin with a word of
the other generation are set aside. Of the same generation ("seen with mum; dad had BCCs"), the
cues stand.
"""

from __future__ import annotations

from typing import Any

PARENTS = frozenset({"mum", "mother", "mom", "mam", "mummy", "mommy", "dad", "father", "daddy"})
CHILDREN = frozenset({"son", "daughter", "sons", "daughters", "grandson", "granddaughter"})
#: Words just before a relative who is the one telling: "consult w/ daughter", "history from son",
#: "accompanied by her daughter" (a possessive may stand between).
_TOLD_WITH = frozenset({"with", "w/", "from", "by", "via"})
_POSSESSIVE = frozenset({"her", "his", "their", "pt", "pt's", "patient's", "the"})
#: Words just after a relative who is the one telling: "daughter rang", "son reports".
_TELLS = frozenset(
    {"rang", "called", "phoned", "rings", "calls", "reports", "reported", "says", "said"}
    | {"states", "stated", "explains", "explained", "messaged", "emailed", "wrote", "writes"}
)


def telling_generation(doc: Any) -> frozenset[str]:
    """The kinship words of the relatives who tell in ``doc`` (empty when none does)."""
    told: set[str] = set()
    last_teller = -2
    for token in doc:
        word = token.lower_
        if word not in PARENTS and word not in CHILDREN:
            continue
        before = token.i - 1
        while before >= 0 and doc[before].lower_ in _POSSESSIVE:
            before -= 1
        after = doc[token.i + 1].lower_ if token.i + 1 < len(doc) else ""
        listed = before >= 0 and doc[before].lower_ in {"and", "&"} and before - 1 == last_teller
        if (before >= 0 and doc[before].lower_ in _TOLD_WITH) or after in _TELLS or listed:
            told.add(word)  # "seen with mum and (her) son": both tell
            last_teller = token.i
    return frozenset(told)


def patient_named_as_kin(doc: Any) -> frozenset[str]:
    """Kinship words that name the patient in ``doc``: the other generation's than the teller's,
    when the tellers are of one generation only."""
    told = telling_generation(doc)
    if told and told <= CHILDREN:
        return PARENTS
    if told and told <= PARENTS:
        return CHILDREN
    return frozenset()


def set_aside_patient_kin(doc: Any) -> None:
    """Drop the FAMILY cues (medspaCy modifiers) that begin with a word naming the patient, and
    what they said of the mentions they reached."""
    kin = patient_named_as_kin(doc)
    graph = doc._.context_graph
    if not kin or graph is None:
        return
    dropped = {
        id(m)
        for m in graph.modifiers
        if m.category == "FAMILY" and doc[m.modifier_span[0]].lower_ in kin
    }
    if not dropped:
        return
    graph.modifiers = [m for m in graph.modifiers if id(m) not in dropped]
    graph.edges = [(t, m) for t, m in graph.edges if id(m) not in dropped]
    for entity in doc.ents:
        if any(id(m) in dropped for m in entity._.modifiers):
            entity._.modifiers = tuple(m for m in entity._.modifiers if id(m) not in dropped)
            entity._.is_family = any(m.category == "FAMILY" for m in entity._.modifiers)
