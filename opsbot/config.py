"""config.yaml: pydantic models of every key, ${ENV} substitution for secrets, readable errors.

Errors name the key path and the reason (``networks[1].port: Input should be a valid integer``)
so that ``opsbot check-config`` and start-up can print them without a traceback. Every key of
the bot's own config is in this one module on purpose (it is over 400 lines): an operator and
``check-config`` read one place.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import matrix_ids


class ConfigError(Exception):
    """The configuration is invalid; each problem is ``(key path, reason)``."""

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        lines = [
            f"{where}{path}: {reason}" if path else f"{where}{reason}"
            for path, reason in self.problems
        ]
        return "\n".join(lines)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogConfig(Model):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: Path | None = None
    """Log to this file (its folder is created); None logs to standard error."""
    format: Literal["text", "json"] = "text"
    """json: one JSON object a line (time, level, logger, message, network, room)."""


class BotConfig(Model):
    nick: str = "opsbot"
    prefix: str = Field(default="!", min_length=1, max_length=3)
    admins: list[str] = []
    """Bot admins as ``network:account`` (``oftc:alice``, ``matrix:@alice:example.org``)."""
    timezone: str = "UTC"
    reply_unknown_command: bool = True

    @field_validator("admins")
    @classmethod
    def _admins_have_networks(cls, admins: list[str]) -> list[str]:
        for admin in admins:
            network, _, account = admin.partition(":")
            if not network or not account:
                raise ValueError(f"{admin!r} is not network:account")
        return admins

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name


class DatabaseConfig(Model):
    url: str = "sqlite+aiosqlite:///var/opsbot.db"
    """SQLAlchemy URL: sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PW@HOST/DB."""
    connect_timeout: float = Field(default=10.0, gt=0)
    spool_dir: Path = Path("var/spool")
    """Local folder where lines, kudos and records wait while the database is away (written
    there as they arrive, stored when it is back, then removed). Keep it on local disk."""
    lease: bool = True
    """On PostgreSQL: one process of those sharing the database is the bot, the others stand by
    and take over when it is gone (a session advisory lock; see README, "Running in
    production"). False: no lock (one process only, or you arrange it yourself)."""


class NetworkBase(Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    prefix: str | None = None
    """Command prefix on this network, if not the bot's."""


class ConsoleNetwork(NetworkBase):
    type: Literal["console"]
    name: str = "console"
    speaker: str = "you"
    """Who you are when you type; `/nick NAME` changes it."""
    room: str = "#console"


class MemoryNetwork(NetworkBase):
    """An in-process network for tests and benchmarks."""

    type: Literal["memory"]
    style: Literal["irc", "matrix"] = "irc"
    rooms: list[str] = []


class SaslConfig(Model):
    mechanism: Literal["PLAIN", "EXTERNAL"] = "PLAIN"
    account: str | None = None
    password: str | None = None


class FloodConfig(Model):
    """Outgoing flood control: a token bucket. The defaults stay under fakelag on the big
    networks (a burst of 4 lines, then one a second)."""

    burst: int = Field(default=4, ge=1)
    per_second: float = Field(default=1.0, gt=0)


class ReconnectConfig(Model):
    min_delay: float = Field(default=2.0, gt=0)
    max_delay: float = Field(default=300.0, gt=0)
    ping_timeout: float = Field(default=240.0, gt=0)
    """Seconds without a word from the server before the link counts as dead."""


class IrcNetwork(NetworkBase):
    type: Literal["irc"]
    host: str
    port: int = Field(default=6697, ge=1, le=65535)
    tls: bool = True
    tls_verify: bool = True
    tls_ca: Path | None = None
    """PEM file of the certificate authority to trust (a private network); default: the system's."""
    client_cert: Path | None = None
    """PEM file with certificate and key, for SASL EXTERNAL (CertFP)."""
    nick: str | None = None
    """Defaults to bot.nick."""
    alt_nicks: list[str] = []
    regain_interval: float = Field(default=30.0, gt=0)
    """Seconds between checks whether the nick is free again, while on an alternate."""
    username: str = "opsbot"
    realname: str = "opsbot, a bot for cloud operators"
    sasl: SaslConfig | None = None
    nickserv_password: str | None = None
    channels: list[str] = []
    """Channels to join; ``"#chan key"`` for a keyed channel."""
    notice_replies: bool = False
    """Answer with NOTICE instead of PRIVMSG."""
    flood: FloodConfig = FloodConfig()
    reconnect: ReconnectConfig = ReconnectConfig()


class InviteRules(Model):
    """Whose invitations the bot accepts to rooms it is not configured for (invitations to the
    network's ``rooms`` are always accepted); every other invitation is declined."""

    users: list[str] = []
    """Matrix user IDs, e.g. ``@alice:example.org``."""
    servers: list[str] = []
    """Homeservers whose users may invite the bot, e.g. ``example.org``."""


class MatrixRetry(Model):
    rate_limit_retries: int = Field(default=5, ge=0)
    """Requests refused with M_LIMIT_EXCEEDED are retried this often, after the wait the
    homeserver asks for; then the request fails."""
    min_delay: float = Field(default=1.0, gt=0)
    max_delay: float = Field(default=120.0, gt=0)
    """Backoff bounds while the homeserver cannot be reached."""
    send_attempts: int = Field(default=4, ge=1)
    """Tries of one message while the homeserver is unreachable (same transaction ID: the
    homeserver never posts it twice)."""


class MatrixNetwork(NetworkBase):
    type: Literal["matrix"]
    homeserver: str
    user_id: str = Field(pattern=r"^@[^:]+:.+$")
    password: str | None = None
    access_token: str | None = None
    device_name: str = "opsbot"
    rooms: list[str] = []
    """Rooms to be in, by ID (``!abc:example.org``, or ``!hash`` from room version 12 on) or
    alias (``#ops:example.org``). An invitation to one of them is always accepted: listing it
    is the operator's consent."""
    invites: InviteRules = InviteRules()
    notice_replies: bool = True
    """Answer with m.notice (what bots should send) rather than m.text."""
    sync_timeout: float = Field(default=30.0, gt=0)
    """Seconds the homeserver may hold a sync open waiting for news."""
    retry: MatrixRetry = MatrixRetry()
    e2e: bool = False
    """Take part in end-to-end encrypted rooms (needs ``pip install opsbot[e2e]``)."""
    store_path: Path = Path("var/matrix-store")
    """Where the encryption keys of this device are kept (with ``e2e``); keep it with the
    database: losing it means the bot can no longer read what was encrypted for it."""

    @field_validator("rooms")
    @classmethod
    def _rooms_are_rooms(cls, rooms: list[str]) -> list[str]:
        wrong = [room for room in rooms if not matrix_ids.is_room(room)]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong))}: not {matrix_ids.WHAT}")
        return rooms

    @model_validator(mode="after")
    def _has_credentials(self) -> MatrixNetwork:
        if not (self.password or self.access_token):
            raise ValueError("give a password or an access_token")
        return self


