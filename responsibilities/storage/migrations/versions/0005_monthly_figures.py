"""The monthly figures (月报): report versions and their values, append-only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A correction never overwrites figures: it is a new version. Triggers refuse UPDATE and DELETE on both tables,
as on the audit table.
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

APPEND_ONLY = "monthly figures are append-only: a correction is a new version"
TABLES = ("figure_reports", "figure_values")


def upgrade() -> None:
    op.create_table('figure_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deliverable_id', sa.Integer(), nullable=False),
    sa.Column('region_unit_id', sa.String(length=64), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_by', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['deliverable_id'], ['deliverables.id'], ),
    sa.ForeignKeyConstraint(['region_unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('deliverable_id', 'version', name='uq_figure_report_version')
    )
    with op.batch_alter_table('figure_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_figure_reports_deliverable_id'), ['deliverable_id'], unique=False)
        batch_op.create_index('ix_figure_reports_region_month', ['region_unit_id', 'month'], unique=False)

    op.create_table('figure_values',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('field_id', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['figure_reports.id'], ),
    sa.PrimaryKeyConstraint('report_id', 'field_id')
    )
    _make_append_only()


def _make_append_only() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
    elif dialect == "postgresql":
        op.execute(f"""
            CREATE FUNCTION figures_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$""")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION figures_append_only()")
    else:
        raise NotImplementedError(f"no append-only guard for {dialect}: add one before using it")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS figures_append_only()")
    op.drop_table('figure_values')
    op.drop_table('figure_reports')
