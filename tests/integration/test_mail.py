"""The mail plugin on a real Postfix (Debian's) started by the tests on a free loopback port: the
minutes reach the list's Maildir, exactly once across an outage and a restart of the bot, and a
refusal is told to the chair once."""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from opsbot.testing import BotFactory, TestBot
from opsbot_plugins.mail.models import SentMail

from .mailserver import DOMAIN, MailServer
from .processes import serving

PLUGINS = ("core", "meetings", "mail")
MAILBOXES = ("ops", "dev", "team", "chairs", "other", "source", "resent", "bob", "robert")


@pytest.fixture(scope="module")
def postfix() -> Iterator[MailServer]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-postfix-"))
    with serving(MailServer(folder, MAILBOXES)) as server:
        yield server


def mail_config(server: MailServer, **extra: Any) -> dict[str, Any]:
    settings = {
        "servers": {"lists": {"host": server.host, "port": server.port, "security": "none"}},
        "from": "opsbot <opsbot@opsbot.test>",
        "subject": "[ops] {meeting_name} meeting minutes {date}",
        "retry_min": 0.2,
        "retry_max": 0.5,
        **extra,
    }
    return {"plugins": {"mail": settings}}


async def meeting(bot: TestBot, name: str, *extra: str) -> list[str]:
    said = await bot.irc.say("alice", f"#startmeeting {name}")
    for line in ("#topic Upgrades", "#action alice to write the upgrade notes", *extra):
        said += await bot.irc.say("alice", line)
    await bot.irc.say("bob", "I will review them")
    said += await bot.irc.say("alice", "#endmeeting")
    return said


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_the_minutes_reach_the_list_with_summary_actions_links_and_the_txt(
    postfix: MailServer, bot_factory: BotFactory, tmp_path: Path
) -> None:
    lists = {
        "Ops Meetup Team": {
            "to": [f"ops@{DOMAIN}"],
            "cc": [f"dev@{DOMAIN}"],
            "reply_to": f"ops@{DOMAIN}",
        }
    }
    bot = await bot_factory(plugins=PLUGINS, config=mail_config(postfix, meetings=lists))
    said = await meeting(bot, "Ops Meetup Team")
    assert f"The minutes go by mail to ops@{DOMAIN}." in said

    [mail] = await asyncio.to_thread(postfix.wait_for, "ops", 1)
    [copy] = await asyncio.to_thread(postfix.wait_for, "dev", 1)
    assert mail["Message-ID"] == copy["Message-ID"]
    assert mail["Message-ID"].endswith("@opsbot.test>")
    assert mail["Subject"].startswith("[ops] Ops Meetup Team meeting minutes 20")
    assert mail["From"] == "opsbot <opsbot@opsbot.test>"
    assert mail["To"] == f"ops@{DOMAIN}" and mail["Cc"] == f"dev@{DOMAIN}"
    assert mail["Reply-To"] == f"ops@{DOMAIN}"
    assert mail["Auto-Submitted"] == "auto-generated"
    text = body(mail)
    plain = mail.get_body(("plain",))
    assert plain is not None and plain["Content-Transfer-Encoding"] == "7bit", (
        "ASCII minutes read as they are in a list's archive"
    )
    assert "* Upgrades" in text
    assert "* alice\n  * alice to write the upgrade notes" in text
    assert "Minutes:        https://meetings.example.org/" in text
    assert "Log:            https://meetings.example.org/" in text
    [attached] = list(mail.iter_attachments())
    name = attached.get_filename()
    assert name is not None and name.endswith(".txt")
    written = next((tmp_path / "meetings").rglob(name))
    assert attached.get_content() == written.read_text()


