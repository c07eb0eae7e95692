"""``duban mail-sink``: a local SMTP server that keeps every message it receives as an ``.eml`` file.

Point ``DUBAN_SMTP_URL`` at it (``smtp://127.0.0.1:2525?from=duban%40gov.example``) to try delivery by
hand without a real mail server. It listens on the loopback interface only.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from aiosmtpd.controller import Controller

from notifications.transports import envelope_headers, write_atomically

DEFAULT_PORT = 2525
SERVER_NAME = "duban-mail-sink"  # given to aiosmtpd, which otherwise looks up this machine's FQDN


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (aiosmtpd's ``Controller(port=0)`` does not work)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def require_loopback(host: str) -> None:
    """duban's servers listen on the loopback interface only."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the mail sink listens on the loopback interface only (e.g. 127.0.0.1), not {host!r}")


class _FolderHandler:
    """aiosmtpd handler. aiosmtpd inspects the handler's attributes on every connection, so it has only
    plain attributes: the folder and a counter."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        try:
            write_atomically(path, envelope_headers(envelope.mail_from or "", envelope.rcpt_tos) + content)
        except (OSError, ValueError) as error:
            return f"451 4.3.0 could not store the message: {type(error).__name__}"
        self.count += 1
        return "250 OK stored"


class MailSink:
    """An aiosmtpd server on ``host:port`` (a free port when none is given) saving what it receives
    into ``folder``. ``count`` is the number of messages stored since it started."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int | None = None) -> None:
        require_loopback(host)
        self.folder = Path(folder)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self._handler = _FolderHandler(self.folder)
        self._controller: Controller | None = None

    @property
    def count(self) -> int:
        return self._handler.count  # the MailSink is not the handler: this stays a plain read

    @property
    def url(self) -> str:
        """An ``smtp://`` URL for this sink, without the ``from=`` parameter."""
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> MailSink:
        self.folder.mkdir(parents=True, exist_ok=True)
        controller = Controller(self._handler, hostname=self.host, port=self.port, server_hostname=SERVER_NAME)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_sink(folder: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, out: TextIO | None = None) -> int:
    """Run a mail sink until Ctrl-C; return how many messages it stored."""
    out = out or sys.stdout
    sink = MailSink(folder, host=host, port=port)
    with sink:
        print(f"Mail sink listening on {sink.url}, saving messages to {sink.folder}/ (Ctrl-C to stop)",
              file=out, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    print(f"Mail sink stopped: {sink.count} message(s) stored.", file=out, flush=True)
    return sink.count
