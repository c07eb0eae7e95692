"""The dashboard at scale, the day's part: every unit's lights as of a stored day, kept by the database.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

``unit_lights`` holds each unit's red, yellow, green and grey counts as of the day in ``lights_day`` (one row:
that day and its due-soon day, the first day that is not due soon). Triggers on ``deliverables`` keep the counts
exact for that day on every INSERT, DELETE and UPDATE of ``state``, ``unit_id``, ``retired`` or ``due``, in the
same transaction as the change, whatever writes it. Moving to another day is the application's
(``responsibilities.reading.lights``): it re-counts only the deliverables whose light the move changes.

While ``lights_day`` is empty the triggers do nothing and the counts mean nothing; the first move counts every
deliverable. So nothing is backfilled here: this migration needs no "today".
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LIGHTS = ("red", "yellow", "green", "grey")


def upgrade() -> None:
    op.create_table('lights_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('today', sa.Date(), nullable=False),
    sa.Column('soon_before', sa.Date(), nullable=False),
    sa.CheckConstraint('id = 1', name='one_day'),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_table('unit_lights',
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    *(sa.Column(light, sa.Integer(), nullable=False) for light in LIGHTS),
    sa.PrimaryKeyConstraint('unit_id'),
    sqlite_with_rowid=False,
    )
    _create_triggers()


def light_of(row: str, today: str, soon_before: str) -> str:
    """``rules.light`` in SQL, for ``row`` (NEW or OLD) on the stored day; the same CASE as
    ``lights.light_of``."""
    return (f"CASE WHEN {row}.state IN ('accepted', 'waived') THEN 'green' "
            f"WHEN {row}.state = 'submitted' THEN 'yellow' "
            f"WHEN {row}.due IS NULL THEN 'grey' "
            f"WHEN {row}.due < {today} THEN 'red' "
            f"WHEN {row}.due < {soon_before} THEN 'yellow' ELSE 'green' END")


def _create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        def change(row: str, sign: str) -> str:
            counts = ", ".join(f"{c} = {c} {sign} (l.light = '{c}')" for c in LIGHTS)
            return (f"UPDATE unit_lights SET {counts} "
                    f"FROM (SELECT {light_of(row, 'd.today', 'd.soon_before')} AS light FROM lights_day AS d) AS l "
                    f"WHERE unit_lights.unit_id = {row}.unit_id;")

        def add(row: str) -> str:
            return (f"INSERT OR IGNORE INTO unit_lights (unit_id, red, yellow, green, grey) "
                    f"VALUES ({row}.unit_id, 0, 0, 0, 0); {change(row, '+')}")

        day = "EXISTS (SELECT 1 FROM lights_day)"
        op.execute(f"CREATE TRIGGER unit_lights_insert AFTER INSERT ON deliverables "
                   f"WHEN NEW.retired = 0 AND {day} BEGIN {add('NEW')} END")
        op.execute(f"CREATE TRIGGER unit_lights_delete AFTER DELETE ON deliverables "
                   f"WHEN OLD.retired = 0 AND {day} BEGIN {change('OLD', '-')} END")
        # As in 0006: the old row leaves its light, the new row joins its light; any change of the due date
        # counts here, since the date decides between red, yellow and green.
        changed = ("(OLD.state IS NOT NEW.state OR OLD.unit_id IS NOT NEW.unit_id OR OLD.retired IS NOT NEW.retired "
                   "OR OLD.due IS NOT NEW.due)")
        op.execute(f"CREATE TRIGGER unit_lights_update_old AFTER UPDATE OF state, unit_id, retired, due "
                   f"ON deliverables WHEN OLD.retired = 0 AND {changed} AND {day} BEGIN {change('OLD', '-')} END")
        op.execute(f"CREATE TRIGGER unit_lights_update_new AFTER UPDATE OF state, unit_id, retired, due "
                   f"ON deliverables WHEN NEW.retired = 0 AND {changed} AND {day} BEGIN {add('NEW')} END")
    elif dialect == "postgresql":
        def change(row: str, sign: str) -> str:
            counts = ", ".join(f"{c} = {c} {sign} (light = '{c}')::int" for c in LIGHTS)
            return (f"light := {light_of(row, 'd.today', 'd.soon_before')}; "
                    f"UPDATE unit_lights SET {counts} WHERE unit_id = {row}.unit_id;")

        ones = ", ".join(f"(light = '{c}')::int" for c in LIGHTS)
        sums = ", ".join(f"{c} = u.{c} + EXCLUDED.{c}" for c in LIGHTS)
        op.execute(f"""
            CREATE FUNCTION unit_lights_keep() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                d lights_day%ROWTYPE;
                light text;
            BEGIN
                SELECT * INTO d FROM lights_day WHERE id = 1;
                IF NOT FOUND THEN RETURN NULL; END IF;
                IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.retired THEN
                    {change('OLD', '-')}
                END IF;
                IF TG_OP IN ('UPDATE', 'INSERT') AND NOT NEW.retired THEN
                    light := {light_of('NEW', 'd.today', 'd.soon_before')};
                    INSERT INTO unit_lights AS u (unit_id, red, yellow, green, grey) VALUES (NEW.unit_id, {ones})
                    ON CONFLICT (unit_id) DO UPDATE SET {sums};
                END IF;
                RETURN NULL;
            END $$""")
        op.execute("CREATE TRIGGER unit_lights_insert_delete AFTER INSERT OR DELETE ON deliverables "
                   "FOR EACH ROW EXECUTE FUNCTION unit_lights_keep()")
        op.execute("CREATE TRIGGER unit_lights_update AFTER UPDATE OF state, unit_id, retired, due "
                   "ON deliverables FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state "
                   "OR OLD.unit_id IS DISTINCT FROM NEW.unit_id OR OLD.retired IS DISTINCT FROM NEW.retired "
                   "OR OLD.due IS DISTINCT FROM NEW.due) "
                   "EXECUTE FUNCTION unit_lights_keep()")
        op.execute("""
            CREATE FUNCTION unit_lights_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN DELETE FROM unit_lights; RETURN NULL; END $$""")
        op.execute("CREATE TRIGGER unit_lights_truncate AFTER TRUNCATE ON deliverables "
                   "FOR EACH STATEMENT EXECUTE FUNCTION unit_lights_truncate()")
    else:
        raise NotImplementedError(f"no light-keeping triggers for {dialect}: add them before using it")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("insert", "delete", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER IF EXISTS unit_lights_{name}")
    elif dialect == "postgresql":
        for name in ("insert_delete", "update", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS unit_lights_{name} ON deliverables")
        op.execute("DROP FUNCTION IF EXISTS unit_lights_keep()")
        op.execute("DROP FUNCTION IF EXISTS unit_lights_truncate()")
    op.drop_table('unit_lights')
    op.drop_table('lights_day')
