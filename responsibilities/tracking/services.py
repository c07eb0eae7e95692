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

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from responsibilities.deadlines.rules import AfterEvent
from responsibilities.errors import (
    IllegalTransition,
    InvalidInput,
    NotFound,
    StaleDeliverable,
    state_name,
)
from responsibilities.limits import SUBMIT_NEEDS_NOTE_OR_EVIDENCE, checked_name, checked_text, is_clean_key
from responsibilities.plan.deliverables import ONCE, after_event_due, deliverable_ref, qualified_ref
from responsibilities.storage.audit import snapshot, write_audit
from responsibilities.storage.db import serialise
from responsibilities.storage.model import (
    FAILED_OR_REFUSED,
    Deliverable,
    EventRecord,
    Evidence,
    Extension,
    Notice,
    ObligationRecord,
    UnitRecord,
    User,
)
from responsibilities.storage.plans import require_plan
from responsibilities.tracking.access import (
    acting_user,
    find_deliverable,
    find_obligation,
    require_assigned,
    require_lead,
    require_office,
)
from responsibilities.tracking.evidence import EvidenceRejected, EvidenceStore, Upload, parse_link
from responsibilities.vocabulary import ACTION_NAMES, NOTICE_STATE_NAMES

ROLES = ("office", "unit", "leader")
# Reports on a plan's last period fall due after it ends: dates may run this far past the plan's end.
REPORTING_HORIZON = timedelta(days=62)

SessionFactory = sessionmaker[Session]


# ── lookups and guards ───────────────────────────────────────────────────────────────────────────


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("`now` must be an aware datetime: a naive one would be read in the machine's zone")


def local_today(session: Session, now: datetime) -> date:
    """``now`` as a calendar day in the plan's time zone: deadlines are local dates."""
    return require_plan(session).today(now)




def _deliverable(session: Session, ref: str, viewer: User | None = None, *, lock: bool = False) -> Deliverable:
    """The deliverable ``ref`` as ``viewer`` may see it (access.find_deliverable), not retired; with ``lock``, its
    row locked until the transaction ends."""
    deliverable = find_deliverable(session, ref, viewer, lock=lock)
    if deliverable.retired:
        raise IllegalTransition(f"{ref} 已从工作方案中撤销,不能再更改")
    return deliverable


def _check_version(session: Session, deliverable: Deliverable, expected_version: int | None) -> None:
    if expected_version is not None and deliverable.version != expected_version:
        when = deliverable.updated_at.astimezone(require_plan(session).time_zone)
        raise StaleDeliverable(
            f"{deliverable.ref} 已于 {when:%Y-%m-%d %H:%M} 由 {deliverable.updated_by} 修改(现为版本 "
            f"{deliverable.version},您看到的是版本 {expected_version}),本次未作任何更改:请重新查看后再操作")


def _require_state(deliverable: Deliverable, allowed: tuple[str, ...], doing: str) -> None:
    if deliverable.state not in allowed:
        raise IllegalTransition(f"{deliverable.ref} 当前状态为{state_name(deliverable.state)},"
                                f"不能{ACTION_NAMES[doing]}:"
                                f"只有{'或'.join(state_name(s) for s in allowed)}的事项才能{ACTION_NAMES[doing]}")


def _require(text: str | None, what: str) -> str:
    """A text checked by limits.checked_text before the transaction, now required: 请填写{what}."""
    if text is None:
        raise InvalidInput(f"请填写{what}")
    return text


