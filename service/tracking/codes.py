"""Short codes of tracked links: random base62 from the OS CSPRNG, stored unique, one per post."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlmodel import Session, col

from ..errors import PlanningError
from ..models import Post, TrackedLink
from .dialect import insert_for

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# 62**10 is about 8.4e17 (59.5 bits): guessing a live code among even a million is hopeless.
CODE_LENGTH = 10
_CODE_RE = re.compile(r"[0-9A-Za-z]{8,32}")
# A collision is astronomically rare; several in a row would mean a broken random source.
_MINT_ATTEMPTS = 8


def mint_code(length: int = CODE_LENGTH) -> str:
    """A fresh random code of `length` base62 characters from the OS CSPRNG."""
    return "".join(secrets.choice(BASE62) for _ in range(length))


def is_code(text: str) -> bool:
    """True when `text` has the shape of a code (8 to 32 base62 characters)."""
    return _CODE_RE.fullmatch(text) is not None


def tracked_url(base_url: str, code: str) -> str:
    """The public short link of a code."""
    return f"{base_url.rstrip('/')}/r/{code}"


def add_link(session: Session, post: Post, code: str, now: datetime) -> str:
    """Store the post's tracked link under `code`, or under a fresh one if `code` is taken (the post's text follows).

    The insert skips a taken code instead of failing (INSERT ... ON CONFLICT DO NOTHING), so the
    caller's transaction goes on, on SQLite and PostgreSQL alike. Returns the code stored.
    """
    if post.id is None:
        raise ValueError("add_link needs a flushed post (with an id)")
    candidate = code
    for _ in range(_MINT_ATTEMPTS):
        stmt = (
            insert_for(session, TrackedLink)
            .values(code=candidate, post_id=post.id, created_at=now)
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(col(TrackedLink.id))
        )
        if session.execute(stmt).first() is not None:
            break
        candidate = mint_code()
    else:
        raise PlanningError(f"post {post.id}: no free tracked-link code after {_MINT_ATTEMPTS} attempts")
    if candidate != code:
        old, new = f"/r/{code}", f"/r/{candidate}"
        post.text = post.text.replace(old, new)
        post.rendered_text = post.rendered_text.replace(old, new)
    return candidate
