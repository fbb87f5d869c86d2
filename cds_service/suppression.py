"""Alert fatigue: stable card ids, snoozes from feedback, and the cards a snooze holds back.

Card ids come from :mod:`cds_service.card_ids`, so feedback maps back to a patient's card kind. An
overridden card is snoozed for that patient for the period its override reason
sets in cards/; an accepted suggestion (a referral) holds the card back while the request is pending;
a red flag that was not there when the card was snoozed always breaks the snooze. Patients are known
only by a keyed hash (HMAC with the service's secret), never in clear.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from .batching import BatchWriter
from .card_ids import CardIds
from .cards import RenderedCard
from .clinical.knowledge import KnowledgeBase
from .errors import DatabaseUnavailable
from .protocol import FeedbackEntry
from .store import Showing, ShownCard, Snooze, Store

log = logging.getLogger(__name__)


#: The cards of one feedback call looked up before it is stored (the rest are stored as they are).
_SETTLE_AT_MOST = 100


class Suppression:
    """Holds back the cards a snooze covers, and counts the cards shown.

    The count leaves the request (:mod:`cds_service.batching`): a hook call only reads the
    patient's snoozes, which takes no write lock. Feedback can follow a card within a moment, so
    before feedback is stored the counts of this process are written, and a card still unknown
    (counted by another worker or instance, whose batch may not be written yet) is given the
    writers' interval to appear (:meth:`settle`).
    """

    def __init__(self, store: Store, kb: KnowledgeBase, interval_s: float = 0.1) -> None:
        self.store = store
        self.kb = kb
        self.counts = BatchWriter(store.count_shown, "cards shown", store.in_memory, interval_s)

    def apply(
        self,
        rendered: Sequence[RenderedCard],
        ids: CardIds,
        red_flags: Sequence[str],
        silent: bool = False,
    ) -> list[RenderedCard]:
        """The cards to show: those no snooze holds back. Without the database, all of them.
        In silent mode they are counted as withheld; the caller answers none of them."""
        if not rendered:
            return []  # nothing to hold back or count: no database round trip
        try:
            snoozes = self.store.snoozes(ids.patient_key)
        except DatabaseUnavailable:
            log.warning("snoozes unknown: database unavailable; every card shown")
            snoozes = {}
        kept = [r for r in rendered if not _held_back(snoozes.get(r.kind), red_flags)]
        if len(kept) < len(rendered):
            log.info("cards held back by snooze: %d", len(rendered) - len(kept))
        version = self.kb.meta.content_version
        now = datetime.now(UTC)
        for r in kept:
            card = ShownCard(
                r.uuid, ids.patient_key, r.kind, version, tuple(red_flags), r.suggestions
            )
            self.counts.submit(Showing(card, now, silent))
        return kept

    def settle(self, card_uuids: Sequence[str]) -> None:
        """Before feedback on ``card_uuids`` is stored: the showings it refers to are written, as
        far as a short wait can tell (a card never shown waits once, for the interval)."""
        self.counts.flush(timeout_s=1.0)
        asked = list(dict.fromkeys(card_uuids))[:_SETTLE_AT_MOST]
        if self.counts.inline or not asked:
            return
        try:
            if self.store.unknown_cards(asked):
                time.sleep(2 * self.counts.interval_s)
        except DatabaseUnavailable:
            return  # storing the feedback will say so

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
