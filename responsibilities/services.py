"""The supervision cycle's use cases: one function each, one transaction each.

Every function takes the session factory and a keyword-only ``now`` (an aware datetime) and never reads
the clock. Who may do what is decided here, not in the interfaces:
- a unit acts only on its own deliverables (the lead submits and asks for extensions; lead and co-units
  add progress notes);
- only the office reviews (accept 销号 / return 退回), waives, records events, sets dates and decides
  extensions; the office may also submit on a unit's behalf;
- leaders only read.
A refused action raises a DomainError and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from responsibilities.audit import snapshot, write_audit
from responsibilities.deadline_rules import AfterEvent
from responsibilities.errors import IllegalTransition, InvalidInput, NotAllowed, NotFound, StaleDeliverable
from responsibilities.evidence import EvidenceRejected, EvidenceStore, parse_link
from responsibilities.model import (
    CoUnit,
    Deliverable,
    EventRecord,
    Evidence,
    Extension,
    ObligationRecord,
    PlanRecord,
    UnitRecord,
    User,
)
from responsibilities.plan_sync import calendar_from_settings, deliverable_ref
from responsibilities.rules import ONCE, after_event_due

ROLES = ("office", "unit", "leader")
# Reports on a plan's last period fall due after it ends: dates may run this far past the plan's end.
REPORTING_HORIZON = timedelta(days=62)

SessionFactory = sessionmaker[Session]


# ── lookups and guards ───────────────────────────────────────────────────────────────────────────


def _plan(session: Session) -> PlanRecord:
    plan = session.scalars(select(PlanRecord)).first()
    if plan is None:
        raise NotFound("no plan is loaded: run `duban load deadlines.yaml` first")
    return plan


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("`now` must be an aware datetime: a naive one would be read in the machine's zone")


def local_today(session: Session, now: datetime) -> date:
    """``now`` as a calendar day in the plan's time zone: deadlines are local dates."""
    _require_aware(now)
    return now.astimezone(ZoneInfo(_plan(session).time_zone)).date()


def _user(session: Session, name: str) -> User:
    user = session.scalars(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f'no user named "{name}": add one with `duban users add {name} --role office|unit:<id>|leader`')
    if user.disabled:
        raise NotAllowed(f"{name} is disabled and may no longer act")
    return user


def _deliverable(session: Session, ref: str) -> Deliverable:
    deliverable = session.scalars(select(Deliverable).where(Deliverable.ref == ref)).first()
    if deliverable is None:
        hint = session.scalars(select(Deliverable.ref).where(Deliverable.ref.like(f"{ref}@%")).limit(3)).all()
        more = f"; it has periods, e.g. {', '.join(hint)}" if hint else "; `duban status` lists them"
        raise NotFound(f'no deliverable "{ref}"{more}')
    if deliverable.retired:
        raise IllegalTransition(f"{ref} was retired from the plan and can no longer change")
    return deliverable


def _role(user: User) -> str:
    return f"unit:{user.unit_id}" if user.role == "unit" else user.role


def _require_office(user: User, doing: str) -> None:
    if user.role != "office":
        raise NotAllowed(f"{user.name} ({_role(user)}) may not {doing}: only the leadership office may")


def _require_lead(user: User, deliverable: Deliverable, doing: str) -> None:
    """The lead unit, or the office on its behalf."""
    if user.role == "office" or (user.role == "unit" and user.unit_id == deliverable.unit_id):
        return
    raise NotAllowed(f"{user.name} ({_role(user)}) may not {doing} {deliverable.ref}: it belongs to {deliverable.unit_id}")


def _require_assigned(session: Session, user: User, deliverable: Deliverable, doing: str) -> None:
    """The lead unit, a co-unit, or the office."""
    if user.role == "unit" and user.unit_id != deliverable.unit_id:
        co = session.get(CoUnit, (deliverable.obligation_id, user.unit_id))
        if co is None:
            raise NotAllowed(f"{user.name} ({_role(user)}) may not {doing} {deliverable.ref}: it belongs to "
                             f"{deliverable.unit_id}, and {user.unit_id} does not cooperate on it")
    elif user.role not in ("office", "unit"):
        raise NotAllowed(f"{user.name} ({_role(user)}) may not change {deliverable.ref}: leaders only read")


def _check_version(session: Session, deliverable: Deliverable, expected_version: int | None) -> None:
    if expected_version is not None and deliverable.version != expected_version:
        when = deliverable.updated_at.astimezone(ZoneInfo(_plan(session).time_zone))
        raise StaleDeliverable(
            f"{deliverable.ref} was changed by {deliverable.updated_by} at {when:%Y-%m-%d %H:%M} "
            f"(version {deliverable.version}, you saw {expected_version}); look at it again, then retry")


