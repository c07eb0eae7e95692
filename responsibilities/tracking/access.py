"""Who may see and do what: the one place the rules of access are written.

- The office (领导小组办公室) sees every unit's work and does everything: reviews (销号 / 退回), waivers, events,
  dates, extension decisions, and hands in on a unit's behalf.
- A unit's user sees and acts on its own unit's work only: the lead unit hands in and asks for extensions; the lead
  and the co-units (配合单位) add progress notes.
- Leaders read everything and change nothing.
Every refusal is a NotAllowed (or NotFound) in Chinese a person can act on, raised before anything changes.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from responsibilities.errors import InvalidInput, NotAllowed, NotFound
from responsibilities.storage.model import CoUnit, Deliverable, UnitRecord, User
from responsibilities.tracking.texts import checked_text
from responsibilities.vocabulary import ACTION_NAMES, ROLE_NAMES

MAX_USER_NAME = User.__table__.c.name.type.length  # a user's name is also the actor of every audit record

# ── who acts ──


def acting_user(session: Session, name: str) -> User:
    """The user who acts: known, and not disabled."""
    user = _named(session, name)
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
    """The lead unit, a co-unit, or the office."""
    if user.role == "unit" and user.unit_id != deliverable.unit_id:
        co = session.get(CoUnit, (deliverable.obligation_id, user.unit_id))
        if co is None:
            raise NotAllowed(f"{who(user)}无权{ACTION_NAMES[doing]} {deliverable.ref}:该事项的牵头单位是 "
                             f"{deliverable.unit_id},{user.unit_id} 也不是其配合单位;只能办理本单位承担的事项")
    elif user.role not in ("office", "unit"):
        raise NotAllowed(f"{who(user)}无权更改 {deliverable.ref}:领导只能查看;如需更改,请联系领导小组办公室")


def _named(session: Session, name: str) -> User | None:
    """The user of that name; none for a name no user can have (too long, control characters: a NUL would even
    make PostgreSQL refuse the query)."""
    try:
        checked = checked_text(name, "用户名", required=True, limit=MAX_USER_NAME, one_line=True)
    except InvalidInput:
        return None
    return session.scalars(select(User).where(User.name == checked)).first()


# ── who looks ──


def viewing_user(session: Session, name: str | None) -> User | None:
    """The user who looks (None: the command line without --as, which sees everything)."""
    if name is None:
        return None
    user = _named(session, name)
    if user is None:
        raise NotFound(f"没有名为“{name}”的用户:`duban users list` 可列出已有用户")
    if user.disabled:
        raise NotAllowed(f"用户 {name} 已停用,不能再查看;如需查看,请联系领导小组办公室")
    return user


def visible_unit(session: Session, viewer: User | None, unit: str | None) -> str | None:
    """The unit whose work to show (None: all), refusing a unit's user a look at another unit."""
    _require_unit(session, unit)
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
    _require_unit(session, unit)


def _require_unit(session: Session, unit: str | None) -> None:
    if unit is not None and session.get(UnitRecord, unit) is None:
        raise NotFound(f"没有编号为“{unit}”的单位:单位编号见 deadlines.yaml 或 `duban status` 的输出")
