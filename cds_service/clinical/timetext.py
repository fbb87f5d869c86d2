"""Time said in notes: "x 6 wks", "for 18/12", "approx. 2 yrs", "since last winter", "came up over
ten days", "new ones every week", "since birth".

Each expression is read from spaCy tokens, with the words of ``cards/lexicon.yaml`` (``time``): a
number (digits or words: "a couple of", "ten", "a year and a half"), a unit (days to years, with their
abbreviations and the British "/7, /52, /12"), and a frame that says what the time measures:

- ``for``: how long something has been present ("x 6 wks", "present for 2 yrs", "3 months' history");
- ``ago``: when it began ("started 6 months ago"), which is also how long it has been present;
- ``within``: how fast new lesions came ("came up over ten days", "in the last 2 weeks");
- ``every``: new lesions keep coming ("new ones every week", "more each month");
- ``age``: present since the patient was this old ("since birth", "since childhood", "since her
  early twenties", "since age 12"): the patient's age says how long.

Dates count too: "since March 2025", "since 2023", "since 03/2025" (present from then).

One pass over the tokens, a few tokens of look-back each: linear in the length of the note.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .knowledge import TimeWords

Frame = Literal["for", "ago", "within", "every", "age", "later"]

_DAYS = {"day": 1.0, "week": 7.0, "month": 30.4, "year": 365.25}
_BRITISH = re.compile(r"^(\d{1,3})/(7|52|12)$")
_BRITISH_UNIT = {"7": "day", "52": "week", "12": "month"}
_DIGITS = re.compile(r"^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$")
#: No expression says more than this (a 1e308-year duration is read as this long).
_MAX_DAYS = 150 * 365.25
_FOR = frozenset(
    {"x", "for", "since", "approx", "approximately", "about", "around", "~", "present"}
)
_WITHIN = frozenset({"over", "within", "in"})
_EVERY = frozenset({"every", "each", "per"})
_YEAR = re.compile(r"^(19[5-9]\d|20\d\d)$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})/(19[5-9]\d|20\d\d)$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_RECURRING = {"daily": 1.0, "nightly": 1.0, "weekly": 7.0, "fortnightly": 14.0, "monthly": 30.4}
_BIRTH = frozenset({"birth", "neonatal", "newborn", "delivery", "born"})
#: Words between "since" and a stage of life: "since her early twenties", "since he was a child".
_AGE_LEAD = frozenset(
    {"his", "her", "their", "my", "'s", "patient", "the", "he", "she", "they", "i", "pt"}
    | {"was", "were"}
    | {"a", "an", "about", "approx", "approximately", "around", "~", "aged", "age", "of"}
    | {"early", "mid", "-", "late", "in", "at", "still", "before", "turned"}
)
#: "her 60th birthday": an age said as a birthday ("60th" as one token or two).
_ORDINAL = re.compile(r"^(\d{1,3})(st|nd|rd|th)?$")
_ORDINAL_ENDINGS = frozenset({"st", "nd", "rd", "th"})
_BIRTHDAYS = frozenset({"birthday", "bday", "birthdays"})
_DECADE_PART = {"mid": 3.0, "late": 6.0}
_AGED = frozenset({"age", "aged", "was", "were", "turned"})
_DECADE = re.compile(r"^[1-9]0'?s$")
_LAST = frozenset({"last", "past", "previous", "preceding"})
#: "> 11/12", "more than 6/52": at least that long.
_MORE = frozenset({">", "than"})


@dataclass(frozen=True)
class TimeExpression:
    start: int
    end: int
    days: float
    frame: Frame
    #: A ``within`` window that reaches the present and was spread over ("developed over the past
    #: two years"): the first lesions have been there about that long.
    spread_to_now: bool = False

    @property
    def present_days(self) -> float | None:
        """How long what it is said of has been there, if it says so."""
        if self.frame in {"for", "ago"} or (self.frame == "within" and self.spread_to_now):
            return self.days
        return None


class TimeReader:
    def __init__(self, words: TimeWords) -> None:
        #: Words before a time that says when to look again ("RTC 1 yr", "f/u in 6 weeks").
        self._later = frozenset(w.lower() for w in words.follow_up)
        self._units: dict[str, str] = {}
        for unit, names in words.units.items():
            for name in names:
                self._units[name.lower()] = unit
        self._numbers = {k.lower(): v for k, v in words.numbers.items()}
        self._seasons = {k.lower(): v for k, v in words.seasons.items()}
        self._stages = {k.lower(): v for k, v in words.life_stages.items()}

    def read(self, doc: Any) -> Iterator[TimeExpression]:
        for i, token in enumerate(doc):
            text = token.lower_
            if text in _BIRTH and i >= 1 and doc[i - 1].lower_ in {"since", "from"}:
                yield TimeExpression(i - 1, i + 1, 0.0, "age")
                continue
            if text == "born" and _born_with_or_since(doc, i):
                # "spots she was born with", "since the baby was born": present from birth.
                yield TimeExpression(i, i + 1, 0.0, "age")
                continue
            if text in {"since", "from"}:
                since_age = self._since_age(doc, i)
                if since_age is not None:
                    yield since_age
                    continue
            since_date = self._since_date(doc, i)
            if since_date is not None:
                yield since_date
                continue
            start = _season_start(doc, i) if text in self._seasons else None
            if start is not None:
                months = (datetime.now(UTC).month - self._seasons[text]) % 12 or 12
                end = i + 1
                # "since Easter before last", "since the summer before last": a year more.
                if [t.lower_ for t in doc[i + 1 : i + 3]] == ["before", "last"]:
                    months, end = months + 12, i + 3
                yield TimeExpression(start, end, months * _DAYS["month"], "for")
                continue
            if text in _RECURRING:
                yield TimeExpression(i, i + 1, _RECURRING[text], "every")  # "new ones daily"
                continue
            british = _BRITISH.match(text)
            if british:
                before = doc[i - 1].lower_ if i >= 1 else ""
                after = doc[i + 1].lower_ if i + 1 < len(doc) else ""
                # A lead-in says it is a time, not a date ("11/12" alone may be 11 December).
                if before in _FOR | _WITHIN | _LAST | _MORE or after in {"hx", "history", "ago"}:
                    unit = _BRITISH_UNIT[british.group(2)]
                    days = float(british.group(1)) * _DAYS[unit]
                    frame = _frame(doc, i, i + 1, self._later)
                    spread = _spread_to_now(doc, i)
                    yield TimeExpression(i, i + 1, min(days, _MAX_DAYS), frame, spread)
                continue
            unit_name = self._units.get(text)
            if unit_name is None or (len(text) == 1 and i == 0):
                continue
            found = self._amount(doc, i)
            if found is None:
                continue
            if len(text) == 1 and not (found[0] >= 1 and doc[found[0] - 1].lower_ in _FOR):
                continue  # "41M" is an age and a sex; "x 3 m" is three months
            start, amount = found
            end = i + 1
            if end < len(doc) and doc[end].lower_ in {"old", "-", "of"}:
                continue  # an age ("6 months old", "3 yr-old"), not a duration
            # "a year and a half"
            if [t.lower_ for t in doc[end : end + 3]] == ["and", "a", "half"]:
                amount += 0.5
                end += 3
            frame = _frame(doc, start, end, self._later)
            days = min(amount * _DAYS[unit_name], _MAX_DAYS)
            yield TimeExpression(start, end, days, frame, _spread_to_now(doc, start))

    def _since_age(self, doc: Any, i: int) -> TimeExpression | None:
        """ "since childhood", "since her early twenties", "since she was about 7", "since age
        12", "from her 20s", "since before her 60th birthday": present since the patient was
        that old (``i`` is "since"; "before" it only adds to how long)."""
        said: list[str] = []
        for j in range(i + 1, min(len(doc), i + 7)):
            word = doc[j].lower_
            following = doc[j + 1].lower_ if j + 1 < len(doc) else ""
            years, end, number = None, j + 1, _DIGITS.match(word)
            if word in self._stages:
                if said and said[-1] == "the":
                    return None  # "since the child was born": a person, not a stage of life
                years = self._stages[word]
            elif birthday := _birthday(doc, j):
                years, end = birthday  # "since before her 60th birthday"
            elif _DECADE.match(word) or (_DECADE.match(word + following) and following):
                years = float(word[:2])  # "her early 20s", as one token or two
                end = j + 1 if _DECADE.match(word) else j + 2
            elif number:
                # A bare number is an age only after words that say so ("since age 12", "since
                # she was about 7 years old"), not "since 3 weeks", "since about 2 yrs".
                if not (_AGED & set(said) and self._units.get(following) in {None, "year"}):
                    return None
                years = float(number.group(1))
            elif word in _AGE_LEAD:
                said.append(word)
                continue
            if years is None or years > 120:
                return None
            return TimeExpression(i, end, (years + _decade_part(said, years)) * 365.25, "age")
        return None

    def _since_date(self, doc: Any, i: int) -> TimeExpression | None:
        """ "since March 2025", "since 2023", "since 03/2025": present from that date."""
        if i < 1 or doc[i - 1].lower_ not in {"since", "from"}:
            return None
        token = doc[i].lower_
        now = datetime.now(UTC)
        month, year, end = None, None, i + 1
        numeric = _MONTH_YEAR.match(token)
        if numeric:
            month, year = int(numeric.group(1)), int(numeric.group(2))
        elif token in _MONTHS:
            month = _MONTHS[token]
            following = doc[i + 1].text if i + 1 < len(doc) else ""
            if _YEAR.match(following):
                year, end = int(following), i + 2
            else:  # "since March": the last March
                year = now.year if month <= now.month else now.year - 1
        elif _YEAR.match(token):
            month, year = 1, int(token)
        if month is None or year is None or not 1 <= month <= 12:
            return None
        days = (now.year - year) * 365.25 + (now.month - month) * 30.4
        if days < 0:
            return None
        return TimeExpression(i - 1, end, min(days, _MAX_DAYS), "for")

    def _amount(self, doc: Any, i: int) -> tuple[int, float] | None:
        """The number before the unit at ``i`` and where it starts, or None."""
        if i == 0:
            return None
        prev = doc[i - 1]
        word = prev.lower_
        digits = _DIGITS.match(prev.text)
        if digits:
            values = [float(g) for g in digits.groups() if g]
            return i - 1, max(values)
        if word in self._numbers:
            start = i - 1
            amount = self._numbers[word]
            # "a couple of", "a few", "half a"
            if word in {"of"}:
                return None
            if start >= 1 and doc[start - 1].lower_ in {"a", "an"} and word not in {"a", "an"}:
                start -= 1
            return start, amount
        if word == "of" and i >= 2 and doc[i - 2].lower_ in self._numbers:
            start = i - 2
            if start >= 1 and doc[start - 1].lower_ in {"a", "an"}:
                start -= 1
            return start, self._numbers[doc[i - 2].lower_]
        if word in _EVERY | _LAST | {"the", "this"}:
            return i - 1, 1.0
        return None


def _season_start(doc: Any, i: int) -> int | None:
    """Where a time said by a season or a feast (token ``i``) begins: "since|last winter", "since
    the summer (before last)"; None when the word is not a time ("a summer rash")."""
    before = [t.lower_ for t in doc[max(0, i - 2) : i]]
    if before[-1:] in (["since"], ["last"]):
        return i - 1
    if before == ["since", "the"]:
        return i - 2
    return None


