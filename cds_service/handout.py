"""Patient handouts: plain-language pages from ``cards/handouts.yaml``, one per variant and age
group (parents of a newborn read something else than an adult with steroid-induced milia), linked
from the cards. Rendered once at start-up with a Jinja2 template."""

from __future__ import annotations

from .clinical.knowledge import Handout, KnowledgeBase
from .guidance import ENVIRONMENT

HANDOUT_PATH = "/handouts/milia"


def handout_path(kb: KnowledgeBase, handout: Handout) -> str:
    """The first handout is /handouts/milia; the others /handouts/milia/<id>."""
    return HANDOUT_PATH if handout is kb.handouts[0] else f"{HANDOUT_PATH}/{handout.id}"


def render_handouts(kb: KnowledgeBase) -> dict[str, str]:
    """Every handout's page, by its path."""
    template = ENVIRONMENT.get_template("handout.html")
    pages = {}
    for handout in kb.handouts:
        cited = dict.fromkeys(r for s in handout.sections for p in s.points for r in p.cites)
        pages[handout_path(kb, handout)] = template.render(
            handout=handout,
            references=[kb.reference(r) for r in cited],
            meta=kb.meta,
            title=handout.title,
        )
    return pages
