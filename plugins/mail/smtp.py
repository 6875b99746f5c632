"""Sending queued mail over SMTP (one session for a run of mails) with aiosmtplib, and telling apart what to do with a failure.

A failure is one of three things: *passing* (the server is away, a 4xx): the outbox tries again
with its backoff; *held* (the bot cannot log in, the certificate is refused): retried, but a
person must act, and the admins are told once; *refused* (a 5xx for the mail or its
recipients): trying again changes nothing, so it is recorded and reported, not retried.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import aiosmtplib
from aiosmtplib import SMTP
from pydantic import BaseModel, ConfigDict, Field

from opsbot.outbox import Held

__all__ = ["SMTP", "Refused", "SmtpServer", "connected", "send_on"]

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class SmtpServer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    """Default: 587 for STARTTLS, 465 for TLS, 25 for none."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    """Write it as ${SMTP_PASSWORD}: taken from the environment at start-up."""
    ca_file: Path | None = None
    """Certificates to trust besides the system's (a private CA)."""
    timeout: float = Field(default=60, gt=0)
    local_hostname: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port or DEFAULT_PORTS[self.security]}"


@dataclass
class Refused(Exception):
    """The server will not take the mail (a 5xx); ``recipients``: the ones it refused, when the
    rest were taken."""

    reason: str
    recipients: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.reason


def _tls_context(server: SmtpServer) -> ssl.SSLContext | None:
    if server.security == "none":
        return None
    context = ssl.create_default_context()
    if server.ca_file is not None:
        context.load_verify_locations(cafile=str(server.ca_file))
    return context


def _said(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}"


@contextlib.asynccontextmanager
async def connected(server: SmtpServer) -> AsyncIterator[SMTP]:
    """One SMTP session (TLS and login done) for as many mails as come; QUIT at the end.
    Raises :class:`~opsbot.outbox.Held` or a passing error."""
    client = SMTP(
        hostname=server.host,
        port=server.port or DEFAULT_PORTS[server.security],
        use_tls=server.security == "tls",
        start_tls=server.security == "starttls",
        tls_context=_tls_context(server),
        timeout=server.timeout,
        local_hostname=server.local_hostname,
    )
    try:
        try:
            await client.connect()
        except ssl.SSLCertVerificationError as error:
            raise Held(f"the certificate of {server.address} is not trusted: {error}") from error
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500:
                raise Held(
                    f"{server.address} answered {_said(error.code, error.message)}"
                ) from error
            raise
        if server.username is not None:
            try:
                await client.login(server.username, server.password or "")
            except aiosmtplib.SMTPAuthenticationError as error:
                raise Held(
                    f"{server.address} refused the login of {server.username}: "
                    f"{_said(error.code, error.message)}"
                ) from error
        yield client
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()


async def send_on(client: SMTP, sender: str, recipients: list[str], text: str) -> dict[str, str]:
    """Send the mail ``text`` (as queued: its Message-ID is fixed) from ``sender`` (the envelope
    address) to ``recipients`` in an open session; returns the recipients refused (with the
    reason) while the others took it. Raises :class:`Refused` or a passing error."""
    try:
        errors, _ = await client.sendmail(sender, recipients, text.encode())
    except aiosmtplib.SMTPRecipientsRefused as error:
        refused = [r for r in error.recipients if r.code >= 500]
        if len(refused) < len(error.recipients):  # a 4xx for some: try again later
            raise
        reasons = "; ".join(_said(r.code, r.message) for r in refused)
        raise Refused(reasons, [r.recipient for r in refused]) from error
    except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as error:
        if error.code >= 500:
            raise Refused(_said(error.code, error.message)) from error
        raise
    return {address: _said(r.code, r.message) for address, r in errors.items()}