async def test_mail_server_down_at_endmeeting_and_bot_restarted_the_mail_arrives_once(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    server = MailServer(Path(tempfile.mkdtemp(prefix="opsbot-postfix-")), ("ops",))
    config = mail_config(server, to=[f"ops@{DOMAIN}"])
    database = tmp_path / "opsbot.db"
    first = await bot_factory(plugins=PLUGINS, config=config, database=database)
    await meeting(first, "ops")
    outbox = first.bot.outbox
    for _ in range(100):  # the first attempt failed: the server is not there
        if (await outbox.status("mail", "lists")).last_error:
            break
        await asyncio.sleep(0.1)
    status = await outbox.status("mail", "lists")
    assert status.waiting == 1 and status.last_error
    assert "1 mail waits for 127.0.0.1" in (await first.irc.say("alice", "!mail status"))[0]
    await first.bot.stop()

    await asyncio.to_thread(server.start)
    try:
        second = await bot_factory(plugins=PLUGINS, config=config, database=database)
        [mail] = await asyncio.to_thread(server.wait_for, "ops", 1)
        assert "meeting minutes" in mail["Subject"]
        await asyncio.wait_for(second.bot.outbox.idle(), 30)
        await asyncio.sleep(2)  # would a second copy come?
        assert len(server.messages("ops")) == 1
        answer = (await second.irc.say("alice", "!mail status"))[0]
        assert answer.startswith("No mail waits for 127.0.0.1")
        assert "Last sent: '[ops] ops meeting minutes" in answer
    finally:
        await asyncio.to_thread(server.stop)


async def test_an_unknown_recipient_is_told_to_the_chair_once_and_kept_for_status(
    postfix: MailServer, bot_factory: BotFactory
) -> None:
    config = mail_config(postfix, to=[f"nobody@{DOMAIN}", f"team@{DOMAIN}"])
    bot = await bot_factory(plugins=PLUGINS, config=config)
    await meeting(bot, "ops")
    await asyncio.to_thread(postfix.wait_for, "team", 1)
    told: list[str] = []
    for _ in range(100):
        told += [sent.text for sent in await bot.irc.settle() if "refused" in sent.text]
        if told:
            break
        await asyncio.sleep(0.1)
    assert len(told) == 1
    assert told[0].startswith("alice: the mail server refused the minutes of ops:")
    assert f"nobody@{DOMAIN}: 550 5.1.1" in told[0]
    await asyncio.sleep(1.5)  # several backoffs: it is not tried again, nor told again
    assert [s for s in await bot.irc.settle() if "refused" in s.text] == []
    assert postfix.refusals().count(f"nobody@{DOMAIN}") == 1
    answer = (await bot.irc.say("bob", "!mail status"))[0]
    assert "was refused at" in answer and "User unknown" in answer


async def test_chairs_steer_the_mail_and_restricted_meetings_send_nothing(
    postfix: MailServer, bot_factory: BotFactory
) -> None:
    config = mail_config(postfix, to=[f"other@{DOMAIN}"])
    bot = await bot_factory(plugins=PLUGINS, config=config)
    await bot.irc.say("alice", "#startmeeting ops")
    assert await bot.irc.say("alice", "#mail") == [
        f"At #endmeeting the minutes go by mail to other@{DOMAIN}."
    ]
    assert await bot.irc.say("mallory", f"#mail to chairs@{DOMAIN}") == [
        "Only the meeting's chairs can steer its mail."
    ]
    assert await bot.irc.say("alice", "#mail to not-an-address") == [
        "Not a mail address: not-an-address. Nothing changed."
    ]
    assert await bot.irc.say("alice", f"#mail to chairs@{DOMAIN}") == [
        f"At #endmeeting the minutes go by mail to chairs@{DOMAIN}."
    ]
    await bot.irc.say("alice", "#endmeeting")
    [mail] = await asyncio.to_thread(postfix.wait_for, "chairs", 1)
    assert mail["To"] == f"chairs@{DOMAIN}"

    await bot.irc.say("alice", "#startmeeting ops")
    assert await bot.irc.say("alice", "#mail off") == [
        "No mail of the minutes for this meeting (a chair said #mail off)."
    ]
    await bot.irc.say("alice", "#endmeeting")
    await bot.irc.say("alice", "#startmeeting ops")
    await bot.irc.say("alice", "#restrictlogs")
    await bot.irc.say("alice", "#endmeeting")
    await meeting(bot, "ops")  # the one mail of these three, sent after the others would be
    [mail] = await asyncio.to_thread(postfix.wait_for, "other", 1)
    await asyncio.wait_for(bot.bot.outbox.idle(), 30)
    assert len(postfix.messages("other")) == 1


async def test_starttls_with_the_servers_ca_and_an_html_alternative(
    bot_factory: BotFactory,
) -> None:
    server = MailServer(Path(tempfile.mkdtemp(prefix="opsbot-postfix-")), ("ops",), tls=True)
    await asyncio.to_thread(server.start)
    try:
        smtp = {
            "host": server.host,
            "port": server.port,
            "security": "starttls",
            "ca_file": str(server.certificate),
        }
        config = mail_config(server, to=[f"ops@{DOMAIN}"], html=True, minutes="inline")
        config["plugins"]["mail"]["servers"] = {"lists": smtp}
        bot = await bot_factory(plugins=PLUGINS, config=config)
        await meeting(bot, "ops")
        [mail] = await asyncio.to_thread(server.wait_for, "ops", 1)
        assert "with ESMTPS" in mail["Received"]  # Postfix: the mail came over TLS
        html = mail.get_body(("html",))
        assert (
            html is not None and "<li>alice to write the upgrade notes</li>" in html.get_content()
        )
        text = body(mail)
        assert "Meeting summary\n---------------" in text  # the .txt minutes inline
        assert list(mail.iter_attachments()) == []
    finally:
        await asyncio.to_thread(server.stop)


async def test_implicit_tls_as_on_the_submissions_port(bot_factory: BotFactory) -> None:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-postfix-"))
    server = MailServer(folder, ("ops",), wrapper=True)
    await asyncio.to_thread(server.start)
    try:
        smtp = {
            "host": server.host,
            "port": server.port,
            "security": "tls",
            "ca_file": str(server.certificate),
        }
        config = mail_config(server, to=[f"ops@{DOMAIN}"])
        config["plugins"]["mail"]["servers"] = {"lists": smtp}
        bot = await bot_factory(plugins=PLUGINS, config=config)
        await meeting(bot, "ops")
        [mail] = await asyncio.to_thread(server.wait_for, "ops", 1)
        assert "with ESMTPS" in mail["Received"]
        assert "* alice to write the upgrade notes" in body(mail)
    finally:
        await asyncio.to_thread(server.stop)


async def test_an_untrusted_certificate_holds_the_mail_and_the_admins_hear_it_once(
    bot_factory: BotFactory,
) -> None:
    server = MailServer(Path(tempfile.mkdtemp(prefix="opsbot-postfix-")), ("ops",), tls=True)
    await asyncio.to_thread(server.start)
    try:
        config = mail_config(server, to=[f"ops@{DOMAIN}"])
        config["plugins"]["mail"]["servers"]["lists"]["security"] = "starttls"
        bot = await bot_factory(plugins=PLUGINS, config=config)
        await meeting(bot, "ops")
        told: list[str] = []
        for _ in range(50):
            told += [s.text for s in await bot.irc.settle() if s.text.startswith("Mail is held")]
            await asyncio.sleep(0.1)
        assert len(told) == 2  # the admin, privately, and the meeting's room
        assert "is not trusted" in told[0]
        answer = (await bot.irc.say("alice", "!mail status"))[0]
        assert answer.startswith("1 mail waits for") and "not trusted" in answer
        assert server.messages("ops") == []
    finally:
        await asyncio.to_thread(server.stop)


async def test_a_community_manager_resends_the_minutes_from_the_command_line(
    postfix: MailServer, bot_factory: BotFactory, tmp_path: Path
) -> None:
    import json

    from opsbot.testing import run_opsbot

    config = mail_config(postfix, to=[f"source@{DOMAIN}"], rescan_seconds=1)
    bot = await bot_factory(plugins=PLUGINS, config=config)
    await meeting(bot, "Resent Team")
    [first] = await asyncio.to_thread(postfix.wait_for, "source", 1)
    await asyncio.wait_for(bot.bot.outbox.idle(), 30)
    cli_config = tmp_path / "cli.yaml"
    cli_config.write_text(
        json.dumps(
            {
                "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}"},
                "networks": [{"type": "console", "name": "console"}],
                "web": {"enabled": False},
                "plugins": {"enabled": PLUGINS, "mail": config["plugins"]["mail"]},
            }
        )
    )
    done = await asyncio.to_thread(run_opsbot, "mail", "status", "-c", str(cli_config))
    assert done.returncode == 0, done.stderr
    assert "0 mails wait in the outbox." in done.stdout
    assert "meeting 1: sent" in done.stdout and "Resent Team meeting minutes" in done.stdout

    wrong = await asyncio.to_thread(run_opsbot, "mail", "resend", "99", "-c", str(cli_config))
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert "No minutes mail of meeting 99 was ever sent" in wrong.stderr
    bad = await asyncio.to_thread(
        run_opsbot, "mail", "resend", "1", "--to", "nope", "-c", str(cli_config)
    )
    assert bad.returncode == 2 and "not a mail address: nope" in bad.stderr

    again = await asyncio.to_thread(
        run_opsbot, "mail", "resend", "1", "--to", f"resent@{DOMAIN}", "-c", str(cli_config)
    )
    assert again.returncode == 0, again.stderr
    assert "Queued the minutes mail of meeting 1" in again.stdout
    [resent] = await asyncio.to_thread(postfix.wait_for, "resent", 1)
    assert resent["Message-ID"] != first["Message-ID"]
    assert resent["References"] == first["Message-ID"]
    assert resent["To"] == f"resent@{DOMAIN}"
    assert resent["Subject"] == first["Subject"]


