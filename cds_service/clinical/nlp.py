"""The spaCy/medspaCy pipeline and the plain-text helpers around it.

What is here: turning a note into text the matchers read (narrative XHTML, wrapped lines, "Skin: no
milia"), cutting long notes into passages of whole sentences, the clinical sentence splitter, and the
pipeline itself: the tokenizer with the reviewed shorthand kept whole, the sentence splitter, and
medspaCy's ConText with its defaults (less those that misread skin notes) and the lexicon's own cues.
"""

from __future__ import annotations

import html
import re
import sys
import types
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .terms import Position, parse, sequences, shorthands, token_pattern, with_shorthand

if TYPE_CHECKING:
    from .knowledge import KnowledgeBase

#: An XHTML or markdown tag, by the grammar of one (a name right after "<", then attributes):
#: a note's "<60" or "< 2 mm ... BP >140" is a comparison, and the words between are read.
_TAG = re.compile(
    r"</?[A-Za-z][A-Za-z0-9]*"
    r"""(?:\s+[A-Za-z_:][-A-Za-z0-9_:.]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*"""
    r"\s*/?>"
)

#: "Skin: no milia" - ConText reads ": no" as a backward negation ("Bleeding: no"); a heading
#: followed by a negated phrase is made its own sentence so the negation points forward. The
#: phrase is on the heading's line: in a template "Bleeding: No" ends its line and negates the
#: heading, not the next line's "Crusting".
_HEADING_THEN_NEGATION = re.compile(
    r":[ \t]*(?=(?:no|not|without|denies)[ \t]+\w)"
    r"(?!not\s+(?:seen|present|noted|found|identified|evident)\b)",
    re.IGNORECASE,
)
#: Tokens after which a full stop does not end a sentence ("approx. 2 yrs", "Dr. Smith").
_NO_BREAK_AFTER = frozenset(
    {"approx", "appr", "dr", "e.g", "i.e", "vs", "c", "fig", "sup", "incl", "inc", "esp", "re"}
)
#: Shorthand that also ends sentences: its full stop ends one before a capital ("unchanged per
#: pt. Seb keratosis L temple"), not before a lower-case word ("porphyria cut. tarda").
_BREAK_BEFORE_CAPITAL = frozenset({"pt", "ca", "no", "cut", "prn"})
#: ConText default cues that misread skin notes ("but" is replaced by the lexicon's own list, which
#: leaves out "still": "if still present in 6 months"): "to exclude BCC" and "evaluate for" ask a
#: question (the lexicon reads them as uncertain), "return" alone is "returned from holiday".
_DEFAULT_CUES_DROPPED = frozenset(
    {"to exclude", "test for", "evaluate for", "checked for", "return", "secondary", "free"}
    # "since" is not "because" in skin notes ("since birth"); "likely milia" says milia; a
    # relative named without a verb is often the informant ("mum reports ..."); "resolved" is
    # read as past, not as absent (the lexicon's HISTORICAL cues).
    | {"because", "possible", "family", "worried about", "concerned about", "resolved"}
    | {"rather than", "presentation", "but"}
    # medspaCy reads "did/could not rule out" backward only; the lexicon reads it forward
    # ("could not rule out BCC"), as "cannot rule out".
    | {"did not rule out"}
)


def plain_text(value: str) -> str:
    """Narrative XHTML (``text.div``) or markdown notes as plain text."""
    return html.unescape(_TAG.sub(" ", value)) if "<" in value else value


#: A line break that only wraps a sentence ("no\nimprovement"): read as a space.
_WRAPPED = re.compile(r"(?<=[A-Za-z0-9,])[ \t]*\n[ \t]*(?=[a-z]|[A-Z]{2,6}\b)")


#: "~1 yr", "~3 mm": the tilde means about; apart from the number, both are read.
_TILDE = re.compile(r"~(?=\d)")


#: A word repeated many times in a row ("no no no no ..."): kept three times. Every repeat of a
#: cue would be weighed against every other by ConText, and three say all there is to say.
_REPEATED = re.compile(r"\b(\w+)((?:[\s,;.]+\1\b){2})(?:[\s,;.]+\1\b)+", re.IGNORECASE)


