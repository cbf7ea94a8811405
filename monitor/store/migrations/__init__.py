"""Alembic migration scripts for the store (run through ``monitor.store.migrate``)."""
