"""Reading transcripts: MeetBot's text and HTML logs, opsbot's own, and malformed lines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from opsbot_plugins.meetings.transcript import date_of, html_to_text, parse, read


def test_lines_of_every_kind() -> None:
    rows = [
        "14:00:01 <alice> hello",
        "14:00:02 * bob waves",
        "14:00:03 -NickServ- notice",
        "14:00:04 *** carol has joined",
        "14:00:05 *** carol has left (bye)",
        "14:00:06 *** dave has quit (Ping timeout)",
        "14:00:07 *** erin is now known as erin_",
        "[14:08] <@op> short times and op marks",
        "2026-11-25T00:00:01 <late> ISO dates",
        "garbage",
        "14:00:99 <bad> impossible time",
    ]
    t = parse(rows, date(2026, 11, 24))
    kinds = [(line.kind, line.nick, line.text) for line in t.lines]
    assert kinds == [
        ("message", "alice", "hello"),
        ("action", "bob", "waves"),
        ("notice", "NickServ", "notice"),
        ("join", "carol", ""),
        ("part", "carol", "bye"),
        ("quit", "dave", "Ping timeout"),
        ("nick", "erin", "erin_"),
        ("message", "op", "short times and op marks"),
        ("message", "late", "ISO dates"),
    ]
    assert t.lines[-1].ts == datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC)
    assert t.problems == [(10, "garbage"), (11, "14:00:99 <bad> impossible time")]


def test_midnight_rolls_over() -> None:
    t = parse(["23:59:59 <a> late", "00:00:01 <a> early"], date(2026, 12, 31))
    assert [line.ts.date() for line in t.lines] == [date(2026, 12, 31), date(2027, 1, 1)]


def test_dates_come_from_meetbot_file_names() -> None:
    assert date_of("ops.2019-02-05-14.00.log.txt") == date(2019, 2, 5)
    assert date_of("random.txt") is None


def test_meetbot_html_logs(tmp_path: Path) -> None:
    page = tmp_path / "x.2019-02-05-14.00.log.html"
    page.write_text(
        '<html><body><pre>\n<a name="l-1"></a><span class="tm">14:00:47</span><span class="nk"> &lt;mihalis68&gt;</span> '
        '<span class="cmd">#startmeeting </span><span class="cmdline">ops &amp; friends</span>\n'
        '<a name="l-2"></a><span class="tm">14:00:50</span><span class="nk"> &lt;bob&gt;</span> a &lt;b&gt; tag\n</pre></body></html>\n'
    )
    t = read(page)
    assert [(line.ts.date(), line.nick, line.text) for line in t.lines] == [
        (date(2019, 2, 5), "mihalis68", "#startmeeting ops & friends"),
        (date(2019, 2, 5), "bob", "a <b> tag"),
    ]
    own = '<pre id="l-3" class="said"><a class="time" href="#l-3">14:00:00</a> <b>&lt;x&gt;</b> y <i>(edited)</i></pre>'
    assert html_to_text(own) == ["14:00:00 <x> y"]
