"""Time said in words: how long a lesion has been present ("x 6 wks", "for 18/12", "approx. 2 yrs"),
when it began ("6 months ago", "since birth", "since 2023"), how fast lesions came ("over ten
days", "new ones every week"), and what is not a duration at all ("6 months old", "RTC 1 yr"). The
reader runs on spaCy tokens with the time words of the shipped lexicon."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from typing import Any

import pytest

from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.timetext import Frame, TimeExpression, TimeReader


@pytest.fixture(scope="module")
def reader() -> TimeReader:
    return TimeReader(load_knowledge(default_content_dir()).lexicon.time)


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    """spaCy's English tokenizer alone (its CLI imports trip a click deprecation warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import spacy
    return spacy.blank("en")


def times(reader: TimeReader, tokenizer: Any, text: str) -> list[tuple[str, float, Frame]]:
    """(words, days, frame) of every time expression in ``text``."""
    doc = tokenizer.make_doc(text)
    return [(doc[t.start : t.end].text, round(t.days, 1), t.frame) for t in reader.read(doc)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Milia x 6 wks.", ("6 wks", 42.0, "for")),
        ("Present for 18/12, unchanged.", ("18/12", 547.2, "for")),
        ("Papule L cheek >11/12, not resolving.", ("11/12", 334.4, "for")),
        ("There more than 6/52.", ("6/52", 42.0, "for")),
        ("Lesions approx. 2 yrs.", ("2 yrs", 730.5, "for")),
        ("Noticed them a couple of weeks back.", ("a couple of weeks", 14.0, "for")),
        ("Had them a year and a half.", ("a year and a half", 547.9, "for")),
        ("Started 6 months ago.", ("6 months", 182.4, "ago")),
        ("Came up over ten days.", ("ten days", 10.0, "within")),
        ("New ones every week.", ("every week", 7.0, "every")),
        ("New ones daily.", ("daily", 1.0, "every")),
    ],
)
def test_a_time_in_words_is_read_as_days_and_what_they_measure(
    reader: TimeReader, tokenizer: Any, text: str, expected: tuple[str, float, Frame]
) -> None:
    assert times(reader, tokenizer, text) == [expected]


def test_since_birth_says_present_from_birth(reader: TimeReader, tokenizer: Any) -> None:
    doc = tokenizer.make_doc("Milia on the nose since birth, no change.")
    assert list(reader.read(doc)) == [TimeExpression(4, 6, 0.0, "age")]
    for text in ("spots she was born with", "milia since the child was born"):
        assert [t.frame for t in reader.read(tokenizer.make_doc(text))] == ["age"], text


@pytest.mark.parametrize(
    ("text", "words", "years"),
    [
        ("Bumps under both eyes since her early twenties.", "since her early twenties", 20),
        ("milia since childhood", "since childhood", 2),
        ("Present since she was about 7 years old.", "since she was about 7", 7),
        ("white papules since age 12", "since age 12", 12),
        ("milia since the age of 12", "since the age of 12", 12),
        ("there from his late 20s", "from his late 20s", 26),
        ("since her teens", "since her teens", 13),
        ("since he was a teenager", "since he was a teenager", 13),
        ("since mid-thirties", "since mid-thirties", 33),
        ("there since she was at school", "since she was at school", 5),
        ("there since before her 60th birthday", "since before her 60th birthday", 60),
        ("milia since her 21st birthday", "since her 21st birthday", 21),
        ("milia since he turned 50", "since he turned 50", 50),
    ],
)
def test_since_a_stage_of_life_says_present_from_that_age(
    reader: TimeReader, tokenizer: Any, text: str, words: str, years: float
) -> None:
    assert times(reader, tokenizer, text) == [(words, round(years * 365.25, 1), "age")]


@pytest.mark.parametrize(
    "text",
    [
        "since the child had a cold",
        "since about 7 years",
        "since 3 weeks",
        "since the visit",
        "since her birthday",
    ],
)
def test_since_a_person_or_a_duration_is_no_age(
    reader: TimeReader, tokenizer: Any, text: str
) -> None:
    assert all(frame != "age" for _, _, frame in times(reader, tokenizer, text))


def test_since_a_feast_counts_from_the_last_one(reader: TimeReader, tokenizer: Any) -> None:
    ((_, days, frame),) = times(reader, tokenizer, "There since Easter.")
    ((_, longer, _),) = times(reader, tokenizer, "There since Easter before last.")
    assert frame == "for" and 0 < days <= 366 and abs(longer - days - 365) < 5


def test_since_a_year_counts_from_that_year(reader: TimeReader, tokenizer: Any) -> None:
    year = datetime.now(UTC).year - 2
    ((words, days, frame),) = times(reader, tokenizer, f"Milia since {year}.")
    assert (words, frame) == (f"since {year}", "for")
    assert 2 * 365 <= days < 3 * 365
    # A year still to come says nothing.
    assert times(reader, tokenizer, f"Milia since {year + 10}.") == []


@pytest.mark.parametrize(
    "text",
    [
        "Baby 6 months old with milia.",  # an age
        "41M with milia on the cheeks.",  # an age and a sex
        "Milia in 2 of 3 siblings.",  # no unit
        "Took 18/12 tablets.",  # the British form only after a time word
    ],
)
def test_what_is_not_a_time_gives_none(reader: TimeReader, tokenizer: Any, text: str) -> None:
    assert times(reader, tokenizer, text) == []


@pytest.mark.parametrize(
    ("text", "present_days"),
    [
        # Spread over a window that ends now: the first lesions have been there that long.
        ("More appeared over the past two years.", 730.5),
        ("A few new ones over the last 18/12.", 547.2),
        ("Came up over the preceding 3 months.", 91.2),
        # How fast, not how long: the window is not said to end now, or not spread over.
        ("Came up over ten days.", None),
        ("Appeared in the last 2 years.", None),
        ("New ones every week.", None),
        # A duration or a start says it whatever the window.
        ("Present for 18/12.", 547.2),
        ("Started 6 months ago.", 182.4),
    ],
)
def test_how_long_a_time_says_it_has_been_there(
    reader: TimeReader, tokenizer: Any, text: str, present_days: float | None
) -> None:
    (expression,) = reader.read(tokenizer.make_doc(text))
    said = expression.present_days
    assert (None if said is None else round(said, 1)) == present_days


def test_a_follow_up_interval_is_not_how_long_and_huge_numbers_are_capped(
    reader: TimeReader, tokenizer: Any
) -> None:
    assert times(reader, tokenizer, "Reassure, RTC 1 yr.") == [("1 yr", 365.2, "later")]
    ((_, days, frame),) = times(reader, tokenizer, "Present for 99999999 years.")
    assert (days, frame) == (round(150 * 365.25, 1), "for")
