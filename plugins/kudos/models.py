"""Tables of the kudos plugin: every kudos ever given (never deleted: undone and revoked ones keep
their state), the audit trail of changes, running totals for the leaderboards, the people seen,
and who opted out of public leaderboards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from opsbot.storage import UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData()


class Kudos(Base):
    __tablename__ = "kudos_kudos"
    __table_args__ = (
        Index("ix_kudos_receiver", "receiver_network", "receiver_key", "ts"),
        Index("ix_kudos_ts", "ts"),
        # Covers the leaderboards over a period: a range per category, no table reads.
        Index(
            "ix_kudos_category_ts",
            "category",
            "ts",
            "state",
            "receiver_network",
            "receiver_key",
            "receiver_nick",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    network: Mapped[str] = mapped_column(String(64))
    room: Mapped[str] = mapped_column(String(255))
    giver_network: Mapped[str] = mapped_column(String(64))
    giver_key: Mapped[str] = mapped_column(String(255))
    """The giver's account, or ``~nick`` where the network proves none (if allowed)."""
    giver_nick: Mapped[str] = mapped_column(String(255))
    receiver_network: Mapped[str] = mapped_column(String(64))
    receiver_key: Mapped[str] = mapped_column(String(255))
    receiver_nick: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    """given, undone or revoked."""


class Total(Base):
    """Kudos standing per receiver and category, kept with every change (fast leaderboards);
    category ``*`` is the receiver's total over all categories."""

    __tablename__ = "kudos_totals"
    __table_args__ = (Index("ix_kudos_totals_category_count", "category", "count"),)

    receiver_network: Mapped[str] = mapped_column(String(64), primary_key=True)
    receiver_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    nick: Mapped[str] = mapped_column(String(255))


class Audit(Base):
    __tablename__ = "kudos_audit"
    __table_args__ = (Index("ix_kudos_audit_kudos_id", "kudos_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kudos_id: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(16))
    """give, undo or revoke."""
    actor: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text, default="")


class ByReaction(Base):
    """A kudos given by a reaction (its event), so removing the reaction withdraws it."""

    __tablename__ = "kudos_reactions"

    reaction_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    kudos_id: Mapped[int] = mapped_column(Integer)


class Seen(Base):
    """Someone who has spoken, so kudos can be given to people who are not here right now."""

    __tablename__ = "kudos_seen"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    nick: Mapped[str] = mapped_column(String(255), primary_key=True)
    """Casefolded."""
    account: Mapped[str | None] = mapped_column(String(255))
    display_nick: Mapped[str] = mapped_column(String(255))
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