def _check_in_plan(session: Session, day: date, what: str, plan_id: str | None = None) -> None:
    plan = require_plan(session, plan_id)
    if not plan.start <= day <= plan.end + REPORTING_HORIZON:
        raise InvalidInput(f"{what} {day} 不在工作方案实施期内({plan.start} 至 {plan.end}),请填写此期间内的日期")


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
            user = acting_user(session, actor)
            # Locked: a second change at the same moment waits for this one and then sees it, as on SQLite, and is
            # checked against it (state, expected version) instead of failing on the row's version afterwards.
            deliverable = _deliverable(session, ref, user, lock=True)
            # Before anything about the deliverable is revealed (its version, who changed it): may this user
            # act on it at all? The change itself checks the finer rules.
            require_assigned(session, user, deliverable, "act")
            _check_version(session, deliverable, expected_version)
            before = snapshot(deliverable)
            note = change(session, user, deliverable)
            deliverable.updated_at, deliverable.updated_by = now, user.name
            write_audit(session, now=now, actor=user.name, action=action, deliverable=deliverable, before=before,
                        note=note)
            return Change(deliverable.ref, deliverable.state, deliverable.version, deliverable.due)
    except StaleDataError:
        # Another transaction changed the row between our read and our write (direct SQL, or a writer that does
        # not lock the row first).
        with session_factory() as session:
            current = _deliverable(session, ref)
            _check_version(session, current, -1)
        raise  # pragma: no cover - _check_version always raises above


# ── users ────────────────────────────────────────────────────────────────────────────────────────


def add_user(session_factory: SessionFactory, *, name: str, role: str, now: datetime) -> User:
    """``role`` is office, leader, or unit:<unit id>."""
    name = checked_name(name)  # also the actor of every audit record: one line, bounded (limits.py)
    kind, _, unit_id = role.partition(":")
    if kind not in ROLES or (kind == "unit") != bool(unit_id):
        raise InvalidInput(f"角色“{role}”无效:应为 office(领导小组办公室)、leader(领导)或 unit:<单位编号>(责任单位)")
    with session_factory.begin() as session:
        serialise(session, f"user:{name}")  # the same name added twice at once: the second waits, then is told
        if session.scalars(select(User).where(User.name == name)).first():
            raise InvalidInput(f"已有名为“{name}”的用户,请换一个用户名")
        if unit_id:
            unit = session.get(UnitRecord, unit_id)
            if unit is None or unit.retired:
                raise NotFound(f"没有编号为“{unit_id}”的单位:单位编号见 deadlines.yaml 或 `duban status` 的输出")
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
        user = acting_user(session, actor)
        require_office(user, "event.record")
        # Locked (PostgreSQL; SQLite's write lock already is), so that a second recording at the same moment waits
        # and then sees this one: at READ COMMITTED it would overwrite the date the deliverables were dated from.
        event = session.get(EventRecord, event_id, with_for_update=True) if is_clean_key(event_id) else None
        if event is None:
            known = "、".join(session.scalars(select(EventRecord.id))) or "无"
            raise NotFound(f"没有编号为“{event_id}”的事件(方案中的事件:{known})")
        _check_in_plan(session, occurred_on, "事件日期")
        if occurred_on > local_today(session, now):
            raise InvalidInput(f"{occurred_on} 尚未到来:请在事件发生后再记录")
        if event.occurred_on is not None and event.occurred_on != occurred_on:
            raise IllegalTransition(f"事件 {event_id} 已由 {event.recorded_by} 记录为 {event.occurred_on},"
                                    "不能再改为其他日期")
        if event.occurred_on is None:  # recording the same date again changes nothing, nor who recorded it
            event.occurred_on, event.recorded_at, event.recorded_by = occurred_on, now, user.name
            write_audit(session, now=now, actor=user.name, action="event.recorded", before={"occurred_on": None},
                        after={"event": event_id, "occurred_on": occurred_on.isoformat()})
        calendar = require_plan(session).calendar
        created = []
        waiting = session.scalars(select(ObligationRecord).where(
            ObligationRecord.awaits == event_id, ObligationRecord.retired_at.is_(None)))
        for obligation in waiting:
            if session.scalars(select(Deliverable).where(Deliverable.obligation_id == obligation.id,
                                                         Deliverable.period == ONCE)).first():
                continue
            rule = obligation.rule
            due = after_event_due(AfterEvent(rule["text"], rule["event"], rule["offset"], rule["offset_unit"]),
                                  occurred_on, calendar)
            created.append(_add_dated(session, obligation, ONCE, due, user, now, action="deliverable.dated",
                                      note=f"{event.name} {occurred_on}"))
        return created


