"""Tables of the meetings plugin: meetings, their line-by-line log, and action items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, MetaData, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from opsbot.storage import UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class MeetingRow(Base):
    __tablename__ = "meetings_meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(64))
    room: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner: Mapped[str] = mapped_column(String(255))
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    base: Mapped[str | None] = mapped_column(String(512), index=True)
    """Path of the output files without extension, relative to the output folder."""
    summary: Mapped[dict[str, object] | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(1024))
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The engine's settings when the meeting started (None: before 0.11, use the config's)."""
    """Where an imported meeting came from."""


class LineRow(Base):
    __tablename__ = "meetings_lines"
    __table_args__ = (Index("ix_meetings_lines_meeting_seq", "meeting_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings_meetings.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    nick: Mapped[str] = mapped_column(String(255))
    account: Mapped[str | None] = mapped_column(String(255))
    display: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    msg_id: Mapped[str | None] = mapped_column(String(255))
    target_id: Mapped[str | None] = mapped_column(String(255))
    moderator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ActionRow(Base):
    __tablename__ = "meetings_actions"
    __table_args__ = (Index("ix_meetings_actions_meeting_seq", "meeting_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings_meetings.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owners: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(255))
