"""`eventpromo user add|bootstrap`."""

from __future__ import annotations

import secrets
import sys

import click
from sqlmodel import select

from ..auth import create_user
from ..db import check_reachable
from ..models import Role, User
from .common import runtime

FIRST_ADMIN = "admin@eventpromo.local"


def register(cli: click.Group) -> None:
    """Add the user commands."""
    cli.add_command(user)


@click.group()
def user() -> None:
    """Logins for the web page."""


@user.command()
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--role", type=click.Choice(Role.ALL), default=Role.COORDINATOR, show_default=True)
@click.pass_context
def add(ctx: click.Context, email: str, password_stdin: bool, role: str) -> None:
    """Create a login (a random password is printed unless --password-stdin)."""
    rt = runtime(ctx)
    check_reachable(rt.db)
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(12)
    with rt.db.session(write=True) as session:
        create_user(session, email, password, role)
    if password_stdin:
        click.echo(f"created {email} ({role})", err=True)
    else:
        click.echo(f"created {email} ({role}) with password: {password}")


@user.command()
@click.pass_context
def bootstrap(ctx: click.Context) -> None:
    """Create the first admin when there is no login yet, and print its password once."""
    rt = runtime(ctx)
    check_reachable(rt.db)
    with rt.db.session(write=True) as session:
        if session.exec(select(User.id).limit(1)).first() is not None:
            return
        password = secrets.token_urlsafe(12)
        create_user(session, FIRST_ADMIN, password, Role.ADMIN)
    click.echo("")
    click.echo("  First admin login (shown once, write it down):")
    click.echo(f"    email:    {FIRST_ADMIN}")
    click.echo(f"    password: {password}")
    click.echo("")
