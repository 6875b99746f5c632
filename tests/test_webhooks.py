"""Webhooks' config, body and signature (the delivery is tested on a real receiver in
tests/integration/test_webhooks.py)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from opsbot.config import ConfigError, parse_config
from opsbot.domain import ActionItemClosed, KudosGiven, MeetingEnded
from opsbot.webhooks import body_of, event_key, signature


def hook(**over: object) -> dict[str, object]:
    return {"name": "ci", "url": "https://ci.example.org/hook", "secret": "x" * 16,
            "events": ["MeetingEnded"], **over}  # fmt: skip


@pytest.mark.parametrize(
    ("over", "error"),
    [
        ({"events": ["MeetingExploded"]}, "webhooks[0].events[0]"),
        ({"events": []}, "webhooks[0].events"),
        ({"secret": "short"}, "webhooks[0].secret"),
        ({"url": "ftp://x"}, "webhooks[0].url"),
    ],
)
def test_a_bad_webhook_is_refused_naming_its_key(over: dict[str, object], error: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config({"webhooks": [hook(**over)]}, source="t", env={})
    assert error in str(refused.value)


def test_two_webhooks_of_one_name_are_refused() -> None:
    with pytest.raises(ConfigError, match="two webhooks are named 'ci'"):
        parse_config({"webhooks": [hook(), hook()]}, source="t", env={})


def test_the_secret_comes_from_the_environment() -> None:
    config = parse_config(
        {"webhooks": [hook(secret="${HOOK_SECRET}")]}, source="t", env={"HOOK_SECRET": "y" * 20}
    )
    assert config.webhooks[0].secret == "y" * 20


def test_the_body_is_versioned_json_without_the_minutes_text_and_signed() -> None:
    event = MeetingEnded(
        meeting_id=3, network="irc", room="#ops", meeting_name="ops",
        links={".html": "https://m/ops.html"}, actions=(("fix it", ("bob",)),),
        minutes_text="a long text",
    )  # fmt: skip
    body = body_of(event, event_key(event))
    assert (
        body["version"] == 1 and body["event"] == "MeetingEnded" and body["id"] == "MeetingEnded:3"
    )
    assert body["data"]["actions"] == [["fix it", ["bob"]]]
    assert "minutes_text" not in body["data"]
    raw = json.dumps(body).encode()
    expected = hmac.new(b"k" * 16, raw, hashlib.sha256).hexdigest()
    assert signature("k" * 16, raw) == f"sha256={expected}"


def test_one_event_has_one_key_whoever_emits_it() -> None:
    closed = ActionItemClosed(
        meeting_id=1, network="irc", room="#ops", meeting_name="ops", action_id=7, text="t",
        closed_by=("bob", None),
    )  # fmt: skip
    kudos = KudosGiven(
        kudos_id=9, network="irc", room="#ops", giver=("irc", "a"), receiver=("irc", "b"),
        receiver_nick="b", category="review", reason="r",
    )  # fmt: skip
    assert event_key(closed) == "ActionItemClosed:7"
    assert event_key(kudos) == "KudosGiven:9"
