"""Decorators attach their rules as data; per-room config; the plugin base's services."""

from __future__ import annotations

import pytest

from opsbot.events import Message, Role, Room
from opsbot.plugin import (
    CommandSpec,
    Context,
    Plugin,
    PluginConfig,
    RateSpec,
    command,
    cron,
    interval,
    match,
    on,
    rate,
    require,
    require_account,
    room_config,
    rules_of,
)


class Sample(Plugin):
    """First line of the description.

    More detail that help does not show.
    """

    class Config(PluginConfig):
        pad: str = "default-pad"
        limit: int = 3

    @command("kudos", aliases=["thanks"], usage="WHO REASON", help="Thank someone.")
    @require_account
    @require(Role.VOICE)
    @rate(user=10, room=2)
    async def give(self, ctx: Context) -> None: ...

    @on(Message, own=True)
    @match(r"^#info")
    async def passive(self, ctx: Context) -> None: ...

    @cron(hour=9)
    @interval(minutes=5)
    async def job(self) -> None: ...

    async def plain(self) -> None: ...


def test_decorators_record_rules_in_any_order() -> None:
    rules = rules_of(Sample.give)
    assert rules is not None
    assert rules.command == CommandSpec("kudos", ("thanks",), "WHO REASON", "Thank someone.")
    assert rules.account and rules.role is Role.VOICE and rules.rate == RateSpec(user=10, room=2)
    passive = rules_of(Sample.passive)
    assert passive is not None and passive.is_passive and passive.own_messages
    assert passive.on == [Message] and passive.match[0].pattern == "^#info"
    job = rules_of(Sample.job)
    assert job is not None and job.cron == [{"hour": 9}] and job.interval == [{"minutes": 5}]
    assert rules_of(Sample.plain) is None


def test_command_names_are_checked() -> None:
    with pytest.raises(ValueError, match="invalid command name 'Bad Name'"):
        command("Bad Name")
    with pytest.raises(ValueError, match="invalid command name '!x'"):
        command("ok", aliases=["!x"])


def test_description_is_the_first_docstring_line() -> None:
    assert Sample.description() == "First line of the description."


def test_room_overrides_merge_over_the_plugin_config() -> None:
    base = Sample.Config.model_validate(
        {"limit": 5, "rooms": {"irc:#ops": {"pad": "ops-meetups-team"}}}
    )
    sample = Sample(None, "sample", base)  # type: ignore[arg-type]
    here = sample.config_for(Room("irc", "#ops"))
    assert isinstance(here, Sample.Config) and (here.pad, here.limit) == ("ops-meetups-team", 5)
    assert sample.config_for(Room("irc", "#other")) is base
    assert sample.config_for(Room("irc", "#ops")) is here  # validated once, then cached
    assert room_config(base, "irc:#ops") == here
    assert sample.job_id("remind") == "sample:remind"
