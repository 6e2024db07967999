"""`eventpromo posts list | retry ID | publish-now ID | resolve ID --published/--not-published`."""

from __future__ import annotations

from datetime import datetime

import click
from sqlmodel import Session, col, select

from ..models import AuditEntry, Post, PostStatus, TrackedLink
from ..publishing_actions import publish_now, resolve_unknown, retry_post
from ..tracking import tracked_url
from .common import iso_utc, now_or, print_json, print_table, runtime


def register(cli: click.Group) -> None:
    """Add the posts commands."""
    cli.add_command(posts)


@click.group()
def posts() -> None:
    """Planned and published posts."""


@posts.command("list")
@click.option("--event", "event_id", type=int, metavar="ID", help="Only this event's posts.")
@click.option("--status", type=click.Choice(PostStatus.ALL), help="Only posts in this status.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def list_posts(ctx: click.Context, event_id: int | None, status: str | None, as_json: bool) -> None:
    """Posts by scheduled time."""
    rt = runtime(ctx)
    stmt = (
        select(Post, TrackedLink.code)
        .outerjoin(TrackedLink, col(TrackedLink.post_id) == col(Post.id))
        .order_by(col(Post.scheduled_at), col(Post.id))
    )
    if event_id is not None:
        stmt = stmt.where(Post.event_id == event_id)
    if status:
        stmt = stmt.where(Post.status == status)
    with rt.db.session() as session:
        rows = [
            {
                "id": p.id,
                "event_id": p.event_id,
                "step": p.step,
                "channel": p.channel,
                "network": p.network,
                "scheduled_at": iso_utc(p.scheduled_at),
                "status": p.status,
                "text": p.text,
                "tracked_url": tracked_url(rt.cfg.base_url, code) if code else None,
                "external_id": p.external_id,
                "attempts": p.attempts,
                "last_error": p.last_error,
                "hold_reason": p.hold_reason,
                "hold_kind": p.hold_kind,
                "skip_reason": p.skip_reason,
                "published_at": iso_utc(p.published_at),
                "external_url": p.external_url,
                "due_at": iso_utc(p.due_at),
            }
            for p, code in session.exec(stmt).all()
        ]
    if as_json:
        print_json(rows)
        return
    print_table(
        ["id", "event", "step", "channel", "scheduled (UTC)", "status", "text / reason"],
        [
            [
                r["id"],
                r["event_id"],
                r["step"],
                r["channel"],
                r["scheduled_at"],
                r["status"],
                r["last_error"] or r["hold_reason"] or r["skip_reason"] or r["text"],
            ]
            for r in rows
        ],
        widths={6: 60},
    )


def _audit(session: Session, post: Post, action: str, now: datetime) -> None:
    session.add(AuditEntry(at=now, actor="cli", action=action, event_id=post.event_id, post_id=post.id))


def _done(post: Post) -> None:
    reason = post.last_error or post.hold_reason or post.skip_reason
    click.echo(f"eventpromo: post {post.id} is {post.status}" + (f": {reason}" if reason else ""), err=True)


@posts.command("retry")
@click.argument("post_id", type=int)
@click.option("--now", "now_text", metavar="ISO", help="Take this instant as the present.")
@click.pass_context
def retry(ctx: click.Context, post_id: int, now_text: str | None) -> None:
    """Send a failed post again (the worker picks it up at once)."""
    rt = runtime(ctx)
    now = now_or(now_text, rt.cfg.timezone)
    with rt.db.session(write=True) as session:
        post = retry_post(session, post_id, now, rt.cfg.publishing)
        _audit(session, post, "post.retry", now)
    _done(post)


@posts.command("publish-now")
@click.argument("post_id", type=int)
@click.option("--now", "now_text", metavar="ISO", help="Take this instant as the present.")
@click.pass_context
def publish_now_cmd(ctx: click.Context, post_id: int, now_text: str | None) -> None:
    """Move a post to now and send it (its words are written again for the new time)."""
    rt = runtime(ctx)
    now = now_or(now_text, rt.cfg.timezone)
    with rt.db.session(write=True) as session:
        post = publish_now(session, rt.cfg, rt.templates(session), post_id, now)
        _audit(session, post, "post.publish_now", now)
    _done(post)


@posts.command("resolve")
@click.argument("post_id", type=int)
@click.option("--published/--not-published", required=True, help="What you found on the account.")
@click.option("--url", "external_url", metavar="URL", help="With --published: where the post is.")
@click.option("--now", "now_text", metavar="ISO", help="Take this instant as the present.")
@click.pass_context
def resolve(ctx: click.Context, post_id: int, published: bool, external_url: str | None, now_text: str | None) -> None:
    """Settle a post held as "outcome unknown": it is on the account, or it is not (then it is sent)."""
    rt = runtime(ctx)
    now = now_or(now_text, rt.cfg.timezone)
    with rt.db.session(write=True) as session:
        post = resolve_unknown(session, post_id, published, now, rt.cfg.publishing, external_url)
        _audit(session, post, "post.resolve_published" if published else "post.resolve_not_published", now)
    _done(post)
