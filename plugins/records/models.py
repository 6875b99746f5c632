"""Tables of the records plugin: the domain events it heard (the source of truth, kept as they
came) and the ledger entries derived from them (rebuilt from the events at will)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, MetaData, PrimaryKeyConstraint, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from opsbot.storage import UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class HeardEvent(Base):
    __tablename__ = "records_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Entry(Base):
    """One credit in a person's record: a meeting attended (``count`` = lines said), a meeting
    chaired, an action item owned, a kudos received (``category``)."""

    __tablename__ = "records_entries"
    __table_args__ = (
        # Kept in person order (SQLite: without rowid): a record is a range of the table.
        PrimaryKeyConstraint("network", "account", "ts", "id", name="pk_records_entries"),
        Index("ix_records_entries_source", "source"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[int] = mapped_column(Integer)
    """Handed out by the plugin (one writer process per database), as kudos IDs are."""
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    network: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(255))
    nick: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    meeting: Mapped[str] = mapped_column(String(255), default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    count: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(64))
    """meeting:ID or kudos:ID"""
    link: Mapped[str] = mapped_column(String(1024), default="")
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    """From a restricted meeting: counted, never shown publicly."""


class NominationRow(Base):
    """Someone nominated for a rule by name (``opsbot records nominate``), until a day."""

    __tablename__ = "records_nominations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(255))
    rule: Mapped[str] = mapped_column(String(64))
    until: Mapped[date] = mapped_column(Date)
    why: Mapped[str] = mapped_column(String(1024))
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
