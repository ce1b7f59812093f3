"""Delivering a finished message to the account's SMTP server.

Only approved actions call this (the send tools are OUTWARD): nothing here asks or
decides, it delivers and says what the server answered.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from .accounts import Account, AccountError, password


class SendError(Exception):
    """The server refused the message or could not be reached; nothing was sent."""


async def deliver(account: Account, message: EmailMessage, *, wait: float = 60) -> str:
    """Send `message` through `account`'s SMTP server; returns the server's reply."""
    if not account.smtp_host:
        raise AccountError(f"account {account.name!r} has no SMTP server configured")
    username = account.smtp_username
    secret = await password(account, username) if username else None
    port = account.smtp_port or {"ssl": 465, "starttls": 587, "none": 25}[account.smtp_security]
    try:
        _, reply = await aiosmtplib.send(
            message,
            hostname=account.smtp_host,
            port=port,
            username=username,
            password=secret,
            use_tls=account.smtp_security == "ssl",
            start_tls=True if account.smtp_security == "starttls" else False,
            timeout=wait,
        )
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPConnectTimeoutError, OSError) as e:
        raise SendError(f"could not reach {account.smtp_host}:{port}: {e}") from e
    except aiosmtplib.SMTPException as e:
        raise SendError(f"the mail server did not take the message: {e}") from e
    return reply