Network = Annotated[
    ConsoleNetwork | MemoryNetwork | IrcNetwork | MatrixNetwork, Field(discriminator="type")
]
NETWORK_TYPES = ("console", "memory", "irc", "matrix")


class IrcPuppets(Model):
    """How the bridge's Matrix people look on IRC. A line is a puppet's when any rule matches."""

    nick_suffix: str | None = Field(default=None, min_length=1)
    """What the bridge adds to a Matrix person's nick (matrix-appservice-irc: ``[m]``)."""
    hosts: list[str] = []
    """Hosts of the bridge's IRC connections, as globs (``*.matrix.org``, ``127.0.0.1``)."""
    realname: str | None = None
    """The realname's pattern when it carries the Matrix ID: ``{mxid}`` (matrix-appservice-irc's
    ``realnameFormat: mxid``), or ``@{localpart}:example.org``."""
    hashed_ident: bool = False
    """The ident is heisenbridge's hash of the Matrix ID (``m-`` and six letters): a Matrix ID
    the bot can guess (the room's members, ``@{nick}:{matrix_server}``) is proven by it."""
    matrix_server: str | None = None
    """The homeserver of the bridge's Matrix people, for guesses like ``@{nick}:{server}``."""
    relay_nicks: list[str] = []
    """Nicks that relay other people's lines as ``<name> text`` (heisenbridge's plumbed rooms)."""

    @field_validator("realname")
    @classmethod
    def _carries_an_id(cls, pattern: str | None) -> str | None:
        if pattern is not None and "{mxid}" not in pattern and "{localpart}" not in pattern:
            raise ValueError("must hold {mxid} or {localpart}")
        return pattern


