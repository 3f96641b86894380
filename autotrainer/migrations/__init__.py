"""Alembic migrations for the history database (run programmatically by `autotrainer.db.migrate`)."""
