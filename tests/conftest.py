"""Shared pytest configuration: fixtures every test folder may use."""

from tests.postgres import postgres_dsn, postgres_server

__all__ = ["postgres_dsn", "postgres_server"]
