"""Alembic revisions of the meetings plugin's tables."""
