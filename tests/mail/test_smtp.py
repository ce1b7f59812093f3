"""Delivery to a real SMTP server on loopback."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from servers import SMTPServer, free_port

from os1.mail.accounts import Account, AccountError
from os1.mail.smtp import SendError, deliver


def _message() -> EmailMessage:
    m = EmailMessage()
    m["From"] = "theo@example.com"
    m["To"] = "amy@example.com"
    m["Subject"] = "Friday"
    m.set_content("I'll come.")
    return m


def _account(port: int, **kw: object) -> Account:
    return Account(
        "home",
        "theo@example.com",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        **kw,  # type: ignore[arg-type]
    )


async def test_delivers_to_the_server(smtp_server: SMTPServer) -> None:
    reply = await deliver(_account(smtp_server.port), _message())
    assert "accepted" in reply
    [got] = smtp_server.received
    assert got.rcpt_tos == ["amy@example.com"]
    assert got.message["Subject"] == "Friday"
    assert got.message.get_content().strip() == "I'll come."


async def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(SendError, match="could not reach"):
        await deliver(_account(free_port()), _message(), wait=5)


async def test_no_smtp_server_configured() -> None:
    with pytest.raises(AccountError, match="no SMTP server"):
        await deliver(Account("home", "theo@example.com"), _message())


async def test_password_command_failure_is_reported(smtp_server: SMTPServer) -> None:
    account = _account(smtp_server.port, smtp_username="theo", secret={"command": "false"})
    with pytest.raises(AccountError, match="password command exited 1"):
        await deliver(account, _message())
    assert smtp_server.received == []
