"""The one SQL store: an async SQLAlchemy engine, sessions, and each plugin's Alembic migrations.

SQLite (aiosqlite, WAL) is the embedded default; PostgreSQL by URL for production and for several
processes sharing one store. Each plugin keeps its revisions in ``migrations/versions`` beside its
module and its own version table (``alembic_version_<plugin>``), so plugins migrate independently.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    String,
    TypeDecorator,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncResult,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from .health import DatabaseHealth

log = logging.getLogger("opsbot.storage")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every database (SQLite forgets time zones otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class iso_utc(FunctionElement[str]):
    """A :class:`UTCDateTime` column as ISO 8601 text made by the database,
    ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` (the form of :func:`iso_utc_text`): reading a million
    times as text skips making a million datetimes. Text in this form sorts as the times do."""

    type = String()
    inherit_cache = True


@compiles(iso_utc, "sqlite")
def _iso_utc_sqlite(element: iso_utc, compiler: Any, **kw: Any) -> str:
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff', always with microseconds.
    return f"replace({compiler.process(element.clauses, **kw)}, ' ', 'T') || '+00:00'"


@compiles(iso_utc, "postgresql")
def _iso_utc_postgresql(element: iso_utc, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


async def read_ahead(result: AsyncResult[Any], size: int = 5_000) -> AsyncIterator[Sequence[Any]]:
    """The rows of a streamed result in partitions of ``size``, the next one fetched (by the
    driver, off the event loop) while the caller works on this one."""
    ready: asyncio.Queue[Sequence[Any] | BaseException | None] = asyncio.Queue(maxsize=2)

    async def fetch() -> None:
        try:
            async for partition in result.partitions(size):
                await ready.put(partition)
            await ready.put(None)
        except Exception as error:  # handed to the reader, raised there
            await ready.put(error)

    fetcher = asyncio.create_task(fetch(), name="read ahead")
    try:
        while (partition := await ready.get()) is not None:
            if isinstance(partition, BaseException):
                raise partition
            yield partition
    finally:
        fetcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fetcher


def iso_utc_text(moment: datetime) -> str:
    """An aware datetime in the form :class:`iso_utc` gives, to compare with its text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class Flushable(Protocol):
    async def flush(self) -> None: ...


class StorageUnavailable(Exception):
    """The database cannot be reached or opened; the message is fit for a person."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # What is deleted or overwritten (a redacted line) is zeroed, not left in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Reads through a memory map: no read() call per page when a query walks an index.
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.close()


class Storage:
    def __init__(
        self, url: str, *, connect_timeout: float = 10.0, spool_dir: Path | None = None
    ) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self.spool_dir = spool_dir
        """Where group-commit writers keep what the database does not have yet (none: only in
        memory, for tools that write nothing while a bot runs)."""
        self.health = DatabaseHealth()
        self.writers: set[Flushable] = set()
        """The group commits writing here (each adds itself when it starts)."""
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    def unreachable(self, reason: object) -> StorageUnavailable:
        """The error people read when the database cannot be reached at start-up."""
        return StorageUnavailable(f"cannot reach the database at {self.display_url}: {reason}")

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            return self.url

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("storage is not connected")
        return self._engine

    async def flush_writers(self) -> None:
        """Wait until everything added to every group commit on this storage is committed."""
        await asyncio.gather(*(writer.flush() for writer in list(self.writers)))

    @property
    def engine_or_none(self) -> AsyncEngine | None:
        """The engine, or None before :meth:`connect`."""
        return self._engine

    async def connect(self) -> None:
        """Open the engine and check the database answers; raises StorageUnavailable."""
        try:
            url = make_url(self.url)
        except ArgumentError:
            raise StorageUnavailable(f"{self.url!r} is not a database URL") from None
        kwargs: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            database = url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                folder = Path(database).parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise StorageUnavailable(
                        f"cannot create the database folder {folder}: {error.strerror}"
                    ) from None
        elif url.get_backend_name() == "postgresql":
            kwargs["pool_pre_ping"] = True
        try:
            engine = create_async_engine(url, **kwargs)
        except (NoSuchModuleError, ImportError) as error:
            raise StorageUnavailable(
                f"no driver for {url.drivername} ({error}); for PostgreSQL install opsbot[postgres]"
            ) from None
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        try:
            async with asyncio.timeout(self.connect_timeout), engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as error:
            await engine.dispose()
            reason = getattr(error, "orig", None) or error
            if isinstance(error, TimeoutError):
                reason = f"no answer within {self.connect_timeout:.0f} s"
            raise self.unreachable(reason) from None
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        log.info("database %s ready", self.display_url)

    async def forget_old_pages(self) -> None:
        """After data was removed for good (a redaction): SQLite's write-ahead log still holds
        the pages as they were; fold it into the database and empty it. PostgreSQL's old row
        versions go at the next (auto)vacuum."""
        if self.is_sqlite:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def session(self) -> AsyncSession:
        """A new session: ``async with storage.session() as s, s.begin(): ...``."""
        if self._sessions is None:
            raise RuntimeError("storage is not connected")
        return self._sessions()

    async def migrate(self, plugins: Iterable[tuple[str, str | None]]) -> dict[str, str | None]:
        """Bring each ``(plugin name, versions folder)`` to its newest revision; returns the
        revision each plugin is at afterwards."""
        done: dict[str, str | None] = {}
        for name, versions in plugins:
            if versions is None:
                continue
            async with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # Several bot processes may share one store: one migrates, the others wait.
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(hashtext('opsbot-migrate'))")
                    )
                head = declared_head(versions)
                if head is not None and await conn.run_sync(_stored_revision, name) == head:
                    done[name] = head  # nothing to do, and no need to load Alembic for it
                    continue
                done[name] = await conn.run_sync(_upgrade, name, versions)
        return done

    async def behind(self, plugins: Iterable[tuple[str, str | None]]) -> list[str]:
        """Those of ``(plugin name, versions folder)`` whose tables are not at the revision
        their folder declares (a process that does not migrate waits for them)."""
        found = []
        async with self.engine.connect() as conn:
            for name, versions in plugins:
                if versions is None:
                    continue
                head = declared_head(versions)
                if head is not None and await conn.run_sync(_stored_revision, name) != head:
                    found.append(name)
        return found

    async def revisions(self, plugins: Iterable[tuple[str, str | None]]) -> dict[str, str | None]:
        """The revision each plugin's tables are at now (None if never migrated)."""
        found: dict[str, str | None] = {}
        async with self.engine.connect() as conn:
            for name, versions in plugins:
                if versions is not None:
                    found[name] = await conn.run_sync(_current, name)
        return found

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._sessions = None


def version_table(plugin: str) -> str:
    return f"alembic_version_{plugin}"


def declared_head(versions: str) -> str | None:
    """The one head revision the files in ``versions`` declare, read without importing them
    (or Alembic); None when that is not plain (several heads, unreadable files): ask Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in Path(versions).glob("*.py"):
        if path.name.startswith("_"):
            continue
        found: dict[str, object] = {}
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            return None
        for node in tree.body:
            if isinstance(node, ast.AnnAssign | ast.Assign):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                for target in targets:
                    if isinstance(target, ast.Name) and node.value is not None:
                        try:
                            found[target.id] = ast.literal_eval(node.value)
                        except ValueError:
                            found[target.id] = ...
        revision, parent = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str) or not (parent is None or isinstance(parent, str)):
            return None
        if found.get("depends_on") is not None or found.get("branch_labels") is not None:
            return None
        revisions.add(revision)
        if parent is not None:
            parents.add(parent)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stored_revision(conn: Connection, plugin: str) -> str | None:
    """The revision in the plugin's version table, read with plain SQL (None if absent)."""
    table = version_table(plugin)
    if not inspect(conn).has_table(table):
        return None
    quoted = conn.dialect.identifier_preparer.quote(table)
    rows = conn.execute(text(f"SELECT version_num FROM {quoted}")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None


def _upgrade(conn: Connection, plugin: str, versions: str, target: str = "heads") -> str | None:
    """Upgrade ``plugin``'s tables to ``target`` (its newest revision unless a test says)."""
    from alembic.config import Config as AlembicConfig
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(versions).parent), version_locations=[versions])

    def upgrade(rev: Any, _context: Any) -> Any:
        return script._upgrade_revs(target, rev)

    with EnvironmentContext(AlembicConfig(), script, fn=upgrade, destination_rev=target) as env:
        env.configure(
            connection=conn,
            version_table=version_table(plugin),
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with env.begin_transaction():
            env.run_migrations()
    head = script.get_current_head() if target == "heads" else target
    log.info("plugin %s tables at revision %s", plugin, head)
    return head


def _current(conn: Connection, plugin: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": version_table(plugin)})
    return context.get_current_revision()
