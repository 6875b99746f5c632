"""Alembic revisions of the core plugin's tables (``versions/``)."""
