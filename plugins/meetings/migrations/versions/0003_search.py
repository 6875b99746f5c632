"""Full-text search of meeting lines: SQLite FTS5 (an external-content table kept by triggers),
PostgreSQL a GIN index on ``to_tsvector('simple', text)``; and an index on a meeting's file base,
by which the web archive finds the meeting a file belongs to.

SQLite: a later batch migration of ``meetings_lines`` recreates the table and drops its
triggers; such a migration must create them again (``_sqlite_triggers``).

Revision ID: meetings_0003
"""

from __future__ import annotations

from alembic import op

revision: str = "meetings_0003"
down_revision: str | None = "meetings_0002"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

SQLITE = [
    "CREATE VIRTUAL TABLE meetings_lines_fts USING fts5(text, content='meetings_lines', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER meetings_lines_fts_insert AFTER INSERT ON meetings_lines BEGIN "
    "INSERT INTO meetings_lines_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER meetings_lines_fts_delete AFTER DELETE ON meetings_lines BEGIN "
    "INSERT INTO meetings_lines_fts(meetings_lines_fts, rowid, text) "
    "VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER meetings_lines_fts_update AFTER UPDATE OF text ON meetings_lines BEGIN "
    "INSERT INTO meetings_lines_fts(meetings_lines_fts, rowid, text) "
    "VALUES ('delete', old.id, old.text); "
    "INSERT INTO meetings_lines_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO meetings_lines_fts(meetings_lines_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    op.create_index("ix_meetings_meetings_base", "meetings_meetings", ["base"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_meetings_lines_fts ON meetings_lines "
            "USING gin (to_tsvector('simple'::regconfig, text))"
        )


def downgrade() -> None:
    op.drop_index("ix_meetings_meetings_base", "meetings_meetings")
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS meetings_lines_fts_{name}")
        op.execute("DROP TABLE IF EXISTS meetings_lines_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_meetings_lines_fts")
