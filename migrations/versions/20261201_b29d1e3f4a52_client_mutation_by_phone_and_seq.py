"""client_mutation: an index on (client_id, seq), so a phone's newest entry is found
without reading its whole history (issue 18)

Revision ID: b29d1e3f4a52
Revises: a18c0d2e3f41
Create Date: 2026-12-01 14:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'b29d1e3f4a52'
down_revision: str | None = 'a18c0d2e3f41'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_client_mutation_client_seq', 'client_mutation', ['client_id', 'seq'])


def downgrade() -> None:
    op.drop_index('ix_client_mutation_client_seq', table_name='client_mutation')
