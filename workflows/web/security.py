"""Security around every request: headers, a body size limit, CSRF checks, and the error → status mapping.

Every state change is a POST (or DELETE) that carries the session's CSRF token: a hidden form field on
pages, the X-CSRF-Token header in the API. A request whose Origin header names another site is refused too.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Request

from responsibilities.errors import (
    Busy,
    DomainError,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    NotFound,
    StaleDeliverable,
)
from responsibilities.tracking.accounts import SignedIn
from responsibilities.tracking.evidence import MAX_EVIDENCE_BYTES
from responsibilities.vocabulary import REFUSAL_NAMES
from workflows.web.context import PRE_SESSION_COOKIE, web

MAX_BODY_BYTES = 64 * 1024 * 1024  # three evidence files at their limit and the form around them
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class CsrfRejected(Exception):
    pass


class BodyTooLarge(Exception):
    pass


TOO_LARGE = f"请求过大:附件每个不超过 {MAX_EVIDENCE_BYTES >> 20} MB,合计不超过 {MAX_BODY_BYTES >> 20} MB。"


class SecurityHeaders:
    """Pure ASGI middleware: the Host allowlist, the headers on every response (HSTS when asked for), no caching
    of signed-in pages, and a body limit that holds for bodies sent in chunks too."""

    def __init__(self, app, max_body: int = MAX_BODY_BYTES, allowed_hosts: tuple[str, ...] = ("*",),
                 hsts_seconds: int = 0) -> None:
        self.app = app
        self.max_body = max_body
        self.allowed_hosts = allowed_hosts
        self.hsts = (b"strict-transport-security", b"max-age=%d" % hsts_seconds) if hsts_seconds else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if not host_allowed(headers.get(b"host", b"").decode("latin-1"), self.allowed_hosts):
            return await _plain(send, 400, "主机名不在允许之列(DUBAN_ALLOWED_HOSTS):请用办公室公布的地址访问。")
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return await _plain(send, 413, TOO_LARGE)
        received, too_large = 0, False
        extra = HEADERS + ([self.hsts] if self.hsts and scope.get("scheme") == "https" else [])

        async def limited_receive():
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    too_large = True
                    raise BodyTooLarge()
            return message

        async def send_with_headers(message):
            if too_large:  # whatever the application made of the cut-off body (a form parser's 400): 413
                if message["type"] == "http.response.start":
                    await _plain(send, 413, TOO_LARGE)
                return
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(extra)]
                headers += extra
                if not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            await _plain(send, 413, TOO_LARGE)


def host_allowed(host_header: str, allowed: tuple[str, ...]) -> bool:
    """The Host header's name (without its port) is one of ``allowed`` (``*.example.org`` covers its
    subdomains; ``*`` anything)."""
    if "*" in allowed:
        return True
    host = host_header.strip().lower()
    host = host[1:host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0] if (
        host.count(":") == 1) else host
    return any(host == name or (name.startswith("*.") and host.endswith(name[1:])) for name in allowed)


async def _plain(send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *HEADERS]})
    await send({"type": "http.response.body", "body": body})


def check_origin(request: Request) -> None:
    """A browser names the page a request comes from; another site's page may not change anything here."""
    origin = request.headers.get("origin")
    if origin is None:  # not a browser, or a same-origin GET-style navigation: the token decides
        return
    settings = web(request).settings
    own = {settings.base_url}
    if host_allowed(request.url.hostname or "", settings.hosts):  # not a name a rebinding site chose
        own.add(f"{request.url.scheme}://{request.url.netloc}")
    if origin not in own and f"{urlsplit(origin).scheme}://{urlsplit(origin).netloc}" not in own:
        raise CsrfRejected("请求来自其他网站,已拒绝。")


def check_csrf(request: Request, user: SignedIn | None, token: str | None) -> None:
    check_origin(request)
    expected = user.csrf_token if user is not None else request.cookies.get(PRE_SESSION_COOKIE)
    if not expected or not token or not hmac.compare_digest(str(expected), str(token)):
        raise CsrfRejected("页面已过期或请求来源无法确认,请刷新页面后重试。")


STATUS = {NotFound: 404, NotAllowed: 403, InvalidInput: 422, IllegalTransition: 409, StaleDeliverable: 409,
          Busy: 429}
CODES = {404: "not_found", 403: "forbidden", 422: "invalid", 409: "conflict", 400: "bad_request", 429: "busy"}


def status_of(error: DomainError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def headline_of(error: DomainError) -> str:
    """The refusal's kind in words: the nearest class of the error that the vocabulary names."""
    return next(REFUSAL_NAMES[kind.__name__] for kind in type(error).__mro__ if kind.__name__ in REFUSAL_NAMES)
