"""`eventpromo db upgrade|current`."""

from __future__ import annotations

import click

from .. import migrate
from ..db import check_reachable
from .common import runtime


def register(cli: click.Group) -> None:
    """Add the db commands."""
    cli.add_command(db)


@click.group()
def db() -> None:
    """Create or migrate the database."""


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Create or migrate the database to the newest schema."""
    rt = runtime(ctx)
    check_reachable(rt.db)
    migrate.upgrade(rt.db.engine)
    click.echo(f"database at revision {migrate.current(rt.db.engine)}", err=True)


@db.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Print the database's revision and the newest one."""
    rt = runtime(ctx)
    check_reachable(rt.db)
    click.echo(f"current: {migrate.current(rt.db.engine)}  head: {migrate.head()}")
