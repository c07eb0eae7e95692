"""Mail transports: every message duban sends goes through one small interface.

Like httpx's transports, the code that composes and schedules notices never talks SMTP itself; it
enters a transport for a batch (one connection), calls ``send`` per message and reads a ``SendResult``
(which recipients accepted, refused for good, or deferred) or catches ``ConnectionFailure`` (the server
could not be reached or would not let us in: nothing about this message), ``TemporaryFailure`` (the
message, retry later) or ``PermanentFailure`` (the message, do not retry).

- ``SmtpTransport``: a real server through aiosmtplib, one connection per batch.
- ``MailFolderTransport``: no SMTP configured; one ``.eml`` file per message in a folder.
- ``MemoryTransport``: for unit tests; keeps what it was given and can be scripted to fail.
"""

from __future__ import annotations

import email.policy
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

from responsibilities.storage.files import write_atomically

Security = Literal["none", "starttls", "tls"]

DEFAULT_MAIL_DIR = Path("var/mail")
QUIT_TIMEOUT = 5.0  # seconds: the messages are sent; a slow goodbye must not hold up the run


# ── results and failures ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SendResult:
    """What the server did with each recipient: took the message, refused it for good (5xx), or deferred it
    (4xx, as greylisting does): a deferred address may be tried again later with the same message."""

    accepted: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)  # address → "550 5.1.1 no such user"
    deferred: dict[str, str] = field(default_factory=dict)  # address → "450 4.7.1 greylisted, try later"


def recipient_outcomes(addresses: Sequence[str], replies: Mapping[str, tuple[int, str]]) -> SendResult:
    """Split a message's recipients by the server's RCPT replies (only the refusals are given)."""
    refused = {a: _reply(code, text) for a, (code, text) in replies.items() if 500 <= code <= 599}
    deferred = {a: _reply(code, text) for a, (code, text) in replies.items() if a not in refused}
    return SendResult(accepted=tuple(a for a in addresses if a not in replies), refused=refused, deferred=deferred)


