"""One deliverer in its own OS process, for the delivery tests: ``notifications.delivery.deliver`` over SMTP.

    python tests/deliverer_process.py DATABASE_URL SMTP_URL NOW BATCH_SIZE [--wait] [--lease-seconds S]

``NOW`` is an ISO datetime with its offset. With ``--wait`` the process prints ``ready`` once it has
imported everything and waits for a line on stdin, so that several deliverers start at the same moment.
``--lease-seconds`` shortens the claims' lease, so a test can watch claims lapse and renew in real time.
At the end it prints its DeliveryReport as one line of JSON.

``DUBAN_TEST_KILL`` makes the process SIGKILL itself at one point, as a power cut or the OOM killer would:

- ``after-claim``: right after its first claim, before anything is sent;
- ``after-data``: right after the server accepted the first message's DATA, before the outcome is recorded;
- ``between-messages``: after the first message was sent and recorded, before the second is sent.

The kill points live here, wrapping the transport and ``notifications.delivery.claim`` in this process
only: production code has no test hooks.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta

from notifications import outbox
from notifications.delivery import DeliverySettings, deliver
from notifications.transports import SendResult, SmtpSettings, SmtpTransport, Transport
from responsibilities.storage import db

KILL_POINTS = ("after-claim", "after-data", "between-messages")


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class DyingTransport:
    """Passes everything to ``inner``, and SIGKILLs the process at the chosen point of sending."""

    def __init__(self, inner: Transport, kill: str | None) -> None:
        self.inner = inner
        self.target = inner.target
        self.kill = kill
        self.sends = 0

    async def __aenter__(self) -> DyingTransport:
        await self.inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.inner.__aexit__(*exc)

    async def send(self, message: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        self.sends += 1
        if self.kill == "between-messages" and self.sends == 2:
            die()
        result = await self.inner.send(message, sender=sender, recipients=recipients)
        if self.kill == "after-data":
            die()
        return result


def kill_after_claiming() -> None:
    real_claim = outbox.claim

    def claim_then_die(*args: object, **kwargs: object) -> tuple[str, list[int]]:
        token, ids = real_claim(*args, **kwargs)  # type: ignore[arg-type]
        if ids:
            die()
        return token, ids

    outbox.claim = claim_then_die  # type: ignore[assignment]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("smtp_url")
    parser.add_argument("now", type=datetime.fromisoformat)
    parser.add_argument("batch_size", type=int)
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--lease-seconds", type=float, default=60)
    args = parser.parse_args()

    kill = os.environ.get("DUBAN_TEST_KILL") or None
    if kill is not None and kill not in KILL_POINTS:
        parser.error(f"DUBAN_TEST_KILL must be one of {', '.join(KILL_POINTS)}; got {kill!r}")
    if kill == "after-claim":
        kill_after_claiming()

    sessions = db.make_session_factory(db.make_engine(args.database_url))
    smtp = SmtpSettings.from_url(args.smtp_url)
    settings = DeliverySettings(base_url="http://127.0.0.1:8000", sender=smtp.sender, batch_size=args.batch_size,
                                lease=timedelta(seconds=args.lease_seconds))
    transport = DyingTransport(SmtpTransport(smtp), kill)
    if args.wait:
        print("ready", flush=True)
        sys.stdin.readline()
    report = deliver(sessions, transport, settings, now=args.now)
    print(json.dumps(dataclasses.asdict(report), default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
