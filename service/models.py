"""SQLModel tables. Every instant is stored in UTC and read back timezone-aware (UTCDateTime)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# Named constraints, so Alembic's batch mode on SQLite can alter them later.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no offset) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware datetimes only")
        value = value.astimezone(UTC)
        # SQLite compares the stored text: keep one format, no offset.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def _check_in(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


class PostStatus:
    """The post life cycle (see DESIGN.md)."""

    SCHEDULED = "scheduled"
    HELD = "held"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    ALL = (SCHEDULED, HELD, PUBLISHING, PUBLISHED, FAILED, SKIPPED, CANCELLED)
    # A post in one of these may still be changed by planning or a person.
    OPEN = (SCHEDULED, HELD, FAILED, SKIPPED)
    # Never touched again by planning.
    FINAL = (PUBLISHED, CANCELLED)


class EventStatus:
    """An event instance's status, as the calendar says (plus `removed` when gone from it)."""

    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"
    ALL = (CONFIRMED, TENTATIVE, CANCELLED)


class Role:
    """What a login may do."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    VIEWER = "viewer"
    ALL = (ADMIN, COORDINATOR, VIEWER)


class User(SQLModel, table=True):
    """A person who logs in to the web page."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    password_hash: str = Field(max_length=512)
    role: str = Field(default=Role.COORDINATOR, max_length=20)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (_check_in("role", Role.ALL, "role"),)


class CalendarSource(SQLModel, table=True):
    """A configured calendar and its sync state (validators, tokens, last outcome)."""

    __tablename__ = "calendar_source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=20)
    location: str = Field(default="", sa_type=Text)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    # HTTP validators and content fingerprint: an unchanged feed costs no parsing.
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    content_hash: str | None = Field(default=None, max_length=64)
    # Google incremental sync.
    sync_token: str | None = Field(default=None, sa_type=Text)
    event_count: int = 0
    # A suspiciously small result waits for confirmation (a second identical result or --force).
    suspect_hash: str | None = Field(default=None, max_length=64)
    horizon_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    horizon_end: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Event(SQLModel, table=True):
    """One event instance: identity is source + UID + RECURRENCE-ID ('' for a single event)."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="calendar_source.id", ondelete="CASCADE")
    uid: str = Field(max_length=500)
    recurrence_id: str = Field(default="", max_length=64)
    title: str = Field(default="", sa_type=Text)
    description: str = Field(default="", sa_type=Text)
    location: str = Field(default="", sa_type=Text)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    timezone: str = Field(max_length=64)
    all_day: bool = False
    status: str = Field(default=EventStatus.CONFIRMED, max_length=20)
    # Set when the event disappeared from its source (kept for history; its posts are cancelled).
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rsvp_url: str | None = Field(default=None, sa_type=Text)
    url: str | None = Field(default=None, sa_type=Text)
    hashtags: str = Field(default="", max_length=500)
    template: str | None = Field(default=None, max_length=100)
    channels: list[str] | None = Field(default=None, sa_type=JSON)
    image_url: str | None = Field(default=None, sa_type=Text)
    speaker: str | None = Field(default=None, max_length=500)
    recording_url: str | None = Field(default=None, sa_type=Text)
    slug: str = Field(default="", max_length=120)
    warnings: list[str] = Field(default_factory=list, sa_type=JSON)
    sequence: int = 0
    # Fingerprint of everything imported: an unchanged event is not rewritten.
    content_hash: str = Field(default="", max_length=64)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (
        UniqueConstraint("source_id", "uid", "recurrence_id", name="uq_event_identity"),
        Index("ix_event_start_at", "start_at"),
        _check_in("status", EventStatus.ALL, "status"),
    )


class Campaign(SQLModel, table=True):
    """The countdown campaign of one event: which template set, paused or not, planning errors."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", unique=True, ondelete="CASCADE")
    template: str = Field(max_length=100)
    # True when a person chose the template set on the web page (a re-sync keeps it).
    template_chosen: bool = False
    paused: bool = False
    error: str | None = Field(default=None, sa_type=Text)
    # What the event looked like when planning last ran: a move or a status change is seen against it.
    planned_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    planned_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    planned_status: str | None = Field(default=None, max_length=20)
    # Fingerprint of the template set's text when planning last ran: an edited set re-plans its events.
    template_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Post(SQLModel, table=True):
    """One countdown step on one channel: what it says, when it goes out, what happened."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    event_id: int = Field(foreign_key="event.id", ondelete="CASCADE", index=True)
    step: str = Field(max_length=50)
    channel: str = Field(max_length=100)
    network: str = Field(max_length=20)
    # When the post is meant to go out, and when the worker should next look at it (retries move only due_at).
    scheduled_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    # The step's own time before windows and spacing moved it: while it stays the same, so does the post's.
    planned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default=PostStatus.SCHEDULED, max_length=20)
    text: str = Field(default="", sa_type=Text)
    # What planning rendered last; `text` differs only when a person edited it (edited=True).
    rendered_text: str = Field(default="", sa_type=Text)
    edited: bool = False
    # A person moved the time: planning keeps it.
    moved: bool = False
    # Where the tracked link leads: the event's RSVP URL, or its recording ("recording available" steps).
    link_kind: str = Field(default="rsvp", max_length=20)
    hold_reason: str | None = Field(default=None, sa_type=Text)
    # Who holds it: "fit", "policy" or "tentative" (planning re-evaluates it), or a person decides:
    # "approval", "review", "unknown_outcome" (the publisher could not tell whether it went out), "reconnect".
    hold_kind: str | None = Field(default=None, max_length=20)
    skip_reason: str | None = Field(default=None, sa_type=Text)
    attempts: int = 0
    attempt_id: str | None = Field(default=None, max_length=64)
    claimed_by: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    external_id: str | None = Field(default=None, max_length=200)
    external_url: str | None = Field(default=None, sa_type=Text)
    last_error: str | None = Field(default=None, sa_type=Text)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (
        UniqueConstraint("campaign_id", "step", "channel", name="uq_post_step_channel"),
        Index("ix_post_status_due_at", "status", "due_at"),
        Index("ix_post_status_lease_until", "status", "lease_until"),
        # Per-channel pacing and rate limits: the channel's latest publishes without a scan.
        Index("ix_post_channel_published_at", "channel", "published_at"),
        _check_in("status", PostStatus.ALL, "status"),
    )


class PostAttempt(SQLModel, table=True):
    """One try at publishing a post: committed before the network call, finished after it."""

    __tablename__ = "post_attempt"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", ondelete="CASCADE", index=True)
    attempt_id: str = Field(max_length=64, unique=True)
    worker: str = Field(default="", max_length=200)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Committed just before the network call: an attempt without it surely never reached the network.
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=30)
    error: str | None = Field(default=None, sa_type=Text)


class TrackedLink(SQLModel, table=True):
    """The short code of one post's RSVP link; the target is the event's current RSVP URL."""

    __tablename__ = "tracked_link"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    post_id: int = Field(foreign_key="post.id", unique=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Click(SQLModel, table=True):
    """One GET of a tracked link. No IP address: a visitor key (daily-salted HMAC) and the referrer host."""

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="tracked_link.id", ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime)
    is_bot: bool = False
    is_suspect: bool = False
    referrer_host: str | None = Field(default=None, max_length=255)
    visitor_key: str = Field(default="", max_length=64)

    __table_args__ = (
        Index("ix_click_link_id_at", "link_id", "at"),
        Index("ix_click_visitor_key_at", "visitor_key", "at"),
    )


class ClickSpool(SQLModel, table=True):
    """How far one click spool file has been read into `click`: moves in the same transaction as the rows."""

    __tablename__ = "click_spool"

    name: str = Field(primary_key=True, max_length=200)
    position: int = Field(default=0, sa_type=BigInteger)
    # The file was read to its end and deleted; a late reader holding it open must not read it again.
    finished: bool = False
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VisitorSalt(SQLModel, table=True):
    """The secret salt of one day's visitor keys; old ones are deleted so keys cannot be linked."""

    __tablename__ = "visitor_salt"

    day: date = Field(primary_key=True)
    salt: str = Field(max_length=128)


