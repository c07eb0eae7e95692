"""The embedded scheduler's stored jobs name the job runner by its new module path.

Issue 13 moved ``workflows/scheduler.py`` to ``workflows/schedule/scheduler.py``. APScheduler keeps each job's
function as a "module:name" reference inside its pickled state, and drops a job whose reference no longer
imports (with its next run time, so a missed run would not be caught up): the references are rewritten here.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import pickle

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD, NEW = "workflows.scheduler:fire", "workflows.schedule.scheduler:fire"


def _rename(old: str, new: str) -> None:
    connection = op.get_bind()
    jobs = sa.table("apscheduler_jobs", sa.column("id", sa.String), sa.column("job_state", sa.LargeBinary))
    for job_id, state in connection.execute(sa.select(jobs.c.id, jobs.c.job_state)).all():
        job = pickle.loads(state)
        if job.get("func") == old:
            job["func"] = new
            connection.execute(jobs.update().where(jobs.c.id == job_id)
                               .values(job_state=pickle.dumps(job, pickle.HIGHEST_PROTOCOL)))


def upgrade() -> None:
    _rename(OLD, NEW)


def downgrade() -> None:
    _rename(NEW, OLD)
