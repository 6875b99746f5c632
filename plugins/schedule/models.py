"""Tables of the schedule plugin: days skipped from chat, reminders sent (each once), the open
action items and the week's kudos it heard of (for reminders and the digest)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from opsbot.storage import UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class Skip(Base):
    __tablename__ = "schedule_skips"

    meeting_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Sent(Base):
    """A reminder that went out: its key is taken before it is sent, so it goes once."""

    __tablename__ = "schedule_sent"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class OpenAction(Base):
    __tablename__ = "schedule_actions"

    action_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting: Mapped[int] = mapped_column(Integer, index=True)
    meeting_name: Mapped[str] = mapped_column(String(100), index=True)
    network: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    owners: Mapped[list[Any]] = mapped_column(JSON)
    """[nick, account or null] of each owner."""


class HeardKudos(Base):
    __tablename__ = "schedule_kudos"

    kudos_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    network: Mapped[str] = mapped_column(String(64))
    receiver_key: Mapped[str] = mapped_column(String(255))
    receiver_nick: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(64))
