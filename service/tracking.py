"""Tracked links: short codes, UTM merging, bot detection and click recording without IP addresses."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawlerdetect import CrawlerDetect
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from .models import Click, Event, Post, TrackedLink, VisitorSalt

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CODE_LENGTH = 10

# Preview fetchers and tools that crawlerdetect does not know; matched case-insensitively as substrings.
EXTRA_BOT_MARKERS = (
    "cardyb",  # Bluesky's link card fetcher
    "bluesky",
    "mastodon",
    "pleroma",
    "akkoma",
    "misskey",
    "whatsapp",
    "telegrambot",
    "discordbot",
    "slackbot",
    "slack-imgproxy",
    "linkedinbot",
    "facebookexternalhit",
    "twitterbot",
    "skypeuripreview",
    "microsoftpreview",
    "googleother",
    "iframely",
    "embedly",
    "python-requests",
    "curl/",
    "wget/",
    "httpie",
    "go-http-client",
    "okhttp",
    "headlesschrome",
)

_detector = CrawlerDetect()


def mint_code() -> str:
    """A fresh random code of CODE_LENGTH base62 characters (about 59 bits from the OS CSPRNG)."""
    return "".join(secrets.choice(BASE62) for _ in range(CODE_LENGTH))


def tracked_url(base_url: str, code: str) -> str:
    """The public short link of a code."""
    return f"{base_url.rstrip('/')}/r/{code}"


def with_utm(url: str, source: str, campaign: str, content: str, medium: str = "social") -> str:
    """`url` with utm_* parameters added; keys it already has are kept as they are, the fragment too."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _ in query}
    for key, value in (
        ("utm_source", source),
        ("utm_medium", medium),
        ("utm_campaign", campaign),
        ("utm_content", content),
    ):
        if key not in present:
            query.append((key, value))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, doseq=True), parts.fragment))


def is_bot(user_agent: str | None) -> bool:
    """True for crawlers, link-preview fetchers, command-line tools and empty agents."""
    ua = (user_agent or "").strip()
    if not ua:
        return True
    low = ua.lower()
    if any(marker in low for marker in EXTRA_BOT_MARKERS):
        return True
    return bool(_detector.isCrawler(ua))


def referrer_host(referrer: str | None) -> str | None:
    """Only the host of a referrer: paths can carry personal data."""
    if not referrer:
        return None
    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        return None
    return host[:255] if host else None


@dataclass(frozen=True)
class Redirect:
    """Where a code leads and what the click row needs."""

    link_id: int
    target: str


def resolve(session: Session, code: str) -> Redirect | None:
    """The redirect target of a code: the event's current RSVP URL with UTM parameters, or None."""
    row = session.execute(
        sa_select(
            col(TrackedLink.id),
            col(Post.network),
            col(Post.step),
            col(Post.link_kind),
            col(Event.slug),
            col(Event.rsvp_url),
            col(Event.recording_url),
        )
        .join(Post, col(Post.id) == col(TrackedLink.post_id))
        .join(Event, col(Event.id) == col(Post.event_id))
        .where(col(TrackedLink.code) == code)
    ).first()
    if row is None:
        return None
    link_id, network, step, link_kind, slug, rsvp_url, recording_url = row
    url = recording_url if link_kind == "recording" and recording_url else rsvp_url
    if not url:
        return None
    assert link_id is not None
    return Redirect(link_id=link_id, target=with_utm(url, network, slug, step))


def day_salt(session: Session, day: date) -> str:
    """The secret salt of `day`, created on first use; salts older than yesterday are deleted."""
    salt = session.get(VisitorSalt, day)
    if salt is None:
        salt = VisitorSalt(day=day, salt=secrets.token_hex(32))
        session.add(salt)
        for old in session.exec(select(VisitorSalt).where(VisitorSalt.day < day - timedelta(days=1))):
            session.delete(old)
        session.flush()
    return salt.salt


def visitor_key(salt: str, ip: str, user_agent: str) -> str:
    """HMAC of ip + user agent under the day's salt: counts unique visitors without keeping the IP."""
    return hmac.new(salt.encode(), f"{ip}\n{user_agent}".encode(), hashlib.sha256).hexdigest()[:32]


def record_click(
    session: Session,
    link_id: int,
    at: datetime,
    ip: str,
    user_agent: str | None,
    referrer: str | None,
    suspect_per_minute: int,
) -> Click:
    """Store one click: bot flag, referrer host, visitor key; over the per-visitor rate it is suspect."""
    ua = user_agent or ""
    key = visitor_key(day_salt(session, at.date()), ip, ua)
    recent = session.exec(
        select(func.count()).select_from(Click).where(Click.visitor_key == key, Click.at >= at - timedelta(minutes=1))
    ).one()
    click = Click(
        link_id=link_id,
        at=at,
        is_bot=is_bot(ua),
        is_suspect=recent >= suspect_per_minute,
        referrer_host=referrer_host(referrer),
        visitor_key=key,
    )
    session.add(click)
    return click


@dataclass(frozen=True)
class PostStats:
    """Clicks of one post's link, counted apart by kind."""

    post_id: int
    event_id: int
    step: str
    channel: str
    clicks: int
    unique_clicks: int
    bot_clicks: int
    suspect_clicks: int


def post_stats(session: Session, event_id: int | None = None) -> list[PostStats]:
    """Per post: human clicks, unique humans, bot clicks and suspect clicks (one query)."""
    is_bot, is_suspect = col(Click.is_bot), col(Click.is_suspect)
    human = ~is_bot & ~is_suspect
    stmt = (
        sa_select(
            col(Post.id),
            col(Post.event_id),
            col(Post.step),
            col(Post.channel),
            func.count(col(Click.id)).filter(human),
            func.count(func.distinct(col(Click.visitor_key))).filter(human),
            func.count(col(Click.id)).filter(is_bot),
            func.count(col(Click.id)).filter(is_suspect & ~is_bot),
        )
        .join(TrackedLink, col(TrackedLink.post_id) == col(Post.id))
        .outerjoin(Click, col(Click.link_id) == col(TrackedLink.id))
        .group_by(col(Post.id), col(Post.event_id), col(Post.step), col(Post.channel), col(Post.scheduled_at))
        .order_by(col(Post.event_id), col(Post.scheduled_at), col(Post.channel))
    )
    if event_id is not None:
        stmt = stmt.where(col(Post.event_id) == event_id)
    return [PostStats(*row) for row in session.execute(stmt).all()]
