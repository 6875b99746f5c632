# ruff: noqa: ASYNC220, ASYNC221, ASYNC240
"""A probe, not a test (pytest does not collect it): starts the tests' InspIRCd and Synapse and
a real heisenbridge (PyPI, in /tmp/bridge/hb: ``python3 -m venv /tmp/bridge/hb &&
/tmp/bridge/hb/bin/pip install heisenbridge``), bridges #ops the way a Matrix user does (the
bridge's control room: ADDNETWORK, ADDSERVER, OPEN, CONNECT, JOIN) and prints how lines look on
each side: what issue 17's bridge support must read. Run: ``.venv/bin/python
tests/integration/heisenbridge_probe.py``.
"""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, "/work/main")
from tests.integration.homeserver import Homeserver, MatrixPerson
from tests.integration.ircserver import IrcNetwork, Person, free_port


async def main():
    base = Path("/tmp/bridge/exp")
    subprocess.run(["rm", "-rf", str(base)])
    base.mkdir()
    irc = IrcNetwork(base / "irc")
    (base / "irc").mkdir()
    irc.start()
    hs = Homeserver(base / "hs")
    hbport = free_port()
    reg = base / "reg.yaml"
    subprocess.run(
        [
            "/tmp/bridge/hb/bin/python",
            "-m",
            "heisenbridge",
            "-c",
            str(reg),
            "--generate",
            "-l",
            "127.0.0.1",
            "-p",
            str(hbport),
        ],
        check=True,
        capture_output=True,
    )
    cfg = json.loads((base / "hs" / "hs.yaml").read_text())
    cfg["app_service_config_files"] = [str(reg)]
    (base / "hs" / "hs.yaml").write_text(json.dumps(cfg))
    hs.start()
    alice = await MatrixPerson.connect(hs, "alice")
    log = (base / "hb.log").open("w")
    hb = subprocess.Popen(
        [
            "/tmp/bridge/hb/bin/python",
            "-m",
            "heisenbridge",
            "-c",
            str(reg),
            "-l",
            "127.0.0.1",
            "-p",
            str(hbport),
            "-o",
            alice.user_id,
            hs.url,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        await asyncio.sleep(4)
        bob = await Person.connect(irc.port, "bob")
        await bob.send("JOIN #ops")
        await asyncio.sleep(3)

        async def join_invites():
            got = list(alice.client.invited_rooms)
            for rid in got:
                await alice.client.join(rid)
                del alice.client.invited_rooms[rid]
            await asyncio.sleep(1.5)
            return got

        dm = (await join_invites())[0]
        print("control room", dm)
        for cmd in ["ADDNETWORK test", f"ADDSERVER test 127.0.0.1 {irc.port}", "OPEN test"]:
            await alice.say(dm, cmd)
            await asyncio.sleep(2)
        # the network room: find the invite
        invites = await join_invites()
        print("invites", invites)
        netroom = next(iter(invites)) if invites else None
        if netroom:
            await alice.say(netroom, "CONNECT")
            await asyncio.sleep(4)
            await alice.say(netroom, "JOIN #ops")
            await asyncio.sleep(4)
        invites = await join_invites()
        print("invites2", invites)
        chan = next(iter(invites)) if invites else None
        await bob.say("#ops", "hello from irc")
        await asyncio.sleep(2)
        if chan:
            await alice.say(chan, "hello from matrix")
            await alice.say(chan, "line one\nline two\nline three")
            first = await alice.say(chan, "tpyo here")
            await asyncio.sleep(1)
            await alice.say(
                chan,
                "* typo here",
                **{
                    "m.new_content": {"msgtype": "m.text", "body": "typo here"},
                    "m.relates_to": {"rel_type": "m.replace", "event_id": first},
                },
            )
            await alice.say(chan, "long " * 200)
            await asyncio.sleep(3)
        for rid, ev in alice.events:
            src = getattr(ev, "source", {})
            if src.get("type") in ("m.room.message",):
                print("MX", rid[:8], src.get("sender"), json.dumps(src.get("content"))[:200])
        await bob.send("WHOIS alice")
        await asyncio.sleep(1)
        for line in bob.lines:
            if any(word in line for word in ("PRIVMSG", "JOIN", " 311 ", " 330 ")):
                print("IRC", line[:200])
    finally:
        hb.terminate()
        hb.wait(5)
        await alice.close()
        hs.stop()
        irc.stop()


asyncio.run(main())