class MatrixPuppets(Model):
    """How the bridge's IRC people look on Matrix."""

    user: str
    """Their user IDs, ``{nick}`` standing for the IRC nick: ``@_oftc_{nick}:matrix.org``
    (matrix-appservice-irc), ``@irc_oftc_{nick}:example.org`` (heisenbridge)."""
    bot: str | None = None
    """The bridge's own user: its lines are the bridge's, never a person's."""

    @field_validator("user")
    @classmethod
    def _names_the_nick(cls, pattern: str) -> str:
        if not re.fullmatch(r"@[^:]*\{nick\}[^:]*:\S+", pattern):
            raise ValueError(f"{pattern!r} is not a user ID with {{nick}} in its localpart")
        return pattern

    @field_validator("bot")
    @classmethod
    def _is_user(cls, user: str | None) -> str | None:
        if user is not None and not re.fullmatch(r"@[^:]+:\S+", user):
            raise ValueError(f"{user!r} is not a Matrix user ID (@name:server)")
        return user


class BridgedRoom(Model):
    irc: str
    """The IRC channel."""
    matrix: str
    """The Matrix room bridged to it, by ID or alias."""

    @field_validator("irc")
    @classmethod
    def _is_channel(cls, channel: str) -> str:
        if not re.fullmatch(r"[#&!+][^\s,]+", channel):
            raise ValueError(f"{channel!r} is not an IRC channel (#name)")
        return channel

    @field_validator("matrix")
    @classmethod
    def _is_room(cls, room: str) -> str:
        if not matrix_ids.is_room(room):
            raise ValueError(f"{room!r} is not {matrix_ids.WHAT}")
        return room


class BridgeConfig(Model):
    """One bridge between an IRC network and Matrix, as it is seen from either side: its rooms
    are each one room for the bot (one meeting, one log), its puppets stand for people."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    style: Literal["matrix-appservice-irc", "heisenbridge", "other"] = "other"
    """How the bridge relays Matrix edits to IRC: ``* the whole new text`` and ``s/old/new/``
    (matrix-appservice-irc, other), or ``* the changed words`` (heisenbridge)."""
    irc_network: str
    """The name of the IRC network in ``networks:`` (or the name its people are credited under,
    when the bot is only on the Matrix side)."""
    matrix_network: str
    """Likewise, the Matrix network's name."""
    rooms: list[BridgedRoom] = Field(min_length=1)
    irc_puppets: IrcPuppets = IrcPuppets()
    matrix_puppets: MatrixPuppets
    window: float = Field(default=5.0, gt=0, le=60)
    """Seconds the bridge's copy of a line may lag the line itself (on both sides, the copy is
    dropped when the line arrives within it; else it is logged, as the person's)."""
    answer: Literal["asked", "both"] = "asked"
    """Where the bot answers when it is on both sides: on the side it was asked (the bridge
    carries the answer over), or on both (for a bridge that does not relay the bot)."""

    @model_validator(mode="after")
    def _puppets_recognisable(self) -> BridgeConfig:
        irc = self.irc_puppets
        if not (irc.nick_suffix or irc.hosts or irc.relay_nicks):
            raise ValueError(
                "irc_puppets: give nick_suffix, hosts or relay_nicks, so the bridge's copies "
                "of Matrix lines are recognised"
            )
        if irc.hashed_ident and not irc.hosts:
            raise ValueError("irc_puppets.hashed_ident needs the bridge's hosts")
        return self


