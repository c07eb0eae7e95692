"""Accounts for the web application: passwords (Argon2id), sign-in with throttling, server-side sessions.

Like the services, every function takes the session factory and a keyword-only ``now`` and never reads the
clock. Sessions live in the database, keyed by the SHA-256 of the random session id the browser holds, so
that signing out, a time-out or disabling a user ends them on the server, and several web processes agree.
Throttling counts failed sign-ins per account and per address in the database for the same reason.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from responsibilities.errors import DomainError, InvalidInput, NotFound
from responsibilities.limits import MAX_PASSWORD_CHARS, MAX_USER_NAME, is_clean_key
from responsibilities.storage.audit import write_audit
from responsibilities.storage.db import read_session, serialise
from responsibilities.storage.model import SignInAttempt, User, WebSession

SessionFactory = sessionmaker[Session]

MIN_PASSWORD_CHARS = 10
THROTTLE_FAILURES = 5  # failed sign-ins within THROTTLE_WINDOW for one account or one address …
THROTTLE_WINDOW = timedelta(minutes=1)  # … and the next attempt is refused (429) until the window passes
KEEP_ATTEMPTS = timedelta(hours=1)
IDLE_TIMEOUT = timedelta(minutes=60)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often: page views stay reads

_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106 "low memory" profile


@functools.cache
def _dummy_hash() -> str:
    """Verified when the account does not exist, so that a wrong name costs as long as a wrong password. Made on
    first need, not on import: every command would otherwise pay a hash (~50 ms) to start."""
    return _hasher.hash(secrets.token_urlsafe(16))


class SignInFailed(DomainError):
    """Wrong name or password, or a disabled account: one message for all, so names cannot be probed."""


class SignInThrottled(DomainError):
    """Too many failed sign-ins for this account or from this address within a minute."""


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token_for(session_id: str) -> str:
    """The session's CSRF token: derived from the secret session id, so it needs no storage; one-way, so a
    token seen in a page does not reveal the session id."""
    return hashlib.sha256(b"duban-csrf\0" + session_id.encode("utf-8")).hexdigest()


def check_password_rules(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"密码至少需要 {MIN_PASSWORD_CHARS} 个字符,请换一个更长的密码")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"密码最多 {MAX_PASSWORD_CHARS} 个字符,请换一个短一些的密码")
    if not _encodable(password):
        raise InvalidInput("密码中有无法识别的字符(不是有效的 UTF-8 文字),请检查终端的编码后重新输入")
    return password


def _encodable(text: str) -> bool:
    """Whether Argon2 can hash it: a lone surrogate (an undecodable byte) has no UTF-8 form."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _user(session: Session, name: str) -> User:
    user = session.scalars(select(User).where(User.name == name)).first() if is_clean_key(name) else None
    if user is None:
        raise NotFound(f"没有名为“{name}”的用户:`duban users list` 可列出已有用户")
    return user


def set_password(session_factory: SessionFactory, *, name: str, password: str, now: datetime) -> None:
    """Give a user a (new) password; every session they had ends."""
    digest = _hasher.hash(check_password_rules(password))
    with session_factory.begin() as session:
        user = _user(session, name)
        user.password_hash = digest
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        write_audit(session, now=now, actor="system", action="user.password", unit_id=user.unit_id,
                    after={"name": name})


def disable_user(session_factory: SessionFactory, *, name: str, now: datetime) -> None:
    """The user can no longer sign in nor act (web or command line); their sessions end now."""
    with session_factory.begin() as session:
        user = _user(session, name)
        user.disabled = True
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        write_audit(session, now=now, actor="system", action="user.disabled", unit_id=user.unit_id,
                    after={"name": name})


def has_web_accounts(session_factory: SessionFactory) -> bool:
    with session_factory() as session:
        return session.scalars(select(User.id).where(User.password_hash.is_not(None),
                                                     User.disabled.is_(False)).limit(1)).first() is not None


@dataclass(frozen=True)
class Account:
    """A user as the office lists them: who, in which role, and whether they may sign in on the web."""

    name: str
    role: str
    unit_id: str | None
    disabled: bool
    web: bool  # has a password


def accounts(session_factory: SessionFactory) -> list[Account]:
    """Every user, by name."""
    with read_session(session_factory) as session:
        return [Account(u.name, u.role, u.unit_id, u.disabled, u.password_hash is not None)
                for u in session.scalars(select(User).order_by(User.name))]


@dataclass(frozen=True)
class SignedIn:
    """A session: the raw id goes into the cookie once and is never stored."""

    session_id: str
    user_name: str
    role: str
    unit_id: str | None

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(self.session_id)


