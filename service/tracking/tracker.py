"""The click tracker of one process: resolve codes from memory, record clicks without waiting on the database."""

from __future__ import annotations

import time
from pathlib import Path

from ..config import Config
from ..db import Database
from .bots import MAX_AGENT_LENGTH, BotDetector
from .clicks import Hit, SuspectWindow, store_hits
from .ingest import Flusher, drain
from .links import LinkCache, Redirect
from .spool import SpoolWriter, encode_hit
from .visitors import VisitorKeys, referrer_host


def spool_dir(cfg: Config) -> Path:
    """Where the web processes spool clicks: [tracking] spool_dir, else <instance_dir>/clicks."""
    return cfg.tracking.spool_dir or cfg.instance_dir / "clicks"


def detector_for(cfg: Config) -> BotDetector:
    """The bot detector: the bundled list plus [tracking] bot_agents."""
    return BotDetector([cfg.tracking.bot_agents] if cfg.tracking.bot_agents else [])


def flush_pending(cfg: Config, db: Database) -> int:
    """Store every spooled click now (the stats command and pages call this first); returns how many."""
    return drain(db, spool_dir(cfg), cfg.tracking.suspect_clicks_per_minute, detector_for(cfg))


class ClickTracker:
    """What GET /r/<code> needs in one process: the link cache, visitor keys and the click recorder."""

    def __init__(self, cfg: Config, db: Database):
        self.cfg = cfg
        self.db = db
        self.links = LinkCache(db, cfg.tracking.link_cache_seconds)
        self.keys = VisitorKeys(db)
        self.detector = detector_for(cfg)
        self.limit = cfg.tracking.suspect_clicks_per_minute
        self.directory = spool_dir(cfg)
        self.writer: SpoolWriter | None = None
        self.flusher: Flusher | None = None
        if cfg.tracking.recorder == "spool":
            self.writer = SpoolWriter(self.directory, fsync_each=cfg.tracking.fsync == "click")
            self.flusher = Flusher(
                db, self.directory, self.writer, self.limit, self.detector, cfg.tracking.flush_seconds
            )

    def resolve(self, code: str) -> Redirect | None:
        """Where `code` leads, or None (unknown code, or no http(s) link stored for its event)."""
        return self.links.get(code)

    def record(self, link_id: int, ip: str, user_agent: str, referrer: str | None, prefetch: bool = False) -> None:
        """Record one click before the redirect is answered: a spool line (default) or a database row."""
        at = time.time()
        ua = user_agent[:MAX_AGENT_LENGTH]
        hit = Hit(at, link_id, self.keys.key(ip, ua, at), referrer_host(referrer) if referrer else None, ua, prefetch)
        if self.writer is not None:
            self.writer.append_line(encode_hit(hit))
            return
        with self.db.session(write=True) as session:
            store_hits(session, [hit], SuspectWindow(self.limit, remember=False), self.detector)

    def start(self) -> None:
        """Run the spool flusher in this process (idempotent, cheap: called before requests)."""
        if self.flusher is not None:
            self.flusher.start()

    def flush(self) -> int:
        """Store every spooled click now; returns how many."""
        if self.writer is None:
            return 0
        self.writer.sync()
        return drain(self.db, self.directory, self.limit, self.detector)

    def close(self) -> None:
        """Stop the flusher and store what is left (tests and a graceful exit)."""
        if self.flusher is not None:
            self.flusher.stop()
