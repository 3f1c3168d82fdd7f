"""The Gonda district demo data set (filled in by the demo loader)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the Gonda district demo data (safe to run again)."""
    click.echo("demo data: not loaded yet")
