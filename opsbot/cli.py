"""The ``opsbot`` command: run the bot, write a starter config, check a config, migrate, list plugins.

Exit status: 0 on success, 1 when something outside (the database) is unavailable, 2 for an
invalid config or command line; never a traceback for either.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import tzinfo
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import click

if TYPE_CHECKING:
    from .config import Config, LogConfig
    from .plugin import Plugin
    from .plugin_config import PluginConfig, RoomConfigs
    from .storage import Storage

T = TypeVar("T")
C = TypeVar("C", bound="PluginConfig")
CLI_ENTRY_POINTS = "opsbot.cli"
"""Plugins add command groups here (``meetings = "pkg.cli:meetings"``), imported lazily."""

DEFAULT_CONFIG = "config.yaml"
EXIT_UNAVAILABLE = 1
EXIT_CONFIG = 2


def resolve_config(path: str | None, *, secrets: bool = False) -> tuple[Config, str]:
    """The config from ``-c``, else ``$OPSBOT_CONFIG``, else ./config.yaml, else the built-in
    default (the console room and SQLite); returns it with a description of where it came from.
    Only ``run`` and ``check-config`` need the ``secrets`` (network logins, API keys) set."""
    from .config import Config, load_config

    chosen = path or os.environ.get("OPSBOT_CONFIG") or None
    if chosen is None and Path(DEFAULT_CONFIG).exists():
        chosen = DEFAULT_CONFIG
    if chosen is None:
        return Config(), "built-in defaults (console room, SQLite in ./var)"
    return load_config(chosen, secrets=secrets), chosen


def _fail(message: str, status: int) -> None:
    click.echo(message, err=True)
    sys.exit(status)


def config_or_exit(path: str | None, *, secrets: bool = False) -> tuple[Config, str]:
    """The config, or exit 2 with its problems printed."""
    from .config import ConfigError

    try:
        return resolve_config(path, secrets=secrets)
    except ConfigError as error:
        _fail(f"Invalid configuration:\n{_indent(str(error))}", EXIT_CONFIG)
        raise AssertionError from None  # unreachable: _fail exits


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine, turning the errors people cause or meet into a message and exit status."""
    import asyncio

    from .bot import StartupError
    from .config import ConfigError
    from .storage import StorageUnavailable

    try:
        return asyncio.run(make())
    except ConfigError as error:
        _fail(f"Invalid configuration:\n{_indent(str(error))}", EXIT_CONFIG)
    except StorageUnavailable as error:
        _fail(f"Database unavailable: {error}", EXIT_UNAVAILABLE)
    except StartupError as error:
        _fail(f"opsbot could not start: {error} (details in the log)", EXIT_UNAVAILABLE)
    raise AssertionError("unreachable")


ALWAYS_QUIET = ("aiosqlite",)
"""Libraries whose DEBUG lines carry what people said (every SQL statement's parameters): a
line someone redacted must not live on in a debug log."""
CHATTY_LIBRARIES = ("nio", "alembic", "apscheduler", "aiohttp.access", "peewee")


def setup_logging(config: LogConfig) -> None:
    handlers: list[logging.Handler] = []
    if config.file is not None:
        try:
            config.file.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(config.file, encoding="utf-8"))
        except OSError as error:
            _fail(f"Cannot open the log file {config.file}: {error.strerror}", EXIT_CONFIG)
    else:
        handlers.append(logging.StreamHandler(sys.stderr))
    from .logs import handler_for

    logging.basicConfig(
        level=config.level,
        handlers=[handler_for(handler, config.format) for handler in handlers],
        force=True,
    )
    for quiet in ALWAYS_QUIET:
        logging.getLogger(quiet).setLevel(logging.WARNING)
    if logging.getLogger().getEffectiveLevel() >= logging.INFO:
        # The bot's own lines at INFO (connections, meetings, deliveries), not the libraries'
        # chatter: matrix-nio logs every event, Alembic each plugin's set-up, APScheduler jobs.
        for chatty in CHATTY_LIBRARIES:
            logging.getLogger(chatty).setLevel(logging.WARNING)


config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"Config file (default: $OPSBOT_CONFIG, else ./{DEFAULT_CONFIG}, else built-in defaults).",
)


async def open_storage(
    config_path: str | None, plugins: Iterable[tuple[str, str | None]] = ()
) -> Storage:
    """The configured database, connected, with the core's tables and those of ``plugins``
    (``(name, versions folder)``) migrated; the caller closes it. For command-line tools."""
    config, _ = config_or_exit(config_path)
    return await _connect(config, plugins)


async def _connect(config: Config, plugins: Iterable[tuple[str, str | None]]) -> Storage:
    from .storage import Storage

    storage = Storage(config.database.url, connect_timeout=config.database.connect_timeout)
    await _prepare(storage, plugins)
    return storage