class DeliveryFailure(Exception):
    """A message was not sent. ``reply`` is the server's reply (or a description of the network problem)."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reply!r})"


class TemporaryFailure(DeliveryFailure):
    """A 4xx reply to the message (MAIL FROM, DATA): try it again later."""


class ConnectionFailure(TemporaryFailure):
    """No usable conversation with the server (refused, unreachable, timed out, dropped, a greeting or login it
    refused): the server is the problem, not the message, so the whole run waits and no notice pays for it."""


class PermanentFailure(DeliveryFailure):
    """5xx replies (including every recipient refused with 5xx): trying again will not help."""


def _reply(code: int, message: str) -> str:
    return f"{code} {message}".strip()


def _failure_for(code: int, reply: str) -> DeliveryFailure:
    """5xx is permanent; 4xx, and anything odd a server may say, is temporary."""
    return PermanentFailure(reply) if 500 <= code <= 599 else TemporaryFailure(reply)


def classify(error: BaseException) -> DeliveryFailure:
    """Turn an aiosmtplib (or network) exception into a TemporaryFailure or a PermanentFailure."""
    if isinstance(error, DeliveryFailure):
        return error
    if isinstance(error, aiosmtplib.SMTPResponseException):
        # Data, sender, HELO, AUTH, and a bad greeting (SMTPConnectResponseError) all carry a code.
        return _failure_for(error.code, _reply(error.code, error.message))
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        # e.g. STARTTLS required but not offered: a configuration problem, not a passing one.
        return PermanentFailure(f"not supported by the server: {error.message}")
    if isinstance(error, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return ConnectionFailure(f"timed out: {error}")
    if isinstance(error, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError):
        return ConnectionFailure(f"connection problem: {error}")
    if isinstance(error, OSError):  # ConnectionRefusedError, ssl.SSLError, name resolution, ...
        return ConnectionFailure(f"network problem: {error}")
    if isinstance(error, aiosmtplib.SMTPException):
        return TemporaryFailure(f"SMTP problem: {error}")
    raise TypeError(f"not a mail delivery error: {error!r}") from error


def _checked_recipients(recipients: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(recipients, str):
        raise TypeError("recipients must be a sequence of addresses, not one string")
    result = tuple(recipients)
    if not result:
        raise ValueError("a message needs at least one recipient")
    return result


# ── the interface ────────────────────────────────────────────────────────────────────────────────


@runtime_checkable
class Transport(Protocol):
    """Enter once per batch (one connection), then ``send`` each message: its wire form (RFC 5322 bytes,
    ``Message.as_bytes``), the envelope sender and the recipients."""

    async def __aenter__(self) -> Transport: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def send(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult: ...


# ── SMTP settings ────────────────────────────────────────────────────────────────────────────────

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}
_QUERY_KEYS = ("from", "starttls", "timeout")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to reach the SMTP server. ``repr`` and ``str`` never show the password."""

    host: str
    port: int
    security: Security
    username: str | None
    password: str | None = field(repr=False)
    sender: str
    timeout: float = 30

    def __post_init__(self) -> None:
        if self.security not in _DEFAULT_PORTS:
            raise ValueError(f"security must be one of none, starttls, tls; got {self.security!r}")
        if not self.host:
            raise ValueError("the SMTP host is missing")
        if not 0 < self.port < 65536:
            raise ValueError(f"the SMTP port must be between 1 and 65535; got {self.port}")
        if self.timeout <= 0:
            raise ValueError(f"the SMTP timeout must be positive; got {self.timeout}")

    def __repr__(self) -> str:
        password = "'***'" if self.password else "None"
        return (f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, "
                f"username={self.username!r}, password={password}, sender={self.sender!r}, "
                f"timeout={self.timeout})")

    __str__ = __repr__

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Read ``DUBAN_SMTP_URL``.

        - ``smtp://user:pass@host:587?starttls=true&from=duban%40gov.example`` (STARTTLS, login)
        - ``smtps://host:465?from=…`` (TLS from the first byte)
        - ``smtp://127.0.0.1:2525?from=…`` (no encryption, e.g. ``duban mail-sink``)

        User name and password are percent-decoded; ``from`` (the envelope sender) is required;
        ``timeout`` (seconds) is optional. The port defaults to 25, 587 with STARTTLS, 465 for smtps.
        """
        shown = _redacted(url)
        try:
            parts = urlsplit(url.strip())
        except ValueError as error:
            raise ValueError(f"cannot read the SMTP URL {shown}: {error}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps"):
            raise ValueError(f"the SMTP URL must start with smtp:// or smtps://; got {shown}")
        host = parts.hostname
        if not host:
            raise ValueError(f"the SMTP URL has no host: {shown}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"the SMTP URL has a bad port (a number 1–65535 is needed): {shown}") from None
        if port == 0:
            raise ValueError(f"the SMTP URL has a bad port (a number 1–65535 is needed): {shown}")
        if parts.path not in ("", "/"):
            raise ValueError(f"the SMTP URL must not have a path: {shown}")

        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            key = key.lower()
            if key not in _QUERY_KEYS:
                raise ValueError(f"unknown SMTP URL parameter {key!r} (known: {', '.join(_QUERY_KEYS)}): {shown}")
            if key in query:
                raise ValueError(f"the SMTP URL parameter {key!r} is given twice: {shown}")
            query[key] = value

        security: Security = "tls" if scheme == "smtps" else "none"
        if "starttls" in query:
            flag = query["starttls"].lower()
            if flag not in _TRUE | _FALSE:
                raise ValueError(f"starttls must be true or false; got {query['starttls']!r}: {shown}")
            if flag in _TRUE:
                if scheme == "smtps":
                    raise ValueError(f"smtps:// is TLS from the start; starttls=true contradicts it: {shown}")
                security = "starttls"

        sender = query.get("from", "").strip()
        if not sender:
            raise ValueError("the SMTP URL needs the sender address as from=… "
                             f"(e.g. ?from=duban%40gov.example): {shown}")
        if "@" not in sender:
            raise ValueError(f"the sender (from=) must be an email address; got {sender!r}")

        timeout = 30.0
        if "timeout" in query:
            try:
                timeout = float(query["timeout"])
            except ValueError:
                raise ValueError(f"timeout must be a number of seconds; got {query['timeout']!r}: {shown}") from None
            if not timeout > 0:
                raise ValueError(f"timeout must be positive; got {query['timeout']!r}: {shown}")

        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password is not None and not username:
            raise ValueError(f"the SMTP URL has a password but no user name: {shown}")

        return cls(host=host, port=port or _DEFAULT_PORTS[security], security=security,
                   username=username, password=password, sender=sender, timeout=timeout)


def _redacted(url: str) -> str:
    """The URL as it may be shown in messages and logs: the password replaced by ***."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return repr(url if len(url) < 80 else url[:77] + "...")
    authority_end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority, tail = rest[:authority_end], rest[authority_end:]
    userinfo, at, hostport = authority.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    return f"{scheme}://{userinfo}{at}{hostport}{tail}"


