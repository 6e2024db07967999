"""Tracked links and clicks: short codes, redirect targets with UTM parameters, bot detection,
privacy-preserving visitor keys, the click spool, and the statistics people read.

    codes.py     mint_code, tracked_url, add_link (unique on insert)
    target.py    to_uri (IDN, Unicode paths), with_utm, redirect_target (only stored http(s) URLs)
    links.py     resolve a code; LinkCache (per process, dropped on any SQLite change)
    bots.py      BotDetector: crawlerdetect + service/data/bot_agents.txt + prefetch headers
    visitors.py  daily salts, visitor keys (HMAC, never the IP), referrer hosts, access-log format
    clicks.py    Hit, SuspectWindow (per-visitor rate), store_hits, record_click
    spool.py     SpoolWriter: one line per click in the kernel before the redirect is answered
    ingest.py    ingest/drain, Flusher: spool lines into click rows, exactly once
    tracker.py   ClickTracker: what GET /r/<code> uses in one process; flush_pending
    stats.py     per post / event / step / channel / day, daily series, step ranking
    export.py    CSV
"""

from __future__ import annotations

from .bots import BotDetector, is_bot, is_prefetch
from .clicks import Hit, SuspectWindow, record_click, store_hits
from .codes import BASE62, CODE_LENGTH, add_link, is_code, mint_code, tracked_url
from .links import LinkCache, Redirect, resolve
from .stats import (
    Counts,
    DailySeries,
    GroupStats,
    PostStats,
    StepRank,
    best_step,
    daily_series,
    grouped_stats,
    post_stats,
    step_ranking,
)
from .target import redirect_target, to_uri, with_utm
from .tracker import ClickTracker, flush_pending, spool_dir
from .visitors import ACCESS_LOG_FORMAT, day_salt, referrer_host, visitor_key

__all__ = [
    "ACCESS_LOG_FORMAT",
    "BASE62",
    "CODE_LENGTH",
    "BotDetector",
    "ClickTracker",
    "Counts",
    "DailySeries",
    "GroupStats",
    "Hit",
    "LinkCache",
    "PostStats",
    "Redirect",
    "StepRank",
    "SuspectWindow",
    "add_link",
    "best_step",
    "daily_series",
    "day_salt",
    "flush_pending",
    "grouped_stats",
    "is_bot",
    "is_code",
    "is_prefetch",
    "mint_code",
    "post_stats",
    "record_click",
    "redirect_target",
    "referrer_host",
    "resolve",
    "spool_dir",
    "step_ranking",
    "store_hits",
    "to_uri",
    "tracked_url",
    "visitor_key",
    "with_utm",
]