#: One character repeated ("::::::", "......"): kept three times. A long run is one token whose
#: prefixes and suffixes the tokenizer tries one by one, at a cost growing with its square.
_RUN = re.compile(r"(\W)\1{3,}")
#: A "word" longer than any word (a pasted blob, a URL): cut into pieces the tokenizer reads in
#: linear time.
_LONG_TOKEN = re.compile(r"\S{60}(?=\S)")
#: The most text one reading looks at unless the caller says otherwise (notes: the settings'
#: per-note limit, applied and reported by the record reader).
MAX_TEXT = 20_000


#: Characters word processors and web pages write for plain ones, which the tokenizer would read
#: as words of their own or inside words: typographic apostrophes ("won\u2019t"), spaces that are
#: not spaces (no-break, thin, ideographic, and the invisible ones that mark where a line may
#: break: "Milia\u200bon the nose" is two words), hyphens and dashes between words
#: ("non\u2013healing"), and full-width letters and digits. Invisible spaces between two
#: visible characters are spaces (``_INVISIBLE_SPACE``); beside a space, or soft hyphens and
#: joiners inside a word, they are dropped.
_TYPOGRAPHY = str.maketrans(
    {
        **dict.fromkeys("\u2019\u2018\u02bc", "'"),
        **dict.fromkeys("\u00a0\u2002\u2003\u2007\u2009\u200a\u202f\u3000", " "),
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad"),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-"),
        **{chr(0xFF01 + i): chr(0x21 + i) for i in range(94)},
    }
)
_INVISIBLE_SPACE = re.compile(r"(?<!\s)[\u200b\u200c\u2060\ufeff\u180e]+(?!\s)")
#: Every other invisible format character (Unicode category Cf, written out: listing them at
#: start-up costs 70 ms; a test checks the list against unicodedata): direction marks and
#: embeddings pasted with right-to-left text ("that \u200ebleeds\u200e easily"), invisible
#: operators, tags. Left in, they hide the word they touch from every term.
FORMAT_CHARACTERS = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)


def plain_typography(text: str) -> str:
    """``text`` with its typography plain (``_TYPOGRAPHY``), invisible format characters gone
    (``FORMAT_CHARACTERS``) and tabs as spaces."""
    if "\t" in text:
        text = text.replace("\t", " ")
    if text.isascii():
        return text
    text = _INVISIBLE_SPACE.sub(" ", text).translate(_TYPOGRAPHY)
    return FORMAT_CHARACTERS.sub("", text)


#: A template's negative answer after its heading ("Bleeding: N", "Tender: -", "Ulcerated: nil"),
#: written as "no" so that it negates the heading as "Bleeding: no" does. Not "X", which some
#: templates use for a ticked box.
_NO_ANSWER = re.compile(
    r"(?m)(?<=:)[ \t]*(?i:n|neg|negative|nil|none|absent|not present|-|\u2013|\u2014|\u2717|\u2718)"
    r"[ \t]*(?=$|[,;|]|[ \t]{2,}|[ \t]+[A-Z][A-Za-z /-]{0,30}:)"
)
#: A template's answer followed by the next heading on the same line ("Bleeding: Y Growth: N"):
#: a sentence ends after the answer, so that "Growth: no" does not reach back to "Bleeding".
_ANSWER_THEN_HEADING = re.compile(
    r"(?m)(:[ \t]*(?i:y|yes|n|no|neg|negative|nil|none|absent|present|positive|\+|-|x))"
    r"[ \t]+(?=[A-Z][A-Za-z /-]{0,30}:)"
)


#: Check boxes: an empty one ("[ ] Ulcer", "\u2610 Pain") says no, a ticked one ("[x] Growth",
#: "\u2611", "\u2612") says yes, as a template's answer does ("Growth: yes"); each box and its
#: label (up to the next box or the end of the line) is a sentence of its own.
_EMPTY_BOX = re.compile(r"\[ ?\]|\u2610")
_TICKED_BOX = re.compile(r"(?:\[[xX\u2713\u2714]\]|[\u2611\u2612])[ \t]*([^\[\n\u2610-\u2612]*)")