class PluginsConfig(BaseModel):
    """``enabled`` lists plugins to load; every other key is one plugin's own section."""

    model_config = ConfigDict(extra="allow", frozen=True)

    enabled: list[str] = ["core", "meetings"]

    def section(self, name: str) -> dict[str, Any]:
        extra = self.model_extra or {}
        value = extra.get(name)
        return dict(value) if isinstance(value, Mapping) else {}

    def sections(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class WebConfig(Model):
    """The bot's web site: meeting archive, search, people and kudos pages, JSON API."""

    enabled: bool = True
    listen: str = Field(default="127.0.0.1:8080", pattern=r"^[^\s:]+:\d{1,5}$")
    """host:port to serve on (port 0: any free port)."""
    base_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    """Public URL of the site, used in the bot's links (default: http://listen)."""

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    def public_base(self, port: int | None = None) -> str:
        """Where the site is for the world (``port``: the one it serves on, if known)."""
        return self.base_url or f"http://{self.host}:{port or self.port}"

    def url(self, path: str, port: int | None = None) -> str:
        """The public URL of a path of the site."""
        return self.public_base(port).rstrip("/") + "/" + path.lstrip("/")


WEBHOOK_EVENTS = (
    "MeetingStarted",
    "MeetingEnded",
    "ActionItemRecorded",
    "ActionItemClosed",
    "KudosGiven",
)


class WebhookConfig(Model):
    """One URL the bot POSTs domain events to (see README, "Webhooks")."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    url: str = Field(pattern=r"^https?://\S+$")
    secret: str
    """Key of the X-Opsbot-Signature HMAC, 16 characters or more; write it as ${NAME}."""
    events: list[Literal[WEBHOOK_EVENTS]] = Field(min_length=1)  # type: ignore[valid-type]
    restricted: bool = False
    """Also send the events of meetings held under #restrictlogs."""
    timeout: float = Field(default=10.0, gt=0, le=120)
    retry_min: float = Field(default=1.0, gt=0)
    retry_max: float = Field(default=300.0, gt=0)

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        # Left as written (``${NAME}``) for the tools that only read the database.
        if len(value) < 16 and not UNEXPANDED.fullmatch(value):
            raise ValueError("the secret must be 16 characters or more")
        return value


class Config(Model):
    bot: BotConfig = BotConfig()
    database: DatabaseConfig = DatabaseConfig()
    web: WebConfig = WebConfig()
    networks: list[Network] = [ConsoleNetwork(type="console")]
    log: LogConfig = LogConfig()
    plugins: PluginsConfig = PluginsConfig()
    bridges: list[BridgeConfig] = []
    """IRC channels and Matrix rooms that a bridge joins (see README, "Rooms bridged between
    IRC and Matrix")."""
    webhooks: list[WebhookConfig] = []

    @field_validator("webhooks")
    @classmethod
    def _unique_webhooks(cls, hooks: list[WebhookConfig]) -> list[WebhookConfig]:
        names = [hook.name for hook in hooks]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"two webhooks are named {twice[0]!r}")
        return hooks

    @field_validator("networks")
    @classmethod
    def _unique_names(cls, networks: list[NetworkBase]) -> list[NetworkBase]:
        seen: set[str] = set()
        for net in networks:
            if net.name in seen:
                raise ValueError(f"two networks are named {net.name!r}")
            seen.add(net.name)
        if sum(isinstance(n, ConsoleNetwork) for n in networks) > 1:
            raise ValueError("at most one console network")
        return networks

    @field_validator("bridges")
    @classmethod
    def _bridges_fit_networks(
        cls, bridges: list[BridgeConfig], info: ValidationInfo
    ) -> list[BridgeConfig]:
        problems = bridge_problems(info.data.get("networks") or [], bridges)
        if problems:
            raise ValueError("; ".join(problems))
        return bridges

    def prefix_for(self, network: str) -> str:
        """The command prefix people use on ``network``: its own, else the bot's."""
        own = next((n.prefix for n in self.networks if n.name == network), None)
        return own or self.bot.prefix


def _network_style(network: NetworkBase) -> str:
    if isinstance(network, MemoryNetwork):
        return network.style
    return getattr(network, "type", "")


def bridge_problems(networks: Sequence[NetworkBase], bridges: Sequence[BridgeConfig]) -> list[str]:
    """What makes the bridges unusable with these networks: each side a network of its kind
    (when configured), at least one side the bot is on, no room in two bridges."""
    problems: list[str] = []
    by_name = {n.name: n for n in networks}
    seen: dict[str, str] = {}
    names: set[str] = set()
    for i, bridge in enumerate(bridges):
        where = f"bridges[{i}] ({bridge.name})"
        if bridge.name in names:
            problems.append(f"{where}: two bridges are named {bridge.name!r}")
        names.add(bridge.name)
        if bridge.irc_network == bridge.matrix_network:
            problems.append(
                f"{where}: irc_network and matrix_network are both {bridge.irc_network!r}"
            )
        present = 0
        for key, kind in (("irc_network", "irc"), ("matrix_network", "matrix")):
            network = by_name.get(getattr(bridge, key))
            if network is None:
                continue
            present += 1
            if _network_style(network) != kind:
                problems.append(f"{where}.{key}: {network.name!r} is not an {kind} network")
        if not present:
            known = ", ".join(by_name) or "none"
            problems.append(
                f"{where}: the bot is on neither {bridge.irc_network!r} nor "
                f"{bridge.matrix_network!r} (networks: {known})"
            )
        for room in bridge.rooms:
            for key in (
                f"{bridge.irc_network}:{room.irc.casefold()}",
                f"{bridge.matrix_network}:{room.matrix}",
            ):
                if key in seen:
                    problems.append(f"{where}: {key} is bridged twice (also in {seen[key]})")
                seen[key] = where
    return problems