@dataclass(frozen=True)
class PluginTools(Generic[C]):
    """What a plugin's command-line tools get instead of the plugin: its config section as the
    bot would validate it (with each room's overrides), its migrated database and the bot's
    facts its rules read. Nothing of the plugin is built, so nothing of it runs; the caller
    closes ``storage``."""

    config: Config
    sections: RoomConfigs[C]
    storage: Storage

    @property
    def section(self) -> C:
        return self.sections.base

    @property
    def timezone(self) -> tzinfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.config.bot.timezone)

    def prefix_for(self, network: str) -> str:
        return self.config.prefix_for(network)

    @property
    def site_url(self) -> Callable[[str], str] | None:
        """The public URL of a path of the bot's site (None: the site is off)."""
        return self.config.web.url if self.config.web.enabled else None


async def open_tools(config_path: str | None, name: str, cls: type[Plugin]) -> PluginTools[Any]:
    """The config section, database and facts ``cls``'s command-line tools need."""
    from .loader import build_configs
    from .plugin_config import RoomConfigs

    config, _ = config_or_exit(config_path)
    section = build_configs({name: cls}, config.plugins)[name]
    storage = await _connect(config, [(name, cls.migrations_dir())])
    return PluginTools(config, RoomConfigs(section), storage)


async def _prepare(storage: Storage, plugins: Iterable[tuple[str, str | None]]) -> None:
    from .state import MIGRATIONS as STATE_MIGRATIONS

    await storage.connect()
    try:
        await storage.migrate([("opsbot", STATE_MIGRATIONS), *plugins])
    except BaseException:
        await storage.close()
        raise


class OpsbotGroup(click.Group):
    """The ``opsbot`` group: its own commands plus those plugins register under the
    ``opsbot.cli`` entry-point group, imported only when asked for."""

    def _plugin_commands(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group=CLI_ENTRY_POINTS)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugin_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = super().get_command(ctx, name)
        if found is not None:
            return found
        entry = self._plugin_commands().get(name)
        if entry is None:
            return None
        loaded = entry.load()
        return loaded if isinstance(loaded, click.Command) else None


@click.group(cls=OpsbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="opsbot")
def main() -> None:
    """opsbot: meetings, action items, kudos and contribution records for cloud operators."""


@main.command()
@config_option
def run(config_path: str | None) -> None:
    """Run the bot until Ctrl-C, SIGTERM, or the end of console input."""
    config, source = config_or_exit(config_path, secrets=True)
    setup_logging(config.log)
    logging.getLogger("opsbot").info("configuration from %s", source)
    from .bot import Bot

    async def go() -> None:
        bot = Bot(config)
        bot.migrate_apart = True
        await bot.run()

    run_async(go)


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing config.yaml.")
def init(directory: str, force: bool) -> None:
    """Write a starter config.yaml (every option explained) into DIRECTORY."""
    target = Path(directory) / DEFAULT_CONFIG
    if target.exists() and not force:
        _fail(f"{target} already exists; use --force to overwrite it.", EXIT_CONFIG)
    text = (Path(__file__).parent / "config.example.yaml").read_text(encoding="utf-8")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".yaml.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError as error:
        _fail(f"Cannot write {target}: {error.strerror}", EXIT_UNAVAILABLE)
    click.echo(f"Wrote {target}. Edit it, then: opsbot run -c {target}")


@main.command("check-config")
@config_option
def check_config(config_path: str | None) -> None:
    """Validate the config, including every plugin's section; exit 2 if it is invalid."""
    config, source = config_or_exit(config_path, secrets=True)
    from .config import ConfigError, bridge_notes
    from .loader import build_configs, load_classes
    from .transports import build_transport

    try:
        classes = load_classes(config.plugins)
        build_configs(classes, config.plugins, config.networks)
        for i, network in enumerate(config.networks):
            build_transport(i, network, config.bot)
    except ConfigError as error:
        _fail(f"Invalid configuration:\n{_indent(str(error))}", EXIT_CONFIG)
    networks = ", ".join(f"{n.name} ({n.type})" for n in config.networks)
    click.echo(f"{source}: valid. Networks: {networks}. Plugins: {', '.join(classes)}.")
    for bridge in config.bridges:
        rooms = ", ".join(f"{r.irc} = {r.matrix}" for r in bridge.rooms)
        click.echo(f"Bridge {bridge.name}: {rooms}.")
    for note in bridge_notes(config):
        click.echo(f"Note: {note}.")


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@config_option
def upgrade(config_path: str | None) -> None:
    """Run every enabled plugin's migrations up to the newest revision."""
    config, _ = config_or_exit(config_path)
    from .loader import load_classes
    from .state import MIGRATIONS as STATE_MIGRATIONS

    async def go() -> dict[str, str | None]:
        classes = load_classes(config.plugins)
        storage = await open_storage(config_path)
        try:  # the core's tables again: a no-op that reports their revision
            return await storage.migrate(
                [
                    ("opsbot", STATE_MIGRATIONS),
                    *((n, c.migrations_dir()) for n, c in classes.items()),
                ]
            )
        finally:
            await storage.close()

    done = run_async(go)
    for name, revision in done.items():
        click.echo(f"{name}: at {revision}")
    if not done:
        click.echo("No enabled plugin has tables.")


