"""Body sites by region: the hierarchy of ``cards/sites.yaml`` as look-ups.

A lesion on a part is on every region above it (lower eyelid, eyelid, periocular region, face), and the
codes of a site and of its skin are one site (skin of cheek and cheek structure are the cheek), so sites
are compared by region, never by code equality.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .knowledge import Site


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

        for site in sites:
            visit(site, ())

    def with_regions(self, site_ids: Iterable[str]) -> tuple[str, ...]:
        """The sites and every region that holds them (lower eyelid → eyelid → periocular → face)."""
        found: dict[str, None] = {}
        for site in site_ids:
            for region in self.regions.get(site, (site,)):
                found[region] = None
        return tuple(found)

    def same_region(self, first: Iterable[str], second: Iterable[str]) -> bool:
        """Two sets of sites share a region below the whole face/limb level or are one site."""
        a, b = set(first), set(second)
        if not a or not b:
            return True
        return bool(self.with_regions(a) and set(self.with_regions(a)) & set(self.with_regions(b)))
