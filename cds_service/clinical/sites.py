"""Body sites by region: the hierarchy of ``cards/sites.yaml`` as look-ups.

A lesion on a part is on every region above it (lower eyelid, eyelid, periocular region, face), and the
codes of a site and of its skin are one site (skin of cheek and cheek structure are the cheek), so sites
are compared by region, never by code equality.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .knowledge import Site


def whole_regions(sites: Iterable[Site]) -> frozenset[str]:
    """The regions too wide to be one place (sites.yaml ``whole``: the face, the trunk, a limb)."""
    return frozenset(site.id for site in sites if site.whole)


class SiteIndex:
    """The site hierarchy: each site id with its regions, and codes mapped to sites."""

    def __init__(self, sites: Iterable[Site]) -> None:
        self.regions: dict[str, tuple[str, ...]] = {}
        self.typical: set[str] = set()
        self.by_code: dict[tuple[str, str], str] = {}
        self.terms: dict[str, list[str]] = {}

        def visit(site: Site, above: tuple[str, ...]) -> None:
            chain = (site.id, *above)
            self.regions[site.id] = chain
            self.terms[site.id] = list(site.terms)
            if site.typical:
                self.typical.add(site.id)
            for code in site.codes:
                if code.verified:
                    self.by_code[(code.system, code.code)] = site.id
            for part in site.parts:
                visit(part, chain)

        top = list(sites)
        for site in top:
            visit(site, ())
        #: Two sites that share only a whole region are two places: a cheek and an ear.
        self.whole = whole_regions(top)

    def with_regions(self, site_ids: Iterable[str]) -> tuple[str, ...]:
        """The sites and every region that holds them (lower eyelid → eyelid → periocular → face)."""
        found: dict[str, None] = {}
        for site in site_ids:
            for region in self.regions.get(site, (site,)):
                found[region] = None
        return tuple(found)

    def same_region(self, first: Iterable[str], second: Iterable[str]) -> bool:
        """Whether two sets of sites can be one place: they share a region below a whole region
        (lower eyelid and lid margin share the eyelid), or one is a whole region that holds the
        other ("the face" and a cheek). A cheek and an ear are two places. An empty set may be
        anywhere."""
        a, b = set(first), set(second)
        if not a or not b:
            return True
        return self.places(a).overlaps(self.places(b))

    def places(self, site_ids: Iterable[str]) -> Places:
        """The sites in the form :meth:`same_region` compares (computed once per set)."""
        near: set[str] = set()
        wholes: set[str] = set()
        holders: set[str] = set()
        for site in site_ids:
            chain = self.regions.get(site, (site,))
            if site in self.whole:
                wholes.add(site)
            else:
                near |= set(chain) - self.whole
            holders |= set(chain) & self.whole
        return Places(frozenset(near), frozenset(wholes), frozenset(holders))


@dataclass(frozen=True)
class Places:
    #: The sites and their regions below the whole regions.
    near: frozenset[str]
    #: Whole regions named as such ("the face").
    wholes: frozenset[str]
    #: The whole regions that hold the sites.
    holders: frozenset[str]

    def overlaps(self, other: Places) -> bool:
        return bool(
            self.near & other.near or self.wholes & other.holders or other.wholes & self.holders
        )
