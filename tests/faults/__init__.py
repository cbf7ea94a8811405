"""Fault tests: real daemon processes under kill -9, store outages and failing receivers."""
