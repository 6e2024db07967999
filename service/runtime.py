"""The runtime of one process: config, database, channels, calendar sources and template sets."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from functools import cached_property

from sqlmodel import Session, select

from . import config as config_mod
from .calendars.base import CalendarSource
from .calendars.feed import FeedLimits, IcsUrlSource
from .calendars.google import GoogleCalendarSource
from .calendars.ics import IcsFileSource, IcsParser
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
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @classmethod
    def from_config(cls, path: str | None = None) -> Runtime:
        """Load the config (EVENTPROMO_CONFIG or ./eventpromo.toml) and open its database."""
        cfg = config_mod.load(path)
        return cls(cfg=cfg, db=Database(cfg.database_url))

    @cached_property
    def channels(self) -> dict[str, Channel]:
        """Every configured channel by name."""
        return build_channels(self.cfg)

    def source(self, cal: CalendarConfig) -> CalendarSource:
        """The adapter of one configured calendar (a new one per call: a job owns its client)."""
        zone = cal.timezone or self.cfg.timezone
        hour = self.cfg.planning.all_day_hour
        if cal.kind == "google":
            assert cal.google_calendar_id is not None
            if not cal.credentials:
                raise ConfigError(f"{self.cfg.path.name}: calendars ({cal.name}): credentials: is required")
            return GoogleCalendarSource(
                cal.name,
                cal.google_calendar_id,
                cal.credentials,
                zone,
                hour,
                api_base=cal.api_base,
                timeout=cal.read_timeout,
                subject=cal.subject,
                token_uri=cal.token_uri,
            )
        parser = IcsParser(cal.name, zone, hour)
        assert cal.ics is not None
        if cal.kind == "ics_file":
            return IcsFileSource(cal.name, cal.ics, parser)
        limits = FeedLimits(
            connect_timeout=cal.connect_timeout,
            read_timeout=cal.read_timeout,
            max_bytes=int(cal.max_size_mb * 1024 * 1024),
            max_redirects=cal.max_redirects,
        )
        return IcsUrlSource(cal.name, cal.ics, parser, limits)

    def templates(self, session: Session) -> Templates:
        """The template sets: files, with the web page's edits replacing them."""
        overrides = {o.name: o.body for o in session.exec(select(TemplateOverride))}
        sets, broken = load_sets(self.cfg.templates_dir, overrides)
        return Templates(sets=sets, broken={k: str(v) for k, v in broken.items()})
