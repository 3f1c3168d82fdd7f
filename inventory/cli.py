"""The `inventory` command: set up a database, create the first admin, manage keys."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade

from inventory.extensions import db


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Upgrade the database to the newest schema, add default categories, create the key file."""
    from inventory import crypto
    from inventory.catalog.services import ensure_default_categories

    upgrade()
    added = ensure_default_categories()
    db.session.commit()
    if crypto.create_key_file(crypto.key_file_path()):
        click.echo(f"Created the credentials key {crypto.key_file_path()} (back it up).")
    click.echo(f"Database ready; {added} default categories added.")


@click.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--full-name", default="")
@click.password_option()
@with_appcontext
def create_admin_command(username: str, full_name: str, password: str) -> None:
    """Create an administrator (the first user of a new installation)."""
    from inventory.auth.services import AuthError, create_user
    from inventory.choices import Role

    try:
        user = create_user(username, password, Role.ADMIN, full_name=full_name)
    except AuthError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Administrator {user.username} created.")


@click.group("keys")
def keys_group() -> None:
    """The key that encrypts device credentials."""


@keys_group.command("init")
@with_appcontext
def keys_init() -> None:
    """Create the credentials key file in the instance folder if there is none."""
    from inventory import crypto

    path = crypto.key_file_path()
    if crypto.create_key_file(path):
        click.echo(f"Created {path}. Back it up: without it stored credentials are lost.")
    else:
        click.echo(f"{path} exists; nothing changed.")


@keys_group.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Re-encrypt all credentials with the first key of CREDENTIALS_KEYS / the key file."""
    from inventory.credentials.services import rotate_all

    count = rotate_all()
    db.session.commit()
    click.echo(f"Re-encrypted {count} credentials profiles.")


def init_app(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(keys_group)
    from inventory.demo import demo_command

    app.cli.add_command(demo_command)
    from inventory.simulator.demo_agents import agents_command  # the demo's simulated devices

    app.cli.add_command(agents_command)
    from inventory.health import cli as health_cli

    health_cli.init_app(app)
    from inventory.notifications import cli as notifications_cli

    notifications_cli.init_app(app)


def _create_app():
    from inventory import create_app

    return create_app()


def main() -> None:
    FlaskGroup(create_app=_create_app, help="Sampada: district IT asset inventory.")()