def bridge_notes(config: Config) -> list[str]:
    """What an operator may have forgotten about the bridges (no error: the bot may be asked
    to join later): a side whose network the bot is on, but whose room it is not told to join."""
    notes: list[str] = []
    by_name = {n.name: n for n in config.networks}
    for i, bridge in enumerate(config.bridges):
        irc, matrix = by_name.get(bridge.irc_network), by_name.get(bridge.matrix_network)
        for room in bridge.rooms:
            if isinstance(irc, IrcNetwork) and room.irc.casefold() not in {
                c.split()[0].casefold() for c in irc.channels
            }:
                notes.append(
                    f"bridges[{i}] ({bridge.name}): {room.irc} is not in {irc.name}'s channels; "
                    "the bot sees that side once it joins it"
                )
            if isinstance(matrix, MatrixNetwork) and room.matrix not in matrix.rooms:
                notes.append(
                    f"bridges[{i}] ({bridge.name}): {room.matrix} is not in {matrix.name}'s "
                    "rooms; the bot sees that side once it joins it"
                )
    return notes


def room_problem(networks: Sequence[NetworkBase], target: str) -> str | None:
    """Why ``network:room`` names no room the bot could deliver to (None if it can): the
    network must be configured and the room written as that network writes rooms."""
    name, _, room = target.partition(":")
    network = next((n for n in networks if n.name == name), None)
    if network is None:
        known = ", ".join(n.name for n in networks) or "none"
        return f"{target!r}: no network named {name!r} (networks: {known})"
    if not room:
        return f"{target!r}: no room after the network's name"
    if isinstance(network, IrcNetwork) and room[0] not in "#&!+":
        return f"{target!r}: {room!r} is not an IRC channel"
    if isinstance(network, MatrixNetwork) and not matrix_ids.is_room(room):
        return f"{target!r}: {room!r} is not {matrix_ids.WHAT}"
    return None


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


UNEXPANDED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}")
"""A secret's ``${NAME}`` as written: what the read-only tools see instead of its value."""
_SECRET = re.compile(r"password|secret|token|api_key", re.IGNORECASE)


def is_secret(path: str) -> bool:
    """What only the running bot needs: the networks' logins and every key named like a
    secret (passwords, tokens, API keys). Tools that read the database never need them."""
    last = re.split(r"[.\[]", path)[-1]
    return path.startswith("networks") or _SECRET.search(last) is not None


def _substitute(
    value: Any,
    path: str,
    env: Mapping[str, str],
    problems: list[tuple[str, str]],
    secrets: bool,
) -> Any:
    if isinstance(value, str):

        def lookup(found: re.Match[str]) -> str:
            name, default = found.group(1), found.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            if not secrets and is_secret(path):
                return found.group(0)  # not needed here: left as written
            problems.append((path, f"environment variable {name} is not set"))
            return ""

        return _ENV.sub(lookup, value)
    if isinstance(value, dict):
        return {k: _substitute(v, _join(path, k), env, problems, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, f"{path}[{i}]", env, problems, secrets) for i, v in enumerate(value)]
    return value


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def key_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """``('networks', 1, 'irc', 'port')`` as ``networks[1].port`` (the union's tag dropped)."""
    path = prefix
    for i, part in enumerate(loc):
        if i == 2 and loc[0] == "networks" and part in NETWORK_TYPES:
            continue
        path = _join(path, part)
    return path


def validation_problems(error: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    return [(key_path(e["loc"], prefix), e["msg"]) for e in error.errors()]


def parse_config(
    data: Any,
    source: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    secrets: bool = True,
) -> Config:
    """Validate a loaded YAML document; raises ConfigError. Without ``secrets`` (command-line
    tools that only read the database), unset variables in secret keys (:func:`is_secret`)
    are no error."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [("", "the file must hold a mapping of keys (bot:, networks:, ...)")], source
        )
    problems: list[tuple[str, str]] = []
    data = _substitute(data, "", os.environ if env is None else env, problems, secrets)
    if problems:
        raise ConfigError(problems, source)
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(validation_problems(error), source) from None


def load_config(
    path: Path | str, env: Mapping[str, str] | None = None, *, secrets: bool = True
) -> Config:
    """Read and validate a config file; raises ConfigError (also for unreadable or bad YAML)."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError([("", f"cannot read the file: {error.strerror}")], source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise ConfigError(
            [
                (
                    "",
                    f"not UTF-8: byte 0x{raw[error.start]:02x} at line {line}, column {column} "
                    "(save the file as UTF-8)",
                )
            ],
            source,
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([("", f"not valid YAML: {where}{problem}")], source) from None
    return parse_config(data, source, env, secrets=secrets)
