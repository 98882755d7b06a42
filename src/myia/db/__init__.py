"""Database layer: engine and sessions, ORM models, Alembic migrations."""
