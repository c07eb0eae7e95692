"""Who may see and do what: the one place the rules of access are written.

- The office (领导小组办公室) sees every unit's work and does everything: reviews (销号 / 退回), waivers, events,
  dates, extension decisions, and hands in on a unit's behalf.
- A unit's user sees and acts on its own unit's work only: the lead unit hands in and asks for extensions; the lead
  and the co-units (配合单位) add progress notes.
- Leaders read everything and change nothing.
Every refusal is a NotAllowed (or NotFound) in Chinese a person can act on, raised before anything changes.

What a unit may not see does not exist for it: another unit's deliverable is answered exactly as a ref that is not
there (``find_deliverable``: the same NotFound, the same words, hints only among its own work), at every door, so
that asking reveals nothing. The office and leaders, who see everything, get the precise answer.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from responsibilities.errors import InvalidInput, NotAllowed, NotFound
from responsibilities.limits import is_clean_key
from responsibilities.plan.deliverables import qualified_ref
from responsibilities.storage.model import CoUnit, Deliverable, ObligationRecord, PlanRecord, UnitRecord, User
from responsibilities.vocabulary import ACTION_NAMES, ROLE_NAMES

# ── who acts ──


def acting_user(session: Session, name: str) -> User:
    """The user who acts: known, and not disabled."""
    user = session.scalars(select(User).where(User.name == name)).first() if is_clean_key(name) else None
    if user is None:
        raise NotFound(f"没有名为“{name}”的用户:请先用 `duban users add {name} --role office|unit:<单位编号>|leader` "
                       "添加,或用 `duban users list` 查看已有用户")
    if user.disabled:
        raise NotAllowed(f"用户 {name} 已停用,不能再办理事项;如需办理,请联系领导小组办公室")
    return user


def who(user: User) -> str:
    """The actor as messages name them: 王春(领导小组办公室), hrss-clerk(责任单位 hrss)."""
    role = ROLE_NAMES.get(user.role, user.role)
    return f"{user.name}({role} {user.unit_id})" if user.role == "unit" else f"{user.name}({role})"


# ``doing`` below is a key of vocabulary.ACTION_NAMES ("accept", "extension.request" …): the Chinese is there.


def require_office(user: User, doing: str) -> None:
    if user.role != "office":
        raise NotAllowed(f"{who(user)}无权{ACTION_NAMES[doing]}:只有领导小组办公室可以{ACTION_NAMES[doing]},"
                         "请联系办公室办理")


def require_lead(user: User, deliverable: Deliverable, doing: str) -> None:
    """The lead unit, or the office on its behalf."""
    if user.role == "office" or (user.role == "unit" and user.unit_id == deliverable.unit_id):
        return
    raise NotAllowed(f"{who(user)}无权{ACTION_NAMES[doing]} {deliverable.ref}:该事项的牵头单位是 {deliverable.unit_id},"
                     "请由该单位或领导小组办公室办理")


def require_assigned(session: Session, user: User, deliverable: Deliverable, doing: str) -> None:
    """The lead unit, a co-unit, or the office. (Another unit's deliverable does not exist for a unit's user.)"""
    if user.role == "unit" and not may_see(session, user, deliverable):
        raise no_such_deliverable(session, deliverable.ref, user)
    if user.role not in ("office", "unit"):
        raise NotAllowed(f"{who(user)}无权更改 {deliverable.ref}:领导只能查看;如需更改,请联系领导小组办公室")


# ── who looks ──


def may_see(session: Session, viewer: User | None, deliverable: Deliverable) -> bool:
    """Everyone sees everything but a unit's user: its unit's deliverables, and those it cooperates on."""
    if viewer is None or viewer.role != "unit" or viewer.unit_id == deliverable.unit_id:
        return True
    return session.get(CoUnit, (deliverable.obligation_id, viewer.unit_id)) is not None


# How many plans' deliverables of one ref an ambiguous answer lists.
CANDIDATES = 10


def qualify(ref: str, plan: str | None) -> str:
    """The reference a command's ``--plan`` (or a page's ``?plan=``) makes of ``ref``: <plan>:<ref>."""
    return qualified_ref(plan, ref) if plan else ref


def find_deliverable(session: Session, ref: str, viewer: User | None, *, lock: bool = False) -> Deliverable:
    """The deliverable ``ref`` as ``viewer`` may see it (None: the command line without --as): one that is not
    there and one the viewer may not see are one answer. ``ref`` is unique within its plan: a bare ref found in
    several plans is refused with the candidates listed; ``<plan>:<ref>`` names one. With ``lock``, its row locked
    until the transaction ends (PostgreSQL: SELECT … FOR UPDATE; SQLite's write transactions hold the whole
    database from their start)."""
    column = Deliverable.qualified_ref if ":" in ref else Deliverable.ref
    query = select(Deliverable).where(column == ref)
    found = list(session.scalars(query.limit(CANDIDATES))) if is_clean_key(ref) else []
    visible = [d for d in found if may_see(session, viewer, d)]
    if not visible:
        raise no_such_deliverable(session, ref, viewer)
    if len(visible) > 1:
        raise AmbiguousReference(ref, [(d.plan_id, plan_name(session, d.plan_id), d.qualified_ref)
                                       for d in sorted(visible, key=lambda d: d.qualified_ref)])
    deliverable = visible[0]
    if lock:
        session.refresh(deliverable, with_for_update=True)
    return deliverable


def find_obligation(session: Session, ref: str, *, lock: bool = False) -> ObligationRecord | None:
    """The current obligation ``ref`` (``<plan>:<ref>``, or a ref found in one plan only), or None; a bare ref that
    several plans have is refused with the candidates listed."""
    if not is_clean_key(ref):
        return None
    plan, _, bare = ref.rpartition(":")
    query = select(ObligationRecord).where(ObligationRecord.ref == bare, ObligationRecord.retired_at.is_(None))
    found = list(session.scalars((query.where(ObligationRecord.plan_id == plan) if plan else query).limit(CANDIDATES)))
    if len(found) > 1:
        raise AmbiguousReference(ref, [(o.plan_id, plan_name(session, o.plan_id), qualified_ref(o.plan_id, o.ref))
                                       for o in sorted(found, key=lambda o: o.plan_id)])
    if found and lock:
        session.refresh(found[0], with_for_update=True)
    return found[0] if found else None


class AmbiguousReference(InvalidInput):
    """A bare ref that several plans have: which one is meant is the person's to say."""

    def __init__(self, ref: str, candidates: list[tuple[str, str, str]]):
        self.candidates = candidates  # (plan id, plan name, qualified ref)
        listed = "、".join(f"{qualified}({name})" for _, name, qualified in candidates)
        super().__init__(f"编号“{ref}”在多个工作方案中都有:{listed};请用 --plan 指明方案,或写明 方案编号:事项编号")


