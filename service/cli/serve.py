"""`eventpromo serve`: the web page and the worker in one process (the embedded default)."""

from __future__ import annotations

import logging
import os
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from ..db import check_reachable
from ..tracking import ACCESS_LOG_FORMAT
from .common import runtime


def register(cli: click.Group) -> None:
    """Add the serve command."""
    cli.add_command(serve)


class _EmbeddedServer(BaseApplication):
    """gunicorn with one worker process (threads for requests); the scheduler runs inside that worker."""

    def __init__(self, config_path: str | None, options: dict[str, Any]):
        self.config_path = config_path
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from ..web import create_app

        return create_app(self.config_path, with_worker=True)


@click.command()
@click.option("--host", envvar="HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PORT", default=8000, type=int, show_default=True)
@click.option("--threads", default=8, show_default=True, help="Request threads.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, threads: int) -> None:
    """Serve the web page and run the worker in the same process."""
    rt = runtime(ctx)
    check_reachable(rt.db)
    rt.db.dispose()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(f"eventpromo: serving on http://{host}:{port}", err=True)
    config_path = str(rt.cfg.path)
    os.environ["EVENTPROMO_CONFIG"] = config_path
    _EmbeddedServer(
        config_path,
        {
            "bind": f"{host}:{port}",
            "workers": 1,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            # No client address and no referrer in the access log: visitors' IPs are never stored.
            "access_log_format": ACCESS_LOG_FORMAT,
            "timeout": 60,
            "graceful_timeout": 20,
        },
    ).run()
