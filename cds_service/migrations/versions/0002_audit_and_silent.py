"""The audit trail (one row per hook call and per feedback call) and silent mode (cards computed
and recorded but withheld are counted apart from cards shown).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shown_cards") as batch:
        batch.add_column(
            sa.Column("times_silent", sa.Integer, nullable=False, server_default=sa.text("0"))
        )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("hook_instance", sa.String(100), nullable=True),
        sa.Column("issuer", sa.String(500), nullable=True),
        sa.Column("tenant", sa.String(200), nullable=True),
        sa.Column("client", sa.String(200), nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("silent", sa.Boolean, nullable=False),
        sa.Column("card_kinds", sa.JSON, nullable=False),
        sa.Column("feedback_outcomes", sa.JSON, nullable=False),
        sa.Column("content_version", sa.String(50), nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_events")
    with op.batch_alter_table("shown_cards") as batch:
        batch.drop_column("times_silent")