OPS_DEFINITION = """\
project: Operators Meetup Team
meeting_id: ops_meetup_team
schedule:
  - {time: '1400', day: Tuesday, irc: test, frequency: weekly}
"""


def code_in(message: EmailMessage) -> str:
    found = re.search(r"mail verify (\d{6})", body(message))
    assert found, body(message)
    return found.group(1)


async def test_an_owner_verifies_an_address_and_gets_the_follow_up_by_mail(
    postfix: MailServer, bot_factory: BotFactory, tmp_path: Path
) -> None:
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    (definitions / "ops.yaml").write_text(OPS_DEFINITION)
    config = mail_config(postfix)
    config["plugins"]["schedule"] = {
        "folder": str(definitions), "default_network": "irc", "follow_up_hours": 2,
        "remind_minutes": 0, "grace_minutes": 5,
    }  # fmt: skip
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        bot = await bot_factory(plugins=(*PLUGINS, "schedule"), config=config)
        irc = bot.irc
        # in a room the address would be public: not taken there
        assert (await irc.say("bob", f"!mail verify bob@{DOMAIN}"))[0].startswith(
            "Addresses are private: say !mail verify ADDRESS to me in a private message"
        )
        assert await irc.say_private("bob", "!mail verify bob-at-home") == [
            "'bob-at-home' is not a mail address; say !mail verify you@example.org."
        ]
        assert await irc.say_private("dave", f"!mail verify dave@{DOMAIN}", account=None) == [
            "Identify to an account on irc first; addresses go with it."
        ]
        assert await irc.say_private("bob", f"!mail verify robert@{DOMAIN}") == [
            f"A code is on its way to robert@{DOMAIN}; say !mail verify CODE here within 30 "
            "minutes."
        ]
        assert (await irc.say_private("bob", f"!mail verify bob@{DOMAIN}"))[0].startswith(
            "A code was mailed moments ago; ask again in "
        )
        clock.shift(timedelta(minutes=3))
        await irc.say_private("bob", f"!mail verify bob@{DOMAIN}")
        [old] = await asyncio.to_thread(postfix.wait_for, "robert", 1)
        [mailed] = await asyncio.to_thread(postfix.wait_for, "bob", 1)
        assert mailed["Subject"] == "Your opsbot verification code"
        wrong = "000000" if code_in(mailed) != "000000" else "111111"
        assert await irc.say_private("bob", f"!mail verify {wrong}") == [
            "That is not the code (or it expired); 4 tries left."
        ]
        assert await irc.say_private("bob", f"!mail verify {code_in(old)}") == [
            "That is not the code (or it expired); 3 tries left."
        ], "the first code was replaced by the second"
        assert await irc.say_private("bob", f"!mail verify {code_in(mailed)}") == [
            f"Verified: follow-ups of your open action items now come to bob@{DOMAIN} by mail. "
            "!mail forget removes it."
        ]
        answer = await irc.say_private("bob", "!mail verify")
        assert answer[0].startswith(f"Follow-ups of your action items go to bob@{DOMAIN}")

        await irc.say("alice", "#startmeeting ops_meetup_team")
        await irc.say("bob", "here")
        await irc.say("carol", "here too")
        await irc.say("alice", "#action bob to book the venue")
        await irc.say("alice", "#action carol to write the agenda")
        await irc.say("alice", "#endmeeting")
        clock.move_to(datetime(2026, 12, 1, 12, 0, 1, tzinfo=UTC))
        bot.bot.scheduler.aps.wakeup()
        told = []
        for _ in range(100):
            told += [(s.to.nick if s.to else None, s.text) for s in await irc.settle()]
            if told:
                break
            await asyncio.sleep(0.05)
        [followed] = (await asyncio.to_thread(postfix.wait_for, "bob", 2))[1:]
    assert told == [
        (
            "carol",
            'Before ops_meetup_team Tue 2026-12-01 14:00 UTC: your action item (2) "carol to '
            'write the agenda" from 2026-12-01 is still open. Say !done 2 when it is done.',
        )
    ], "bob's follow-up went by mail, carol (no address) hears it in chat"
    assert followed["Subject"] == "Action item 1 is still open (ops_meetup_team)"
    assert followed["To"] == f"bob@{DOMAIN}"
    assert 'your action item (1) "bob to book the venue"' in body(followed)

    # the address is private: nothing the bot keeps or shows in public holds it
    pages = " ".join(await irc.say("alice", "!mail status"))
    assert DOMAIN not in pages or f"bob@{DOMAIN}" not in pages
    async with bot.bot.storage.session() as session:
        kept = (await session.execute(select(SentMail.recipients, SentMail.text))).all()
    assert all(f"bob@{DOMAIN}" not in str(row) for row in kept)
    assert await irc.say_private("bob", "!mail forget") == [
        "Forgotten: follow-ups of your action items come in chat again."
    ]
    assert await irc.say_private("bob", "!mail forget") == ["No address was kept for you."]


