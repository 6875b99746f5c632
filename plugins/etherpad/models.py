"""Tables of the etherpad plugin: the durable outbox of pad operations, and each meeting's pad."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from opsbot.storage import UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class Operation(Base):
    """One line to append to a pad, stored before it is attempted."""

    __tablename__ = "etherpad_outbox"
    __table_args__ = (
        Index("ix_etherpad_outbox_pad_state", "server", "pad", "state", "id"),
        Index("ix_etherpad_outbox_item", "meeting_id", "item_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server: Mapped[str] = mapped_column(String(64))
    pad: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    network: Mapped[str] = mapped_column(String(64))
    room: Mapped[str] = mapped_column(String(255))
    """Where to tell the chair when the pad refuses (wrong key)."""
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, done."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    meeting_id: Mapped[int | None] = mapped_column(Integer)
    item_seq: Mapped[int | None] = mapped_column(Integer)
    """The meeting item this line is (its log line), for edits and redactions."""
    replaces: Mapped[int | None] = mapped_column(Integer)
    """An operation whose line this one rewrites in place (an edit or a redaction)."""


class MeetingPad(Base):
    """A meeting this plugin follows, and the pad it writes to (from config, or set by a chair
    with ``#pad``); kept so a restart mid-meeting carries on."""

    __tablename__ = "etherpad_meeting_pads"

    meeting_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(64))
    room: Mapped[str] = mapped_column(String(255))
    meeting_name: Mapped[str] = mapped_column(String(255))
    chairs: Mapped[list[list[str | None]]] = mapped_column(JSON)
    server: Mapped[str | None] = mapped_column(String(64))
    pad: Mapped[str | None] = mapped_column(String(255))
    open: Mapped[bool] = mapped_column(Boolean, default=True)