def sign_in(session_factory: SessionFactory, *, name: str, password: str, address: str, now: datetime,
            replaces: str | None = None) -> SignedIn:
    """Check the password and start a new session (a new id every time; ``replaces`` is ended)."""
    name, address = (name or "").strip()[:MAX_USER_NAME], (address or "unknown")[:64]
    if not is_clean_key(name) or not _encodable(password or ""):
        # No account has such a name (add_user refuses it), and no password such characters: refused before the
        # database sees them (PostgreSQL cannot store a NUL, nor any database a lone surrogate), unrecorded.
        raise SignInFailed("用户名或密码不正确")
    with session_factory.begin() as session:
        # Counted and added one attempt at a time per account and per address, or guesses sent together
        # would all be counted before any was added (PostgreSQL) and all be let through.
        serialise(session, f"sign-in account:{name}", f"sign-in address:{address}")
        since = now - THROTTLE_WINDOW
        failures = session.execute(select(
            func.count().filter(SignInAttempt.account == name),
            func.count().filter(SignInAttempt.address == address),
        ).where(SignInAttempt.at > since, or_(SignInAttempt.account == name, SignInAttempt.address == address))).one()
        if max(failures) >= THROTTLE_FAILURES:
            raise SignInThrottled("登录失败次数过多,请一分钟后再试")
        user = session.scalars(select(User).where(User.name == name)).first() if name else None
        verified = _verify(user, password)
        if not verified:
            # Committed, not raised inside this transaction: a rollback would forget the failure.
            session.add(SignInAttempt(at=now, account=name, address=address))
            session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - KEEP_ATTEMPTS))
        else:
            signed_in = _start_session(session, user, password, address, now, replaces)
        # The office's record of who did what includes who signed in, and who tried (never the password).
        write_audit(session, now=now, actor=name or "(空)", action="sign-in" if verified else "sign-in.failed",
                    unit_id=user.unit_id if user else None,
                    note=f"来自 {address}" + ("" if verified else f":{_why_refused(user)}"))
    if not verified:
        raise SignInFailed("用户名或密码不正确")
    return signed_in


def _start_session(session: Session, user: User, password: str, address: str, now: datetime,
                   replaces: str | None) -> SignedIn:
    if replaces:
        session.execute(delete(WebSession).where(WebSession.id_hash == hash_session_id(replaces)))
    session_id = secrets.token_urlsafe(32)
    session.add(WebSession(id_hash=hash_session_id(session_id), user_id=user.id, created_at=now,
                           last_seen_at=now, address=address))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return SignedIn(session_id, user.name, user.role, user.unit_id)


def _why_refused(user: User | None) -> str:
    if user is None:
        return "没有此用户"
    if user.disabled:
        return "用户已停用"
    return "未设网页密码" if user.password_hash is None else "密码不正确"


def _verify(user: User | None, password: str) -> bool:
    if not password or len(password) > MAX_PASSWORD_CHARS:
        return False
    if user is None or user.password_hash is None or user.disabled:
        try:
            _hasher.verify(_dummy_hash(), password)  # the same cost, and then no
        except VerificationError:
            pass
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def session_user(session_factory: SessionFactory, *, session_id: str | None, now: datetime,
                 idle: timedelta = IDLE_TIMEOUT, absolute: timedelta = ABSOLUTE_TIMEOUT) -> SignedIn | None:
    """Who holds this session id, or None (unknown, ended, timed out, or its user disabled)."""
    if not session_id or len(session_id) > 100:
        return None
    id_hash = hash_session_id(session_id)
    with read_session(session_factory) as session:  # most requests only read: no write lock for them
        row = session.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                              .where(WebSession.id_hash == id_hash)).first()
    if row is None:
        return None
    web_session, user = row
    expired = now - web_session.last_seen_at > idle or now - web_session.created_at > absolute
    if expired or user.disabled or user.password_hash is None:
        end_session(session_factory, session_id=session_id)
        return None
    if now - web_session.last_seen_at > TOUCH_EVERY:
        with session_factory.begin() as session:
            session.execute(update(WebSession).where(WebSession.id_hash == id_hash).values(last_seen_at=now))
    return SignedIn(session_id, user.name, user.role, user.unit_id)


def end_session(session_factory: SessionFactory, *, session_id: str | None) -> None:
    if not session_id:
        return
    with session_factory.begin() as session:
        session.execute(delete(WebSession).where(WebSession.id_hash == hash_session_id(session_id)))
