"""Migrations in a child process: a bot whose database is behind starts
``python -m opsbot.migrate_apart`` to bring it to the newest revisions, so the bot itself never
loads Alembic (nor Mako and Pygments with it), which stay in a process's memory for good once
imported: about 8 MiB of a bot's resident memory, for a step done once per upgrade.

The parent hands the database URL and the plugins' migration folders over standard input (a
password in the URL stays off the process list). If the child fails, the bot migrates in its own
process as before, and reports what went wrong there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

log = logging.getLogger("opsbot.storage")

TIMEOUT = 600.0


async def migrate_apart(url: str, plugins: list[tuple[str, str | None]]) -> bool:
    """Run the migrations in a child process; whether it succeeded."""
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "opsbot.migrate_apart",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        request = json.dumps({"url": url, "plugins": plugins}).encode()
        async with asyncio.timeout(TIMEOUT):
            _, errors = await child.communicate(request)
    except (OSError, TimeoutError) as error:
        log.warning("could not migrate in a child process (%s); migrating here", error)
        return False
    if child.returncode != 0:
        last = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        log.warning("migrating in a child process failed (%s); migrating here", last[0])
        return False
    return True


def main() -> None:
    from .storage import Storage

    request = json.load(sys.stdin)
    plugins = [(str(name), versions) for name, versions in request["plugins"]]

    async def go() -> None:
        storage = Storage(request["url"])
        await storage.connect()
        try:
            await storage.migrate(plugins)
        finally:
            await storage.close()

    asyncio.run(go())


if __name__ == "__main__":
    main()