# ── SMTP ─────────────────────────────────────────────────────────────────────────────────────────


class SmtpTransport:
    """An SMTP server through aiosmtplib: one connection for the batch between ``__aenter__`` and
    ``__aexit__`` (opened lazily on the first send). If the server dropped an idle connection between
    two messages, it reconnects once and tries that message again."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.target = f"smtp://{settings.host}:{settings.port}"  # the server, without secrets
        self.connections = 0  # connections opened so far: cheap to read, handy in tests and logs
        self._smtp: aiosmtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"SmtpTransport({self.settings!r})"

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host, port=s.port, username=s.username, password=s.password, timeout=s.timeout,
            use_tls=s.security == "tls", start_tls=s.security == "starttls",
        )

    @property
    def connected(self) -> bool:
        return self._smtp is not None and self._smtp.is_connected

    async def __aenter__(self) -> SmtpTransport:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            await self.close()
        else:  # the server went away, or the run was cancelled: no QUIT to a server that may never answer it
            self._drop()

    async def close(self) -> None:
        """Say QUIT if still connected (waiting at most a few seconds for the answer), and close. Never raises."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await smtp.quit(timeout=min(self.settings.timeout, QUIT_TIMEOUT))
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            pass
        finally:
            smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        """Connect, greet, STARTTLS and log in. Whatever goes wrong here is the server's (or its settings'),
        never the message's: a ConnectionFailure, even for a 5xx greeting or a refused login."""
        self._drop()
        smtp = self._client()
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            smtp.close()
            raise ConnectionFailure(classify(error).reply) from error
        except BaseException:
            smtp.close()
            raise
        self.connections += 1
        self._smtp = smtp
        return smtp

    async def _sendmail(self, smtp: aiosmtplib.SMTP, message: bytes, sender: str,
                        addresses: tuple[str, ...]) -> SendResult:
        try:
            refused, _ = await smtp.sendmail(sender, list(addresses), message)
        except aiosmtplib.SMTPRecipientsRefused as error:  # every recipient refused: no DATA was sent
            return recipient_outcomes(addresses, {e.recipient: (e.code, e.message) for e in error.recipients})
        return recipient_outcomes(addresses, {a: (r.code, r.message) for a, r in refused.items()})

    async def send(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        addresses = _checked_recipients(recipients)
        try:
            reused = self.connected
            smtp = self._smtp if reused and self._smtp is not None else await self._connect()
            try:
                return await self._sendmail(smtp, message, sender, addresses)
            except aiosmtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # The server closed the idle connection since the previous message: once more, fresh.
                return await self._sendmail(await self._connect(), message, sender, addresses)
        except ConnectionFailure:
            raise
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            failure = classify(error)
            if not isinstance(error, aiosmtplib.SMTPResponseException):
                # A network problem leaves the connection in an unknown state: start afresh next time.
                self._drop()
            raise failure from error
        except ValueError as error:  # an address aiosmtplib will not put on the wire (e.g. a newline)
            raise PermanentFailure(f"cannot send: {error}") from error


# ── a folder of .eml files ───────────────────────────────────────────────────────────────────────


def eml_name(message: bytes) -> str:
    """The file name for a message: a hash of its Message-ID (of its content when it has none), so
    sending the same message again overwrites the same file."""
    message_id = (BytesHeaderParser(policy=email.policy.compat32).parsebytes(message).get("Message-ID") or "").strip()
    return hashlib.sha256(message_id.encode("utf-8") if message_id else message).hexdigest()[:32] + ".eml"


def envelope_headers(sender: str, recipients: Iterable[str]) -> bytes:
    """The envelope as the first header lines, as aiosmtpd's own handlers write it (X-MailFrom, X-RcptTo)."""
    recipients = list(recipients)
    if any("\r" in a or "\n" in a for a in [sender, *recipients]):
        raise ValueError("an address contains a line break")
    return f"X-MailFrom: {sender}\r\nX-RcptTo: {', '.join(recipients)}\r\n".encode("utf-8")


class MailFolderTransport:
    """With no SMTP server configured: one ``.eml`` file per message in ``folder`` (``var/mail`` by
    default), named after the Message-ID, written atomically. Every recipient counts as accepted."""

    def __init__(self, folder: Path = DEFAULT_MAIL_DIR) -> None:
        self.folder = Path(folder)
        self.target = f"folder:{self.folder}"

    def __repr__(self) -> str:
        return f"MailFolderTransport({str(self.folder)!r})"

    async def __aenter__(self) -> MailFolderTransport:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConnectionFailure(f"cannot create the mail folder {self.folder}: {error}") from error
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        addresses = _checked_recipients(recipients)
        try:
            data = envelope_headers(sender, addresses) + message
            write_atomically(self.folder / eml_name(message), data)
        except ValueError as error:
            raise PermanentFailure(f"cannot write the message: {error}") from error
        except OSError as error:  # disk full, permissions: the folder's trouble, not the message's
            raise ConnectionFailure(f"cannot write to {self.folder}: {error}") from error
        return SendResult(accepted=addresses, refused={})


# ── memory, for tests ────────────────────────────────────────────────────────────────────────────


class MemoryTransport:
    """Keeps ``(message, sender, accepted recipients)`` in ``.sent``.

    ``script`` is consumed one item per ``send`` call: an exception is raised (and nothing is kept),
    ``None`` means success; once it runs out every send succeeds. ``refuse`` maps addresses to the
    reply that refuses them (5xx: for good, 4xx: deferred), as a server would one by one. ``batches``
    counts ``async with`` entries (connections)."""

    def __init__(self, script: Iterable[BaseException | None] = (),
                 refuse: Mapping[str, str] | None = None) -> None:
        self.script: list[BaseException | None] = list(script)
        self.refuse: dict[str, str] = dict(refuse or {})
        self.sent: list[tuple[EmailMessage, str, tuple[str, ...]]] = []  # parsed, for the tests to read
        self.calls = 0
        self.batches = 0
        self.target = "memory"

    def __repr__(self) -> str:
        return f"MemoryTransport(sent={len(self.sent)}, script_left={len(self.script)})"

    async def __aenter__(self) -> MemoryTransport:
        self.batches += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        addresses = _checked_recipients(recipients)
        self.calls += 1
        if self.script:
            step = self.script.pop(0)
            if step is not None:
                raise step
        replies = {a: _parse_reply(self.refuse[a]) for a in addresses if a in self.refuse}
        result = recipient_outcomes(addresses, replies)
        if result.accepted:
            self.sent.append((BytesParser(policy=email.policy.default).parsebytes(message), sender, result.accepted))
        return result


def _parse_reply(reply: str) -> tuple[int, str]:
    """"550 5.1.1 no such user" → (550, "5.1.1 no such user")."""
    code, _, text = reply.partition(" ")
    return (int(code) if code.isdigit() else 550), text


# ── choosing one ─────────────────────────────────────────────────────────────────────────────────


def transport_from_environment(smtp_url: str | None, mail_dir: Path = DEFAULT_MAIL_DIR) -> Transport:
    """``SmtpTransport`` when ``DUBAN_SMTP_URL`` is set (and valid: a bad URL raises ValueError),
    otherwise ``MailFolderTransport`` writing to ``mail_dir``."""
    if smtp_url and smtp_url.strip():
        return SmtpTransport(SmtpSettings.from_url(smtp_url))
    return MailFolderTransport(mail_dir)
