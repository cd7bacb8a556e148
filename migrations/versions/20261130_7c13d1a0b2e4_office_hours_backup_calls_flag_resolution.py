"""office hours on the staff profile (D17), backup calls for a request (S12), flag resolutions

Revision ID: 7c13d1a0b2e4
Revises: c17a0b1d2e3f
Create Date: 2026-11-30 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import server.models.base

revision: str = '7c13d1a0b2e4'
down_revision: str | None = 'c17a0b1d2e3f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_hours_duty', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('away_until', server.models.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table('field_fact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag_resolution', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('flag_note', sqlmodel.sql.sqltypes.AutoString(length=500),
                                      nullable=False, server_default=''))
    op.create_table(
        'request_backup_call',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('called_at', server.models.base.UTCDateTime(), nullable=False),
        sa.Column('called_by', sa.Integer(), nullable=True),
        sa.Column('alerted', sa.JSON(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('taken_by', sa.Integer(), nullable=True),
        sa.Column('taken_at', server.models.base.UTCDateTime(), nullable=True),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['called_by'], ['staff.id']),
        sa.ForeignKeyConstraint(['job_id'], ['job.id']),
        sa.ForeignKeyConstraint(['request_id'], ['support_request.id']),
        sa.ForeignKeyConstraint(['taken_by'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('request_backup_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_backup_call_request_id'), ['request_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('request_backup_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_backup_call_request_id'))
    op.drop_table('request_backup_call')
    with op.batch_alter_table('field_fact', schema=None) as batch_op:
        batch_op.drop_column('flag_note')
        batch_op.drop_column('flag_resolution')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('away_until')
        batch_op.drop_column('office_hours_duty')
