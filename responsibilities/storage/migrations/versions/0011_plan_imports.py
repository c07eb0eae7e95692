"""Plans imported in the browser: each uploaded document and the office's corrections, until published or discarded.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

- ``plan_imports``: one row per upload (who, when, the file's name, size, hash and bytes, the year given), the
  corrections as JSON, its status (draft, published, discarded), a version that each change increments, and the
  plan it was published as. Publishing or discarding empties the bytes; the row stays.
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('corrections', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.String(length=64), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('finished_by', sa.String(length=64), nullable=True),
    sa.CheckConstraint("status = 'draft' OR status = 'published' OR status = 'discarded'",
                       name='ck_plan_imports_status'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_plan_imports_status', 'plan_imports', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_plan_imports_status', table_name='plan_imports')
    op.drop_table('plan_imports')