def _require_state(deliverable: Deliverable, allowed: tuple[str, ...], doing: str) -> None:
    if deliverable.state not in allowed:
        raise IllegalTransition(f"cannot {doing} {deliverable.ref}: it is {deliverable.state} "
                                f"(only {' or '.join(allowed)} deliverables can be)")


def _require_text(text: str | None, what: str) -> str:
    if text is None or not text.strip():
        raise InvalidInput(f"a {what} is required")
    return text.strip()


def _check_in_plan(session: Session, day: date, what: str) -> None:
    plan = _plan(session)
    if not plan.start <= day <= plan.end + REPORTING_HORIZON:
        raise InvalidInput(f"{what} {day} is outside the plan ({plan.start} to {plan.end})")


@dataclass(frozen=True)
class Change:
    """What a use case did, for the interface to report."""

    ref: str
    state: str
    version: int
    due: date | None


def _transition(
    session_factory: SessionFactory,
    *,
    actor: str,
    ref: str,
    now: datetime,
    action: str,
    expected_version: int | None,
    change: Callable[[Session, User, Deliverable], str | None],
) -> Change:
    """Run one change to one deliverable in one transaction, versioned and audited."""
    _require_aware(now)
    try:
        with session_factory.begin() as session:
            user = _user(session, actor)
            deliverable = _deliverable(session, ref)
            # Before anything about the deliverable is revealed (its version, who changed it): may this user
            # act on it at all? The change itself checks the finer rules.
            _require_assigned(session, user, deliverable, "act on")
            _check_version(session, deliverable, expected_version)
            before = snapshot(deliverable)
            note = change(session, user, deliverable)
            deliverable.updated_at, deliverable.updated_by = now, user.name
            write_audit(session, now=now, actor=user.name, action=action, deliverable=deliverable, before=before, note=note)
            return Change(deliverable.ref, deliverable.state, deliverable.version, deliverable.due)
    except StaleDataError:
        # Another transaction changed the row between our read and our write (possible on PostgreSQL).
        with session_factory() as session:
            current = _deliverable(session, ref)
            _check_version(session, current, -1)
        raise  # pragma: no cover - _check_version always raises above


# ── users ────────────────────────────────────────────────────────────────────────────────────────


def add_user(session_factory: SessionFactory, *, name: str, role: str, now: datetime) -> User:
    """``role`` is office, leader, or unit:<unit id>."""
    name = _require_text(name, "user name")
    kind, _, unit_id = role.partition(":")
    if kind not in ROLES or (kind == "unit") != bool(unit_id):
        raise InvalidInput(f'role "{role}" is not one of: office, leader, unit:<unit id>')
    with session_factory.begin() as session:
        if session.scalars(select(User).where(User.name == name)).first():
            raise InvalidInput(f'a user named "{name}" already exists')
        if unit_id:
            unit = session.get(UnitRecord, unit_id)
            if unit is None or unit.retired:
                raise NotFound(f'no unit "{unit_id}": `duban status` and deadlines.yaml list the unit ids')
        user = User(name=name, role=kind, unit_id=unit_id or None, created_at=now)
        session.add(user)
        write_audit(session, now=now, actor="system", action="user.added", unit_id=unit_id or None,
                    after={"name": name, "role": role})
        return user


# ── the office: events and dates ─────────────────────────────────────────────────────────────────


def record_event(session_factory: SessionFactory, *, actor: str, event_id: str, occurred_on: date,
                 now: datetime) -> list[str]:
    """Record that an outside event happened; dates every deliverable that waits on it. Returns their refs."""
    with session_factory.begin() as session:
        user = _user(session, actor)
        _require_office(user, "record events")
        event = session.get(EventRecord, event_id)
        if event is None:
            known = ", ".join(session.scalars(select(EventRecord.id))) or "none"
            raise NotFound(f'no event "{event_id}" (known: {known})')
        _check_in_plan(session, occurred_on, "the event date")
        if occurred_on > local_today(session, now):
            raise InvalidInput(f"{occurred_on} is in the future: record an event once it has happened")
        if event.occurred_on is not None and event.occurred_on != occurred_on:
            raise IllegalTransition(f"{event_id} was already recorded as {event.occurred_on} by {event.recorded_by}")
        if event.occurred_on is None:  # recording the same date again changes nothing, nor who recorded it
            event.occurred_on, event.recorded_at, event.recorded_by = occurred_on, now, user.name
            write_audit(session, now=now, actor=user.name, action="event.recorded", before={"occurred_on": None},
                        after={"event": event_id, "occurred_on": occurred_on.isoformat()})
        calendar = calendar_from_settings(_plan(session).settings)
        created = []
        waiting = session.scalars(select(ObligationRecord).where(
            ObligationRecord.awaits == event_id, ObligationRecord.retired_at.is_(None)))
        for obligation in waiting:
            ref = deliverable_ref(obligation.id, ONCE)
            if session.scalars(select(Deliverable).where(Deliverable.ref == ref)).first():
                continue
            rule = obligation.rule
            due = after_event_due(AfterEvent(rule["text"], rule["event"], rule["offset"], rule["offset_unit"]),
                                  occurred_on, calendar)
            created.append(_add_dated(session, obligation, ONCE, due, user, now, action="deliverable.dated",
                                      note=f"{event.name} {occurred_on}"))
        return created