def _add_dated(session: Session, obligation: ObligationRecord, period: str, due: date, user: User, now: datetime,
               *, action: str, note: str | None, set_by_office: bool = False) -> str:
    ref = deliverable_ref(obligation.ref, period)
    deliverable = Deliverable(
        ref=ref, plan_id=obligation.plan_id, qualified_ref=qualified_ref(obligation.plan_id, ref),
        obligation_id=obligation.id, unit_id=obligation.lead_unit_id, period=period, original_due=due, due=due,
        state="open", set_by_office=set_by_office, updated_at=now, updated_by=user.name)
    session.add(deliverable)
    write_audit(session, now=now, actor=user.name, action=action, deliverable=deliverable, note=note)
    return deliverable.ref


def set_external_date(session_factory: SessionFactory, *, actor: str, obligation_id: str, due: date,
                      now: datetime, note: str | None = None) -> str:
    """The office enters a date an outside body set (按自治区要求) or a later stage's date: a new deliverable."""
    note = checked_text(note, "说明")
    with session_factory.begin() as session:
        user = acting_user(session, actor)
        require_office(user, "date.set")
        # Locked as the event in record_event: a second office member setting the same date waits, then is told.
        obligation = find_obligation(session, obligation_id, lock=True)
        if obligation is None:
            raise NotFound(f"工作方案中没有编号为“{obligation_id}”的任务")
        if obligation.kind not in ("external", "staged"):
            raise IllegalTransition(f"{obligation_id} 的期限由工作方案规定(类型 {obligation.kind}),不由办公室设定;"
                                    "只有上级确定(external)和分批次(staged)的任务可以设定期限")
        _check_in_plan(session, due, "期限", obligation.plan_id)
        period = due.isoformat()
        if session.scalars(select(Deliverable).where(Deliverable.obligation_id == obligation.id,
                                                      Deliverable.period == period)).first():
            raise IllegalTransition(f"{obligation_id} 已有截止于 {due} 的应交事项,无需再设")
        return _add_dated(session, obligation, period, due, user, now, action="deliverable.date_set",
                          note=note, set_by_office=True)


# ── the unit: hand in, report progress ───────────────────────────────────────────────────────────


def submit(session_factory: SessionFactory, *, actor: str, ref: str, now: datetime, note: str | None = None,
           files: Sequence[Path | Upload] = (), links: Sequence[str] = (),
           evidence_store: EvidenceStore | None = None, expected_version: int | None = None) -> Change:
    """The lead unit reports a deliverable done (办结), with a note or evidence (files or links), or both: a 办结
    with neither is refused at every door (the rule is here, not in a form)."""
    text = checked_text(note, "办结说明")
    links = [link for link in links if link and link.strip()]

    def change(session: Session, user: User, deliverable: Deliverable) -> str | None:
        require_lead(user, deliverable, "submit")
        _require_state(deliverable, ("open", "returned"), "submit")
        _refuse_monthly_report(session, deliverable)
        if text is None and not files and not links:
            raise InvalidInput(SUBMIT_NEEDS_NOTE_OR_EVIDENCE)
        _attach_evidence(session, deliverable, user, now, files, links, evidence_store)
        deliverable.state, deliverable.submitted_at = "submitted", now
        return text

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="submit",
                       expected_version=expected_version, change=change)


def _refuse_monthly_report(session: Session, deliverable: Deliverable) -> None:
    """A monthly report (月报) is handed in with its figures (figures_service), never as a bare submission:
    a report without figures would count as filed and leave the region's progress short."""
    figures = require_plan(session, deliverable.plan_id).figures
    obligation = session.get(ObligationRecord, deliverable.obligation_id)
    if figures and obligation is not None and obligation.declared_id == figures.obligation:
        month = deliverable.period or ""
        raise InvalidInput(f"{deliverable.ref} 是月报:请填报当月数据(网页上本地区的月报表,或 "
                           f"`duban figures submit {deliverable.unit_id} {month} total=…`),不能只报送办结")


