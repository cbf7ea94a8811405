"""Tests of monitor.store against SQLite and PostgreSQL."""
