"""The seams plugins stand on: a plugin's web part serves only its own paths, its jobs stay in
its namespace, and the one identity rules (handle, who is WHO) say what they promise."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from opsbot.config import WebConfig
from opsbot.events import Identity
from opsbot.web import Web


async def nothing(request: web.Request) -> web.Response:
    return web.Response(text="")


def test_a_plugin_serves_its_own_paths_and_no_others() -> None:
    site = Web(WebConfig())
    mine = site.mount("kudos", ("/kudos",))
    mine.add("/kudos", nothing)
    mine.add("/kudos/{category}", nothing)
    mine.add("/api/kudos", nothing)
    for path in ("/meetings/", "/kudosx", "/api/people/{id}", "/"):
        with pytest.raises(ValueError, match="may not serve"):
            mine.add(path, nothing)
    nowhere = site.mount("quiet", ())
    with pytest.raises(ValueError, match="declares no web_paths"):
        nowhere.add("/quiet", nothing)


def test_a_plugins_templates_are_named_by_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("hello {{ who }}")
    site = Web(WebConfig())
    site.mount("kudos", ("/kudos",)).templates(tmp_path)
    assert site.env.get_template("kudos:page.html").render(who="bob") == "hello bob"


def test_one_identity_key_and_one_who_is_who() -> None:
    proven = Identity("irc", "alice", "Alice")
    unproven = Identity("irc", None, "Bob")
    assert proven.handle == ("irc", "alice")
    assert unproven.handle == ("irc", "~bob")
    assert proven.is_seen_as("irc", "someone-else", "alice"), "an account wins over a nick"
    assert not proven.is_seen_as("irc", "alice", "mallory"), "a nick never stands for an account"
    assert unproven.is_seen_as("irc", "BOB", None)
    assert not unproven.is_seen_as("matrix", "bob", None), "another network is another person"


def test_templates_added_after_the_first_page_are_found(tmp_path: Path) -> None:
    """The template engine is loaded at the first page; a plugin's folder added later (a
    plugin set up after another served a page) is still found."""
    site = Web(WebConfig())
    assert "env" not in site.__dict__, "nothing loads the template engine before a page"
    assert site.env.get_template("opsbot:base.html") is not None
    (tmp_path / "late.html").write_text("late {{ who }}")
    site.templates("late", tmp_path)
    assert site.env.get_template("late:late.html").render(who="bob") == "late bob"


def test_the_sites_public_urls_and_each_networks_prefix() -> None:
    from opsbot.config import Config

    assert WebConfig(listen="127.0.0.1:8081").url("/meetings") == "http://127.0.0.1:8081/meetings"
    public = WebConfig(base_url="https://meetings.example.org/")
    assert public.url("meetings/") == "https://meetings.example.org/meetings/"
    assert public.public_base() == "https://meetings.example.org/"
    config = Config.model_validate(
        {
            "bot": {"prefix": "!"},
            "networks": [
                {"type": "console"},
                {"type": "irc", "name": "oftc", "host": "irc.oftc.net", "prefix": "?"},
            ],
        }
    )
    assert config.prefix_for("oftc") == "?" and config.prefix_for("console") == "!"
    assert config.prefix_for("nowhere") == "!"
