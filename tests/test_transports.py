"""Mail transports against a real aiosmtpd server on 127.0.0.1, a folder, and memory."""

from __future__ import annotations

import asyncio
import email.policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from notifications.sink import MailSink
from notifications.transports import (
    ConnectionFailure,
    MailFolderTransport,
    MemoryTransport,
    PermanentFailure,
    SendResult,
    SmtpSettings,
    SmtpTransport,
    TemporaryFailure,
    Transport,
    transport_from_environment,
)

from smtp_server import TestSmtpServer, smtp_server  # noqa: F401 - the fixture

SENDER = "duban@gov.example"


def notice(number: int = 1, *, to: str = "hrss@gov.example", subject: str | None = None,
           body: str | None = None) -> bytes:
    """A message's wire form, as delivery hands it to a transport."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject or f"督办提醒 {number}"
    message["Message-ID"] = f"<notice-{number}@duban.gov.example>"
    message.set_content(body or f"第{number}项工作即将到期。")
    return message.as_bytes(policy=email.policy.SMTP)


def transport_for(server: TestSmtpServer, **overrides: object) -> SmtpTransport:
    settings = SmtpSettings.from_url(server.url(SENDER))
    if overrides:
        settings = SmtpSettings(**{**settings.__dict__, **overrides})
    return SmtpTransport(settings)


def send_batch(transport: Transport, messages: list[tuple[bytes, list[str]]]) -> list[object]:
    """Send in one batch; each outcome is a SendResult or the failure raised."""
    async def run() -> list[object]:
        outcomes: list[object] = []
        async with transport:
            for message, recipients in messages:
                try:
                    outcomes.append(await transport.send(message, sender=SENDER, recipients=recipients))
                except (TemporaryFailure, PermanentFailure) as failure:
                    outcomes.append(failure)
        return outcomes
    return asyncio.run(run())


def send_one(transport: Transport, message: bytes, recipients: list[str]) -> SendResult:
    async def run() -> SendResult:
        async with transport:
            return await transport.send(message, sender=SENDER, recipients=recipients)
    return asyncio.run(run())


# ── SMTP ─────────────────────────────────────────────────────────────────────────────────────────


def test_a_batch_of_several_messages_goes_over_one_connection(smtp_server):
    transport = transport_for(smtp_server)
    outcomes = send_batch(transport, [(notice(n), [f"unit{n}@gov.example"]) for n in range(5)])
    assert outcomes == [SendResult(accepted=(f"unit{n}@gov.example",), refused={}) for n in range(5)]
    assert len(smtp_server.messages) == 5
    assert smtp_server.connections == 1
    assert transport.connections == 1
    assert [m.rcpt_tos for m in smtp_server.messages] == [[f"unit{n}@gov.example"] for n in range(5)]
    assert {m.mail_from for m in smtp_server.messages} == {SENDER}


def test_chinese_subject_and_body_arrive_intact(smtp_server):
    subject = "关于报送2019年第三季度重点工作进展情况的通知（督办）"
    body = "各单位：\n请于10月31日前报送落实情况，逾期将予以通报。\n——市政府督查室"
    send_one(transport_for(smtp_server), notice(subject=subject, body=body), ["hrss@gov.example"])
    received = smtp_server.messages[0].message()
    assert received["Subject"] == subject
    assert received.get_content().strip() == body.strip()


def test_a_451_reply_to_data_is_a_temporary_failure_with_the_reply_text(smtp_server):
    smtp_server.script = ["451 4.3.0 try later"]
    outcome, = send_batch(transport_for(smtp_server), [(notice(), ["hrss@gov.example"])])
    assert isinstance(outcome, TemporaryFailure)
    assert outcome.reply == "451 4.3.0 try later"
    assert smtp_server.messages == []


def test_after_a_temporary_failure_the_same_connection_sends_the_next_message(smtp_server):
    smtp_server.script = ["451 4.3.0 try later"]
    transport = transport_for(smtp_server)
    first, second = send_batch(transport, [(notice(1), ["a@gov.example"]), (notice(1), ["a@gov.example"])])
    assert isinstance(first, TemporaryFailure)
    assert second == SendResult(accepted=("a@gov.example",), refused={})
    assert smtp_server.connections == 1 and len(smtp_server.messages) == 1


def test_a_550_reply_to_data_is_a_permanent_failure(smtp_server):
    smtp_server.data_reply = "550 5.7.1 message content rejected"
    outcome, = send_batch(transport_for(smtp_server), [(notice(), ["hrss@gov.example"])])
    assert isinstance(outcome, PermanentFailure)
    assert outcome.reply == "550 5.7.1 message content rejected"


def test_recipients_refused_for_good_and_deferred_are_told_apart_and_the_others_get_the_message(smtp_server):
    smtp_server.refuse = {"gone@gov.example": "550 5.1.1 no such user", "full@gov.example": "452 4.2.2 mailbox full"}
    recipients = ["hrss@gov.example", "gone@gov.example", "finance@gov.example", "full@gov.example"]
    result = send_one(transport_for(smtp_server), notice(), recipients)
    assert result.accepted == ("hrss@gov.example", "finance@gov.example")
    assert result.refused == {"gone@gov.example": "550 5.1.1 no such user"}
    assert result.deferred == {"full@gov.example": "452 4.2.2 mailbox full"}
    assert smtp_server.messages[0].rcpt_tos == ["hrss@gov.example", "finance@gov.example"]


def test_every_recipient_refused_with_550_is_a_result_with_nobody_accepted_and_no_message_sent(smtp_server):
    smtp_server.refuse = {"a@gov.example": "550 5.1.1 no such user", "b@gov.example": "550 5.1.1 no such user"}
    outcome, = send_batch(transport_for(smtp_server), [(notice(), ["a@gov.example", "b@gov.example"])])
    assert outcome == SendResult(accepted=(), refused={"a@gov.example": "550 5.1.1 no such user",
                                                       "b@gov.example": "550 5.1.1 no such user"})
    assert smtp_server.messages == []


def test_every_recipient_refused_with_a_4xx_reply_is_deferred(smtp_server):
    smtp_server.refuse = {"a@gov.example": "450 4.2.1 mailbox busy"}
    outcome, = send_batch(transport_for(smtp_server), [(notice(), ["a@gov.example"])])
    assert outcome == SendResult(accepted=(), deferred={"a@gov.example": "450 4.2.1 mailbox busy"})


def test_a_server_that_is_down_is_a_connection_failure_and_once_up_the_message_is_sent(smtp_server):
    smtp_server.stop()
    outcome, = send_batch(transport_for(smtp_server), [(notice(), ["hrss@gov.example"])])
    assert isinstance(outcome, ConnectionFailure)
    assert "refused" in outcome.reply.lower() or "connect" in outcome.reply.lower()

    smtp_server.start()
    assert send_one(transport_for(smtp_server), notice(), ["hrss@gov.example"]).accepted == ("hrss@gov.example",)
    assert len(smtp_server.messages) == 1


def test_a_connection_dropped_between_messages_is_reopened_once(smtp_server):
    transport = transport_for(smtp_server)

    async def run() -> list[SendResult]:
        async with transport:
            first = await transport.send(notice(1), sender=SENDER, recipients=["a@gov.example"])
            smtp_server.drop_connections()
            await asyncio.sleep(0)  # whether or not the client noticed yet, the next send must work
            second = await transport.send(notice(2), sender=SENDER, recipients=["a@gov.example"])
            return [first, second]

    assert [r.accepted for r in asyncio.run(run())] == [("a@gov.example",), ("a@gov.example",)]
    assert len(smtp_server.messages) == 2
    assert smtp_server.connections == 2 and transport.connections == 2


def test_a_server_that_never_answers_is_a_timeout_and_a_connection_failure(tmp_path):
    import socket
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=silent.getsockname()[1], security="none",
                                               username=None, password=None, sender=SENDER, timeout=0.3))
        outcome, = send_batch(transport, [(notice(), ["hrss@gov.example"])])
    assert isinstance(outcome, ConnectionFailure)
    assert "timed out" in outcome.reply.lower()


# ── settings from DUBAN_SMTP_URL ─────────────────────────────────────────────────────────────────


def test_a_starttls_url_with_a_login_parses_and_the_password_is_percent_decoded():
    settings = SmtpSettings.from_url("smtp://duban%40gov.example:p%40ss%3Aw0rd@mail.gov.example:587"
                                     "?starttls=true&from=duban%40gov.example")
    assert settings == SmtpSettings(host="mail.gov.example", port=587, security="starttls",
                                    username="duban@gov.example", password="p@ss:w0rd",
                                    sender="duban@gov.example", timeout=30)


def test_an_smtps_url_is_tls_and_defaults_to_port_465():
    settings = SmtpSettings.from_url("smtps://mail.gov.example?from=duban%40gov.example")
    assert (settings.security, settings.port, settings.username, settings.password) == ("tls", 465, None, None)


def test_a_plain_smtp_url_has_no_encryption_and_can_set_a_timeout():
    settings = SmtpSettings.from_url("smtp://127.0.0.1:2525?from=duban@gov.example&timeout=5")
    assert (settings.host, settings.port, settings.security, settings.timeout) == ("127.0.0.1", 2525, "none", 5.0)
    assert SmtpSettings.from_url("smtp://mail.gov.example?starttls=true&from=a%40b.example").port == 587


def test_the_password_never_shows_in_repr_or_str():
    settings = SmtpSettings.from_url("smtp://user:s3cret-pw@mail.gov.example:587?starttls=true&from=a%40b.example")
    for text in (repr(settings), str(settings), repr(SmtpTransport(settings)), f"{settings}"):
        assert "s3cret-pw" not in text
        assert "***" in text and "mail.gov.example" in text


@pytest.mark.parametrize(("url", "complaint"), [
    ("http://mail.gov.example?from=a%40b.example", "smtp:// or smtps://"),
    ("smtp://mail.gov.example:smtp?from=a%40b.example", "bad port"),
    ("smtp://mail.gov.example:70000?from=a%40b.example", "bad port"),
    ("smtp://mail.gov.example:0?from=a%40b.example", "bad port"),
    ("smtp://:2525?from=a%40b.example", "no host"),
    ("smtp://mail.gov.example:25", "from="),
    ("smtp://mail.gov.example?from=nobody", "email address"),
    ("smtps://mail.gov.example?starttls=true&from=a%40b.example", "contradicts"),
    ("smtp://mail.gov.example?starttls=maybe&from=a%40b.example", "true or false"),
    ("smtp://mail.gov.example?form=a%40b.example", "unknown SMTP URL parameter"),
])
def test_a_bad_url_is_refused_with_a_clear_message(url, complaint):
    with pytest.raises(ValueError, match=complaint):
        SmtpSettings.from_url(url)


def test_an_error_about_a_url_does_not_show_its_password():
    with pytest.raises(ValueError) as caught:
        SmtpSettings.from_url("smtp://user:s3cret-pw@mail.gov.example:port?from=a%40b.example")
    assert "s3cret-pw" not in str(caught.value) and "user:***@" in str(caught.value)


def test_the_environment_chooses_smtp_with_a_url_and_a_mail_folder_without(tmp_path):
    assert isinstance(transport_from_environment("smtp://127.0.0.1:2525?from=a%40b.example", tmp_path), SmtpTransport)
    for nothing in (None, "", "  "):
        chosen = transport_from_environment(nothing, tmp_path / "mail")
        assert isinstance(chosen, MailFolderTransport) and chosen.folder == tmp_path / "mail"


# ── a folder of .eml files ───────────────────────────────────────────────────────────────────────


def test_the_mail_folder_writes_one_eml_per_message_id_and_a_resend_adds_no_file(tmp_path):
    folder = tmp_path / "mail"
    transport = MailFolderTransport(folder)
    outcomes = send_batch(transport, [(notice(1), ["a@gov.example", "b@gov.example"]), (notice(2), ["a@gov.example"]),
                                      (notice(1), ["a@gov.example", "b@gov.example"])])
    assert outcomes[0] == SendResult(accepted=("a@gov.example", "b@gov.example"), refused={})
    files = sorted(folder.iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    parsed = [BytesParser(policy=email.policy.default).parsebytes(f.read_bytes()) for f in files]
    assert sorted(p["Subject"] for p in parsed) == ["督办提醒 1", "督办提醒 2"]
    first = next(p for p in parsed if p["Message-ID"] == "<notice-1@duban.gov.example>")
    assert first["X-RcptTo"] == "a@gov.example, b@gov.example" and first["X-MailFrom"] == SENDER


def test_the_mail_folder_leaves_no_temporary_files(tmp_path):
    send_batch(MailFolderTransport(tmp_path), [(notice(n), ["a@gov.example"]) for n in range(3)])
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".eml"] * 3


# ── memory ───────────────────────────────────────────────────────────────────────────────────────


def test_the_memory_transport_follows_its_script_then_succeeds():
    transport = MemoryTransport(script=[TemporaryFailure("451 4.3.0 try later"),
                                        PermanentFailure("550 5.7.1 rejected"), None])
    outcomes = send_batch(transport, [(notice(n), ["a@gov.example"]) for n in range(4)])
    assert isinstance(outcomes[0], TemporaryFailure) and outcomes[0].reply == "451 4.3.0 try later"
    assert isinstance(outcomes[1], PermanentFailure) and outcomes[1].reply == "550 5.7.1 rejected"
    assert outcomes[2:] == [SendResult(accepted=("a@gov.example",))] * 2
    assert [m["Subject"] for m, _, _ in transport.sent] == ["督办提醒 2", "督办提醒 3"]
    assert transport.sent[0][1:] == (SENDER, ("a@gov.example",))
    assert (transport.calls, transport.batches) == (4, 1)


def test_the_memory_transport_refuses_and_defers_addresses_like_a_server():
    transport = MemoryTransport(refuse={"gone@gov.example": "550 5.1.1 no such user",
                                        "grey@gov.example": "450 4.7.1 greylisted"})
    some, every = send_batch(transport, [(notice(1), ["a@gov.example", "gone@gov.example", "grey@gov.example"]),
                                         (notice(2), ["gone@gov.example"])])
    assert some == SendResult(accepted=("a@gov.example",), refused={"gone@gov.example": "550 5.1.1 no such user"},
                              deferred={"grey@gov.example": "450 4.7.1 greylisted"})
    assert every == SendResult(accepted=(), refused={"gone@gov.example": "550 5.1.1 no such user"})
    assert len(transport.sent) == 1


def test_every_transport_is_a_transport(tmp_path):
    settings = SmtpSettings.from_url("smtp://127.0.0.1:2525?from=a%40b.example")
    for transport in (SmtpTransport(settings), MailFolderTransport(tmp_path), MemoryTransport()):
        assert isinstance(transport, Transport)


def test_a_send_without_recipients_is_a_programming_error():
    with pytest.raises(ValueError, match="at least one recipient"):
        send_one(MemoryTransport(), notice(), [])


# ── the mail sink ────────────────────────────────────────────────────────────────────────────────


def test_the_mail_sink_stores_what_the_smtp_transport_sends(tmp_path: Path):
    with MailSink(tmp_path / "sink") as sink:
        transport = SmtpTransport(SmtpSettings.from_url(f"{sink.url}?from=duban%40gov.example"))
        send_batch(transport, [(notice(n), ["hrss@gov.example"]) for n in range(3)])
        assert sink.count == 3
    files = sorted((tmp_path / "sink").glob("*.eml"))
    assert len(files) == 3
    subjects = {BytesParser(policy=email.policy.default).parsebytes(f.read_bytes())["Subject"] for f in files}
    assert subjects == {"督办提醒 0", "督办提醒 1", "督办提醒 2"}


def test_the_mail_sink_listens_on_the_loopback_interface_only(tmp_path: Path):
    with pytest.raises(ValueError, match="loopback"):
        MailSink(tmp_path, host="0.0.0.0")
