"""Storage models (SQLAlchemy 2, typed). The schema itself is created by Alembic migrations.

The plan's facts (units, people, obligations, targets) are copied in by ``duban load``; deliverables are
the dated hand-ins the supervision cycle tracks. The audit table is append-only in the database itself
(triggers, see the migration), so the trail cannot be edited even with direct SQL.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, stored as naive UTC on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous: pass an aware datetime (services take `now` with a zone)")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class PlanRecord(Base):
    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    document_number: Mapped[str] = mapped_column(String(64))
    time_zone: Mapped[str] = mapped_column(String(64))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    published_on: Mapped[date] = mapped_column(Date)
    # Supervision settings and calendar declarations as loaded: the database is self-contained.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime]
    short_name: Mapped[str | None] = mapped_column(String(32))  # what lists and tags show (职业技能提升行动)
    issuer: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), server_default="plan")  # plan | standing (items assigned by hand)
    year: Mapped[int | None] = mapped_column(Integer)  # a standing plan's year
    closed_at: Mapped[datetime | None]  # a closed plan owes no more notices; it stays in the history and reports
    closed_by: Mapped[str | None] = mapped_column(String(64))


class UnitRecord(Base):
    __tablename__ = "units"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    aliases: Mapped[list[Any]] = mapped_column(JSON)
    emails: Mapped[list[Any]] = mapped_column(JSON)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)  # no plan names it any more
    # The leader in charge (分管领导): {"name", "title", "email"}; escalations about an item without a leading group.
    leader: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class UnitPlan(Base):
    """Which plans name which unit of the office's one directory, with the plan's own definition of it (NULL: as
    the directory row says). A unit is retired only when no plan names it."""

    __tablename__ = "unit_plans"
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PersonRecord(Base):
    """A person of the office's directory; the role is per plan (``plan_people``)."""

    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    email: Mapped[str] = mapped_column(Text)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class PlanPerson(Base):
    """A plan's leading group: who is in it, as leader, deputy or member (speaking for a unit)."""

    __tablename__ = "plan_people"
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # leader | deputy | member


class User(Base):
    """Someone who acts in duban: the office, a unit's staff, or a leader (read-only)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # office | unit | leader
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[datetime]
    # Argon2id hash for signing in to the web application; None: the user acts only from the command line (--as).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class WebSession(Base):
    """A signed-in browser or API client. Only a hash of the session id is stored: a copy of the database does
    not let anyone act as the people signed in. Ended by signing out, by the idle and absolute time-outs,
    and by disabling the user."""

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    address: Mapped[str | None] = mapped_column(String(64))


class SignInAttempt(Base):
    """A failed sign-in, kept for a few minutes: throttling counts them per account and per address, in the
    database, so that several web processes agree."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (Index("ix_sign_in_attempts_account_at", "account", "at"),
                      Index("ix_sign_in_attempts_address_at", "address", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    account: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))


class ObligationRecord(Base):
    """An obligation of a plan. ``id`` is an opaque key (``<plan>:<ref>``; a database upgraded from one plan keeps
    its old keys): find an obligation by (plan_id, ref), never by building a key."""

    __tablename__ = "obligations"
    __table_args__ = (Index("ix_obligations_kind_lead_unit", "kind", "lead_unit_id"),  # those waiting for a date
                      Index("ix_obligations_awaits", "awaits"),
                      Index("uq_obligations_plan_ref", "plan_id", "ref", unique=True))
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", name="fk_obligations_plan_id"))
    ref: Mapped[str] = mapped_column(String(200))  # the obligation's id in its plan (hrss-1, monthly-report.guiping)
    declared_id: Mapped[str] = mapped_column(String(128))
    lead_unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    group_id: Mapped[str | None] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    deadline_text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    awaits: Mapped[str | None] = mapped_column(ForeignKey("events.id"))
    sources: Mapped[list[Any]] = mapped_column(JSON)
    co_unit_ids: Mapped[list[Any]] = mapped_column(JSON)  # in the document's order; see obligation_co_units
    retired_at: Mapped[datetime | None]