def plan_name(session: Session, plan_id: str) -> str:
    record = session.get(PlanRecord, plan_id)
    return (record.short_name or record.title) if record is not None else plan_id


def no_such_deliverable(session: Session, ref: str, viewer: User | None) -> NotFound:
    """The answer for a ref that is not there (or not there for ``viewer``): with a hint when the ref names a
    task due by periods, among the deliverables the viewer may see."""
    hint: list[str] = []
    if is_clean_key(ref):
        query = select(Deliverable.ref).where(Deliverable.ref.like(f"{ref.rpartition(':')[2]}@%"))
        if viewer is not None and viewer.role == "unit":
            co = select(CoUnit.obligation_id).where(CoUnit.unit_id == viewer.unit_id)
            query = query.where((Deliverable.unit_id == viewer.unit_id) | Deliverable.obligation_id.in_(co))
        hint = list(session.scalars(query.order_by(Deliverable.ref).limit(3)))
    more = f":该任务按期分为多项,请写明期次,例如 {'、'.join(hint)}" if hint else ":`duban status` 可列出全部事项"
    return NotFound(f"没有编号为“{ref}”的应交事项{more}")


def viewing_user(session: Session, name: str | None) -> User | None:
    """The user who looks (None: the command line without --as, which sees everything)."""
    if name is None:
        return None
    user = session.scalars(select(User).where(User.name == name)).first() if is_clean_key(name) else None
    if user is None:
        raise NotFound(f"没有名为“{name}”的用户:`duban users list` 可列出已有用户")
    if user.disabled:
        raise NotAllowed(f"用户 {name} 已停用,不能再查看;如需查看,请联系领导小组办公室")
    return user


def visible_unit(session: Session, viewer: User | None, unit: str | None) -> str | None:
    """The unit whose work to show (None: all), refusing a unit's user a look at another unit."""
    require_unit(session, unit)
    if viewer is not None and viewer.role == "unit":
        if unit is not None and unit != viewer.unit_id:
            raise NotAllowed(f"{viewer.name}(责任单位 {viewer.unit_id})无权查看 {unit} 的事项:只能查看本单位的事项")
        return viewer.unit_id
    return unit


def require_overview(session: Session, viewer: str | None, unit: str | None = None) -> None:
    """Only the office and leaders see every unit at once (the dashboard, the lists across units)."""
    user = viewing_user(session, viewer)
    if user is not None and user.role == "unit":
        raise NotAllowed(f"{who(user)}无权查看全部单位的情况:只能查看本单位的事项")
    require_unit(session, unit)


def require_unit(session: Session, unit: str | None) -> None:
    if unit is not None and (not is_clean_key(unit) or session.get(UnitRecord, unit) is None):
        raise NotFound(f"没有编号为“{unit}”的单位:单位编号见 deadlines.yaml 或 `duban status` 的输出")
