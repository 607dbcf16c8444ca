"""Alembic's script directory for the incident store: ``env.py`` and one module per revision in ``versions/``.

Revisions are written by hand and never import the bot's models: each one
states the schema change it makes as it was on the day it was written.
"""