def _attach_evidence(session: Session, deliverable: Deliverable, user: User, now: datetime,
                     files: Sequence[Path | Upload], links: Sequence[str], store: EvidenceStore | None) -> None:
    if files and store is None:
        raise InvalidInput("未配置佐证材料的存放位置,无法接收文件:请联系系统管理员")
    try:
        parsed_links = [parse_link(text) for text in links]  # all checked before any file is stored
        stored = store.put_files(files) if files else []  # all kept, or (one refused) none
    except EvidenceRejected as rejected:
        raise InvalidInput(str(rejected)) from None
    for item in stored:
        session.add(Evidence(deliverable_id=deliverable.id, added_at=now, added_by=user.name, kind="file",
                             sha256=item.sha256, filename=item.filename, content_type=item.content_type,
                             size=item.size))
    for link in parsed_links:
        session.add(Evidence(deliverable_id=deliverable.id, added_at=now, added_by=user.name, kind="link",
                             url=link.url, filename=link.title))


def add_note(session_factory: SessionFactory, *, actor: str, ref: str, note: str, now: datetime) -> Change:
    """Any assigned unit (lead or co-unit) reports progress; the state does not change."""
    text = checked_text(note, "进展说明")

    def change(session: Session, user: User, deliverable: Deliverable) -> str:
        require_assigned(session, user, deliverable, "note")
        return _require(text, "进展说明")

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="note", expected_version=None,
                       change=change)


# ── the office: review ───────────────────────────────────────────────────────────────────────────


def accept(session_factory: SessionFactory, *, actor: str, ref: str, now: datetime, note: str | None = None,
           expected_version: int | None = None) -> Change:
    """The office signs a submitted deliverable off (销号)."""
    note = checked_text(note, "审核意见")

    def change(session: Session, user: User, deliverable: Deliverable) -> str | None:
        require_office(user, "accept")
        _require_state(deliverable, ("submitted",), "accept")
        deliverable.state, deliverable.decided_at = "accepted", now
        return note

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="accept",
                       expected_version=expected_version, change=change)


def return_for_rework(session_factory: SessionFactory, *, actor: str, ref: str, reason: str, now: datetime,
                      expected_version: int | None = None) -> Change:
    """The office returns a submission (退回) with a reason; the unit reworks and submits again."""
    reason = checked_text(reason, "退回理由")

    def change(session: Session, user: User, deliverable: Deliverable) -> str:
        require_office(user, "return")
        _require_state(deliverable, ("submitted",), "return")
        deliverable.state = "returned"
        return _require(reason, "退回理由")

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="return",
                       expected_version=expected_version, change=change)


def waive(session_factory: SessionFactory, *, actor: str, ref: str, reason: str, now: datetime,
          expected_version: int | None = None) -> Change:
    """The office waives a deliverable (no longer owed), with a reason."""
    reason = checked_text(reason, "免报理由")

    def change(session: Session, user: User, deliverable: Deliverable) -> str:
        require_office(user, "waive")
        _require_state(deliverable, ("open", "returned", "submitted"), "waive")
        deliverable.state, deliverable.decided_at = "waived", now
        return _require(reason, "免报理由")

    return _transition(session_factory, actor=actor, ref=ref, now=now, action="waive",
                       expected_version=expected_version, change=change)


# ── extensions (延期) ────────────────────────────────────────────────────────────────────────────


