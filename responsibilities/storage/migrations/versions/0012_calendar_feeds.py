"""Calendar feeds: a secret .ics address per unit (and the office) for its due dates, regenerated at will.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

- ``calendar_feeds``: one row per address made (the owner, the token's SHA-256, who made it and when, and when it
  was revoked by a newer one). The token itself is never stored.
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_sha256')
    )
    op.create_index('ix_calendar_feeds_owner', 'calendar_feeds', ['owner', 'revoked_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_calendar_feeds_owner', table_name='calendar_feeds')
    op.drop_table('calendar_feeds')
