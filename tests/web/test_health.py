"""/metrics in Prometheus' text format (parsed with prometheus-client's own parser), /healthz and
/readyz: ready once started with every network connected and the database answering."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from opsbot.events import Connected, Disconnected

from .site import SiteFactory, base, meeting


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_events_lines_commands_and_the_outbox(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    await meeting(bot)
    await bot.irc.say("bob", "!help")
    bot.bot.outbox.add("nowhere", "target", {"text": "waits: nobody delivers this channel"})
    await bot.bot.outbox.writer.flush()
    async with http.get(base(bot) + "/metrics") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        found = samples(await response.text())
    said = found[("opsbot_events_in_total", (("kind", "message"), ("network", "irc")))]
    assert said >= 5
    assert found[("opsbot_meeting_lines_logged_total", (("network", "irc"),))] >= 5
    assert found[("opsbot_messages_out_total", (("network", "irc"),))] >= 3
    assert found[("opsbot_command_seconds_count", (("command", "help"),))] == 1
    assert found[("opsbot_outbox_depth", (("channel", "nowhere"),))] == 1
    assert found[("opsbot_outbox_oldest_seconds", (("channel", "nowhere"),))] >= 0
    assert found[("opsbot_network_connected", (("network", "irc"),))] == 1
    assert found[("opsbot_database_up", ())] == 1


async def test_ready_when_started_and_connected_and_not_when_a_network_is_lost(
    site_bot: SiteFactory, http: aiohttp.ClientSession
) -> None:
    bot = await site_bot()
    url = base(bot)
    async with http.get(url + "/healthz") as alive:
        assert alive.status == 200 and await alive.text() == "ok\n"
    async with http.get(url + "/readyz") as ready:
        assert ready.status == 200
        assert await ready.json() == {"ready": True, "problems": []}
    await bot.irc.transport.deliver(Disconnected(network="irc", reason="netsplit"))
    await bot.irc.settle()
    async with http.get(url + "/readyz") as lost:
        assert lost.status == 503
        assert await lost.json() == {"ready": False, "problems": ["network irc not connected"]}
    async with http.get(url + "/metrics") as response:
        found = samples(await response.text())
    assert found[("opsbot_network_connected", (("network", "irc"),))] == 0
    await bot.irc.transport.deliver(Connected(network="irc", me=bot.irc.transport.me))
    await bot.irc.settle()
    async with http.get(url + "/readyz") as back:
        assert back.status == 200
    async with http.get(url + "/metrics") as response:
        found = samples(await response.text())
    assert found[("opsbot_reconnects_total", (("network", "irc"),))] == 1
