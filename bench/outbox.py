"""Benchmark of the durable outbox with the mail plugin, on a real Postfix (Debian's).

1. 1,000 meetings end while the mail server is away: each minutes mail waits in the outbox.
   Then the server starts: the time until all 1,000 are in the list's Maildir, and that each
   arrived exactly once (Message-IDs counted, and nothing more comes in the next seconds).
2. The outbox's cost on ``#endmeeting``: its latency (``#endmeeting`` handled, files written,
   the mail queued) with the mail plugin and without, for the small meetings of part 1 and for
   a 10,000-line meeting (the meetings benchmark's target: under 100 ms).

Run: ``python bench/outbox.py [--meetings N]`` as root (Postfix wants it). Figures also go to
bench/results/outbox.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from support.results import save  # noqa: E402  (bench/ is the script's folder)

from opsbot.bot import Bot  # noqa: E402
from opsbot.events import Message  # noqa: E402
from opsbot.testing import memory_config  # noqa: E402
from opsbot.transports.memory import MemoryTransport  # noqa: E402
from tests.integration.mailserver import DOMAIN, MailServer  # noqa: E402

ENDMEETING_TARGET_MS = 100
PLUGINS = ("core", "meetings")


def mail_settings(server: MailServer) -> dict[str, Any]:
    return {
        "plugins": {
            "mail": {
                "servers": {
                    "lists": {"host": server.host, "port": server.port, "security": "none"}
                },
                "from": "opsbot <opsbot@opsbot.test>",
                "to": [f"ops@{DOMAIN}"],
                "retry_min": 0.5,
                "retry_max": 2,
            }
        }
    }


async def start(folder: Path, mail: MailServer | None) -> tuple[Bot, MemoryTransport]:
    plugins = (*PLUGINS, "mail") if mail is not None else PLUGINS
    config = mail_settings(mail) if mail is not None else None
    bot = Bot(memory_config(folder / "bench.db", plugins, config))
    await bot.start()
    transport = bot.transports["irc"]
    assert isinstance(transport, MemoryTransport)
    return bot, transport


async def say(bot: Bot, transport: MemoryTransport, nick: str, text: str) -> float:
    """Seconds until the bot has handled the line (and everything it caused)."""
    room = transport.room(transport.default_room_id)
    message = Message(network="irc", room=room, sender=transport.identity(nick), text=text)
    started = time.perf_counter()
    await transport.deliver(message)
    await bot.bus.drain()
    return time.perf_counter() - started


async def small_meetings(bot: Bot, transport: MemoryTransport, count: int) -> list[float]:
    """``count`` short meetings one after another; the #endmeeting latencies (seconds)."""
    ends = []
    for i in range(count):
        await say(bot, transport, "chair", f"#startmeeting team {i}")
        await say(bot, transport, "operator1", f"the upgrade of cell {i} went fine")
        await say(bot, transport, "chair", f"#action operator1 to write up cell {i}")
        ends.append(await say(bot, transport, "chair", "#endmeeting"))
    return ends


async def long_meeting(bot: Bot, transport: MemoryTransport, lines: int) -> float:
    """A ``lines``-line meeting; the #endmeeting latency (seconds)."""
    room = transport.room(transport.default_room_id)
    t0 = datetime.now(UTC)
    await say(bot, transport, "chair", "#startmeeting long meeting")
    for i in range(lines - 2):
        text = f"#action operator{i % 20} to look at {i}" if i % 31 == 0 else f"line {i} fine"
        message = Message(
            network="irc", room=room, sender=transport.identity(f"operator{i % 20}"),
            text=text, ts=t0 + timedelta(milliseconds=i),
        )  # fmt: skip
        await transport.deliver(message)
    await bot.bus.drain()
    await bot.plugins["meetings"].store.writer.flush()  # type: ignore[attr-defined]
    return await say(bot, transport, "chair", "#endmeeting")


def ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


async def without_mail(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        bot, transport = await start(Path(folder), None)
        ends = await small_meetings(bot, transport, count)
        long_ms = await long_meeting(bot, transport, 10_000) * 1000
        await bot.stop()
    return {"small": ms(ends), "long_10k_ms": long_ms}


async def with_mail(count: int) -> dict[str, Any]:
    postfix = Path(tempfile.mkdtemp(prefix="opsbot-postfix-bench-"))
    server = MailServer(postfix, ("ops",))  # not started: the mail server is away
    with tempfile.TemporaryDirectory() as folder:
        bot, transport = await start(Path(folder), server)
        ends = await small_meetings(bot, transport, count)
        long_ms = await long_meeting(bot, transport, 10_000) * 1000
        await bot.outbox.writer.flush()
        waiting = (await bot.outbox.status("mail", "lists")).waiting
        assert waiting == count + 1, f"{waiting} mails wait, not {count + 1}"

        started = time.perf_counter()
        await asyncio.to_thread(server.start)
        try:
            # Counting files, not reading them: the bot shares this process and its CPU.
            inbox = postfix / "mail" / "ops" / "new"
            deadline = started + 600
            while len(list(inbox.glob("*"))) < count + 1 and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            delivered_s = time.perf_counter() - started
            await asyncio.sleep(5)  # would any come twice?
            messages = server.messages("ops")
        finally:
            await asyncio.to_thread(server.stop)
        await bot.stop()
    ids = collections.Counter(m["Message-ID"] for m in messages)
    subjects = collections.Counter(m["Subject"] for m in messages)
    return {
        "small": ms(ends),
        "long_10k_ms": long_ms,
        "mails": len(messages),
        "distinct_message_ids": len(ids),
        "distinct_subjects": len(subjects),
        "deliver_all_s": delivered_s,
        "mails_per_s": (count + 1) / delivered_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=1_000)
    args = parser.parse_args()
    count = args.meetings
    bare = asyncio.run(without_mail(count))
    mailed = asyncio.run(with_mail(count))
    once = mailed["mails"] == mailed["distinct_message_ids"] == count + 1
    print("opsbot outbox benchmark (memory transport, SQLite, a real Postfix on 127.0.0.1)")
    print(
        f"  {count + 1:,} minutes mails queued while the mail server was away; server started: "
        f"all delivered in {mailed['deliver_all_s']:.1f} s ({mailed['mails_per_s']:.0f} mails/s, "
        "one SMTP delivery at a time)"
    )
    print(
        f"  arrived: {mailed['mails']:,} mails, {mailed['distinct_message_ids']:,} distinct "
        f"Message-IDs, {mailed['distinct_subjects']:,} distinct subjects: "
        f"{'each exactly once' if once else 'NOT exactly once'}"
    )
    for label, figures in (("without mail", bare), ("with mail   ", mailed)):
        small = figures["small"]
        print(
            f"  #endmeeting {label}: small meetings median {small['median_ms']:.1f} ms, "
            f"p95 {small['p95_ms']:.1f} ms, max {small['max_ms']:.1f} ms; "
            f"10,000-line meeting {figures['long_10k_ms']:.0f} ms"
        )
    ratio = mailed["small"]["median_ms"] / bare["small"]["median_ms"]
    print(f"  outbox cost on #endmeeting (median, small meetings): {ratio:.2f}x")
    met = {
        "exactly_once": once,
        "endmeeting_10k": mailed["long_10k_ms"] < ENDMEETING_TARGET_MS,
    }
    print("  targets: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in met.items()))
    save("outbox", {"meetings": count, "without_mail": bare, "with_mail": mailed, "met": met})


if __name__ == "__main__":
    main()