def _ticked(match: re.Match[str]) -> str:
    label = match[1].rstrip()
    return f" . {label}: yes . " if label else " . "


def template_answers(text: str) -> str:
    """Negative template answers as "no", each answer its own sentence (see :data:`_NO_ANSWER`
    and :data:`_ANSWER_THEN_HEADING`); check boxes likewise (:data:`_EMPTY_BOX`)."""
    if "[" in text or "\u2610" in text or "\u2611" in text or "\u2612" in text:
        text = _EMPTY_BOX.sub(" . no ", _TICKED_BOX.sub(_ticked, text))
    if ":" not in text:
        return text
    return _ANSWER_THEN_HEADING.sub(r"\1 . ", _NO_ANSWER.sub(" no", text))


def normalise(text: str, limit: int = MAX_TEXT) -> str:
    # Cut to the limit before a blob is cut into pieces: the spaces added must not push the
    # last word past the limit ("<60 characters>BCC" read as "... BC").
    text = _RUN.sub(r"\1\1\1", plain_typography(plain_text(text[: limit * 4])))[:limit]
    text = template_answers(text)
    text = _LONG_TOKEN.sub(lambda m: m[0] + " ", text)
    text = _REPEATED.sub(r"\1\2", _TILDE.sub("~ ", text))
    return _WRAPPED.sub(" ", _HEADING_THEN_NEGATION.sub(". ", text))


def filter_text(text: str) -> str:
    """``text`` lower-cased as the relevance pre-filter looks at it: with what :func:`normalise`
    does that can change a word (narrative XHTML as text, a pasted blob cut into pieces), so
    that every word the reader reads is in it."""
    text = template_answers(_RUN.sub(r"\1\1\1", plain_typography(plain_text(text))))
    return (_LONG_TOKEN.sub(lambda m: m[0] + " ", text) if len(text) > 60 else text).lower()


#: Passages are cut at sentence ends near this many characters (a sentence longer than twice this,
#: such as a run of one word, is cut at a space).
_PASSAGE = 2000
_SENTENCE_END = re.compile(r"(?<=[.!?;\n])\s+")


def passages(text: str) -> list[str]:
    if len(text) <= _PASSAGE:
        return [text]
    passages: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > 2 * _PASSAGE:
            cut = sentence.rfind(" ", 0, _PASSAGE)
            cut = cut if cut > 0 else _PASSAGE
            if current:
                passages.append(current)
                current = ""
            passages.append(sentence[:cut])
            sentence = sentence[cut:]
        if current and len(current) + len(sentence) > _PASSAGE:
            passages.append(current)
            current = ""
        current = f"{current} {sentence}" if current else sentence
    if current:
        passages.append(current)
    return passages


def questions(doc: Any, sentence_of: list[int]) -> set[int]:
    """Sentences that end in a question mark: what they name is asked about, not found."""
    last: dict[int, str] = {}
    for token in doc:
        if not token.is_space:
            last[sentence_of[token.i]] = token.text
    return {sentence for sentence, text in last.items() if text == "?"}


def cues(doc: Any, keep: Callable[[Any], bool]) -> list[Any]:
    """The ConText cues (medspaCy modifiers) of ``doc`` that ``keep`` accepts."""
    graph = doc._.context_graph
    if graph is None:
        return []
    return [m for m in graph.modifiers if keep(m)]


def cue_reach(doc: Any, keep: Callable[[Any], bool]) -> list[tuple[int, int]]:
    """Token ranges that the ConText cues ``keep`` accepts reach."""
    return [m.scope_span for m in cues(doc, keep)]


def scopes(doc: Any, categories: set[str]) -> list[tuple[int, int]]:
    """Token ranges that ConText cues of these categories reach."""
    return cue_reach(
        doc,
        lambda m: (
            m.category in categories and m.direction in {"FORWARD", "BACKWARD", "BIDIRECTIONAL"}
        ),
    )


