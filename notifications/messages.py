"""Rendering notices into email messages: who receives them, and what they say (Jinja2, text + HTML, Chinese).

The sweep writes notice rows with an *audience* (``unit``, ``co-unit:<id>``, ``unit-member``, ``office``,
``deputies``, ``leader``, comma-joined); addresses are resolved here, at render time, so a corrected contact
address reaches notices still pending. Every word a reader sees lives in ``templates/``; this module only
gathers the facts (unit, task, where the task stands in the plan, dates, level, superseded steps, link).
Digests (kind ``digest``) gather theirs from the status rows on the day they are rendered, by the definitions
in ``responsibilities.notices.digests``; the key says which digest (a unit's week, the office's day, the leaders' week).

Message-IDs are derived from the notice's dedupe key, so a resend of the same notice carries the same id
and the receiving side (and the office) can recognise it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.report_notices import bulletin_context, summary_context
from responsibilities.notices import digests
from responsibilities.plan.deliverables import qualified_ref
from responsibilities.reading.queries import StatusRow, status_rows
from responsibilities.storage.model import (
    Deliverable,
    EventRecord,
    Notice,
    ObligationRecord,
    PersonRecord,
    PlanPerson,
    UnitRecord,
)
from responsibilities.storage.plans import STANDING, LoadedPlan, SupervisionRules, require_plan

TEMPLATES = Path(__file__).resolve().parent / "templates"
KINDS = ("reminder", "chase", "escalation", "office", "digest", "summary", "bulletin")
DIGEST_LIST_LIMIT = 30  # a digest lists at most this many items per section, then says how many more
SUBJECT_TASK_CHARS = 24  # a subject names the task by its first clause, at most this many characters
CLAUSE_ENDS = ",。;:,;"
DEFAULT_DOMAIN = "duban.localhost"


class NoRecipients(Exception):
    """The notice's audience resolves to no address: delivery records it as a permanent failure."""


@dataclass(frozen=True)
class Message:
    notice_id: int
    dedupe_key: str
    message_id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str

    def as_bytes(self, *, date: datetime) -> bytes:
        """The message as it goes on the wire (RFC 5322, CRLF): multipart/alternative, text then HTML, UTF-8
        in base64, the subject and a non-ASCII sender name as RFC 2047 encoded-words; all of it ASCII.

        Written out here rather than through ``email.message.EmailMessage``: the standard library's header
        registry and generator cost ~4 ms a message against ~0.15 ms for this, and delivery sends thousands
        (benchmarks/README.md, "Delivery"). The tests parse the result with the standard library's parser."""
        if date.tzinfo is None:
            raise ValueError("the Date header needs an aware datetime")
        sender_name, sender_address = parseaddr(self.sender)
        headers = {
            "From": formataddr((sender_name, sender_address), charset="utf-8"),
            "To": ", ".join(self.to),
            "Subject": Header(self.subject, "utf-8").encode(linesep=CRLF),
            "Date": format_datetime(date),
            "Message-ID": self.message_id,
            "X-Duban-Notice": self.dedupe_key,
            "Auto-Submitted": "auto-generated",  # RFC 3834: no vacation auto-replies, please
            "MIME-Version": "1.0",
        }
        for name, value in headers.items():
            unfolded = value.replace(CRLF + " ", " ")  # the encoded subject is folded; nothing else may break a line
            if not value.isascii() or "\r" in unfolded or "\n" in unfolded:
                raise ValueError(f"the {name} header cannot go on the wire as it is: {value!r}")
        # The boundary starts with "=_", which base64 never produces, so it cannot occur inside a part.
        boundary = "=_" + hashlib.sha256(self.message_id.encode("utf-8")).hexdigest()[:28]
        head = "".join(f"{name}: {value}{CRLF}" for name, value in headers.items())
        head += f'Content-Type: multipart/alternative; boundary="{boundary}"{CRLF}{CRLF}'
        return b"".join([head.encode("ascii"), _part(boundary, "plain", self.text), _part(boundary, "html", self.html),
                         f"--{boundary}--{CRLF}".encode("ascii")])


CRLF = "\r\n"


def _part(boundary: str, subtype: str, body: str) -> bytes:
    head = (f"--{boundary}{CRLF}Content-Type: text/{subtype}; charset=\"utf-8\"{CRLF}"
            f"Content-Transfer-Encoding: base64{CRLF}{CRLF}")
    return head.encode("ascii") + base64.encodebytes(body.encode("utf-8")).replace(b"\n", CRLF.encode("ascii"))


