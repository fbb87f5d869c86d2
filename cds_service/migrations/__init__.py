"""Alembic migrations of the service's database (run at start-up by Store.migrate)."""