def negation_reach(doc: Any) -> list[tuple[int, int]]:
    """Token ranges forward negations reach up to the first comma: a list is negated item by
    item, a measurement or a time after a comma is a fact of its own ("no itch, 4 mm")."""
    reach = []
    for m in cues(doc, lambda m: m.category == "NEGATED_EXISTENCE" and m.direction == "FORWARD"):
        start, end = m.scope_span
        cut = list_break(doc, m.modifier_span[1], end)
        reach.append((start, end if cut is None else cut))
    return reach


def list_break(doc: Any, start: int, end: int) -> int | None:
    """The first comma or semicolon among tokens [start, end): where an item of a list ends,
    and with it what a negation before it says."""
    return next((i for i in range(start, end) if doc[i].text in {",", ";"}), None)


def sentence_index(doc: Any) -> list[int]:
    index, current = [], -1
    for token in doc:
        if token.is_sent_start or current < 0:
            current += 1
        index.append(current)
    return index


# ---------------------------------------------------------------------------------- the pipeline


def context_of(nlp: Any) -> Any:
    return nlp.get_pipe("medspacy_context")


#: What medspaCy's package imports only to register its UMLS component, which this service does
#: not use: QuickUMLS, and nltk with it (a third of a second of start-up).
_UNUSED_BY_MEDSPACY = ("quickumls", "quickumls.spacy_component")


def _import_medspacy() -> None:
    """Imports medspaCy (which registers its components) with QuickUMLS stood in for while it
    loads. The stand-ins are taken out afterwards: whatever imports QuickUMLS later gets it."""
    if "medspacy" in sys.modules:
        return
    stand_ins = {
        name: types.ModuleType(name) for name in _UNUSED_BY_MEDSPACY if name not in sys.modules
    }
    package = stand_ins.get("quickumls")
    if package is not None:
        package.__path__ = []
        package.spacy_component = stand_ins.get("quickumls.spacy_component")  # type: ignore[attr-defined]
    sys.modules.update(stand_ins)
    try:
        import medspacy  # noqa: F401
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


def build_pipeline(kb: KnowledgeBase) -> Any:
    # spaCy's CLI imports trip a click deprecation warning; PyRuSH logs every token at DEBUG.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _import_medspacy()
        from loguru import logger
        from medspacy.context import ConTextRule
        from spacy.language import Language

    logger.disable("PyRuSH")
    nlp: Any = _clinical_english(kb)()
    if not Language.has_factory("clinical_sentences"):
        Language.component("clinical_sentences", func=_split_sentences)
    nlp.add_pipe("clinical_sentences")
    context: Any = nlp.add_pipe(
        "medspacy_context", config={"rules": None, "prune_on_target_overlap": True}
    )
    kept = []
    for rule in ConTextRule.from_json(context.DEFAULT_RULES_FILEPATH):
        if rule.literal.lower() in _DEFAULT_CUES_DROPPED:
            continue
        if rule.category == "HISTORICAL" and rule.max_scope is None:
            rule.max_scope = 6  # "h/o BCC, presents with a bleeding papule": only the history
        if (
            rule.category == "NEGATED_EXISTENCE"
            and rule.direction.upper() == "BACKWARD"
            and rule.max_scope is None
            and not rule.literal.startswith(":")  # "Bleeding: no" reaches back to its heading
        ):
            # "Milium L cheek, BCC unlikely": the look-alike is unlikely, not the milium (as the
            # lexicon's own "absent", "excluded", "ruled out").
            rule.max_scope = 3
        kept.append(_terminating(rule))
    context.add(kept)
    tokenize = tokenizer_words(nlp)
    cue_shorthands = shorthands(kb.abbreviations, tokenize, case_sensitive=False)
    rules = []
    for number, cue in enumerate(kb.lexicon.context):
        slots = parse(cue.cue, tokenize, {}) if cue.cue != "?" else []
        question: list[Position | None] = [("LOWER", frozenset({"?"}))]
        seqs = sequences(slots, inflect=False) if slots else [question]
        for cue_sequence in seqs:
            for spelling in with_shorthand(cue_sequence, cue_shorthands):
                rules.append(
                    _terminating(
                        ConTextRule(
                            # medspaCy finds a rule by its literal: each cue needs its own.
                            cue_literal(number, cue.cue),
                            cue.category,
                            pattern=token_pattern(spelling),
                            direction=cue.direction,
                            max_scope=cue.max_scope,
                        )
                    )
                )
    context.add(rules)
    return nlp


