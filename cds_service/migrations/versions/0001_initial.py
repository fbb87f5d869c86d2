"""The first schema: feedback, cards shown, snoozes, token ids seen.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entry_key", sa.String(64), nullable=False, unique=True),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("card_uuid", sa.String(200), nullable=False, index=True),
        sa.Column("card_kind", sa.String(100), nullable=True),
        sa.Column("content_version", sa.String(50), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("outcome_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON, nullable=True),
        sa.Column("override_system", sa.String(500), nullable=True),
        sa.Column("override_code", sa.String(200), nullable=True),
        sa.Column("has_comment", sa.Boolean, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "shown_cards",
        sa.Column("card_uuid", sa.String(36), primary_key=True),
        sa.Column("patient_key", sa.String(64), nullable=False, index=True),
        sa.Column("card_kind", sa.String(100), nullable=False),
        sa.Column("content_version", sa.String(50), nullable=False),
        sa.Column("red_flags", sa.JSON, nullable=False),
        sa.Column("suggestions", sa.JSON, nullable=False),
        sa.Column("first_shown", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_shown", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times_shown", sa.Integer, nullable=False),
    )
    op.create_table(
        "snoozes",
        sa.Column("patient_key", sa.String(64), primary_key=True),
        sa.Column("card_kind", sa.String(100), primary_key=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("red_flags", sa.JSON, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "seen_tokens",
        sa.Column("token_key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("seen_tokens", "snoozes", "shown_cards", "feedback"):
        op.drop_table(table)
