"""Body sites by region, as the shipped cards/sites.yaml describes them: a site lies in every region
above it (lower eyelid, eyelid, periocular region, face), a site's codes and its skin's codes name one
site, and two sites are one place only when they share a region below a whole region."""

from __future__ import annotations

import pytest

from cds_service.clinical.knowledge import Site
from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.clinical.sites import SiteIndex, whole_regions

SNOMED = "http://snomed.info/sct"


@pytest.fixture(scope="module")
def sites() -> list[Site]:
    return load_knowledge(default_content_dir()).sites


@pytest.fixture(scope="module")
def index(sites: list[Site]) -> SiteIndex:
    return SiteIndex(sites)


def test_a_site_lies_in_every_region_above_it(index: SiteIndex) -> None:
    assert index.with_regions(["lower-eyelid"]) == ("lower-eyelid", "eyelid", "periocular", "face")
    # Each region once, in the order met; a site the hierarchy does not know is kept as it is.
    assert index.with_regions(["cheek", "nose", "elsewhere"]) == (
        "cheek",
        "face",
        "nose",
        "elsewhere",
    )
    assert index.with_regions([]) == ()


def test_a_site_and_its_skin_are_one_site_by_code(index: SiteIndex) -> None:
    assert index.by_code[(SNOMED, "60819002")] == "cheek"  # cheek structure
    assert index.by_code[(SNOMED, "36141000")] == "cheek"  # skin structure of cheek
    assert index.by_code[(SNOMED, "40069000")] == "lower-eyelid"
    assert (SNOMED, "254679001") not in index.by_code  # milia is no body site


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (["lower-eyelid"], ["eyelid-margin"], True),  # both on the eyelid
        (["lower-eyelid"], ["periocular"], True),
        (["face"], ["cheek"], True),  # "the face" holds the cheek
        (["cheek"], ["face"], True),
        (["cheek"], ["ear"], False),  # two places sharing only the face
        (["upper-eyelid"], ["forehead"], False),
        (["cheek"], ["chest"], False),
        (["face"], ["trunk"], False),
        (["chest", "cheek"], ["nose", "back"], False),
        (["chest", "cheek"], ["nose", "chest"], True),
        ([], ["cheek"], True),  # a lesion with no site may be anywhere
    ],
)
def test_two_sets_of_sites_are_one_place_when_they_share_a_region(
    index: SiteIndex, first: list[str], second: list[str], same: bool
) -> None:
    assert index.same_region(first, second) is same
    assert index.same_region(second, first) is same


def test_whole_regions_and_typical_sites_come_from_the_knowledge_base(
    sites: list[Site], index: SiteIndex
) -> None:
    assert index.whole == whole_regions(sites) == {"face", "trunk", "upper-limb", "lower-limb"}
    assert {"eyelid", "lower-eyelid", "cheek", "nose"} <= index.typical
    assert "eyelid-margin" not in index.typical
    assert "lower lid" in index.terms["lower-eyelid"]


def test_places_are_compared_once_per_set(index: SiteIndex) -> None:
    milia = index.places(["lower-eyelid", "cheek"])
    assert milia.near == {"lower-eyelid", "eyelid", "periocular", "cheek"}
    assert milia.holders == {"face"}
    assert not milia.wholes
    assert index.places(["eyelid-margin"]).overlaps(milia)
    assert index.places(["face"]).overlaps(milia)
    assert not index.places(["hand"]).overlaps(milia)
