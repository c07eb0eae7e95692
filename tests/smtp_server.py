"""A real SMTP server for tests: aiosmtpd on a free 127.0.0.1 port, keeping what it receives in memory.

    with TestSmtpServer(script=["451 4.3.0 try later"],
                        refuse={"nobody@x.example": "550 5.1.1 no such user"}) as server:
        ...  # smtp://127.0.0.1:{server.port}
        server.messages[0].message()["Subject"]

- ``script``: replies to the DATA commands, one per DATA in order (``None`` = accept); afterwards
  ``data_reply`` answers every DATA (``None`` = accept).
- ``refuse``: RCPT addresses answered with the given reply instead of 250.
- ``greylist``: RCPT addresses answered with the given reply the first time only (as greylisting does), 250 after.
- ``data_delay``: seconds the server takes to answer each DATA (a slow relay).
- ``connections``: client sessions seen (counted at EHLO/HELO, so aiosmtpd's own start-up probe is
  not counted).
- ``stop()`` then ``start()``: down, then up again on the same port; ``drop_connections()`` closes
  every open client connection, as a server that times out idle clients does.

All of these are plain attributes, changeable while the server runs.

Use the ``smtp_server`` fixture (import it into a test module or conftest.py) for a started server.
"""

from __future__ import annotations

import asyncio
import email.policy
import socket
from collections.abc import Iterator, Mapping, Sequence
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, NamedTuple

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Received(NamedTuple):
    """One message as the server received it: envelope sender, envelope recipients, raw bytes."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        """The message parsed with ``email.policy.default``, its wire line endings (CRLF) made ``\\n``."""
        text = self.data.replace(b"\r\n", b"\n")
        return BytesParser(policy=email.policy.default).parsebytes(text)  # type: ignore[return-value]


class _Handler:
    """aiosmtpd reads the handler's attributes on every connection: plain attributes only, no properties."""

    def __init__(self, script: Sequence[str | None], data_reply: str | None, refuse: Mapping[str, str]) -> None:
        self.script: list[str | None] = list(script)
        self.data_reply = data_reply
        self.refuse: dict[str, str] = dict(refuse)
        self.greylist: dict[str, str] = {}
        self.data_delay = 0.0
        self.messages: list[Received] = []
        self.connections = 0
        self.data_commands = 0
        self.live: set[SMTP] = set()

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        self.connections += 1
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        if address in self.greylist:
            return self.greylist.pop(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_commands += 1
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        reply = self.script.pop(0) if self.script else self.data_reply
        if reply is not None:
            return reply
        content = envelope.original_content if envelope.original_content is not None else envelope.content
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(content)))
        return "250 OK"


class _TrackingSMTP(SMTP):
    """aiosmtpd's SMTP, remembering its open connections so a test can drop them."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.event_handler.live.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self.event_handler.live.discard(self)
        super().connection_lost(error)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _TrackingSMTP(self.handler, **self.SMTP_kwargs)


class TestSmtpServer:
    __test__ = False  # a helper, not a test class

    def __init__(self, script: Sequence[str | None] = (), *, data_reply: str | None = None,
                 refuse: Mapping[str, str] | None = None, port: int | None = None) -> None:
        self.handler = _Handler(script, data_reply, refuse or {})
        self.host = HOST
        self.port = port if port is not None else free_port()
        self._controller: _Controller | None = None

    # The scriptable state lives on the handler; these are plain pass-throughs for tests.
    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    @property
    def connections(self) -> int:
        return self.handler.connections

    @property
    def script(self) -> list[str | None]:
        return self.handler.script

    @script.setter
    def script(self, replies: Sequence[str | None]) -> None:
        self.handler.script = list(replies)

    @property
    def data_reply(self) -> str | None:
        return self.handler.data_reply

    @data_reply.setter
    def data_reply(self, reply: str | None) -> None:
        self.handler.data_reply = reply

    @property
    def refuse(self) -> dict[str, str]:
        return self.handler.refuse

    @refuse.setter
    def refuse(self, replies: Mapping[str, str]) -> None:
        self.handler.refuse = dict(replies)

    @property
    def greylist(self) -> dict[str, str]:
        return self.handler.greylist

    @greylist.setter
    def greylist(self, replies: Mapping[str, str]) -> None:
        self.handler.greylist = dict(replies)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def url(self, sender: str = "duban@gov.example") -> str:
        return f"smtp://{self.host}:{self.port}?from={sender.replace('@', '%40')}"

    def start(self) -> TestSmtpServer:
        assert self._controller is None, "already running"
        # A Controller runs its own event loop, closed on stop: a restart needs a new one.
        controller = _Controller(self.handler, hostname=self.host, port=self.port,
                                 server_hostname="test-smtp", ready_timeout=5)
        controller.start()
        self._controller = controller
        return self

    def drop_connections(self) -> None:
        """Close every open client connection from the server side (and wait until it is done)."""
        controller = self._controller
        if controller is None:
            return

        async def close_all() -> None:
            for smtpd in list(self.handler.live):
                if smtpd.transport is not None:
                    smtpd.transport.close()

        asyncio.run_coroutine_threadsafe(close_all(), controller.loop).result(timeout=5)

    def stop(self) -> None:
        """Down: open connections are closed and the port stops listening."""
        if self._controller is None:
            return
        self.drop_connections()
        controller, self._controller = self._controller, None
        controller.stop()
        self.handler.live.clear()

    def __enter__(self) -> TestSmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def smtp_server() -> Iterator[TestSmtpServer]:
    """A started TestSmtpServer accepting everything; change ``script``/``refuse``/``data_reply`` as needed."""
    with TestSmtpServer() as server:
        yield server


class SilentServer:
    """A port that accepts connections and never says a word: an SMTP server that hangs."""

    __test__ = False

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((HOST, 0))
        self._socket.listen(50)
        self.port = self._socket.getsockname()[1]

    def url(self, sender: str = "duban@gov.example") -> str:
        return f"smtp://{HOST}:{self.port}?from={sender.replace('@', '%40')}"

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
