"""Outputs of a transcript covering every command, compared with the expected minutes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from opsbot_plugins.meetings.engine import Settings, replay
from opsbot_plugins.meetings.files import write_outputs
from opsbot_plugins.meetings.paths import basename
from opsbot_plugins.meetings.transcript import read

FIXTURES = Path(__file__).parent / "fixtures"
TRANSCRIPT = FIXTURES / "ops_meetup_team.2026-11-24-14.00.log.txt"
BASE = "ops_meetup_team/2026/ops_meetup_team.2026-11-24-14.00"


@pytest.fixture
def written(tmp_path: Path) -> Path:
    transcript = read(TRANSCRIPT)
    assert transcript.problems == [(37, "this line is not a transcript line")]
    meeting = replay(transcript.lines, "oftc", "#openstack-operators", Settings())
    base, _ = write_outputs(meeting, tmp_path, url_prefix="https://meetings.example.org")
    assert base == BASE
    return tmp_path / BASE


@pytest.mark.parametrize("extension", ["txt", "md", "json", "log.txt"])
def test_outputs_match_the_expected_minutes(written: Path, extension: str) -> None:
    produced = written.with_name(f"{written.name}.{extension}").read_text()
    assert produced == (FIXTURES / f"expected.{extension}").read_text()


def test_the_json_record_has_the_documented_fields(written: Path) -> None:
    record = json.loads(written.with_name(written.name + ".json").read_text())
    assert record["meeting_name"] == "ops_meetup_team"
    assert (record["channel"], record["network"]) == ("#openstack-operators", "oftc")
    assert (
        record["start"] == "2026-11-24T14:00:47+00:00"
        and record["end"] == "2026-11-24T14:06:00+00:00"
    )
    assert record["chairs"] == ["mihalis68", "shintaro"]
    assert record["topics"] == [
        "Roll call",
        'Berlin <script>alert("topic")</script> meetup',
        "Open floor",
    ]
    assert [i["kind"] for i in record["items"]][:5] == ["TOPIC", "TOPIC", "LINK", "LINK", "INFO"]
    assert record["actions"][0] == {
        "text": "shintaro and BOB to book the venue",
        "owners": ["shintaro", "bob"],
        "line": 16,
    }
    assert record["actions_by_person"]["Erin"] == ["erin to draft the schedule"]
    assert record["people_present"]["bob"] == 7 and record["people_present"]["openstack"] == 3
    assert record["votes"][0]["counts"] == {"March": 2, "April": 1}
    assert record["votes"][0]["voters"] == {"March": ["bob", "dave[m]"], "April": ["shintaro"]}
    assert record["votes"][1]["motion"] is True


def test_html_shows_every_payload_as_text(written: Path) -> None:
    for extension in (".html", ".log.html"):
        page = written.with_name(written.name + extension).read_text()
        assert "<script>" not in page and "<img" not in page
        assert (
            "&lt;script&gt;alert(&#34;topic&#34;)&lt;/script&gt;" in page
            or "&lt;script&gt;" in page
        )
        assert not re.search(r"<[^>]*onerror=", page)


def test_the_log_anchors_every_line_and_minutes_link_to_them(written: Path) -> None:
    log = written.with_name(written.name + ".log.html").read_text()
    minutes = written.with_name(written.name + ".html").read_text()
    assert 'id="l-0"' in log and 'id="l-40"' in log
    assert 'href="ops_meetup_team.2026-11-24-14.00.log.html#l-16"' in minutes  # the first action


def test_minutes_for_phones_with_a_way_back_and_only_labels_bold(written: Path) -> None:
    for extension in (".html", ".log.html"):
        page = written.with_name(written.name + extension).read_text()
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
        assert '<a href="../../ops_meetup_team/">All ops_meetup_team meetings</a>' in page
    minutes = written.with_name(written.name + ".html").read_text()
    style = minutes.split("<style>", 1)[1].split("</style>", 1)[0]
    bold = {rule.split("{")[0].strip() for rule in style.split("}") if "font-weight: bold" in rule}
    assert bold == {".kind", ".topic > a"}, "a topic's title and the item labels, not the texts"


def test_markdown_escapes_markup() -> None:
    text = (FIXTURES / "expected.md").read_text()
    assert "&lt;script&gt;" in text and "<script>" not in text


def test_paths_never_leave_the_output_folder() -> None:
    from datetime import UTC, datetime

    start = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert basename("../../etc", start, "{name}/x") == "etc/x"
    assert basename("a", start, "/abs/{name}") == "abs/a"
    assert basename("ok", start) == "ok/2026/ok.2026-01-02-03.04"
