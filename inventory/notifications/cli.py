"""`inventory notify ...`: run the notification jobs by hand and check the mail settings."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from inventory.extensions import db
from inventory.models_base import utcnow


@click.group("notify")
def notify_group() -> None:
    """Notifications: send the email outbox, scan due dates, the daily digest, test SMTP."""


@notify_group.command("send")
@with_appcontext
def send_command() -> None:
    """Send the emails that are due now (the scheduler does this every minute)."""
    from inventory.notifications.jobs import send_outbox

    if not (current_app.config.get("SMTP_HOST") or "").strip():
        raise click.ClickException("Email is off: set SMTP_HOST (see README, 'Email').")
    click.echo(send_outbox(utcnow()) or "Nothing to send.")


@notify_group.command("scan")
@with_appcontext
def scan_command() -> None:
    """Notify about tickets due soon and overdue (once each)."""
    from inventory.notifications.jobs import scan_tickets

    click.echo(scan_tickets(utcnow()) or "Nothing new is due soon or overdue.")


@notify_group.command("digest")
@with_appcontext
def digest_command() -> None:
    """Write today's digests now if it is past NOTIFY_DIGEST_HOUR (once per user and day)."""
    from inventory.notifications.jobs import daily_digest, digest_day

    now = utcnow()
    if digest_day(now) is None:
        raise click.ClickException(
            f"It is before {current_app.config['NOTIFY_DIGEST_HOUR']}:00 local time; "
            "digests are written from then on."
        )
    click.echo(daily_digest(now) or "No digests to write (already done today, or nothing to say).")


@notify_group.command("status")
@with_appcontext
def status_command() -> None:
    """The outbox by status, and the latest errors."""
    from inventory.notifications.models import OutboxEmail

    counts = dict(
        db.session.execute(
            sa.select(OutboxEmail.status, sa.func.count()).group_by(OutboxEmail.status)
        ).all()
    )
    host = current_app.config.get("SMTP_HOST") or "(email off)"
    click.echo(f"SMTP server: {host}:{current_app.config.get('SMTP_PORT')}")
    for status in ("pending", "sending", "sent", "failed"):
        click.echo(f"  {status:<8} {counts.get(status, 0)}")
    recent = db.session.scalars(
        sa.select(OutboxEmail)
        .where(OutboxEmail.last_error != "")
        .order_by(OutboxEmail.id.desc())
        .limit(5)
    )
    for row in recent:
        click.echo(f"  #{row.id} {row.status} x{row.attempts} {row.to_address}: {row.last_error}")


@notify_group.command("test")
@click.argument("address")
@with_appcontext
def test_command(address: str) -> None:
    """Send one test email to ADDRESS now, straight through SMTP, to check the settings."""
    from inventory.notifications.mail import (
        MailError,
        SmtpConnection,
        SmtpSettings,
        build_message,
        safe_error,
    )

    settings = SmtpSettings.from_config(current_app.config)
    if not settings.enabled:
        raise click.ClickException("Email is off: set SMTP_HOST (see README, 'Email').")
    try:
        message = build_message(
            mail_from=settings.mail_from,
            to=address,
            subject="Sampada: test email / परीक्षण ईमेल",
            body=(
                "This is a test email from Sampada. Email notifications work.\n"
                "यह सम्पदा का परीक्षण ईमेल है।\n\n"
                f"{current_app.config.get('PUBLIC_BASE_URL', '')}"
            ),
            now=utcnow(),
        )
        with SmtpConnection(settings) as connection:
            connection.send(message)
    except (MailError, OSError) as exc:
        raise click.ClickException(safe_error(exc, settings)) from exc
    click.echo(f"Sent a test email to {address} through {settings.host}:{settings.port}.")


def init_app(app) -> None:
    app.cli.add_command(notify_group)
