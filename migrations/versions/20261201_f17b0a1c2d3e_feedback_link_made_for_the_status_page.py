"""a feedback link may be made for the customer's status page, by no staff member (D19, S6)

Revision ID: f17b0a1c2d3e
Revises: 3b8e5f0a9d21
Create Date: 2026-12-01 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f17b0a1c2d3e'
down_revision: str | None = '3b8e5f0a9d21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('feedback_link', schema=None) as batch_op:
        batch_op.alter_column('created_by', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM feedback_link WHERE created_by IS NULL")
    with op.batch_alter_table('feedback_link', schema=None) as batch_op:
        batch_op.alter_column('created_by', existing_type=sa.Integer(), nullable=False)
