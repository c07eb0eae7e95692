"""Delivery that rides out outages, and the scheduled jobs' last runs.

- notices: ``first_attempt_at`` (a notice fails for good only after a time limit counted from its first real
  attempt) and ``lapsed_claims`` (claims whose deliverer died, counted apart from real attempts);
- channel_status: a server that could not be reached, and when delivery tries it again;
- job_runs: each scheduled job's last run, for /healthz and the office's dashboard;
- on PostgreSQL, TRUNCATE of the monthly figures refused like UPDATE and DELETE (a statement trigger: TRUNCATE
  fires no row trigger, and 0005 guarded only rows).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

FIGURE_TABLES = ("figure_reports", "figure_values")


def upgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('lapsed_claims', sa.Integer(), nullable=False, server_default='0'))
    # Until now ``attempts`` also counted claims that sent nothing (a server that was down): a notice that is
    # still pending starts its time limit afresh at its next real attempt.
    op.execute("UPDATE notices SET first_attempt_at = claimed_at WHERE status IN ('sent', 'failed')")
    # "Nobody refused" was stored as JSON null; it is SQL NULL from now on (none_as_null), so SQL can find refusals.
    as_text = "CAST(refused AS TEXT)" if op.get_bind().dialect.name == "postgresql" else "refused"
    op.execute(f"UPDATE notices SET refused = NULL WHERE {as_text} = 'null'")
    as_text = as_text.replace("refused", "recipients")
    op.execute(f"UPDATE notices SET recipients = NULL WHERE {as_text} = 'null'")

    op.create_table('channel_status',
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=False),
    sa.Column('unreachable_since', sa.DateTime(), nullable=False),
    sa.Column('retry_at', sa.DateTime(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('channel')
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in FIGURE_TABLES:
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION figures_append_only()")
    op.create_table('job_runs',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('succeeded', sa.Boolean(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('job_runs')
    if op.get_bind().dialect.name == "postgresql":
        for table in FIGURE_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.drop_table('channel_status')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('lapsed_claims')
        batch_op.drop_column('first_attempt_at')