def message_id_for(dedupe_key: str, domain: str) -> str:
    """A stable Message-ID for a notice: the same key always gives the same id, so a resend is recognisable."""
    return f"<{hashlib.sha256(dedupe_key.encode('utf-8')).hexdigest()[:32]}@{domain}>"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The templates' environment: HTML autoescaped, a missing variable an error rather than an empty string."""
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


# ── recipients ──────────────────────────────────────────────────────────────────────────────────


def _plan(session: Session, plan_id: str | None = None) -> LoadedPlan:
    """The plan ``plan_id`` (or the office's first), read once per session: rendering asks for it several times a
    message, and delivery renders a batch in one read-only session (a replay renders thousands of messages)."""
    plans = session.info.setdefault(_PLAN_KEY, {})
    plan = plans.get(plan_id)
    if plan is None:
        plan = plans[plan_id] = require_plan(session, plan_id)
    return plan


def _about(session: Session, notice: Notice) -> Deliverable | ObligationRecord | None:
    """What the notice is about: its deliverable, else its obligation (None: a digest or a plan's summary)."""
    if notice.deliverable_id is not None:
        deliverable = session.get(Deliverable, notice.deliverable_id)
        if deliverable is not None:
            return deliverable
    return session.get(ObligationRecord, notice.obligation_id) if notice.obligation_id is not None else None


def notice_plan_id(session: Session, notice: Notice) -> str | None:
    """The plan a notice is about: its own (a plan's summary), its deliverable's or its obligation's; None for
    the office's and leaders' digests, which span every plan."""
    about = _about(session, notice)
    return notice.plan_id if notice.plan_id is not None or about is None else about.plan_id


_PLAN_KEY = "duban.messages.plan"


def _unit_emails(session: Session, unit_id: str | None) -> list[str]:
    unit = session.get(UnitRecord, unit_id) if unit_id else None
    return list(unit.emails or []) if unit is not None and not unit.retired else []


def _people(session: Session, plan_id: str | None, role: str, unit_id: str | None = None) -> list[str]:
    """The addresses of the people with ``role`` in the plan's leading group (every plan's, for ``plan_id`` None:
    the digests to the leaders span the plans)."""
    query = (select(PersonRecord.email).join(PlanPerson, PlanPerson.person_id == PersonRecord.id)
             .where(PlanPerson.role == role, PersonRecord.retired.is_(False)))
    if plan_id is not None:
        query = query.where(PlanPerson.plan_id == plan_id)
    if unit_id is not None:
        query = query.where(PersonRecord.unit_id == unit_id)
    return list(dict.fromkeys(session.scalars(query.order_by(PersonRecord.id))))


def _unit_member(session: Session, plan_id: str | None, unit_id: str | None) -> list[str]:
    """The member who speaks for the unit; for a region that is no government of its own (市本级), whose
    figures the office's unit compiles, the member of that unit (the plan loader checks the same rule). An item
    of a plan without such a member (the office's hand-assigned items, a plan without a leading group) goes to the
    unit's leader in charge (分管领导), as the office's directory names them, else to the office."""
    found = _people(session, plan_id, "member", unit_id)
    unit = session.get(UnitRecord, unit_id) if unit_id else None
    if not found and unit is not None and unit.kind == "region":
        office_unit = _plan(session, plan_id).office.unit
        found = _people(session, plan_id, "member", office_unit) if office_unit else []
    if not found and unit is not None and unit.leader:
        found = [unit.leader["email"]]
    if not found and _without_leading_group(session, plan_id):  # no leader in charge on record: the office
        found = [_plan(session, plan_id).office.email]
    return found


def _without_leading_group(session: Session, plan_id: str | None) -> bool:
    """A plan whose escalations have no leading group to climb: the office's hand-assigned items, and a plan
    imported from a document that names none."""
    plan = _plan(session, plan_id)
    return plan.kind == STANDING or session.scalar(
        select(PlanPerson.person_id).where(PlanPerson.plan_id == plan.id).limit(1)) is None


def _lead_unit_id(session: Session, notice: Notice) -> str | None:
    """The lead unit the notice is about: the deliverable's, else the obligation's, else the notice's own."""
    about = _about(session, notice)
    if about is None:
        return notice.unit_id
    return about.unit_id if isinstance(about, Deliverable) else about.lead_unit_id


