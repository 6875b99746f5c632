"""The IRC transport on a real network: InspIRCd + Atheme started for this test session."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from opsbot.audit import Audit
from opsbot.bot import Bot
from opsbot.config import IrcNetwork as IrcConfig
from opsbot.config import parse_config
from opsbot.events import Message
from opsbot.plugin import Context, Plugin, Rest, command, on
from opsbot.transports.irc import IrcTransport, split_utf8, strip_formatting
from opsbot_plugins.core.plugin import opsbot_version

from ..transports.conftest import RecordingSink
from .ircserver import IrcNetwork, Person, self_signed

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def network() -> Iterator[IrcNetwork]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-irc-"))
    net = IrcNetwork(folder)
    net.start()

    async def accounts() -> None:
        for nick in ("opsbot", "alice"):
            person = await Person.connect(net.port, nick)
            await person.register(PASSWORD)
            await person.quit()

    asyncio.run(accounts())
    try:
        yield net
    finally:
        net.stop()


class Say(Plugin):
    """Repeats text, for long replies."""

    @command("say")
    async def say(self, ctx: Context, times: int, text: Rest) -> None:
        await ctx.reply(" ".join([text] * times))

    @command("lines")
    async def lines(self, ctx: Context, times: int, text: Rest) -> None:
        await ctx.reply("\n".join([text] * times))


def bot_config(network: IrcNetwork, folder: Path, **irc: Any) -> dict[str, Any]:
    net = {
        "type": "irc",
        "name": irc.pop("name", "testnet"),
        "host": "127.0.0.1",
        "port": network.port,
        "tls": False,
        "nick": "opsbot",
        "sasl": {"account": "opsbot", "password": PASSWORD},
        "channels": ["#ops"],
        "flood": {"burst": 1000, "per_second": 1000},
        "reconnect": {"min_delay": 0.2, "max_delay": 2},
        **irc,
    }
    return {
        "bot": {"nick": "opsbot"},
        "web": {"enabled": False},  # a taken port 8080 on the machine fails nothing here
        "database": {
            "url": f"sqlite+aiosqlite:///{folder}/bot.db",
            "spool_dir": str(folder / "spool"),
        },
        "networks": [net],
        "plugins": {
            "enabled": ["core", "meetings", "say"],
            "meetings": {"output_dir": str(folder / "meetings"), "url_prefix": "https://m.example"},
        },
    }


@pytest.fixture
async def bot(network: IrcNetwork, tmp_path: Path) -> AsyncIterator[Bot]:
    instance = Bot(parse_config(bot_config(network, tmp_path), env={}), extra_plugins={"say": Say})
    await instance.start()
    transport = instance.transports["testnet"]
    assert isinstance(transport, IrcTransport)
    await asyncio.wait_for(transport.registered.wait(), 15)
    for _ in range(100):
        if transport.rooms():
            break
        await asyncio.sleep(0.05)
    yield instance
    await instance.stop()


def transport_of(bot: Bot) -> IrcTransport:
    transport = bot.transports["testnet"]
    assert isinstance(transport, IrcTransport)
    return transport


async def written(folder: Path) -> dict[str, Any]:
    """The meeting's JSON record, once the bot has written it (people see the closing links a
    moment before the files, which include those very lines)."""
    for _ in range(200):
        found = list((folder / "meetings").rglob("*.json"))
        if found:
            data: dict[str, Any] = json.loads(found[0].read_text())
            return data
        await asyncio.sleep(0.05)
    raise AssertionError("the meeting's files were never written")


async def joined(person: Person, channel: str = "#ops") -> None:
    mark = len(person.lines)
    await person.send(f"JOIN {channel}")
    await person.wait_for(lambda line: " 366 " in line, since=mark)


def test_helpers() -> None:
    assert strip_formatting("\x02bold\x02 \x0304,01red\x03 \x1ditalic\x1d\x0f") == "bold red italic"
    pieces = split_utf8("é" * 300, 101)
    assert all(len(p.encode()) <= 101 for p in pieces) and "".join(pieces) == "é" * 300
    assert split_utf8("word " * 10, 12) == [
        "word word",
        "word word",
        "word word",
        "word word",
        "word word ",
    ]


async def test_sasl_login_and_a_wrong_password(network: IrcNetwork) -> None:
    config = IrcConfig.model_validate(
        {**bot_config(network, Path())["networks"][0], "name": "good"}
    )
    good = IrcTransport(config, "opsbot")
    await good.start(RecordingSink())
    await asyncio.wait_for(good.registered.wait(), 15)
    assert good.sasl_result == "ok" and good.me.account == "opsbot"
    assert {"sasl", "account-tag", "extended-join", "account-notify"} <= good.caps
    await good.stop()

    wrong = IrcConfig.model_validate(
        {**config.model_dump(), "name": "bad", "sasl": {"account": "opsbot", "password": "nope"}}
    )
    bad = IrcTransport(wrong, "opsbot")
    await bad.start(RecordingSink())
    await asyncio.wait_for(bad.registered.wait(), 15)
    assert bad.sasl_result is not None and bad.sasl_result != "ok"
    assert "SASL authentication failed" in bad.sasl_result or "failed" in bad.sasl_result.lower()
    assert bad.me.account is None
    await bad.stop()


async def test_a_meeting_over_irc_with_two_people(
    bot: Bot, network: IrcNetwork, tmp_path: Path
) -> None:
    alice = await Person.connect(network.port, "alice", caps="account-tag")
    await alice.identify(PASSWORD)
    bob = await Person.connect(network.port, "bob")
    await joined(alice)
    await joined(bob)
    await alice.say("#ops", "#startmeeting Ops Meetup")
    await bob.wait_for(lambda line: "The meeting name has been set to 'ops_meetup'" in line)
    await alice.say("#ops", "#topic Berlin")
    await bob.say("#ops", "#topic mine")
    await bob.wait_for(lambda line: "Only the chairs (alice) can use #topic." in line)
    await bob.say("#ops", "I can host the hands-on session")
    await alice.say("#ops", "#action bob to book the room")
    await alice.say("#ops", "#endmeeting")
    await bob.wait_for(lambda line: "Log:            https://m.example/ops_meetup/" in line)
    record = await written(tmp_path)
    assert record["network"] == "testnet" and record["channel"] == "#ops"
    assert record["topics"] == ["Berlin"]
    assert record["actions"][0]["owners"] == ["bob"]
    assert record["people_present"]["bob"] == 2 and record["people_present"]["opsbot"] >= 4
    await alice.quit()
    await bob.quit()


async def test_taking_the_chairs_nick_does_not_make_a_chair(bot: Bot, network: IrcNetwork) -> None:
    alice = await Person.connect(network.port, "alice")
    await alice.identify(PASSWORD)
    await joined(alice)
    await alice.say("#ops", "#startmeeting")
    await alice.wait_for(lambda line: "The chair is alice" in line)
    await alice.send("NICK alice_away")
    mallory = await Person.connect(network.port, "alice")  # the nick, not the account
    await joined(mallory)
    mark = len(mallory.lines)
    await mallory.say("#ops", "#endmeeting")
    await mallory.wait_for(
        lambda line: "Only the chairs (alice) can use #endmeeting." in line, since=mark
    )
    await alice.say("#ops", "#endmeeting")  # the real alice, now alice_away, still chairs
    await alice.wait_for(lambda line: "Meeting ended" in line)
    await alice.quit()
    await mallory.quit()


async def test_a_500_line_burst_is_logged_whole_and_in_order(
    bot: Bot, network: IrcNetwork, tmp_path: Path
) -> None:
    carol = await Person.connect(network.port, "carol")
    await joined(carol)
    await carol.say("#ops", "#startmeeting burst")
    await carol.wait_for(lambda line: "The meeting name has been set to 'burst'" in line)
    assert carol._writer is not None
    carol._writer.write(b"".join(f"PRIVMSG #ops :burst line {i}\r\n".encode() for i in range(500)))
    await carol._writer.drain()
    await carol.say("#ops", "#endmeeting")
    await carol.wait_for(lambda line: "Log:" in line, within=20)
    await written(tmp_path)
    log = next((tmp_path / "meetings").rglob("*.log.txt")).read_text().splitlines()
    said = [line.split("<carol> ", 1)[1] for line in log if "<carol> burst line" in line]
    assert said == [f"burst line {i}" for i in range(500)]
    await carol.quit()


class Slow(Plugin):
    """Takes 1 ms over every line, so a burst outruns the handlers."""

    @on(Message)
    async def slow(self, ctx: Context) -> None:
        time.sleep(0.001)  # noqa: ASYNC251  (blocking on purpose: a slow handler)


async def test_a_burst_faster_than_the_handlers_waits_and_loses_nothing(
    network: IrcNetwork, tmp_path: Path
) -> None:
    """3,000 lines at once, handled at 1,000 a second at most: the lane fills, what comes on
    waits in the inbox and, past its high mark, in the socket (reading pauses: see
    tests/transports/test_irc_pause.py); every line is logged once, in order."""
    config = bot_config(network, tmp_path)
    config["plugins"]["enabled"].append("slow")
    bot = Bot(parse_config(config, env={}), extra_plugins={"say": Say, "slow": Slow})
    await bot.start()
    try:
        transport = transport_of(bot)
        await asyncio.wait_for(transport.registered.wait(), 15)
        carol = await Person.connect(network.port, "carol")
        await joined(carol)
        await carol.say("#ops", "#startmeeting flood")
        await carol.wait_for(lambda line: "The meeting name has been set to 'flood'" in line)
        assert carol._writer is not None
        for first in range(0, 3_000, 500):
            carol._writer.write(
                b"".join(
                    f"PRIVMSG #ops :flood line {i}\r\n".encode() for i in range(first, first + 500)
                )
            )
            await carol._writer.drain()
        await carol.say("#ops", "#endmeeting")
        await carol.wait_for(lambda line: "Log:" in line, within=60)
        await written(tmp_path)
        assert bot.bus.pending == 0
        log = next((tmp_path / "meetings").rglob("*.log.txt")).read_text().splitlines()
        said = [line.split("<carol> ", 1)[1] for line in log if "<carol> flood line" in line]
        assert said == [f"flood line {i}" for i in range(3_000)]
        await carol.quit()
    finally:
        await bot.stop()


async def test_a_long_reply_is_split_by_bytes_with_multibyte_text_intact(
    bot: Bot, network: IrcNetwork
) -> None:
    dave = await Person.connect(network.port, "dave")
    await joined(dave)
    text = "Zürich-東京 ☃"
    mark = len(dave.lines)
    await dave.say("#ops", f"!say 60 {text}")
    expected = " ".join([text] * 60)
    deadline = asyncio.get_running_loop().time() + 10
    while asyncio.get_running_loop().time() < deadline:
        got = dave.said_by("opsbot", "#ops", since=mark)
        if len(" ".join(got)) >= len(expected):
            break
        await asyncio.sleep(0.05)
    assert len(got) > 1
    assert " ".join(got) == expected
    raw = [
        line for line in dave.lines[mark:] if line.startswith(":opsbot!") and "PRIVMSG #ops" in line
    ]
    assert all(len(line.encode()) + 2 <= 512 for line in raw)
    await dave.quit()


@pytest.fixture
def own_network(tmp_path: Path) -> Iterator[IrcNetwork]:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-irc-own-"))
    net = IrcNetwork(folder)
    net.start()
    yield net
    net.stop()


async def test_the_server_restarts_mid_meeting_and_the_meeting_goes_on(
    own_network: IrcNetwork, tmp_path: Path
) -> None:
    config = bot_config(own_network, tmp_path, sasl=None)
    bot = Bot(parse_config(config, env={}), extra_plugins={"say": Say})
    await bot.start()
    transport = transport_of(bot)
    await asyncio.wait_for(transport.registered.wait(), 15)
    eve = await Person.connect(own_network.port, "eve")
    await joined(eve)
    await eve.say("#ops", "#startmeeting restart")
    await eve.wait_for(lambda line: "The meeting name has been set to 'restart'" in line)
    await eve.say("#ops", "#topic before the restart")
    await asyncio.sleep(0.3)

    own_network.restart()
    await asyncio.wait_for(_until(lambda: not transport.registered.is_set()), 10)
    await asyncio.wait_for(transport.registered.wait(), 30)
    await asyncio.wait_for(_until(lambda: bool(transport.rooms())), 15)
    eve = await Person.connect(own_network.port, "eve")
    await joined(eve)
    await eve.say("#ops", "#topic after the restart")
    await eve.say("#ops", "#endmeeting")
    await eve.wait_for(lambda line: "Log:" in line, within=15)
    record = await written(tmp_path)
    assert record["topics"] == ["before the restart", "after the restart"]
    await eve.quit()
    await bot.stop()


async def _until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0.05)


async def test_a_50_line_reply_on_strict_flood_settings_keeps_the_bot_connected(
    tmp_path: Path,
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-irc-strict-"))
    net = IrcNetwork(folder, strict=True)
    net.start()
    try:
        config = bot_config(net, tmp_path, sasl=None, flood={"burst": 4, "per_second": 1.0})
        bot = Bot(parse_config(config, env={}), extra_plugins={"say": Say})
        await bot.start()
        transport = transport_of(bot)
        await asyncio.wait_for(transport.registered.wait(), 15)
        await asyncio.wait_for(_until(lambda: bool(transport.rooms())), 15)
        frank = await Person.connect(net.port, "frank")
        await joined(frank)
        mark = len(frank.lines)
        line = "x" * 380
        await frank.say("#ops", f"!lines 50 {line}")
        await frank.wait_for(
            lambda _: len(frank.said_by("opsbot", "#ops", since=mark)) >= 50, within=90
        )
        assert not any(" QUIT " in raw and raw.startswith(":opsbot!") for raw in frank.lines[mark:])
        assert transport.registered.is_set()
        await frank.quit()
        await bot.stop()
    finally:
        net.stop()


async def test_a_taken_nick_falls_back_and_is_regained(network: IrcNetwork, tmp_path: Path) -> None:
    holder = await Person.connect(network.port, "meetbot")
    config = bot_config(
        network,
        tmp_path,
        name="altnet",
        nick="meetbot",
        alt_nicks=["meetbot_"],
        sasl=None,
        regain_interval=0.2,
        channels=[],
    )
    bot = Bot(parse_config(config, env={}), extra_plugins={"say": Say})
    await bot.start()
    transport = bot.transports["altnet"]
    assert isinstance(transport, IrcTransport)
    await asyncio.wait_for(transport.registered.wait(), 15)
    assert transport.nick == "meetbot_"
    await holder.quit()
    await asyncio.wait_for(_until(lambda: transport.nick == "meetbot"), 10)
    await bot.stop()


async def test_ctcp_and_formatting(bot: Bot, network: IrcNetwork) -> None:
    gina = await Person.connect(network.port, "gina")
    await joined(gina)
    mark = len(gina.lines)
    await gina.send("PRIVMSG opsbot :\x01VERSION\x01")
    await gina.wait_for(lambda line: "NOTICE gina :\x01VERSION opsbot" in line, since=mark)
    await gina.send("PRIVMSG opsbot :\x01PING 12345\x01")
    await gina.wait_for(lambda line: "NOTICE gina :\x01PING 12345\x01" in line, since=mark)
    await gina.say("#ops", "\x02\x0304!ping\x03\x02")
    await gina.wait_for(lambda line: "PRIVMSG #ops :pong" in line, since=mark)
    await gina.send("PRIVMSG opsbot :version")  # a private message needs no prefix
    said = f"PRIVMSG gina :opsbot {opsbot_version()} on Python"
    await gina.wait_for(lambda line: said in line, since=mark)
    await gina.quit()


async def test_nickserv_identify_without_sasl_and_two_networks_at_once(
    network: IrcNetwork, tmp_path: Path
) -> None:
    first = bot_config(network, tmp_path, sasl=None, nickserv_password=PASSWORD)["networks"][0]
    second = {**first, "name": "second", "nick": "opsbot2", "nickserv_password": None}
    config = bot_config(network, tmp_path)
    config["networks"] = [first, second]
    bot = Bot(parse_config(config, env={}), extra_plugins={"say": Say})
    await bot.start()
    one, two = bot.transports["testnet"], bot.transports["second"]
    assert isinstance(one, IrcTransport) and isinstance(two, IrcTransport)
    await asyncio.wait_for(asyncio.gather(one.registered.wait(), two.registered.wait()), 15)
    await asyncio.wait_for(_until(lambda: one.account == "opsbot"), 10)  # NickServ IDENTIFY worked
    assert two.account is None and two.nick == "opsbot2"
    await asyncio.wait_for(_until(lambda: bool(one.rooms()) and bool(two.rooms())), 15)
    await bot.stop()


async def test_tls_certificates_are_verified_by_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-irc-tls-"))
    net = IrcNetwork(folder, tls=True)
    net.start()
    try:
        assert net.tls_port is not None
        base = {
            **bot_config(net, tmp_path)["networks"][0],
            "port": net.tls_port,
            "tls": True,
            "sasl": None,
            "channels": [],
        }

        strict = IrcTransport(IrcConfig.model_validate({**base, "name": "strict"}), "opsbot")
        await strict.start(RecordingSink())
        await asyncio.sleep(1.5)
        assert not strict.registered.is_set()  # a self-signed certificate is refused
        await strict.stop()
        assert any("CERTIFICATE_VERIFY_FAILED" in r.getMessage() for r in caplog.records)

        trusting = IrcTransport(
            IrcConfig.model_validate({**base, "name": "ca", "tls_ca": str(net.certificate)}),
            "opsbot",
        )
        await trusting.start(RecordingSink())
        await asyncio.wait_for(trusting.registered.wait(), 15)  # verified against the given CA
        await trusting.stop()

        lax = IrcTransport(
            IrcConfig.model_validate(
                {**base, "name": "lax", "nick": "opsbot_lax", "tls_verify": False}
            ),
            "opsbot",
        )
        await lax.start(RecordingSink())
        await asyncio.wait_for(lax.registered.wait(), 15)
        await lax.stop()
    finally:
        net.stop()


def client_certificate(folder: Path) -> tuple[Path, str]:
    """A self-signed client certificate (key and certificate in one PEM) and its fingerprint."""
    key, cert = folder / "client.pem", folder / "client-cert.pem"
    fingerprint = self_signed(key, cert, "certbot")
    key.write_text(key.read_text() + cert.read_text())
    return key, fingerprint


async def test_sasl_external_with_a_client_certificate(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="opsbot-irc-external-"))
    net = IrcNetwork(folder, tls=True)
    net.start()
    try:
        assert net.tls_port is not None
        pem, fingerprint = client_certificate(tmp_path)
        owner = await Person.connect(net.port, "certbot")
        await owner.register(PASSWORD)
        await owner.add_certificate(fingerprint)
        await owner.quit()

        base = {
            **bot_config(net, tmp_path)["networks"][0],
            "port": net.tls_port,
            "tls": True,
            "channels": [],
        }
        config = {
            **base,
            "name": "external",
            "nick": "certbot",
            "tls_ca": str(net.certificate),
            "client_cert": str(pem),
            "sasl": {"mechanism": "EXTERNAL"},
        }
        bot = IrcTransport(IrcConfig.model_validate(config), "certbot")
        await bot.start(RecordingSink())
        await asyncio.wait_for(bot.registered.wait(), 15)
        assert bot.sasl_result == "ok" and bot.me.account == "certbot"
        await bot.stop()
    finally:
        net.stop()


async def test_a_bridges_puppets_are_told_by_their_realname(
    network: IrcNetwork, tmp_path: Path
) -> None:
    """matrix-appservice-irc's puppets as InspIRCd shows them (``nick[m]``, the Matrix ID as
    realname): one joined before the bot (its realname learned by WHOX), one after
    (extended-join); both are logged and credited as their Matrix accounts."""
    before = await Person.connect(network.port, "dave[m]", realname="@dave:example.org")
    await joined(before)
    config = bot_config(network, tmp_path)
    config["bridges"] = [
        {
            "name": "oftc",
            "irc_network": "testnet",
            "matrix_network": "matrix",
            "rooms": [{"irc": "#ops", "matrix": "!ops:example.org"}],
            "irc_puppets": {"nick_suffix": "[m]", "realname": "{mxid}"},
            "matrix_puppets": {"user": "@_oftc_{nick}:example.org"},
        }
    ]
    bot = Bot(parse_config(config, env={}), extra_plugins={"say": Say})
    await bot.start()
    try:
        transport = transport_of(bot)
        await asyncio.wait_for(transport.registered.wait(), 15)
        await _until(lambda: transport.rooms())
        after = await Person.connect(network.port, "carol[m]", realname="@carol:example.org")
        await joined(after)
        bob = await Person.connect(network.port, "bob")
        await joined(bob)
        await bob.say("#ops", "#startmeeting bridged")
        await bob.wait_for(lambda line: "The meeting name has been set" in line)
        await before.say("#ops", "said on Matrix by dave")
        await after.say("#ops", "said on Matrix by carol")
        await bob.say("#ops", "#endmeeting")
        await bob.wait_for(lambda line: "Log:  " in line)
        record = await written(tmp_path)
        assert set(record["people_present"]) == {"bob", "dave", "carol", "opsbot"}
        store = bot.plugins["meetings"].store  # type: ignore[attr-defined]
        await store.writer.flush()  # the log is stored in batches: all of it before asking
        accounts = await store.accounts_in(1)
        assert accounts["dave"] == "matrix:@dave:example.org"
        assert accounts["carol"] == "matrix:@carol:example.org"
        for person in (before, after, bob):
            await person.quit()
    finally:
        await bot.stop()


async def test_a_hostile_user_cannot_kudos_a_linked_account_or_guess_link_codes(
    network: IrcNetwork, tmp_path: Path
) -> None:
    """Real accounts on Atheme: alice links alice2 and thanks herself through it; mallory floods
    300 guessed link codes. One line refuses each, nothing is credited or linked, the admin is
    told once, the audit trail has every refusal."""
    config = bot_config(network, tmp_path)
    config["plugins"]["enabled"] = ["core", "kudos"]
    config["bot"]["admins"] = ["testnet:bobadmin"]
    bot = Bot(parse_config(config, env={}))
    await bot.start()
    transport = transport_of(bot)
    await asyncio.wait_for(_until(lambda: bool(transport.rooms())), 15)
    alice = await Person.connect(network.port, "alice", caps="account-tag")
    await alice.identify(PASSWORD)
    people = {}
    for nick in ("alice2", "mallory", "bobadmin"):
        people[nick] = await Person.connect(network.port, nick, caps="account-tag")
        await people[nick].register(PASSWORD)
    alice2, mallory, admin = people["alice2"], people["mallory"], people["bobadmin"]
    for person in (alice, alice2, mallory, admin):
        await joined(person)

    await alice.say("#ops", "!link")
    code_line = await alice.wait_for(lambda line: "PRIVMSG alice :Say '!link " in line)
    code = code_line.split("!link ", 1)[1].split("'")[0]
    assert len(code) == 16
    await alice2.say("#ops", f"!link {code}")
    await alice2.wait_for(lambda line: "Linked testnet:alice and testnet:alice2." in line)
    await alice.say("#ops", "!whois alice")
    await alice.wait_for(lambda line: "alice is testnet:alice, testnet:alice2." in line)

    mark = len(admin.lines)
    await alice.say("#ops", "!kudos alice2 #review for the spec review")
    await alice.say("#ops", "alice2++ for the spec review")
    refused = "No kudos to yourself: alice2 is linked to you; someone else will notice."
    await admin.wait_for(lambda line: admin.said_by("opsbot", "#ops", mark).count(refused) == 2)
    await admin.say("#ops", "!kudos alice2")
    await admin.wait_for(lambda line: "alice2 has no kudos yet." in line, since=mark)

    mark = len(admin.lines)
    for i in range(300):
        await mallory.send(f"PRIVMSG #ops :!link {i:016x}")
    await mallory.say("#ops", "!ping")  # handled after the 300: every answer is out by its pong
    await admin.wait_for(lambda line: "PRIVMSG #ops :pong" in line, since=mark, within=30)
    answers = admin.said_by("opsbot", "#ops", mark)
    unknown = "That code is unknown or has expired; ask for a new one with !link."
    assert answers[:4] == [unknown] * 4
    assert answers[4:] == [
        "Too many wrong codes: !link CODE is refused to you for 15 minutes.",
        "pong",
    ], "one line a refusal, then silence"
    told = admin.said_by("opsbot", "bobadmin", mark)
    assert told == [
        "testnet:mallory said 5 wrong link codes within 10 minutes; refused for 15 minutes."
    ]
    await mallory.say("#ops", "!whois mallory")
    await mallory.wait_for(lambda line: "mallory is testnet:mallory." in line)

    rows = await Audit(bot.storage).recent(100)
    assert [(r.who, r.action) for r in reversed(rows)] == [
        ("testnet:alice", "kudos: to a linked account"),
        ("testnet:alice", "kudos: to a linked account"),
        *[("testnet:mallory", "link: wrong code")] * 4,
        ("testnet:mallory", "link: locked out"),
    ]
    for person in (alice, alice2, mallory, admin):
        await person.quit()
    await bot.stop()


async def test_an_ircv3_react_client_tag_is_a_kudos(network: IrcNetwork, tmp_path: Path) -> None:
    """InspIRCd with ircv3_ctctags and ircv3_msgid relays ``+draft/react`` on a TAGMSG naming
    a message by its msgid: a kudos to its author, as a Matrix reaction is."""
    config = bot_config(network, tmp_path)
    config["plugins"]["enabled"] = ["core", "kudos"]
    bot = Bot(parse_config(config, env={}))
    await bot.start()
    transport = transport_of(bot)
    await asyncio.wait_for(_until(lambda: bool(transport.rooms())), 15)
    assert transport.capabilities.reactions, "message-tags acknowledged"
    alice = await Person.connect(network.port, "alice", caps="account-tag")
    await alice.identify(PASSWORD)
    rita = await Person.connect(network.port, "rita", caps="message-tags account-tag")
    await rita.register(PASSWORD)
    for person in (alice, rita):
        await joined(person)
    mark = len(rita.lines)
    await alice.say("#ops", "found it: the conductor's RPC timeout")
    line = await rita.wait_for(lambda line: "conductor's RPC timeout" in line, since=mark)
    msgid = next(
        t.split("=", 1)[1] for t in line[1:].split(" ", 1)[0].split(";") if t.startswith("msgid=")
    )
    await rita.send(f"@+draft/react=👏;+draft/reply={msgid} TAGMSG #ops")
    await asyncio.sleep(0.5)
    mark = len(rita.lines)
    await rita.say("#ops", "!kudos alice")
    answer = await rita.wait_for(lambda line: "kudos" in line and "alice" in line, since=mark)
    assert "alice: 1 kudos (#general 1)" in answer and "conductor's RPC timeout" in answer
    for person in (alice, rita):
        await person.quit()
    await bot.stop()