def _add_dated(session: Session, obligation: ObligationRecord, period: str, due: date, user: User, now: datetime,
               *, action: str, note: str | None, set_by_office: bool = False) -> str:
    deliverable = Deliverable(
        ref=deliverable_ref(obligation.id, period), obligation_id=obligation.id, unit_id=obligation.lead_unit_id,
        period=period, original_due=due, due=due, state="open", set_by_office=set_by_office,
        updated_at=now, updated_by=user.name)
    session.add(deliverable)
    write_audit(session, now=now, actor=user.name, action=action, deliverable=deliverable, note=note)
    return deliverable.ref


def set_external_date(session_factory: SessionFactory, *, actor: str, obligation_id: str, due: date,
                      now: datetime, note: str | None = None) -> str:
    """The office enters a date an outside body set (按自治区要求) or a later stage's date: a new deliverable."""
    with session_factory.begin() as session:
        user = _user(session, actor)
        _require_office(user, "set dates")
        obligation = session.get(ObligationRecord, obligation_id)
        if obligation is None or obligation.retired_at is not None:
            raise NotFound(f'no obligation "{obligation_id}" in the plan')
        if obligation.kind not in ("external", "staged"):
            raise IllegalTransition(f"{obligation_id} is {obligation.kind}: its dates come from the plan, not the office")
        _check_in_plan(session, due, "the date")
        period = due.isoformat()
        if session.scalars(select(Deliverable).where(Deliverable.obligation_id == obligation_id,
                                                      Deliverable.period == period)).first():
            raise IllegalTransition(f"{obligation_id} already has a deliverable due {due}")
        return _add_dated(session, obligation, period, due, user, now, action="deliverable.date_set",
                          note=note, set_by_office=True)


# ── the unit: hand in, report progress ───────────────────────────────────────────────────────────


def submit(session_factory: SessionFactory, *, actor: str, ref: str, now: datetime, note: str | None = None,
           files: Sequence[Path] = (), links: Sequence[str] = (), evidence_store: EvidenceStore | None = None,
           expected_version: int | None = None) -> Change:
    """The lead unit reports a deliverable done (办结), with a note and evidence (files or links)."""
    def change(session: Session, user: User, deliverable: Deliverable) -> str | None:
        _require_lead(user, deliverable, "submit")
        _require_state(deliverable, ("open", "returned"), "submit")
        _attach_evidence(session, deliverable, user, now, files, links, evidence_store)
        deliverable.state, deliverable.submitted_at = "submitted", now
        return note.strip() if note and note.strip() else None

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="submit",
                       expected_version=expected_version, change=change)


def _attach_evidence(session: Session, deliverable: Deliverable, user: User, now: datetime, files: Sequence[Path],
                     links: Sequence[str], store: EvidenceStore | None) -> None:
    if files and store is None:
        raise InvalidInput("evidence files need an evidence store")
    try:
        parsed_links = [parse_link(text) for text in links]  # all checked before any file is stored
        stored = [store.put_file(Path(f)) for f in files] if files else []
    except EvidenceRejected as rejected:
        raise InvalidInput(str(rejected)) from None
    for item in stored:
        session.add(Evidence(deliverable_id=deliverable.id, added_at=now, added_by=user.name, kind="file",
                             sha256=item.sha256, filename=item.filename, content_type=item.content_type, size=item.size))
    for link in parsed_links:
        session.add(Evidence(deliverable_id=deliverable.id, added_at=now, added_by=user.name, kind="link",
                             url=link.url, filename=link.title))


