"""Alembic migrations of the project's database (run by ``Database.upgrade``)."""
