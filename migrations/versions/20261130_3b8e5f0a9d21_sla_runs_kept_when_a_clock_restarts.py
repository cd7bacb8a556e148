"""sla runs: a finished clock run kept when the clock starts again (a reopened request)

Revision ID: 3b8e5f0a9d21
Revises: 7c13d1a0b2e4
Create Date: 2026-11-30 10:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import server.models.base

revision: str = '3b8e5f0a9d21'
down_revision: str | None = '7c13d1a0b2e4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'sla_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clock_id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('started_at', server.models.base.UTCDateTime(), nullable=False),
        sa.Column('deadline_at', server.models.base.UTCDateTime(), nullable=False),
        sa.Column('stopped_at', server.models.base.UTCDateTime(), nullable=False),
        sa.Column('paused_seconds', sa.Float(), nullable=False),
        sa.Column('breach_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(['clock_id'], ['sla_clock.id'], ),
        sa.ForeignKeyConstraint(['request_id'], ['support_request.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('sla_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_run_clock_id'), ['clock_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_run_request_id'), ['request_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sla_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_run_request_id'))
        batch_op.drop_index(batch_op.f('ix_sla_run_clock_id'))
    op.drop_table('sla_run')
