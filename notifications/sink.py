"""``duban mail-sink``: a local SMTP server that keeps every message it receives as an ``.eml`` file.

Point ``DUBAN_SMTP_URL`` at it (``smtp://127.0.0.1:2525?from=duban%40gov.example``) to try delivery by
hand without a real mail server. It listens on the loopback interface only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from aiosmtpd.controller import Controller

from notifications.transports import envelope_headers
from responsibilities.storage.files import write_atomically

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
    plain attributes: the folder (None: count only) and a counter."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.folder is None:  # count only: a replay sends tens of thousands of messages nobody reads
            self.count += 1
            return "250 OK counted"
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
    into ``folder`` (or, with ``folder=None``, only counting it: still a full SMTP conversation).
    ``count`` is the number of messages stored (or counted) since it started."""

    def __init__(self, folder: Path | None, host: str = "127.0.0.1", port: int | None = None) -> None:
        require_loopback(host)
        self.folder = Path(folder) if folder is not None else None
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
        if self.folder is not None:
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


class CountingSink:
    """A minimal SMTP server on the loopback interface that accepts every message and only counts it.

    For `duban simulate`, which sends thousands of messages nobody reads: aiosmtpd (``MailSink``) parses
    each message line by line, ~2–3 ms a message of the replay's own process (the sink runs in a thread of
    it). This one speaks just enough SMTP for a client (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT: all
    accepted) and reads a message's data in one piece up to the closing ``CRLF.CRLF``. Same interface as
    ``MailSink`` with ``folder=None``.
    """

    folder = None
    MAX_MESSAGE = 32 * 1024 * 1024

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        require_loopback(host)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.count = 0
        self._loop: Any = None
        self._server: Any = None
        self._thread: Any = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    async def _session(self, reader: Any, writer: Any) -> None:
        writer.write(f"220 {SERVER_NAME} ESMTP\r\n".encode())
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(f"250-{SERVER_NAME}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
                                 f"250 SIZE {self.MAX_MESSAGE}\r\n".encode())
                elif verb == b"DATA":
                    writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    await writer.drain()
                    await reader.readuntil(b"\r\n.\r\n")
                    self.count += 1
                    writer.write(b"250 OK counted\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 Bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def start(self) -> CountingSink:
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            try:
                self._server = loop.run_until_complete(asyncio.start_server(
                    self._session, self.host, self.port, limit=self.MAX_MESSAGE))
            except BaseException as error:  # noqa: BLE001 - reported to start()
                failure.append(error)
                started.set()
                loop.close()
                return
            self._loop = loop
            started.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=serve, name="duban-counting-sink", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> CountingSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