def recipients_for(session: Session, notice: Notice) -> tuple[str, ...]:
    """The addresses of the notice's audience, in audience order, retired people and units skipped, no repeats."""
    found: list[str] = []
    plan_id = notice_plan_id(session, notice)
    for part in (p.strip() for p in notice.audience.split(",")):
        if part == "unit":
            found += _unit_emails(session, notice.unit_id)
        elif part.startswith("co-unit:"):
            found += _unit_emails(session, part.removeprefix("co-unit:"))
        elif part == "unit-member":
            found += _unit_member(session, plan_id, _lead_unit_id(session, notice))
        elif part == "office":
            found.append(_plan(session, plan_id).office.email)
        elif part in ("deputies", "leader"):
            found += _people(session, plan_id, "deputy" if part == "deputies" else "leader")
        elif part:
            raise ValueError(f"notice {notice.dedupe_key}: unknown audience part {part!r}")
    seen: set[str] = set()
    out = []
    for address in (a.strip() for a in found if a):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    return tuple(out)


# ── the facts a message states ──────────────────────────────────────────────────────────────────


def _task_short(task: str) -> str:
    """The task's first clause, cut to a subject-sized length, with an ellipsis when anything was left off."""
    cut = min((i for i, ch in enumerate(task) if ch in CLAUSE_ENDS), default=len(task))
    short = task[:min(cut, SUBJECT_TASK_CHARS)].strip()
    return short if short == task.strip() else short + "…"


def _sources(obligation: ObligationRecord) -> list[dict[str, Any]]:
    keys = ("section", "unit", "item", "quote", "deadline_text")
    return [{k: (s or {}).get(k) for k in keys} for s in obligation.sources or []]


def _superseded(session: Session, notice: Notice, supervision: SupervisionRules) -> list[int]:
    """Lower steps of the same kind that were never written for this deliverable (and unit, for reminders)."""
    if notice.kind == "office" or notice.deliverable_id is None:
        return []
    if notice.kind == "escalation":
        lower = sorted(step.level for step in supervision.escalation if step.level < notice.level)
    elif notice.kind == "chase":
        lower = list(range(1, notice.level))
    else:  # reminder: the earlier (larger) offsets
        lower = [k for k in supervision.reminder_offsets if k > notice.level]
    query = select(Notice.level).where(Notice.kind == notice.kind, Notice.deliverable_id == notice.deliverable_id)
    if notice.kind == "reminder":
        query = query.where(Notice.unit_id == notice.unit_id)
    written = set(session.scalars(query))
    return [level for level in lower if level not in written]


def _context(session: Session, notice: Notice, base_url: str, today: date) -> dict[str, Any]:
    plan = _plan(session, notice_plan_id(session, notice))
    obligation = session.get(ObligationRecord, notice.obligation_id)
    deliverable = session.get(Deliverable, notice.deliverable_id) if notice.deliverable_id is not None else None
    if obligation is None and deliverable is not None:
        obligation = session.get(ObligationRecord, deliverable.obligation_id)
    if obligation is None:
        raise LookupError(f"notice {notice.dedupe_key}: its obligation is not in the database")
    lead = session.get(UnitRecord, _lead_unit_id(session, notice))
    unit = session.get(UnitRecord, notice.unit_id) if notice.unit_id else lead
    event = session.get(EventRecord, obligation.awaits) if obligation.awaits else None
    parts = [p.strip() for p in notice.audience.split(",") if p.strip()]
    due = deliverable.due if deliverable is not None else None
    original = deliverable.original_due if deliverable is not None else None
    steps = {step.level: step.after_working_days for step in plan.supervision.escalation}
    base = base_url.rstrip("/")
    return {
        "kind": notice.kind, "level": notice.level, "today": today.isoformat(),
        "plan_title": plan.title, "plan_number": plan.document_number, "plan_name": plan.short_name,
        "office_name": plan.office.name,
        "unit": unit.short_name, "unit_name": unit.name,
        "lead_unit": lead.short_name, "lead_unit_name": lead.name,
        "co_unit": any(p.startswith("co-unit:") for p in parts),
        "audience": ["co-unit" if p.startswith("co-unit:") else p for p in parts],
        "task": obligation.task, "task_short": _task_short(obligation.task),
        "deadline_text": obligation.deadline_text, "sources": _sources(obligation),
        "ref": deliverable.ref if deliverable is not None else None,
        "period": deliverable.period if deliverable is not None and deliverable.period != "once" else None,
        "due": due.isoformat() if due else None,
        "original_due": original.isoformat() if original and original != due else None,
        "days_overdue": max((today - due).days, 0) if due else None,
        "escalation_after": steps.get(notice.level) if notice.kind == "escalation" else None,
        "supersedes": _superseded(session, notice, plan.supervision),
        "link": f"{base}/deliverables/{quote(deliverable.qualified_ref, safe='@:')}" if deliverable is not None
                else f"{base}/obligations/{quote(qualified_ref(obligation.plan_id, obligation.ref), safe='@:')}",
        "obligation_kind": obligation.kind, "event_name": event.name if event else None,
        "event_text": event.text if event else None,
        "published_on": plan.published_on.isoformat(), "days_waiting": (today - plan.published_on).days,
        "grace": plan.supervision.awaiting_grace,
    }