class CoUnit(Base):
    """Which units cooperate on which obligation: indexed, so a unit finds what it cooperates on."""

    __tablename__ = "obligation_co_units"
    obligation_id: Mapped[str] = mapped_column(String(200), ForeignKey("obligations.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)


class EventRecord(Base):
    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(ForeignKey("units.id"))
    occurred_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime | None]
    recorded_by: Mapped[str | None] = mapped_column(String(64))


STATES = ("open", "submitted", "returned", "accepted", "waived")


class Deliverable(Base):
    """One dated hand-in of an obligation; ``ref`` is what people type (hrss-1, monthly-report.guiping@2019-11),
    unique within its plan; ``qualified_ref`` (``<plan>:<ref>``) is unique across the database."""

    __tablename__ = "deliverables"
    __table_args__ = (
        UniqueConstraint("obligation_id", "period", name="uq_deliverable_period"),
        Index("uq_deliverables_plan_ref", "plan_id", "ref", unique=True),
        # One plan's sweep, overdue list and the dated part of its matrix (the rest: deliverable_plan_counts).
        Index("ix_deliverables_plan_state_due", "plan_id", "state", "due", "retired", "unit_id"),
        # Covering: the overdue list's count and page, and the matrix's dated part, read the index alone.
        Index("ix_deliverables_state_due_cover", "state", "due", "retired", "unit_id", "ref"),
        Index("ix_deliverables_state_submitted", "state", "submitted_at", "ref", "retired"),  # the review queue
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    qualified_ref: Mapped[str] = mapped_column(String(240), unique=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", name="fk_deliverables_plan_id"))
    ref: Mapped[str] = mapped_column(String(160))
    obligation_id: Mapped[str] = mapped_column(String(200), ForeignKey("obligations.id"), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)  # the lead unit, for fast per-unit views
    period: Mapped[str] = mapped_column(String(32))  # once | 2019-11 | 2019-Q4 | 2019-H2 | 2019 | stage-1 | 2020-03-15
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    original_due: Mapped[date | None] = mapped_column(Date)  # as the plan dates it: scoring uses this
    due: Mapped[date | None] = mapped_column(Date)  # after granted extensions
    state: Mapped[str] = mapped_column(String(16), default="open")
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]  # accepted or waived
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    set_by_office: Mapped[bool] = mapped_column(Boolean, default=False)  # external dates: kept across loads
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class DeliverableCount(Base):
    """How many current (not retired) deliverables each unit has in each state, with and without a due date.

    Kept by the database itself (triggers on ``deliverables``, see migration 0006), in the same transaction as
    every change, so the dashboard's matrix reads these counts instead of every deliverable.
    """

    __tablename__ = "deliverable_counts"
    __table_args__ = {"sqlite_with_rowid": False}  # read in key order, no second lookup per row
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    dated: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class DeliverablePlanCount(Base):
    """``DeliverableCount`` per plan: how many current deliverables each plan has for each unit, in each state, with
    and without a due date. Kept by triggers on ``deliverables`` (migration 0010) as those counts are; one plan's
    dashboard reads them."""

    __tablename__ = "deliverable_plan_counts"
    __table_args__ = {"sqlite_with_rowid": False}  # one plan's counts read in key order, by unit
    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    dated: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class LightsDay(Base):
    """The day ``unit_lights`` counts are as of, with its due-soon day (the first day not due soon)."""

    __tablename__ = "lights_day"
    __table_args__ = (CheckConstraint("id = 1", name="one_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    today: Mapped[date]
    soon_before: Mapped[date]


class UnitLights(Base):
    """Each unit's current deliverables by light, as of the day in ``lights_day``.

    Kept by the database (triggers on ``deliverables``, see migration 0007) for that day; moved from one day
    to another by ``responsibilities.reading.lights``.
    """

    __tablename__ = "unit_lights"
    __table_args__ = {"sqlite_with_rowid": False}
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    red: Mapped[int] = mapped_column(Integer)
    yellow: Mapped[int] = mapped_column(Integer)
    green: Mapped[int] = mapped_column(Integer)
    grey: Mapped[int] = mapped_column(Integer)


class Evidence(Base):
    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deliverable_id: Mapped[int] = mapped_column(ForeignKey("deliverables.id"), index=True)
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # file | link
    sha256: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(Text)


class Extension(Base):
    __tablename__ = "extensions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deliverable_id: Mapped[int] = mapped_column(ForeignKey("deliverables.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    requested_due: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | granted | refused
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)


class AuditRecord(Base):
    """Who did what, when, to which deliverable: before → after. Append-only (database triggers)."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_unit_at", "unit_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[str | None] = mapped_column(String(64))
    obligation_id: Mapped[str | None] = mapped_column(String(200))
    deliverable_id: Mapped[int | None] = mapped_column(Integer, index=True)
    deliverable_ref: Mapped[str | None] = mapped_column(String(160))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class RegionTargetRecord(Base):
    __tablename__ = "region_targets"
    region_unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class PlanTargetRecord(Base):
    __tablename__ = "plan_targets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    value: Mapped[int] = mapped_column(Integer)
    unit_of_measure: Mapped[str] = mapped_column(String(16))
    year: Mapped[int | None] = mapped_column(Integer)
    part_of: Mapped[str | None] = mapped_column(String(64))
    by: Mapped[date | None] = mapped_column(Date)


class CalendarDay(Base):
    """The plan's working-day calendar as a table, so the sweep can count working days in SQL.

    ``cum`` is the number of working days from the table's first day up to and including ``day``: the working
    days in (a, b] are ``cum(b) - cum(a)``, for any two days, on every database.
    """

    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    cum: Mapped[int] = mapped_column(Integer)


NOTICE_KINDS = ("reminder", "chase", "escalation", "office", "digest")
NOTICE_STATES = ("pending", "sending", "sent", "failed")


class Notice(Base):
    """A message owed to someone, written by the sweep in the same transaction as its decision (an outbox).

    ``dedupe_key`` makes every owed step exist once however often the sweep runs; delivery claims rows with a
    conditional UPDATE and records the outcome here. ``audience`` says who is told; addresses are resolved
    when the message is rendered, so a corrected contact address is used by notices still pending.
    """

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status_next", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # reminder: working days before due; chase: its number; escalation: level
    level: Mapped[int] = mapped_column(Integer)
    # unit | co-unit:<id> | unit-member | office | deputies | leader, comma-joined
    audience: Mapped[str] = mapped_column(String(80))
    deliverable_id: Mapped[int | None] = mapped_column(ForeignKey("deliverables.id"), index=True)
    obligation_id: Mapped[str | None] = mapped_column(String(200), ForeignKey("obligations.id"))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id", name="fk_notices_plan_id"))  # a whole plan's
    owed_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # Real attempts: the message was put before the server and it answered (a server that could not be reached
    # costs a notice nothing). A notice fails for good on a permanent answer, or when its first real attempt is
    # older than delivery's time limit (``first_attempt_at``).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # host:pid:token of the deliverer holding it
    claimed_at: Mapped[datetime | None]  # renewed while that deliverer lives; a claim not renewed lapses
    lapsed_claims: Mapped[int] = mapped_column(Integer, default=0)  # claims whose deliverer died without an outcome
    sent_at: Mapped[datetime | None]  # when the first recipients accepted it
    message_id: Mapped[str | None] = mapped_column(String(200))
    # none_as_null: "nobody refused" is SQL NULL (not JSON null), so that the office's list of failures can ask for it.
    recipients: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))  # accepted it: never sent it again
    refused: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))  # address → permanent refusal
    last_error: Mapped[str | None] = mapped_column(Text)


# What the office must look at: notices that failed, and those sent with some recipients refused for good.
FAILED_OR_REFUSED = (Notice.status == "failed") | ((Notice.status == "sent") & Notice.refused.is_not(None))


class SchedulerLease(Base):
    """Who runs the embedded scheduler for this database: one holder at a time, renewed while it lives.

    A lease row rather than a file lock, so that it works wherever the database is (two machines on one
    PostgreSQL, too), and a holder that dies is replaced once its lease expires.
    """

    __tablename__ = "scheduler_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    acquired_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class APSchedulerJob(Base):
    """APScheduler's job store table, created here by migration so that two schedulers starting at once on a
    new database do not race on CREATE TABLE. APScheduler owns its rows (pickled job state)."""

    __tablename__ = "apscheduler_jobs"
    id: Mapped[str] = mapped_column(String(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class FigureReport(Base):
    """One version of a region's monthly figures (月报), the hand-in of its monthly-report deliverable.

    Never updated nor deleted (database triggers): a resubmission or a correction after acceptance is a new
    version, and the figures that count are the newest version of a report the office has not returned.
    """

    __tablename__ = "figure_reports"
    __table_args__ = (UniqueConstraint("deliverable_id", "version", name="uq_figure_report_version"),
                      Index("ix_figure_reports_region_month", "region_unit_id", "month"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deliverable_id: Mapped[int] = mapped_column(ForeignKey("deliverables.id"), index=True)
    region_unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    month: Mapped[date] = mapped_column(Date)  # the first day of the month reported on
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per deliverable
    kind: Mapped[str] = mapped_column(String(16))  # submission | correction
    submitted_at: Mapped[datetime]
    submitted_by: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # cli | xlsx | web | simulate
    note: Mapped[str | None] = mapped_column(Text)


class FigureValue(Base):
    """One figure of one report version: trained person-times (人次) in a category (a field of the plan)."""

    __tablename__ = "figure_values"
    report_id: Mapped[int] = mapped_column(ForeignKey("figure_reports.id"), primary_key=True)
    field_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class JobRun(Base):
    """The last run of each scheduled job (sweep, deliver, digests, year_end): what an operator and the office see.

    One row per job, overwritten by each run, so it stays small however long duban runs; the flow-run history,
    where Prefect runs the jobs, is Prefect's.
    """

    __tablename__ = "job_runs"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))  # the process that ran it last
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]  # None while it runs (or if its process died)
    succeeded: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)  # one line: why the last run failed
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None]
    runs: Mapped[int] = mapped_column(Integer, default=0)


class ChannelStatus(Base):
    """A delivery channel's server that could not be reached: delivery backs off as a whole until ``retry_at``,
    and no notice spends an attempt on it. ``target`` is the server's address (without secrets): a different
    server, once configured, is tried at once."""

    __tablename__ = "channel_status"
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)  # email
    target: Mapped[str] = mapped_column(String(300))
    unreachable_since: Mapped[datetime]
    retry_at: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text)


# Written as ORs, not IN: PostgreSQL keeps an IN over text in a form a dump does not give back as it was, and a
# restored backup must be the database it copied (tests/test_cli_tracking.py).
PLAN_IMPORT_STATUSES = "status = 'draft' OR status = 'published' OR status = 'discarded'"


class PlanImport(Base):
    """A document the office is importing in the browser, kept until the plan is published or the draft discarded:
    the uploaded bytes (read again on each view: the reading depends on the directory of the day) and the office's
    corrections. Publishing or discarding empties ``content``; the row stays as the record of who did what."""

    __tablename__ = "plan_imports"
    __table_args__ = (CheckConstraint(PLAN_IMPORT_STATUSES, name="ck_plan_imports_status"),
                      Index("ix_plan_imports_status", "status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    file_name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    year: Mapped[int | None] = mapped_column(Integer)  # the year the office gave for phrases without one
    # {"units": {name: id}, "new_units": {name: [id, full name]}, "leads": {index: id}, "deadlines": {index: text},
    #  "plan": {"id", "title", "short_name"}}
    corrections: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # draft | published | discarded
    version: Mapped[int] = mapped_column(Integer)  # +1 on each change: a page showing an older one is refused
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id"))  # the plan it was published as
    finished_at: Mapped[datetime | None]
    finished_by: Mapped[str | None] = mapped_column(String(64))


class CalendarFeed(Base):
    """A secret calendar subscription (an .ics address) to one unit's due dates, or the office's. Only the token's
    SHA-256 is kept: the address is shown once, when it is made; making a new one revokes the old, which then
    answers 404 like any address that never was."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (Index("ix_calendar_feeds_owner", "owner", "revoked_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))  # a unit's id, or "office" for the office's feed
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]
