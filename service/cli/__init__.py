"""The `eventpromo` command line: each command opens the runtime, calls one job or use case, prints."""

from __future__ import annotations

from typing import IO, Any

import click

from ..errors import EventPromoError
from . import campaigns, channels, db, events, policy, posts, serve, stats, sync, templates, users, worker


class Failure(click.ClickException):
    """The work failed: one line on stderr naming what failed, exit status 1."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"eventpromo: {self.format_message()}", err=True, file=file)


class _Group(click.Group):
    """Turns the service's own errors into a one-line Failure, at any depth of subcommands."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EventPromoError as exc:
            raise Failure(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    envvar="EVENTPROMO_CONFIG",
    default=None,
    help="Config file (default: ./eventpromo.toml, or EVENTPROMO_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """eventpromo: calendar events -> countdown campaigns -> scheduled posts -> tracked RSVP clicks."""
    ctx.obj = {"config_path": config_path}


for module in (db, sync, events, posts, worker, serve, users, stats, campaigns, templates, policy, channels):
    module.register(cli)


def main() -> None:
    """Console entry point."""
    cli(prog_name="eventpromo")