def cue_literal(number: int, cue: str) -> str:
    """The literal of the lexicon's cue ``number`` (medspaCy finds a rule by its literal)."""
    return f"lexicon {number}: {cue}"


def _terminating(rule: Any) -> Any:
    """A TERMINATE cue reaching one token. medspaCy stops another cue's scope at a TERMINATE cue
    only when their scopes overlap without one containing the other (``tuple_overlaps``); a
    TERMINATE scope of the whole sentence contains every other scope and so stopped nothing."""
    if rule.direction.upper() == "TERMINATE":
        rule.max_scope = 1
    return rule


def _clinical_english(kb: KnowledgeBase) -> Any:
    """English whose tokenizer keeps the reviewed shorthand whole and splits a few clinical
    spellings. Given as the language's defaults, so the tokenizer loads its special cases once:
    setting an affix on a built tokenizer reloads all of them (~1,350, a fifth of a second)."""
    from spacy.lang.en import English
    from spacy.symbols import ORTH

    shorthand = {
        variant: [{ORTH: variant}]
        for entry in kb.abbreviations
        # Shorthand with slashes stays one token ("h/o", "s/p"), in any case.
        if not re.fullmatch(r"[A-Za-z0-9]+", entry.short) and " " not in entry.short
        for variant in {
            entry.short,
            entry.short.lower(),
            entry.short.upper(),
            entry.short.capitalize(),
        }
    }
    base: Any = English.Defaults
    defaults = type(
        "ClinicalDefaults",
        (base,),
        {
            "tokenizer_exceptions": {**base.tokenizer_exceptions, **shorthand},
            # "x6wks" → x 6 wks; "2mm" is already split by spaCy's unit suffixes.
            "infixes": [*base.infixes, r"(?<=[0-9])(?=[a-zA-Z])", r"(?<=^[xX])(?=[0-9])"],
            # "milia++", "TTP+": the pluses are their own token.
            "suffixes": [*base.suffixes, r"\++"],
        },
    )
    return type("ClinicalEnglish", (English,), {"Defaults": defaults})


def tokenizer_words(nlp: Any) -> Callable[[str], list[str]]:
    """The pipeline tokenizer's lower-case words of a text, for building matchers from terms and
    cues: they share most of their words, so each text is tokenized once."""
    seen: dict[str, tuple[str, ...]] = {}

    def tokenize(text: str) -> list[str]:
        words = seen.get(text)
        if words is None:
            words = seen[text] = tuple(t.lower_ for t in nlp.tokenizer(text))
        return list(words)

    return tokenize


def _split_sentences(doc: Any) -> Any:
    """Sentences end at . ! ? ; and line breaks; not at "approx." or a "?" stuck to a word."""
    for i, token in enumerate(doc):
        if i == 0:
            token.is_sent_start = True
            continue
        previous = doc[i - 1]
        starts = False
        if "\n" in previous.text or "\n" in previous.whitespace_:
            # A line break ends a sentence unless it only wraps one: "no\nimprovement".
            before = doc[i - 2] if "\n" in previous.text and i >= 2 else previous
            starts = (
                before.text[-1:] in {".", ":", ";", "!", "?", "|"}
                or token.text[:1].isupper()
                or not token.text[:1].isalpha()
            )
        elif previous.text in {"|", "•"}:
            starts = True  # problem lists: "Xanthelasma (active) | Milia (active)"
        elif previous.text in {".", "!"} or (previous.text == "?" and previous.whitespace_):
            # Not after "approx." nor before a lower-case word ("porphyria cut. tarda").
            before = doc[i - 2].lower_ if i >= 2 else ""
            if before in _BREAK_BEFORE_CAPITAL:
                starts = token.text[:1].isupper()
            else:
                starts = before not in _NO_BREAK_AFTER
        token.is_sent_start = starts
    return doc