async def test_a_line_redacted_before_the_mail_goes_is_not_in_it_nor_kept(
    bot_factory: BotFactory,
) -> None:
    from opsbot.events import Redaction

    server = MailServer(Path(tempfile.mkdtemp(prefix="opsbot-postfix-")), ("ops",))
    bot = await bot_factory(plugins=PLUGINS, config=mail_config(server, to=[f"ops@{DOMAIN}"]))
    mx = bot.matrix
    await mx.say("alice", "#startmeeting ops")
    said = await mx.transport.say("bob", "#info the vault key is hunter3", id="$late")
    await mx.say("alice", "#action alice to rotate the key")
    await mx.say("alice", "#endmeeting")  # the mail server is away: the mail waits
    for _ in range(100):
        if (await bot.bot.outbox.status("mail", "lists")).last_error:
            break
        await asyncio.sleep(0.1)
    await mx.transport.deliver(
        Redaction(network="matrix", room=said.room, sender=said.sender, target_id="$late", id="$r")
    )
    await mx.settle()
    await asyncio.sleep(0.5)  # the outbox stores the revision
    async with bot.bot.storage.engine.connect() as conn:
        kept = [r[0] for r in (await conn.exec_driver_sql("SELECT payload FROM opsbot_outbox"))]
    assert kept and not [p for p in kept if "hunter3" in str(p)], "no copy waits with the line"

    await asyncio.to_thread(server.start)
    try:
        bot.bot.outbox.wake("mail")
        [mail] = await asyncio.to_thread(server.wait_for, "ops", 1)
        text = body(mail)
        assert "hunter3" not in mail.as_string()
        assert "A line of this meeting was removed after it ended" in text
        assert "Minutes:" in text and list(mail.iter_attachments()) == []
        async with bot.bot.storage.session() as session:
            [(recorded,)] = (await session.execute(select(SentMail.text))).all()
        assert "hunter3" not in recorded and "was removed after it ended" in recorded
    finally:
        await asyncio.to_thread(server.stop)
