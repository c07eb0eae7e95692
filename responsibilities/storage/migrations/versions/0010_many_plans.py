"""Many plans in one database: obligations and deliverables belong to a plan; one directory of units.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Before this revision a database held one plan. Every row it holds is given to that plan:

- ``plans`` gains a short name, its issuer, a kind (``plan``: loaded from a file; ``standing``: the year's items
  the office assigns by hand), the year of a standing plan, and when and by whom it was closed.
- ``obligations`` gain ``plan_id`` and ``ref``, the obligation's id within its plan (unique per plan). The key
  (``obligations.id``) stays what it was for the rows already stored: it is referenced by co-units, deliverables
  and notices, and named by the append-only audit trail, so it is kept as an opaque key. New obligations are
  keyed ``<plan>:<ref>``; code finds obligations by (plan, ref), never by building a key.
- ``deliverables.ref`` becomes unique within its plan, not across the database: the column holding the old
  database-wide unique reference is renamed ``qualified_ref`` and rewritten ``<plan>:<ref>`` (the unique
  constraint stays on it; SQLite cannot drop it without rebuilding the table and its triggers), and a new ``ref``
  column holds the reference people type. A link already sent (``/deliverables/<ref>``) still opens its
  deliverable: the ref it names is unchanged.
- ``unit_plans``: which plans name which unit of the office's directory, with the plan's own definition of it
  (a unit that leaves one plan stays in the directory while another names it). ``units`` gain the leader in charge
  (分管领导), to whom escalations about items without a leading group go.
- ``plan_people``: each plan's leading group (role per plan); ``people`` becomes the directory of persons.
- ``notices`` gain ``plan_id`` for notices about a whole plan (the year-end summary), whose key names the plan.
- ``deliverable_plan_counts``: ``deliverable_counts`` (0006) per plan, kept by triggers of their own in the same way,
  so that one plan's dashboard reads its units' counts instead of every deliverable of the plan (at 222,575
  deliverables in a plan, its matrix's statement took 165 ms, 29 ms from these counts); only what depends on the
  day is counted, on ``ix_deliverables_plan_state_due``.

The new ``plan_id`` columns of obligations, deliverables and notices are foreign keys and NOT NULL on PostgreSQL.
SQLite cannot add either to an existing table without rebuilding it (and the triggers kept on ``deliverables``):
there the application keeps them, as it writes them.
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


PLAN_COUNTS = "deliverable_plan_counts"
COVERING = {'ix_deliverables_state_due_cover': ['state', 'due', 'retired', 'unit_id', 'ref'],
            'ix_deliverables_state_submitted': ['state', 'submitted_at', 'ref', 'retired']}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    one_plan = "(SELECT min(id) FROM plans)"

    op.add_column('plans', sa.Column('short_name', sa.String(length=32), nullable=True))
    op.add_column('plans', sa.Column('issuer', sa.Text(), nullable=True))
    op.add_column('plans', sa.Column('kind', sa.String(length=16), nullable=False, server_default='plan'))
    op.add_column('plans', sa.Column('year', sa.Integer(), nullable=True))
    op.add_column('plans', sa.Column('closed_at', sa.DateTime(), nullable=True))
    op.add_column('plans', sa.Column('closed_by', sa.String(length=64), nullable=True))
    op.execute("UPDATE plans SET short_name = substr(title, 1, 32)")

    op.add_column('units', sa.Column('leader', sa.JSON(), nullable=True))
    op.create_table('unit_plans',
    sa.Column('plan_id', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('plan_id', 'unit_id'),
    )
    op.create_index('ix_unit_plans_unit_id', 'unit_plans', ['unit_id'], unique=False)
    # The definitions stored so far are the one plan's: NULL means "as the directory row says".
    op.execute(f"INSERT INTO unit_plans (plan_id, unit_id) SELECT {one_plan}, id FROM units "
               f"WHERE NOT retired AND EXISTS (SELECT 1 FROM plans)")

    op.create_table('plan_people',
    sa.Column('plan_id', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('plan_id', 'person_id'),
    )
    op.execute(f"INSERT INTO plan_people (plan_id, person_id, role) SELECT {one_plan}, id, role FROM people "
               f"WHERE NOT retired AND EXISTS (SELECT 1 FROM plans)")
    op.execute("ALTER TABLE people DROP COLUMN role")  # plain SQL: SQLite 3.35+ drops a plain column in place

    op.add_column('obligations', sa.Column('plan_id', sa.String(length=64), nullable=True))
    op.add_column('obligations', sa.Column('ref', sa.String(length=200), nullable=True))
    op.execute(f"UPDATE obligations SET plan_id = {one_plan}, ref = id")
    op.create_index('uq_obligations_plan_ref', 'obligations', ['plan_id', 'ref'], unique=True)

    op.execute("ALTER TABLE deliverables RENAME COLUMN ref TO qualified_ref")
    op.add_column('deliverables', sa.Column('plan_id', sa.String(length=64), nullable=True))
    op.add_column('deliverables', sa.Column('ref', sa.String(length=160), nullable=True))
    op.execute(f"UPDATE deliverables SET plan_id = {one_plan}, ref = qualified_ref")
    op.execute("UPDATE deliverables SET qualified_ref = plan_id || ':' || ref")
    op.create_index('uq_deliverables_plan_ref', 'deliverables', ['plan_id', 'ref'], unique=True)
    # The covering indexes named the old column (now qualified_ref): the lists page by the ref people type.
    for name, columns in COVERING.items():
        op.drop_index(name, table_name='deliverables')
        op.create_index(name, 'deliverables', columns, unique=False)
    # One plan's sweep, overdue list and the dated part of its matrix (the rest: deliverable_plan_counts, below).
    op.create_index('ix_deliverables_plan_state_due', 'deliverables',
                    ['plan_id', 'state', 'due', 'retired', 'unit_id'], unique=False)

    op.create_table(PLAN_COUNTS,
    sa.Column('plan_id', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('dated', sa.Boolean(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('plan_id', 'unit_id', 'state', 'dated'),
    sqlite_with_rowid=False,  # one plan's counts read in key order, by unit
    )
    _create_plan_count_triggers(postgres)
    op.execute(PLAN_COUNTS_BACKFILL.format(false="false" if postgres else "0"))

    op.add_column('notices', sa.Column('plan_id', sa.String(length=64), nullable=True))
    op.execute(f"UPDATE notices SET plan_id = {one_plan}, "
               f"dedupe_key = 'summary:' || {one_plan} || ':' || substr(dedupe_key, 9) WHERE kind = 'summary'")

    if postgres:
        # A key <plan>:<ref> is longer than the old columns allowed.
        for table, column in (('obligations', 'id'), ('obligation_co_units', 'obligation_id'),
                              ('deliverables', 'obligation_id'), ('notices', 'obligation_id'),
                              ('audit', 'obligation_id')):
            op.alter_column(table, column, type_=sa.String(length=200))
        op.alter_column('deliverables', 'qualified_ref', type_=sa.String(length=240))
        for table, column in (('obligations', 'plan_id'), ('obligations', 'ref'), ('deliverables', 'plan_id'),
                              ('deliverables', 'ref')):
            op.alter_column(table, column, nullable=False)
        for table in ('obligations', 'deliverables', 'notices'):
            op.create_foreign_key(f'fk_{table}_plan_id', table, 'plans', ['plan_id'], ['id'])


# What the triggers below keep, counted afresh (also benchmarks/sweep_benchmark.py's PostgreSQL build).
PLAN_COUNTS_BACKFILL = (f"INSERT INTO {PLAN_COUNTS} (plan_id, unit_id, state, dated, n) "
                        "SELECT plan_id, unit_id, state, due IS NOT NULL, count(*) FROM deliverables "
                        "WHERE retired = {false} GROUP BY plan_id, unit_id, state, due IS NOT NULL")


def _create_plan_count_triggers(postgres: bool) -> None:
    """0006's triggers for deliverable_counts, with the plan in the key (and a change of plan counted)."""
    key = ("plan_id = {row}.plan_id AND unit_id = {row}.unit_id AND state = {row}.state "
           "AND dated = ({row}.due IS NOT NULL)")
    if not postgres:
        def add(row: str) -> str:  # row: NEW or OLD
            return (f"INSERT OR IGNORE INTO {PLAN_COUNTS} (plan_id, unit_id, state, dated, n) "
                    f"VALUES ({row}.plan_id, {row}.unit_id, {row}.state, {row}.due IS NOT NULL, 0); "
                    f"UPDATE {PLAN_COUNTS} SET n = n + 1 WHERE {key.format(row=row)};")

        def remove(row: str) -> str:
            return f"UPDATE {PLAN_COUNTS} SET n = n - 1 WHERE {key.format(row=row)};"

        op.execute(f"CREATE TRIGGER {PLAN_COUNTS}_insert AFTER INSERT ON deliverables "
                   f"WHEN NEW.retired = 0 BEGIN {add('NEW')} END")
        op.execute(f"CREATE TRIGGER {PLAN_COUNTS}_delete AFTER DELETE ON deliverables "
                   f"WHEN OLD.retired = 0 BEGIN {remove('OLD')} END")
        changed = ("(OLD.plan_id IS NOT NEW.plan_id OR OLD.state IS NOT NEW.state OR OLD.unit_id IS NOT NEW.unit_id "
                   "OR OLD.retired IS NOT NEW.retired OR (OLD.due IS NULL) IS NOT (NEW.due IS NULL))")
        op.execute(f"CREATE TRIGGER {PLAN_COUNTS}_update_old AFTER UPDATE OF plan_id, state, unit_id, retired, due "
                   f"ON deliverables WHEN OLD.retired = 0 AND {changed} BEGIN {remove('OLD')} END")
        op.execute(f"CREATE TRIGGER {PLAN_COUNTS}_update_new AFTER UPDATE OF plan_id, state, unit_id, retired, due "
                   f"ON deliverables WHEN NEW.retired = 0 AND {changed} BEGIN {add('NEW')} END")
        return
    op.execute(f"""
        CREATE FUNCTION {PLAN_COUNTS}_keep() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.retired THEN
                UPDATE {PLAN_COUNTS} SET n = n - 1 WHERE {key.format(row='OLD')};
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') AND NOT NEW.retired THEN
                INSERT INTO {PLAN_COUNTS} AS c (plan_id, unit_id, state, dated, n)
                VALUES (NEW.plan_id, NEW.unit_id, NEW.state, NEW.due IS NOT NULL, 1)
                ON CONFLICT (plan_id, unit_id, state, dated) DO UPDATE SET n = c.n + 1;
            END IF;
            RETURN NULL;
        END $$""")
    op.execute(f"CREATE TRIGGER {PLAN_COUNTS}_insert_delete AFTER INSERT OR DELETE ON deliverables "
               f"FOR EACH ROW EXECUTE FUNCTION {PLAN_COUNTS}_keep()")
    op.execute(f"CREATE TRIGGER {PLAN_COUNTS}_update AFTER UPDATE OF plan_id, state, unit_id, retired, due "
               "ON deliverables FOR EACH ROW WHEN (OLD.plan_id IS DISTINCT FROM NEW.plan_id "
               "OR OLD.state IS DISTINCT FROM NEW.state OR OLD.unit_id IS DISTINCT FROM NEW.unit_id "
               "OR OLD.retired IS DISTINCT FROM NEW.retired OR (OLD.due IS NULL) IS DISTINCT FROM (NEW.due IS NULL)) "
               f"EXECUTE FUNCTION {PLAN_COUNTS}_keep()")
    # TRUNCATE fires no row trigger: empty the counts with the deliverables.
    op.execute(f"""
        CREATE FUNCTION {PLAN_COUNTS}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM {PLAN_COUNTS}; RETURN NULL; END $$""")
    op.execute(f"CREATE TRIGGER {PLAN_COUNTS}_truncate AFTER TRUNCATE ON deliverables "
               f"FOR EACH STATEMENT EXECUTE FUNCTION {PLAN_COUNTS}_truncate()")


