"""Shared fixtures: a real PostgreSQL server (``postgres_url``, see fixtures_postgres.py)."""

from fixtures_postgres import postgres_server, postgres_url  # noqa: F401
