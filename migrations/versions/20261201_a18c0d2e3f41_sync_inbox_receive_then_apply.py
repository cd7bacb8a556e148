"""sync inbox: a push is durably received first, then applied in order (issue 18)

Revision ID: a18c0d2e3f41
Revises: f17b0a1c2d3e
Create Date: 2026-12-01 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.models.base import UTCDateTime

revision: str = 'a18c0d2e3f41'
down_revision: str | None = 'f17b0a1c2d3e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'sync_inbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('mutation_id', sa.String(length=64), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('args', sa.Text(), nullable=False),
        sa.Column('device_time', UTCDateTime(), nullable=True),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.Column('received_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('client_id', 'mutation_id', name='uq_sync_inbox_mutation'),
    )
    op.create_index(op.f('ix_sync_inbox_staff_id'), 'sync_inbox', ['staff_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sync_inbox_staff_id'), table_name='sync_inbox')
    op.drop_table('sync_inbox')
