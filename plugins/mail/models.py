"""Tables of the mail plugin: the meetings it follows, the mails it queued (what ``!mail status``
and ``opsbot mail resend`` read), and people's verified addresses (private: never on a page,
never exported)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from opsbot.storage import UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class MailMeeting(Base):
    """A running meeting: its chairs (who may say ``#mail``), its pad and a chair's choice."""

    __tablename__ = "mail_meetings"

    meeting_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(64))
    room: Mapped[str] = mapped_column(String(255))
    meeting_name: Mapped[str] = mapped_column(String(255))
    chairs: Mapped[list[list[str | None]]] = mapped_column(JSON)
    pad_url: Mapped[str | None] = mapped_column(String(1024))
    recipients: Mapped[list[str] | None] = mapped_column(JSON)
    """A chair's ``#mail to``: these addresses instead of the configured lists."""
    off: Mapped[bool] = mapped_column(Boolean, default=False)
    """A chair's ``#mail off``: no mail for this meeting."""
    open: Mapped[bool] = mapped_column(Boolean, default=True)


class SentMail(Base):
    """One mail queued in the outbox, and what became of it."""

    __tablename__ = "mail_sent"
    __table_args__ = (Index("ix_mail_sent_room", "network", "room", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int | None] = mapped_column(Integer)
    network: Mapped[str] = mapped_column(String(64))
    room: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    """minutes, verify or follow-up."""
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))
    server: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    """queued, sent or refused (a permanent 5xx: the server will not take it as it is)."""
    error: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    """The mail as sent (what a resend sends again, with a new Message-ID)."""
    bare: Mapped[str | None] = mapped_column(Text)
    """The mail with only the links (what replaces ``text`` if a line is redacted later)."""
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Address(Base):
    """A person's own mail address: ``address`` once verified (they said back the code mailed
    to it), ``pending`` while a code waits to be said."""

    __tablename__ = "mail_addresses"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(255), primary_key=True)
    address: Mapped[str | None] = mapped_column(String(320))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pending: Mapped[str | None] = mapped_column(String(320))
    code_hash: Mapped[str | None] = mapped_column(String(128))
    code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(Integer, default=0)
