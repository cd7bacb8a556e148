"""equipment desk: spare-unit requests, repair tickets, a unit's history by entity

Revision ID: 7e15a0c1d2b3
Revises: 5aae8242d016
Create Date: 2026-11-30 07:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import server.models.base


revision: str = '7e15a0c1d2b3'
down_revision: str | None = '5aae8242d016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'spare_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('asked_by', sa.Integer(), nullable=True),
        sa.Column('asked_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('device_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('device_model', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('fault', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('deadline_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('from_depot_id', sa.Integer(), nullable=True),
        sa.Column('carrier', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('carrier_staff_id', sa.Integer(), nullable=True),
        sa.Column('tracking_note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('eta_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('shipped_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('shipped_by', sa.Integer(), nullable=True),
        sa.Column('closed_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['support_request.id']),
        sa.ForeignKeyConstraint(['job_id'], ['job.id']),
        sa.ForeignKeyConstraint(['asked_by'], ['staff.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.ForeignKeyConstraint(['from_depot_id'], ['depot.id']),
        sa.ForeignKeyConstraint(['carrier_staff_id'], ['staff.id']),
        sa.ForeignKeyConstraint(['shipped_by'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('spare_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spare_request_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spare_request_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_spare_request_unit_id'), ['unit_id'], unique=False)

    op.create_table(
        'repair_ticket',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('fault', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('opened_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('received_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('received_by', sa.Integer(), nullable=True),
        sa.Column('closed_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_by', sa.Integer(), nullable=True),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.ForeignKeyConstraint(['request_id'], ['support_request.id']),
        sa.ForeignKeyConstraint(['received_by'], ['staff.id']),
        sa.ForeignKeyConstraint(['closed_by'], ['staff.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('repair_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repair_ticket_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repair_ticket_closed_at'), ['closed_at'], unique=False)

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entry_entity', ['entity', 'entity_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entry_entity')
    op.drop_table('repair_ticket')
    op.drop_table('spare_request')