class ChannelState(SQLModel, table=True):
    """What the publisher learned about a channel: reconnect needed, rate limited until."""

    __tablename__ = "channel_state"

    name: str = Field(primary_key=True, max_length=100)
    needs_reconnect: bool = False
    reason: str | None = Field(default=None, sa_type=Text)
    rate_limited_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorkerHeartbeat(SQLModel, table=True):
    """Each worker's last tick, for /healthz and the status strip."""

    __tablename__ = "worker_heartbeat"

    worker: str = Field(primary_key=True, max_length=200)
    last_tick_at: datetime = Field(sa_type=UTCDateTime)
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TemplateOverride(SQLModel, table=True):
    """A template set edited on the web page; it replaces the file of the same name."""

    __tablename__ = "template_override"

    name: str = Field(primary_key=True, max_length=100)
    body: str = Field(sa_type=Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str | None = Field(default=None, max_length=320)


class AuditEntry(SQLModel, table=True):
    """Who did what to which event or post, from the web page or the command line."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(default="", max_length=320)
    action: str = Field(max_length=50)
    event_id: int | None = Field(default=None, index=True)
    post_id: int | None = Field(default=None)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class LoginAttempt(SQLModel, table=True):
    """One failed login, kept in the database so every web process sees the same count (rate limiting).

    `key` is `email:<address>` or `ip:<keyed hash>`: the client's address itself is never stored.
    """

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400)
    at: datetime = Field(sa_type=UTCDateTime)

    __table_args__ = (Index("ix_login_attempt_key_at", "key", "at"),)
