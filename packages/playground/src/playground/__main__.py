"""`python -m playground` runs the CLI (used to start background services)."""

from playground.cli import app

app()