def request_extension(session_factory: SessionFactory, *, actor: str, ref: str, new_due: date, reason: str,
                      now: datetime) -> Change:
    """The lead unit asks for a later due date, on or before the current one; the office decides."""
    text = checked_text(reason, "延期理由")

    def change(session: Session, user: User, deliverable: Deliverable) -> str:
        require_lead(user, deliverable, "extension.request")
        _require_state(deliverable, ("open", "returned"), "extension.request")
        why = _require(text, "延期理由")
        today = local_today(session, now)
        if deliverable.due is None or today > deliverable.due:
            raise IllegalTransition(f"{deliverable.ref} 的截止日期 {deliverable.due} 已过:延期须在截止日期前申请;"
                                    "请改为添加进展,说明延误原因")
        if new_due <= deliverable.due:
            raise InvalidInput(f"新的截止日期 {new_due} 须晚于当前截止日期 {deliverable.due}")
        _check_in_plan(session, new_due, "新的截止日期", deliverable.plan_id)
        if _pending_extension(session, deliverable):
            raise IllegalTransition(f"{deliverable.ref} 已有一项延期申请在等待领导小组办公室审批,请等审批后再申请")
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
    text = checked_text(reason, "批准意见" if grant else "驳回理由")

    def change(session: Session, user: User, deliverable: Deliverable) -> str | None:
        require_office(user, "extension.decide")
        request = _pending_extension(session, deliverable)
        if request is None:
            raise IllegalTransition(f"{deliverable.ref} 没有待审批的延期申请")
        why = text if grant else _require(text, "驳回理由")
        request.status = "granted" if grant else "refused"
        request.decided_by, request.decided_at, request.decision_reason = user.name, now, why
        if grant:
            deliverable.due = request.requested_due
        return why

    action = "extension.grant" if grant else "extension.refuse"
    return _transition(session_factory, actor=actor, ref=ref, now=now, action=action, expected_version=None,
                       change=change)


# ── notices the office sends again ───────────────────────────────────────────────────────────────

MAX_RETRY_IDS = 1000


def retry_notices(session_factory: SessionFactory, *, actor: str, now: datetime, ids: Sequence[int] = (),
                  every_failed: bool = False) -> list[str]:
    """The office sends failed notices again (those of ``ids``, or ``every_failed``): back to the queue now, their
    time limit counted afresh, addresses refused for good tried again (the office may have corrected them).
    Addresses that already accepted a notice do not get it twice. Returns the notices' dedupe keys."""
    _require_aware(now)
    if not ids and not every_failed:
        raise InvalidInput("请写明要重新发送的通知编号(`duban notices --failed` 可列出),或用 --failed 重新发送全部")
    if len(ids) > MAX_RETRY_IDS:
        raise InvalidInput(f"一次最多重新发送 {MAX_RETRY_IDS} 条通知;全部重新发送请用 --failed")
    if any(not 0 < i < 2**62 for i in ids):
        raise InvalidInput("通知编号应为正整数(`duban notices --failed` 可列出)")
    with session_factory.begin() as session:
        require_office(acting_user(session, actor), "notice.retry")
        notices = _retryable_notices(session, list(ids)) if ids else list(
            session.scalars(select(Notice).where(FAILED_OR_REFUSED).order_by(Notice.id)))
        for notice in notices:
            notice.status, notice.next_attempt_at, notice.first_attempt_at = "pending", None, None
            notice.refused, notice.last_error, notice.lapsed_claims, notice.claimed_by = None, None, 0, None
        if notices:
            keys = [n.dedupe_key for n in notices]
            write_audit(session, now=now, actor=actor, action="notice.retry",
                        note=f"{len(keys)} 条:" + "、".join(keys[:20]) + ("…" if len(keys) > 20 else ""))
        return [n.dedupe_key for n in notices]


def _retryable_notices(session: Session, ids: list[int]) -> list[Notice]:
    found = {n.id: n for n in session.scalars(select(Notice).where(Notice.id.in_(ids)))}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise NotFound(f"没有编号为 {'、'.join(missing)} 的通知:`duban notices --failed` 可列出发送失败的通知及其编号")
    settled = [n for n in found.values() if not (n.status == "failed" or (n.status == "sent" and n.refused))]
    if settled:
        raise IllegalTransition("只有发送失败、或有收件人被拒收的通知可以重新发送;"
                                + "、".join(f"通知 {n.id}({NOTICE_STATE_NAMES.get(n.status, n.status)})"
                                           for n in settled)
                                + " 不在此列")
    return [found[i] for i in dict.fromkeys(ids)]