@main.command()
@config_option
def status(config_path: str | None) -> None:
    """The group sharing the database (which process is the bot) and what waits in the outbox."""
    config, _ = config_or_exit(config_path)
    from .status import report

    async def go() -> list[str]:
        storage = await open_storage(config_path)
        try:
            return await report(storage, config.database.url)
        finally:
            await storage.close()

    for line in run_async(go):
        click.echo(line)


@main.command()
@config_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--who", default=None, help="Only rows of this network:account.")
def audit(config_path: str | None, limit: int, who: str | None) -> None:
    """Refusals bot admins should know of (wrong link codes, lock-outs, self-kudos), newest first."""
    from .audit import Audit

    async def go() -> list[str]:
        storage = await open_storage(config_path)
        try:
            rows = await Audit(storage).recent(limit, who)
        finally:
            await storage.close()
        return [f"{r.ts:%Y-%m-%d %H:%M:%S} {r.who}  {r.action}: {r.detail}" for r in rows]

    lines = run_async(go)
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("Nothing in the audit trail.")


@main.group()
def people() -> None:
    """Linked identities: one person's accounts on several networks."""


def _people_run(config_path: str | None, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    from .people import People

    async def go() -> T:
        storage = await open_storage(config_path)
        try:
            return await work(People(storage))
        finally:
            await storage.close()

    return run_async(go)


def _key(text: str) -> tuple[str, str]:
    from .people import parse_key

    try:
        return parse_key(text)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@people.command("show")
@config_option
@click.argument("who")
def people_show(config_path: str | None, who: str) -> None:
    """Every identity linked to WHO (network:account)."""
    key = _key(who)
    for network, account in _people_run(config_path, lambda p: p.identities(key)):
        click.echo(f"{network}:{account}")


@people.command("export")
@config_option
@click.argument("who")
def people_export(config_path: str | None, who: str) -> None:
    """Everything opsbot keeps about WHO (network:account) and their linked identities, as
    JSON (what `!mydata` gives them)."""
    key = _key(who)
    config, _ = config_or_exit(config_path)
    from .loader import load_classes
    from .personal import personal_data

    classes = load_classes(config.plugins)

    async def go() -> dict[str, Any]:
        storage = await open_storage(config_path)
        try:
            return await personal_data(storage, classes, key)
        finally:
            await storage.close()

    click.echo(json.dumps(run_async(go), ensure_ascii=False, indent=1))


@people.command("forget")
@config_option
@click.argument("who")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def people_forget(config_path: str | None, who: str, yes: bool) -> None:
    """Forget WHO (network:account) and their linked identities, as `!forget me` does: links,
    preferences and kudos reasons removed, a pseudonym where their name stands in counts; the
    public minutes kept. Run it while the bot is stopped, or ask the person to say !forget me."""
    key = _key(who)
    config, _ = config_or_exit(config_path)
    if not yes:
        click.confirm(f"Forget {who} for good?", abort=True)
    from .loader import load_classes
    from .personal import forget

    classes = load_classes(config.plugins)

    async def go() -> str:
        storage = await open_storage(config_path)
        try:
            return await forget(storage, classes, key, by="an admin (command line)")
        finally:
            await storage.close()

    click.echo(f"{who} is forgotten: {run_async(go)} in what opsbot keeps now.")


@people.command("merge")
@config_option
@click.argument("first")
@click.argument("second")
def people_merge(config_path: str | None, first: str, second: str) -> None:
    """Make FIRST and SECOND (network:account each) one person."""
    a, b = _key(first), _key(second)
    _people_run(config_path, lambda p: p.link(a, b, by="admin (command line)"))
    click.echo(f"{first} and {second} are one person.")


@people.command("split")
@config_option
@click.argument("who")
def people_split(config_path: str | None, who: str) -> None:
    """Make WHO (network:account) a person of their own again."""
    key = _key(who)
    if _people_run(config_path, lambda p: p.split(key)):
        click.echo(f"{who} is a person of their own again.")
    else:
        click.echo(f"{who} was not linked to anyone.")


@main.command()
@config_option
def plugins(config_path: str | None) -> None:
    """List installed plugins and whether the config enables them."""
    config, _ = config_or_exit(config_path)
    from .loader import available

    enabled = set(config.plugins.enabled)
    for name, entry in sorted(available().items()):
        try:
            description = entry.load().description()
        except Exception as error:
            description = f"cannot be loaded: {error!r}"
        mark = "enabled " if name in enabled else "disabled"
        click.echo(f"{name:12} {mark}  {description}")
