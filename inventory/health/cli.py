"""Health commands: `inventory sweep`, `inventory scheduler` and `inventory retention`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from inventory.health.services import FINISHED, MANUAL, HealthError


@click.command("sweep")
@click.option("--site", "site_code", help="Only this site and the sites below it (code).")
@click.option("--asset", "asset_tag", help="Only this asset (tag).")
@click.option("--all", "all_assets", is_flag=True, help="Every monitored asset, due or not.")
@with_appcontext
def sweep_command(site_code: str | None, asset_tag: str | None, all_assets: bool) -> None:
    """Poll devices over SNMP now: the due ones, or a site or asset whether due or not."""
    from inventory.health.sweep import BUSY, describe, run_sweep

    try:
        summary = run_sweep(
            trigger=MANUAL, site_code=site_code, asset_tag=asset_tag, all_assets=all_assets
        )
    except HealthError as exc:
        raise click.ClickException(str(exc)) from exc
    if summary.status == BUSY:
        raise click.ClickException(summary.message)
    click.echo(describe(summary))
    for outcome, count in sorted(summary.counts.items()):
        click.echo(f"  {outcome:<12} {count}")
    for asset_id, kind in summary.events:
        click.echo(f"  event: asset {asset_id} is {kind}")
    if summary.status != FINISHED:
        raise SystemExit(1)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Look once (sweep what is due, retention) and exit.")
@with_appcontext
def scheduler_command(once: bool) -> None:
    """Run sweeps of due devices every HEALTH_TICK_SECONDS and retention hourly (a process
    of its own beside the web server; stops on SIGTERM or Ctrl-C)."""
    from inventory.health.sweep import Scheduler

    config = current_app.config
    scheduler = Scheduler(
        tick_seconds=float(config["HEALTH_TICK_SECONDS"]),
        retention_every=float(config["HEALTH_RETENTION_EVERY_SECONDS"]),
        echo=lambda line: click.echo(line),
    )
    scheduler.run(once=once)


@click.command("retention")
@with_appcontext
def retention_command() -> None:
    """Roll raw health history up into hours and delete what is past its keeping time."""
    from inventory.health.sweep import BUSY, describe_retention, run_retention

    summary = run_retention()
    if summary.status == BUSY:
        raise click.ClickException(summary.message)
    click.echo(describe_retention(summary))


def init_app(app) -> None:
    app.cli.add_command(sweep_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(retention_command)
