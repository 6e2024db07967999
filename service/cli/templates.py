"""`eventpromo templates check`."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from ..campaigns.checks import check_sets
from ..models import TemplateOverride
from .common import runtime


def register(cli: click.Group) -> None:
    """Add the templates commands."""
    cli.add_command(templates)


@click.group()
def templates() -> None:
    """Campaign template sets."""


@templates.command()
@click.option("--files-only", is_flag=True, help="Check the files only, not the copies edited on the web page.")
@click.pass_context
def check(ctx: click.Context, files_only: bool) -> None:
    """Validate every template set (syntax, unknown variables, every step fits for a long-titled sample
    event); exit 1 naming file, step and line of the first error."""
    rt = runtime(ctx)
    overrides: dict[str, str] = {}
    url = rt.db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        files_only = True  # no database yet: do not create one just to look for edited copies
    if not files_only:
        try:
            with rt.db.session() as session:
                overrides = {o.name: o.body for o in session.exec(select(TemplateOverride))}
        except SQLAlchemyError:
            overrides = {}  # no database yet (or unreachable): the files are what there is to check
    problems, checked = check_sets(rt.cfg, overrides)
    if problems:
        for p in problems:
            click.echo(f"eventpromo: {p}", err=True)
        ctx.exit(1)
    click.echo(f"{len(checked)} template sets OK: {', '.join(sorted(checked))}")
