"""Alert fatigue: stable card ids, snoozes from feedback, and the cards a snooze holds back.

Card ids come from :mod:`cds_service.card_ids`, so feedback maps back to a patient's card kind. An
overridden card is snoozed for that patient for the period its override reason
sets in cards/; an accepted suggestion (a referral) holds the card back while the request is pending;
a red flag that was not there when the card was snoozed always breaks the snooze. Patients are known
only by a keyed hash (HMAC with the service's secret), never in clear.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from .card_ids import CardIds
from .cards import RenderedCard
from .clinical.knowledge import KnowledgeBase
from .errors import DatabaseUnavailable
from .protocol import FeedbackEntry
from .store import ShownCard, Snooze, Store

log = logging.getLogger(__name__)


class Suppression:
    def __init__(self, store: Store, kb: KnowledgeBase) -> None:
        self.store = store
        self.kb = kb

    def apply(
        self,
        rendered: Sequence[RenderedCard],
        ids: CardIds,
        red_flags: Sequence[str],
        silent: bool = False,
    ) -> list[RenderedCard]:
        """The cards to show: those no snooze holds back. Without the database, all of them.
        In silent mode they are recorded as withheld; the caller answers none of them."""
        if not rendered:
            return []  # nothing to hold back or record: no database round trip
        version = self.kb.meta.content_version
        candidates = [
            ShownCard(r.uuid, ids.patient_key, r.kind, version, tuple(red_flags), r.suggestions)
            for r in rendered
        ]
        try:
            shown = self.store.show(
                ids.patient_key,
                candidates,
                lambda _card, snooze: not _held_back(snooze, red_flags),
                silent,
            )
        except DatabaseUnavailable:
            log.warning("snoozes unknown, cards shown not recorded: database unavailable")
            return list(rendered)
        kept = {card.card_uuid for card in shown}
        if len(kept) < len(rendered):
            log.info("cards held back by snooze: %d", len(rendered) - len(kept))
        return [r for r in rendered if r.uuid in kept]

    def snooze_for(self, entry: FeedbackEntry, shown: ShownCard) -> Snooze | None:
        """The snooze a new feedback entry calls for (see :data:`cds_service.store.SnoozeRule`)."""
        reasons = self.kb.override_reasons
        if entry.outcome == "overridden":
            chosen = entry.overrideReason.reason if entry.overrideReason else None
            listed = next(
                (
                    r
                    for r in reasons.reasons
                    if chosen and chosen.system == reasons.system and chosen.code == r.code
                ),
                None,
            )
            days = listed.snooze_days if listed else reasons.unlisted_snooze_days
            label = f"overridden:{listed.code if listed else 'unlisted'}"
        else:
            accepted = [shown.suggestions.get(s.id) for s in entry.acceptedSuggestions or ()]
            offers = [self.kb.suggestions[s] for s in accepted if s in self.kb.suggestions]
            days = max((o.pending_days for o in offers), default=0)
            label = "accepted:" + ",".join(s for s in accepted if s)
        if days <= 0:
            return None
        until = datetime.now(UTC) + timedelta(days=days)
        return Snooze(shown.card_kind, until, shown.red_flags, label)


def _held_back(snooze: Snooze | None, red_flags: Sequence[str]) -> bool:
    # A red flag that was not there when the card was snoozed always breaks the snooze.
    return snooze is not None and set(red_flags) <= set(snooze.red_flags)