def _item(row: StatusRow, base: str) -> dict[str, Any]:
    """A deliverable (or a waiting obligation) as a digest lists it."""
    path = "deliverables" if row.state not in ("awaiting_event", "awaiting_date") else "obligations"
    return {"ref": row.id, "unit": row.unit_name, "task": row.task, "task_short": _task_short(row.task),
            "period": row.period if row.period not in (None, "once") else None,
            "due": row.due.isoformat() if row.due else None, "state": row.state, "light": row.light,
            "days_overdue": row.days_overdue, "plan": row.plan_name,
            "link": f"{base}/{path}/{quote(row.qualified, safe='@:')}"}


def _section(rows: list[StatusRow], base: str, **extra: Any) -> dict[str, Any]:
    """A digest's list, grouped by plan when it spans several (the groups in the order the list first names their
    plans, each in the list's own order, its first item carrying the plan's name as ``plan_heading``): its first
    DIGEST_LIST_LIMIT items, the full count, and how many were left off."""
    first_seen = {plan: i for i, plan in reversed(list(enumerate(r.plan for r in rows)))}
    grouped = len(first_seen) > 1
    if grouped:
        rows = sorted(rows, key=lambda r: first_seen[r.plan])
    items, previous = [], None
    for row in rows[:DIGEST_LIST_LIMIT]:
        heading = row.plan_name if grouped and row.plan != previous else None
        items.append({**_item(row, base), "plan_heading": heading, **{k: f(row) for k, f in extra.items()}})
        previous = row.plan
    return {"items": items, "count": len(rows), "more": max(len(rows) - DIGEST_LIST_LIMIT, 0)}


def _all_status_rows(session: Session, today: date) -> list[StatusRow]:
    """Every unit's status rows on ``today``, computed once per session: delivery renders a batch in one read-only
    session (one snapshot), and a Monday's batch holds a digest for most units. A unit's digest takes its own
    lead rows from these, the same rows a unit-filtered status_rows gives it (it leaves co-operated ones out)."""
    key = ("duban.messages.status_rows", today)
    if key not in session.info:
        session.info[key] = status_rows(session, today=today)
    return session.info[key]


def _figures_behind(session: Session, today: date) -> list[dict[str, Any]]:
    """The regions behind their training targets on ``today``, computed once per session (see _all_status_rows)."""
    key = ("duban.messages.figures_behind", today)
    if key not in session.info:
        session.info[key] = digests.figures_behind(session, today)
    return session.info[key]


def _digest_context(session: Session, notice: Notice, today: date, base_url: str) -> dict[str, Any]:
    """A digest's facts, computed from the data on the day it is rendered (responsibilities.notices.digests decides
    what): what every digest says, then the unit's week, the leaders' week or the office's day."""
    plan = _plan(session)
    digest, period = digests.parse_key(notice.dedupe_key, notice.unit_id)
    base = base_url.rstrip("/")
    context: dict[str, Any] = {
        "kind": notice.kind, "digest": digest, "today": today.isoformat(), "period": period,
        "plan_title": plan.title, "plan_number": plan.document_number, "plan_name": plan.short_name,
        "office_name": plan.office.name,
        "dashboard": f"{base}/", "due_soon_days": digests.DUE_SOON_DAYS,
    }
    if digest in ("unit", "leaders"):
        context |= _week_context(period)
    if digest == "unit":
        return context | _unit_digest_context(session, notice.unit_id, today, base)
    rows = _all_status_rows(session, today)
    context["figures_behind"] = _figures_behind(session, today)
    if digest == "leaders":
        facts = digests.leaders_digest(rows)
        return context | {"red": _section(facts.red, base), "behind": [b.__dict__ for b in facts.behind]}
    return context | _office_digest_context(session, digests.office_digest(session, rows), base)


