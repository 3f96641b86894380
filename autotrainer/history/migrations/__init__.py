"""Alembic migrations for the history database (run programmatically by `autotrainer.history.database.migrate`)."""
