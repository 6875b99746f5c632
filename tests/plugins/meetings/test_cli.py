"""opsbot meetings replay|import|regenerate and opsbot minutes list|show, as real processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from opsbot.testing import run_opsbot

FIXTURES = Path(__file__).parent / "fixtures"
TRANSCRIPT = FIXTURES / "ops_meetup_team.2026-11-24-14.00.log.txt"


def opsbot(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_opsbot(*args, cwd=cwd, stdin=stdin)


def config(folder: Path) -> Path:
    path = folder / "config.yaml"
    path.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{folder}/bot.db'}}\n"
        "web: {listen: '127.0.0.1:0'}\n"
        f"plugins: {{meetings: {{output_dir: {folder}/meetings, url_prefix: 'https://m.example'}}}}\n"
    )
    return path


def test_replay_writes_every_output_and_reports_bad_lines(tmp_path: Path) -> None:
    done = opsbot(
        "meetings",
        "replay",
        str(TRANSCRIPT),
        "--out",
        "out",
        "--channel",
        "#openstack-operators",
        "--network",
        "oftc",
        "--url-prefix",
        "https://meetings.example.org",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stderr
        == f"{TRANSCRIPT}:37: not a transcript line, skipped: this line is not a transcript line\n"
    )
    assert "ops_meetup_team: 41 lines, 16 items, ended" in done.stdout
    base = tmp_path / "out/ops_meetup_team/2026/ops_meetup_team.2026-11-24-14.00"
    assert base.with_name(base.name + ".txt").read_text() == (FIXTURES / "expected.txt").read_text()
    assert {p.name.removeprefix(base.name) for p in base.parent.iterdir()} == {
        ".html",
        ".txt",
        ".log.html",
        ".log.txt",
        ".md",
        ".json",
    }


def test_replaying_our_own_log_gives_the_same_minutes(tmp_path: Path) -> None:
    opsbot(
        "meetings",
        "replay",
        str(TRANSCRIPT),
        "--out",
        "one",
        "--channel",
        "#openstack-operators",
        "--network",
        "oftc",
        cwd=tmp_path,
    )
    first = next((tmp_path / "one").rglob("*.log.txt"))
    for source, out in (
        (first, "two"),
        (first.with_name(first.name.replace(".log.txt", ".log.html")), "three"),
    ):
        done = opsbot(
            "meetings",
            "replay",
            str(source),
            "--out",
            out,
            "--channel",
            "#openstack-operators",
            "--network",
            "oftc",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        again = json.loads(next((tmp_path / out).rglob("*.json")).read_text())
        original = json.loads(next((tmp_path / "one").rglob("*.json")).read_text())
        assert again == original


def test_a_transcript_without_endmeeting_is_written_as_save_would(tmp_path: Path) -> None:
    log = tmp_path / "cut.2026-11-24-10.00.log.txt"
    log.write_text("10:00:00 <alice> #startmeeting cut\n10:00:05 <alice> #info we lost the bot\n")
    done = opsbot("meetings", "replay", str(log), "--out", "out", cwd=tmp_path)
    assert done.returncode == 0 and "not ended (written as #save would)" in done.stdout
    record = json.loads(next((tmp_path / "out").rglob("*.json")).read_text())
    assert record["ended"] is False and record["end"] == "2026-11-24T10:00:05+00:00"


def test_a_transcript_without_a_meeting_is_an_error(tmp_path: Path) -> None:
    log = tmp_path / "chat.log.txt"
    log.write_text("10:00:00 <alice> just chatting\n")
    done = opsbot("meetings", "replay", str(log), "--out", "out", cwd=tmp_path)
    assert done.returncode == 2 and "no #startmeeting" in done.stderr
    assert not (tmp_path / "out").exists()


def test_import_then_list_show_regenerate(tmp_path: Path) -> None:
    cfg = str(config(tmp_path))
    # An archive of an older MeetBot that kept dashes: imported, it keeps the name it has.
    html_log = tmp_path / "ops-meetup.2019-02-05-14.00.log.html"
    html_log.write_text(
        '<pre>\n<span class="tm">14:00:47</span><span class="nk"> &lt;mihalis68&gt;</span> #startmeeting ops-meetup\n'
        '<span class="tm">14:01:00</span><span class="nk"> &lt;bob&gt;</span> #action bob to send &lt;slides&gt;\n'
        '<span class="tm">14:02:00</span><span class="nk"> &lt;mihalis68&gt;</span> #endmeeting\n</pre>\n'
    )
    done = opsbot(
        "meetings",
        "import",
        str(TRANSCRIPT),
        str(html_log),
        "--network",
        "oftc",
        "--channel",
        "#openstack-operators",
        "-c",
        cfg,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith(
        "meeting 1 'ops_meetup_team' 2026-11-24 14:00, 41 lines, 3 actions, 1 unreadable lines skipped"
    )
    assert lines[1].endswith("meeting 2 'ops-meetup' 2019-02-05 14:00, 3 lines, 1 actions")
    again = opsbot("meetings", "import", str(TRANSCRIPT), "-c", cfg, cwd=tmp_path)
    assert again.stdout.endswith("already imported as meeting 1, skipped\n")

    listed = opsbot("minutes", "list", "-c", cfg, cwd=tmp_path)
    assert listed.returncode == 0
    assert [line.split()[3] for line in listed.stdout.splitlines()] == [
        "ops_meetup_team",
        "ops-meetup",
    ]
    since = opsbot("minutes", "list", "--since", "2020-01-01", "-c", cfg, cwd=tmp_path)
    assert len(since.stdout.splitlines()) == 1

    shown = opsbot("minutes", "show", "ops_meetup_team", "-c", cfg, cwd=tmp_path)
    assert (
        shown.returncode == 0
        and shown.stdout.splitlines()[1] == "#openstack-operators: Ops Meetup Team"
    )
    as_json = json.loads(
        opsbot(
            "minutes",
            "show",
            "ops-meetup",
            "--date",
            "2019-02-05",
            "--format",
            "json",
            "-c",
            cfg,
            cwd=tmp_path,
        ).stdout
    )
    assert as_json["actions"] == [{"text": "bob to send <slides>", "owners": ["bob"], "line": 1}]
    missing = opsbot("minutes", "show", "nothing", "-c", cfg, cwd=tmp_path)
    assert missing.returncode == 2 and "No meeting 'nothing'." in missing.stderr

    for page in (tmp_path / "meetings").rglob("*"):
        if page.is_file():
            page.unlink()
    regenerated = opsbot("meetings", "regenerate", "2", "-c", cfg, cwd=tmp_path)
    assert regenerated.returncode == 0, regenerated.stderr
    assert (tmp_path / "meetings/ops-meetup/2019/ops-meetup.2019-02-05-14.00.html").exists()
    assert opsbot("meetings", "regenerate", "99", "-c", cfg, cwd=tmp_path).returncode == 2


def test_imported_actions_are_open_for_the_bot(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    opsbot("meetings", "import", str(TRANSCRIPT), "-c", str(cfg), cwd=tmp_path)
    cfg.write_text(cfg.read_text() + "bot: {admins: ['console:you']}\n")
    done = opsbot("run", "-c", str(cfg), cwd=tmp_path, stdin="!actions erin\n")
    assert done.stdout.startswith(
        "<opsbot> Open action items: (2) erin to draft the schedule [ops_meetup_team 2026-11-24]"
    )


def test_check_config_refuses_a_filename_pattern_that_makes_no_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("plugins: {meetings: {filename_pattern: '{nam}/{start:%Y}'}}\n")
    done = opsbot("check-config", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert "plugins.meetings.filename_pattern" in done.stderr
    assert "names 'nam' but only {name} and {start} exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_tools_use_a_rooms_own_folder_and_links(tmp_path: Path) -> None:
    """A room configured with its own output folder and archive URL: import, regenerate and
    show write and name the files where the live bot would, not where the plugin's default is."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{tmp_path}/bot.db'}}\n"
        "web: {listen: '127.0.0.1:0'}\n"
        "networks: [{type: console}, {type: irc, name: oftc, host: irc.oftc.net}]\n"
        "plugins:\n"
        "  meetings:\n"
        f"    output_dir: {tmp_path}/meetings\n"
        "    url_prefix: https://m.example\n"
        "    rooms:\n"
        "      'oftc:#openstack-operators':\n"
        f"        output_dir: {tmp_path}/ops\n"
        "        url_prefix: https://ops.example/minutes\n"
    )
    done = opsbot(
        "meetings", "import", str(TRANSCRIPT), "--network", "oftc",
        "--channel", "#openstack-operators", "-c", str(cfg), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = tmp_path / "ops/ops_meetup_team/2026/ops_meetup_team.2026-11-24-14.00.html"
    assert written.exists() and not (tmp_path / "meetings").exists()
    written.unlink()
    regenerated = opsbot("meetings", "regenerate", "1", "-c", str(cfg), cwd=tmp_path)
    assert regenerated.returncode == 0, regenerated.stderr
    assert written.exists() and not (tmp_path / "meetings").exists()
    assert str(tmp_path / "ops") in regenerated.stdout
    shown = opsbot("minutes", "show", "ops_meetup_team", "-c", str(cfg), cwd=tmp_path)
    assert "https://ops.example/minutes/ops_meetup_team/2026/" in shown.stdout, shown.stdout
