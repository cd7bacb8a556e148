"""inbound contacts, WeCom user ids, customer status links (issue 17)

Revision ID: c17a0b1d2e3f
Revises: 7e15a0c1d2b3
Create Date: 2026-11-30 07:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import server.models.base


revision: str = 'c17a0b1d2e3f'
down_revision: str | None = '7e15a0c1d2b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'inbound_contact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('sender_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('reply_to', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('received_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_message_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('close_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('closed_by', sa.Integer(), nullable=True),
        sa.Column('closed_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('agents_alerted_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('lead_alerted_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['closed_by'], ['staff.id'], ),
        sa.ForeignKeyConstraint(['request_id'], ['support_request.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('inbound_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_contact_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_contact_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_contact_sender'), ['sender'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_contact_status'), ['status'], unique=False)
    op.create_table(
        'inbound_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('media_id', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column('received_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['inbound_contact.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel', 'external_id'),
    )
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_message_contact_id'), ['contact_id'], unique=False)
    op.create_table(
        'channel_cursor',
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('cursor', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column('updated_at', server.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'used_link',
        sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('used_at', server.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('nonce'),
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wecom_userid', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=False, server_default=''))
    with op.batch_alter_table('support_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_token', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.create_unique_constraint('uq_support_request_status_token', ['status_token'])


def downgrade() -> None:
    with op.batch_alter_table('support_request', schema=None) as batch_op:
        batch_op.drop_constraint('uq_support_request_status_token', type_='unique')
        batch_op.drop_column('status_token')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('wecom_userid')
    op.drop_table('used_link')
    op.drop_table('channel_cursor')
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_message_contact_id'))
    op.drop_table('inbound_message')
    with op.batch_alter_table('inbound_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_contact_status'))
        batch_op.drop_index(batch_op.f('ix_inbound_contact_sender'))
        batch_op.drop_index(batch_op.f('ix_inbound_contact_request_id'))
        batch_op.drop_index(batch_op.f('ix_inbound_contact_received_at'))
    op.drop_table('inbound_contact')
