"""Composition root: settings, the Starlette app, the database wiring and the `jeto` command."""