def _born_with_or_since(doc: Any, i: int) -> bool:
    following = doc[i + 1].lower_ if i + 1 < len(doc) else ""
    if following == "with":
        return True
    before = [t.lower_ for t in doc[max(0, i - 5) : i]]
    return "since" in before and before[-1:] in (["was"], ["were"])


def _birthday(doc: Any, j: int) -> tuple[float, int] | None:
    """The age and the end of "60th birthday" at token ``j`` ("60th" or "60" "th"), if said."""
    number = _ORDINAL.match(doc[j].lower_)
    if number is None:
        return None
    at = j + 1
    if number.group(2) is None:
        if at >= len(doc) or doc[at].lower_ not in _ORDINAL_ENDINGS:
            return None
        at += 1
    if at >= len(doc) or doc[at].lower_ not in _BIRTHDAYS:
        return None
    return float(number.group(1)), at + 1


def _decade_part(said: list[str], start: float) -> float:
    """ "mid" and "late" move a decade's start on ("her late twenties": 26)."""
    if start < 20 or start % 10:
        return 0.0
    return max((_DECADE_PART.get(w, 0.0) for w in said), default=0.0)


def _spread_to_now(doc: Any, start: int) -> bool:
    """ "over the past two years", "over the last 18/12", "over the last months" (``start``: where
    the amount begins): spread over a window that ends now, unlike "over ten days" or "in the
    last 2 weeks"."""
    words = [t.lower_ for t in doc[max(0, start - 3) : start + 1]]
    return "over" in words and any(w in _LAST for w in words[words.index("over") :])


def _frame(doc: Any, start: int, end: int, later: frozenset[str] = frozenset()) -> Frame:
    before_words = {t.lower_ for t in doc[max(0, start - 3) : start]}
    if before_words & later:
        return "later"  # "RTC 1 yr", "f/u in 6 wks": when to look again, not how long
    after = doc[end].lower_ if end < len(doc) else ""
    if after == "ago":
        return "ago"
    before = [t.lower_ for t in doc[max(0, start - 3) : start]]
    here = doc[start].lower_
    if here in _EVERY or (before and before[-1] in _EVERY):
        return "every"
    if here in _LAST and before and before[-1] in {"since"}:
        return "for"
    if any(w in _WITHIN for w in before[-3:]) and not any(w in _FOR for w in before[-2:]):
        return "within"
    return "for"