def _drop_plan_count_triggers(postgres: bool) -> None:
    if not postgres:
        for name in ("insert", "delete", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER IF EXISTS {PLAN_COUNTS}_{name}")
        return
    for name in ("insert_delete", "update", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS {PLAN_COUNTS}_{name} ON deliverables")
    for name in ("keep", "truncate"):
        op.execute(f"DROP FUNCTION IF EXISTS {PLAN_COUNTS}_{name}()")


def downgrade() -> None:
    connection = op.get_bind()
    plans = connection.execute(sa.text("SELECT count(*) FROM plans")).scalar_one()
    if plans > 1:
        raise RuntimeError(f"this database holds {plans} plans: the release before 0010 holds one; "
                           "restore the backup made before the upgrade instead")
    if connection.dialect.name == "postgresql":
        for table in ('obligations', 'deliverables', 'notices'):
            op.drop_constraint(f'fk_{table}_plan_id', table, type_='foreignkey')
    op.execute("UPDATE notices SET dedupe_key = 'summary:' || substr(dedupe_key, length(plan_id) + 10) "
               "WHERE kind = 'summary' AND plan_id IS NOT NULL")
    _drop('notices', 'plan_id')
    _drop_plan_count_triggers(connection.dialect.name == "postgresql")
    op.drop_table(PLAN_COUNTS)
    op.drop_index('ix_deliverables_plan_state_due', table_name='deliverables')
    op.drop_index('uq_deliverables_plan_ref', table_name='deliverables')
    for name in COVERING:
        op.drop_index(name, table_name='deliverables')
    op.execute("UPDATE deliverables SET qualified_ref = ref")
    _drop('deliverables', 'ref')
    _drop('deliverables', 'plan_id')
    op.execute("ALTER TABLE deliverables RENAME COLUMN qualified_ref TO ref")
    for name, columns in COVERING.items():
        op.create_index(name, 'deliverables', columns, unique=False)
    op.drop_index('uq_obligations_plan_ref', table_name='obligations')
    _drop('obligations', 'ref')
    _drop('obligations', 'plan_id')
    op.add_column('people', sa.Column('role', sa.String(length=16), nullable=False, server_default='member'))
    op.execute("UPDATE people SET role = (SELECT role FROM plan_people WHERE person_id = people.id)")
    op.drop_table('plan_people')
    op.drop_index('ix_unit_plans_unit_id', table_name='unit_plans')
    op.drop_table('unit_plans')
    _drop('units', 'leader')
    for column in ('closed_by', 'closed_at', 'year', 'kind', 'issuer', 'short_name'):
        _drop('plans', column)


def _drop(table: str, column: str) -> None:
    op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # SQLite 3.35+ too, without rebuilding the table