def _week_context(period: str) -> dict[str, Any]:
    year, _, week = period.partition("-W")
    monday, sunday = digests.week_bounds(period)
    return {"year": int(year), "week": int(week), "week_start": monday.isoformat(), "week_end": sunday.isoformat()}


def _unit_digest_context(session: Session, unit_id: str | None, today: date, base: str) -> dict[str, Any]:
    unit = session.get(UnitRecord, unit_id)
    if unit is None:
        raise LookupError(f"digest for unit {unit_id}: the unit is not in the database")
    facts = digests.unit_digest(_all_status_rows(session, today), unit.id, today)
    return {
        "unit": unit.short_name, "unit_name": unit.name, "in_hand": len(facts.in_hand),
        "submitted": len(facts.submitted), "overdue": _section(facts.overdue, base),
        "due_soon": _section(facts.due_soon, base, days_left=lambda r: (r.due - today).days),
        "returned": _section(facts.returned, base),
    }


def _office_digest_context(session: Session, facts: digests.OfficeDigest, base: str) -> dict[str, Any]:
    """The office's day: every unit's lights (worst first), the red items, reviews, what waits, what failed."""
    names = dict(session.execute(select(UnitRecord.id, UnitRecord.short_name)).all())
    order = {unit_id: i for i, unit_id in enumerate(names)}
    lights = [{"unit": names.get(u, u), **counts} for u, counts in sorted(
        facts.lights.items(), key=lambda kv: (-kv[1]["red"], -kv[1]["yellow"], order.get(kv[0], len(order))))]
    totals = {light: sum(c[light] for c in facts.lights.values()) for light in ("red", "yellow", "green", "grey")}
    events = {qualified_ref(o.plan_id, o.ref): o.awaits for o in session.scalars(select(ObligationRecord).where(
        ObligationRecord.ref.in_([r.id for r in facts.awaiting_event])))}
    event_names = {e.id: e.name for e in session.scalars(select(EventRecord))}
    failed = [{"key": n.dedupe_key, "kind": n.kind, "audience": n.audience, "owed_on": n.owed_on.isoformat(),
               "attempts": n.attempts, "error": n.last_error or "",
               "unit": names.get(n.unit_id, n.unit_id or "")}
              for n in facts.failed[:DIGEST_LIST_LIMIT]]
    return {
        "lights": lights, "totals": totals, "red_count": len(facts.red),
        "reviews": _section(facts.reviews, base),
        "awaiting_event": _section(facts.awaiting_event, base,
                                   event=lambda r: event_names.get(events.get(r.qualified), "")),
        "awaiting_date": _section(facts.awaiting_date, base),
        "failed": {"items": failed, "count": len(facts.failed),
                   "more": max(len(facts.failed) - DIGEST_LIST_LIMIT, 0)},
    }


def render_notice(session: Session, notice: Notice, *, base_url: str, sender: str, today: date) -> Message:
    """The notice as a message: subject, text and HTML from the kind's templates, addressed to its audience."""
    if notice.kind not in KINDS:
        raise ValueError(f"notice {notice.dedupe_key}: unknown kind {notice.kind!r}")
    to = recipients_for(session, notice)
    if not to:
        raise NoRecipients(f"notice {notice.dedupe_key}: audience {notice.audience!r} has no address")
    env = environment()
    if notice.kind == "digest":
        context = _digest_context(session, notice, today, base_url)
    elif notice.kind == "summary":
        context = summary_context(session, notice, base_url, _plan(session, notice.plan_id))
    elif notice.kind == "bulletin":  # across plans: signed with the office's first plan, as the digests are
        context = bulletin_context(session, notice, base_url, _plan(session))
    else:
        context = _context(session, notice, base_url, today)
    subject = " ".join(env.get_template(f"{notice.kind}/subject.txt").render(context).split())
    context["subject"] = subject
    text = env.get_template(f"{notice.kind}/body.txt").render(context)
    html = env.get_template(f"{notice.kind}/body.html").render(context)
    domain = parseaddr(sender)[1].rpartition("@")[2] or DEFAULT_DOMAIN
    return Message(notice.id, notice.dedupe_key, message_id_for(notice.dedupe_key, domain), sender, to,
                   subject, text, html)