def add_note(session_factory: SessionFactory, *, actor: str, ref: str, note: str, now: datetime) -> Change:
    """Any assigned unit (lead or co-unit) reports progress; the state does not change."""
    note = note.strip() if note else ""

    def change(session: Session, user: User, deliverable: Deliverable) -> str:
        _require_assigned(session, user, deliverable, "add notes to")
        return _require_text(note, "note")

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="note", expected_version=None,
                       change=change)


# ── the office: review ───────────────────────────────────────────────────────────────────────────


def accept(session_factory: SessionFactory, *, actor: str, ref: str, now: datetime, note: str | None = None,
           expected_version: int | None = None) -> Change:
    """The office signs a submitted deliverable off (销号)."""
    def change(session: Session, user: User, deliverable: Deliverable) -> str | None:
        _require_office(user, "accept deliverables")
        _require_state(deliverable, ("submitted",), "accept")
        deliverable.state, deliverable.decided_at = "accepted", now
        return note

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="accept",
                       expected_version=expected_version, change=change)


def return_for_rework(session_factory: SessionFactory, *, actor: str, ref: str, reason: str, now: datetime,
                      expected_version: int | None = None) -> Change:
    """The office returns a submission (退回) with a reason; the unit reworks and submits again."""
    def change(session: Session, user: User, deliverable: Deliverable) -> str:
        _require_office(user, "return deliverables")
        _require_state(deliverable, ("submitted",), "return")
        deliverable.state = "returned"
        return _require_text(reason, "reason for returning it")

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="return",
                       expected_version=expected_version, change=change)


def waive(session_factory: SessionFactory, *, actor: str, ref: str, reason: str, now: datetime,
          expected_version: int | None = None) -> Change:
    """The office waives a deliverable (no longer owed), with a reason."""
    def change(session: Session, user: User, deliverable: Deliverable) -> str:
        _require_office(user, "waive deliverables")
        _require_state(deliverable, ("open", "returned", "submitted"), "waive")
        deliverable.state, deliverable.decided_at = "waived", now
        return _require_text(reason, "reason for waiving it")

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="waive",
                       expected_version=expected_version, change=change)


# ── extensions (延期) ────────────────────────────────────────────────────────────────────────────


def request_extension(session_factory: SessionFactory, *, actor: str, ref: str, new_due: date, reason: str,
                      now: datetime) -> Change:
    """The lead unit asks for a later due date, on or before the current one; the office decides."""
    def change(session: Session, user: User, deliverable: Deliverable) -> str:
        _require_lead(user, deliverable, "request an extension for")
        _require_state(deliverable, ("open", "returned"), "extend")
        why = _require_text(reason, "reason for the extension")
        today = local_today(session, now)
        if deliverable.due is None or today > deliverable.due:
            raise IllegalTransition(f"{deliverable.ref} was due {deliverable.due}: an extension must be asked for "
                                    "by the due date; explain the delay in a note instead")
        if new_due <= deliverable.due:
            raise InvalidInput(f"the new due date {new_due} must be later than the current one, {deliverable.due}")
        _check_in_plan(session, new_due, "the new due date")
        if _pending_extension(session, deliverable):
            raise IllegalTransition(f"{deliverable.ref} already has an extension request waiting for the office")
        session.add(Extension(deliverable_id=deliverable.id, requested_by=user.name, requested_at=now,
                              requested_due=new_due, reason=why))
        return f"→ {new_due}: {why}"

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="extension.request",
                       expected_version=None, change=change)


def _pending_extension(session: Session, deliverable: Deliverable) -> Extension | None:
    return session.scalars(select(Extension).where(Extension.deliverable_id == deliverable.id,
                                                   Extension.status == "pending")).first()


def decide_extension(session_factory: SessionFactory, *, actor: str, ref: str, grant: bool, now: datetime,
                     reason: str | None = None) -> Change:
    """The office grants the pending request (the due date moves; the original is kept for scoring) or refuses it."""
    def change(session: Session, user: User, deliverable: Deliverable) -> str | None:
        _require_office(user, "decide extensions")
        request = _pending_extension(session, deliverable)
        if request is None:
            raise IllegalTransition(f"{deliverable.ref} has no extension request waiting")
        why = reason.strip() if reason and reason.strip() else None
        if not grant:
            why = _require_text(reason, "reason for refusing")
        request.status = "granted" if grant else "refused"
        request.decided_by, request.decided_at, request.decision_reason = user.name, now, why
        if grant:
            deliverable.due = request.requested_due
        return why

    action = "extension.grant" if grant else "extension.refuse"
    return _transition(session_factory, actor=actor, ref=ref, now=now, action=action, expected_version=None,
                       change=change)
