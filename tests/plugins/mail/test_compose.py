"""The minutes mail as a mail client reads it back: ASCII as 7bit, anything else quoted-printable
with its headers encoded, the `.txt` attached, the HTML alternative, a redacted meeting bare."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_string, policy
from email.message import EmailMessage

from opsbot_plugins.mail.compose import Addressing, Minutes, compose, encoding_of, personal

MINUTES = Minutes(
    meeting_id=7,
    meeting_name="Réunion des opérateurs",
    room="#opérateurs",
    started_at=datetime(2026, 12, 3, 14, 0, tzinfo=UTC),
    chairs=["amélie"],
    topics=["Mise à jour"],
    actions=[("amélie to write the notes", ["amélie"])],
    links={".html": "https://m.example.org/a.html", ".txt": "https://m.example.org/a.txt"},
    minutes_text="Résumé\n" + "x" * 1200 + "\n",
)
ADDRESSING = Addressing(
    sender="Équipe opsbot <opsbot@example.org>",
    to=["Opérateurs <ops@lists.example.org>"],
    cc=["dev@lists.example.org"],
    reply_to="ops@lists.example.org",
    subject="[ops] Réunion des opérateurs meeting minutes 2026-12-03",
)


def read(text: str) -> EmailMessage:
    found = message_from_string(text, policy=policy.default)
    assert isinstance(found, EmailMessage)
    return found


def test_non_ascii_minutes_are_encoded_and_read_back_as_written() -> None:
    mail = read(
        compose(
            MINUTES, ADDRESSING, message_id="<m@example.org>", attach=True, inline=False,
            html=True, tz=UTC,
        ).as_string()
    )  # fmt: skip
    assert mail["Subject"] == ADDRESSING.subject
    assert mail["From"].addresses[0].display_name == "Équipe opsbot"
    assert mail["To"].addresses[0].display_name == "Opérateurs"
    assert mail["Cc"] == "dev@lists.example.org" and mail["Reply-To"] == "ops@lists.example.org"
    assert mail["Message-ID"] == "<m@example.org>"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert "* Mise à jour" in plain.get_content()
    assert "Mise à jour" in html.get_content()
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == "a.txt"
    assert attached.get_content() == MINUTES.minutes_text, "a line longer than SMTP's 998 too"


def test_a_bare_mail_has_only_the_links_and_a_personal_mail_is_plain() -> None:
    mail = read(
        compose(
            MINUTES, ADDRESSING, message_id="<b@example.org>", attach=True, inline=False,
            html=False, bare=True, tz=UTC,
        ).as_string()
    )  # fmt: skip
    assert list(mail.iter_attachments()) == []
    text = mail.get_content()
    assert "Mise à jour" not in text and "https://m.example.org/a.html" in text
    note = read(
        personal(
            "opsbot <opsbot@example.org>", "bob@example.org", "Your code", "say 123456\n",
            message_id="<c@example.org>",
        ).as_string()
    )  # fmt: skip
    assert note["Content-Transfer-Encoding"] == "7bit" and note.get_content() == "say 123456\n"
    assert note["To"] == "bob@example.org" and note["Auto-Submitted"] == "auto-generated"


def test_encoding_is_7bit_only_for_ascii_in_lines_smtp_takes() -> None:
    assert encoding_of("plain\ntext\n") == "7bit"
    assert encoding_of("é") == "quoted-printable"
    assert encoding_of("x" * 999) == "quoted-printable"
