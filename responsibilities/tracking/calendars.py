"""Calendar subscriptions (日历订阅): a secret address per unit, and one for the office, whose .ics feed lists the
open deliverables with their due dates (``reports.calendar`` writes it).

Calendar programs cannot sign in, so the address is the key: 32 random bytes, of which only the SHA-256 is kept.
It is shown once, when it is made; making a new one revokes the old at once (it then answers as an address that
never was). A unit's users make their unit's; the office makes any, its own included.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.errors import NotAllowed
from responsibilities.limits import is_clean_key
from responsibilities.storage.audit import write_audit
from responsibilities.storage.db import read_session
from responsibilities.storage.model import CalendarFeed
from responsibilities.tracking.access import acting_user, require_office, require_unit, who

SessionFactory = sessionmaker[Session]
OFFICE_FEED = "office"  # the owner of the office's feed: every unit's open deliverables
TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def make_feed(session_factory: SessionFactory, *, actor: str, owner: str, now: datetime) -> str:
    """A new secret token for ``owner``'s feed (a unit id, or ``office``); the previous one stops working."""
    with session_factory.begin() as session:
        user = acting_user(session, actor)
        if owner == OFFICE_FEED:
            require_office(user, "calendar.make")
        else:
            require_unit(session, owner)
            if user.role == "unit" and user.unit_id != owner:
                raise NotAllowed(f"{who(user)}无权生成 {owner} 的日历订阅地址:只能生成本单位的")
            if user.role not in ("unit", "office"):
                require_office(user, "calendar.make")
        session.execute(update(CalendarFeed).where(CalendarFeed.owner == owner, CalendarFeed.revoked_at.is_(None))
                        .values(revoked_at=now))
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session.add(CalendarFeed(owner=owner, token_sha256=token_hash(token), created_at=now, created_by=user.name))
        write_audit(session, now=now, actor=user.name, action="calendar.make",
                    unit_id=None if owner == OFFICE_FEED else owner, note="旧的订阅地址已失效")
    return token


def feed_owner(session_factory: SessionFactory, token: str) -> str | None:
    """Whose feed ``token`` opens, or None (unknown, revoked, or not a token at all)."""
    if not is_clean_key(token, limit=100):
        return None
    with read_session(session_factory) as session:
        return session.scalar(select(CalendarFeed.owner).where(CalendarFeed.token_sha256 == token_hash(token),
                                                               CalendarFeed.revoked_at.is_(None)))
