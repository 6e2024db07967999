"""`eventpromo posts list`."""

from __future__ import annotations

import click
from sqlmodel import col, select

from ..models import Post, PostStatus, TrackedLink
from ..tracking import tracked_url
from .common import iso_utc, print_json, print_table, runtime


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
                "skip_reason": p.skip_reason,
                "published_at": iso_utc(p.published_at),
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
