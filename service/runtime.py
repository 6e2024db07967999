"""The runtime of one process: config, database, channels, calendar sources and template sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlmodel import Session, select

from . import config as config_mod
from . import liveness
from .calendars.base import CalendarSource
from .calendars.ics import IcsFileSource, IcsParser, IcsUrlSource
from .campaigns.apply import Templates
from .campaigns.templates import load_sets
from .channels import build_channels
from .channels.base import Channel
from .config import CalendarConfig, Config
from .db import Database
from .errors import ConfigError
from .models import TemplateOverride


@dataclass
class Runtime:
    """Everything a command, a request or a job needs; built once per process."""

    cfg: Config
    db: Database
    worker_id: str = field(default_factory=liveness.worker_id)

    @classmethod
    def from_config(cls, path: str | None = None) -> Runtime:
        """Load the config (EVENTPROMO_CONFIG or ./eventpromo.toml) and open its database."""
        cfg = config_mod.load(path)
        rt = cls(cfg=cfg, db=Database(cfg.database_url))
        rt.channels  # noqa: B018  (a channel's bad option fails at start-up, naming the key)
        return rt

    @cached_property
    def channels(self) -> dict[str, Channel]:
        """Every configured channel by name."""
        return build_channels(self.cfg)

    def source(self, cal: CalendarConfig) -> CalendarSource:
        """The adapter of one configured calendar."""
        parser = IcsParser(cal.name, cal.timezone or self.cfg.timezone, self.cfg.planning.all_day_hour)
        if cal.kind == "ics_file":
            assert cal.ics is not None
            return IcsFileSource(cal.name, cal.ics, parser)
        if cal.kind == "ics_url":
            assert cal.ics is not None
            return IcsUrlSource(cal.name, cal.ics, parser)
        raise ConfigError(
            f"{self.cfg.path.name}: calendars ({cal.name}): Google Calendar sources are not available yet"
        )

    def templates(self, session: Session) -> Templates:
        """The template sets: files, with the web page's edits replacing them."""
        overrides = {o.name: o.body for o in session.exec(select(TemplateOverride))}
        sets, broken = load_sets(self.cfg.templates_dir, overrides)
        return Templates(sets=sets, broken={k: str(v) for k, v in broken.items()})
