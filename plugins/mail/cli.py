"""``opsbot mail status`` (the mails sent or refused lately) and ``opsbot mail resend MEETING``
(the minutes mail of a meeting again, with a new Message-ID, queued in the outbox for the running
bot to send within ``rescan_seconds``, or at its next start)."""

from __future__ import annotations

from email import message_from_string, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING

import click

from opsbot.cli import PluginTools, config_option, open_tools, run_async

from .compose import valid_address
from .compose import waiting as waiting_text

if TYPE_CHECKING:
    from .plugin import MailConfig


async def _open(config_path: str | None) -> PluginTools[MailConfig]:
    from .plugin import Mail

    return await open_tools(config_path, "mail", Mail)


@click.group()
def mail() -> None:
    """The minutes by mail: what was sent, and sending one again."""


@mail.command("status")
@config_option
@click.option("--last", default=20, show_default=True, type=click.IntRange(1, 10_000))
def status(config_path: str | None, last: int) -> None:
    """The last minutes mails: meeting, state, when, to whom (refusals with their reason)."""
    from sqlalchemy import func, select

    from opsbot.outbox import OutboxRow

    from .models import SentMail
    from .plugin import CHANNEL

    async def go() -> tuple[int, list[SentMail]]:
        tools = await _open(config_path)
        try:
            async with tools.storage.session() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(OutboxRow.channel == CHANNEL, OutboxRow.state == "pending")
                )
                rows = await session.scalars(
                    select(SentMail)
                    .where(SentMail.kind == "minutes")
                    .order_by(SentMail.id.desc())
                    .limit(last)
                )
                return int(waiting or 0), list(rows)
        finally:
            await tools.storage.close()

    count, rows = run_async(go)
    click.echo(f"{waiting_text(count)} in the outbox.")
    for row in reversed(rows):
        when = f"{row.sent_at:%Y-%m-%d %H:%M} UTC" if row.sent_at else "?"
        line = f"meeting {row.meeting_id}: {row.state} {when} {row.subject!r} to "
        line += ", ".join(row.recipients)
        if row.error:
            line += f" ({row.error})"
        click.echo(line)


@mail.command("resend")
@config_option
@click.argument("meeting_id", type=int)
@click.option("--to", "to", multiple=True, help="Send to this address instead (repeatable).")
def resend(config_path: str | None, meeting_id: int, to: tuple[str, ...]) -> None:
    """Queue the minutes mail of MEETING_ID (as ``opsbot minutes list`` numbers them) again."""
    bad = [address for address in to if not valid_address(address)]
    if bad:
        raise click.BadParameter(f"not a mail address: {', '.join(bad)}", param_hint="--to")
    text = run_async(lambda: _resend(config_path, meeting_id, list(to)))
    click.echo(text)


async def _resend(config_path: str | None, meeting_id: int, to: list[str]) -> str:
    from sqlalchemy import select

    from opsbot.events import utcnow
    from opsbot.outbox import Outbox, OutboxRow

    from .compose import new_message_id
    from .models import SentMail
    from .plugin import CHANNEL

    tools = await _open(config_path)
    try:
        async with tools.storage.session() as session:
            last = await session.scalar(
                select(SentMail)
                .where(SentMail.meeting_id == meeting_id, SentMail.kind == "minutes")
                .order_by(SentMail.id.desc())
                .limit(1)
            )
            waiting = await session.scalar(
                select(OutboxRow.id)
                .where(OutboxRow.channel == CHANNEL, OutboxRow.state == "pending")
                .where(OutboxRow.ref == f"minutes:{meeting_id}")
                .limit(1)
            )
        if waiting is not None:
            return f"The minutes mail of meeting {meeting_id} still waits to be sent; not queued again."
        if last is None:
            raise click.ClickException(
                f"No minutes mail of meeting {meeting_id} was ever sent (no list was configured "
                "for it, it was restricted, or it is not a meeting of this database)."
            )
        server = tools.section.server_name()
        if server is None:
            raise click.ClickException("No mail server is configured (plugins.mail.servers).")
        message = message_from_string(last.text, policy=policy.SMTP)
        assert isinstance(message, EmailMessage)
        original = message["Message-ID"]
        message_id = new_message_id(tools.section.sender, f"minutes.{meeting_id}.resent")
        del message["Message-ID"]
        message["Message-ID"] = message_id
        message["References"] = original
        recipients = to or list(last.recipients)
        if to:
            del message["To"], message["Cc"]
            message["To"] = ", ".join(to)
        payload = {
            "kind": "minutes", "meeting_id": meeting_id, "network": last.network,
            "room": last.room, "meeting_name": last.subject, "subject": last.subject,
            "message_id": message_id, "sender": tools.section.sender_address,
            "recipients": recipients, "chairs": [], "text": message.as_string(),
            "bare": last.bare or message.as_string(),
        }  # fmt: skip
        item = {
            "op": "add", "channel": CHANNEL, "target": server, "payload": payload,
            "key": f"minutes:{meeting_id}:resent:{utcnow().isoformat()}",
            "ref": f"minutes:{meeting_id}", "expires_at": None,
        }  # fmt: skip
        async with tools.storage.engine.begin() as conn:
            await Outbox(tools.storage).write([item], conn)
        return (
            f"Queued the minutes mail of meeting {meeting_id} ({last.subject}) to "
            f"{', '.join(recipients)}; the running bot sends it within "
            f"{tools.section.rescan_seconds} s (or when it starts)."
        )
    finally:
        await tools.storage.close()
