"""The dashboard at scale: current deliverables counted per (unit, state, dated) by the database itself, and
covering indexes for the overdue list and the review queue.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

``deliverable_counts`` holds, for every unit, state and "has a due date", how many current (not retired)
deliverables there are. Triggers on ``deliverables`` keep it exact on every INSERT, DELETE and UPDATE of
``state``, ``unit_id``, ``retired`` or ``due`` (whatever writes them: the services, the plan's re-sync, direct
SQL), in the same transaction as the change. The dashboard's matrix then reads ≤ 5,000 × 10 counts instead of
every deliverable, and counts per request only what depends on the day: open or returned deliverables due
before the due-soon day, through ``ix_deliverables_state_due_cover`` (an index walk, no table rows).

The (state, due) index becomes (state, due, retired, unit_id, ref): the same prefix for every query that used
it, and the overdue list's count and page and the matrix's dated part read the index alone.
``ix_deliverables_state_submitted`` (state, submitted_at, ref, retired) gives the review queue in its order;
obligations get indexes on (kind, lead_unit_id), for those waiting for an event or a date, and on awaits.
The counts are backfilled here from the deliverables.
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

COUNTS = "deliverable_counts"


def upgrade() -> None:
    op.create_table(COUNTS,
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('dated', sa.Boolean(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('unit_id', 'state', 'dated'),
    sqlite_with_rowid=False,  # read in key order, no second lookup per row
    )
    with op.batch_alter_table('deliverables', schema=None) as batch_op:
        batch_op.drop_index('ix_deliverables_state_due')
        batch_op.create_index('ix_deliverables_state_due_cover', ['state', 'due', 'retired', 'unit_id', 'ref'],
                              unique=False)
        batch_op.create_index('ix_deliverables_state_submitted', ['state', 'submitted_at', 'ref', 'retired'],
                              unique=False)
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.create_index('ix_obligations_kind_lead_unit', ['kind', 'lead_unit_id'], unique=False)
        batch_op.create_index('ix_obligations_awaits', ['awaits'], unique=False)
    _create_triggers()
    op.execute(f"INSERT INTO {COUNTS} (unit_id, state, dated, n) "
               "SELECT unit_id, state, due IS NOT NULL, count(*) FROM deliverables "
               f"WHERE retired = {_false()} GROUP BY unit_id, state, due IS NOT NULL")


def _false() -> str:
    return "false" if op.get_bind().dialect.name == "postgresql" else "0"


def _create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        def add(row: str) -> str:  # row: NEW or OLD
            return (f"INSERT OR IGNORE INTO {COUNTS} (unit_id, state, dated, n) "
                    f"VALUES ({row}.unit_id, {row}.state, {row}.due IS NOT NULL, 0); "
                    f"UPDATE {COUNTS} SET n = n + 1 WHERE unit_id = {row}.unit_id AND state = {row}.state "
                    f"AND dated = ({row}.due IS NOT NULL);")

        def remove(row: str) -> str:
            return (f"UPDATE {COUNTS} SET n = n - 1 WHERE unit_id = {row}.unit_id AND state = {row}.state "
                    f"AND dated = ({row}.due IS NOT NULL);")

        op.execute(f"CREATE TRIGGER deliverable_counts_insert AFTER INSERT ON deliverables "
                   f"WHEN NEW.retired = 0 BEGIN {add('NEW')} END")
        op.execute(f"CREATE TRIGGER deliverable_counts_delete AFTER DELETE ON deliverables "
                   f"WHEN OLD.retired = 0 BEGIN {remove('OLD')} END")
        # Two triggers per update, each with its own condition: the old row leaves its count if it was current,
        # the new row joins its count if it is current; nothing happens when no counted property changed.
        changed = ("(OLD.state IS NOT NEW.state OR OLD.unit_id IS NOT NEW.unit_id OR OLD.retired IS NOT NEW.retired "
                   "OR (OLD.due IS NULL) IS NOT (NEW.due IS NULL))")
        op.execute(f"CREATE TRIGGER deliverable_counts_update_old AFTER UPDATE OF state, unit_id, retired, due "
                   f"ON deliverables WHEN OLD.retired = 0 AND {changed} BEGIN {remove('OLD')} END")
        op.execute(f"CREATE TRIGGER deliverable_counts_update_new AFTER UPDATE OF state, unit_id, retired, due "
                   f"ON deliverables WHEN NEW.retired = 0 AND {changed} BEGIN {add('NEW')} END")
    elif dialect == "postgresql":
        op.execute(f"""
            CREATE FUNCTION deliverable_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.retired THEN
                    UPDATE {COUNTS} SET n = n - 1
                    WHERE unit_id = OLD.unit_id AND state = OLD.state AND dated = (OLD.due IS NOT NULL);
                END IF;
                IF TG_OP IN ('UPDATE', 'INSERT') AND NOT NEW.retired THEN
                    INSERT INTO {COUNTS} AS c (unit_id, state, dated, n)
                    VALUES (NEW.unit_id, NEW.state, NEW.due IS NOT NULL, 1)
                    ON CONFLICT (unit_id, state, dated) DO UPDATE SET n = c.n + 1;
                END IF;
                RETURN NULL;
            END $$""")
        op.execute("CREATE TRIGGER deliverable_counts_insert_delete AFTER INSERT OR DELETE ON deliverables "
                   "FOR EACH ROW EXECUTE FUNCTION deliverable_counts_keep()")
        op.execute("CREATE TRIGGER deliverable_counts_update AFTER UPDATE OF state, unit_id, retired, due "
                   "ON deliverables FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state "
                   "OR OLD.unit_id IS DISTINCT FROM NEW.unit_id OR OLD.retired IS DISTINCT FROM NEW.retired "
                   "OR (OLD.due IS NULL) IS DISTINCT FROM (NEW.due IS NULL)) "
                   "EXECUTE FUNCTION deliverable_counts_keep()")
        # TRUNCATE fires no row trigger: empty the counts with the deliverables.
        op.execute(f"""
            CREATE FUNCTION deliverable_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN DELETE FROM {COUNTS}; RETURN NULL; END $$""")
        op.execute("CREATE TRIGGER deliverable_counts_truncate AFTER TRUNCATE ON deliverables "
                   "FOR EACH STATEMENT EXECUTE FUNCTION deliverable_counts_truncate()")
    else:
        raise NotImplementedError(f"no counting triggers for {dialect}: add them before using it")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("insert", "delete", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER IF EXISTS deliverable_counts_{name}")
    elif dialect == "postgresql":
        for name in ("insert_delete", "update", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS deliverable_counts_{name} ON deliverables")
        op.execute("DROP FUNCTION IF EXISTS deliverable_counts_keep()")
        op.execute("DROP FUNCTION IF EXISTS deliverable_counts_truncate()")
    with op.batch_alter_table('obligations', schema=None) as batch_op:
        batch_op.drop_index('ix_obligations_awaits')
        batch_op.drop_index('ix_obligations_kind_lead_unit')
    with op.batch_alter_table('deliverables', schema=None) as batch_op:
        batch_op.drop_index('ix_deliverables_state_submitted')
        batch_op.drop_index('ix_deliverables_state_due_cover')
        batch_op.create_index('ix_deliverables_state_due', ['state', 'due'], unique=False)
    op.drop_table(COUNTS)
