"""The template sets for a request, parsed once per change instead of on every page (parsing takes ~50 ms).

The cache key is what Runtime.templates reads: the files' names and modification times, and the
TemplateOverride rows. Any edit (on the page, by another process, or to a file) changes the key.
"""

from __future__ import annotations

import threading

from flask import current_app
from sqlmodel import Session, select

from ..campaigns.apply import Templates
from ..models import TemplateOverride
from ..runtime import Runtime

_lock = threading.Lock()


def templates(rt: Runtime, session: Session) -> Templates:
    """Runtime.templates(session), reused while neither the files nor the overrides changed."""
    overrides = tuple(sorted((o.name, o.body) for o in session.exec(select(TemplateOverride))))
    files = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(rt.cfg.templates_dir.glob("*.toml")))
    key = (files, overrides)
    cache = current_app.extensions.setdefault("eventpromo_templates", {})
    with _lock:
        hit = cache.get("entry")
        if hit is not None and hit[0] == key:
            return hit[1]
    loaded = rt.templates(session)
    with _lock:
        cache["entry"] = (key, loaded)
    return loaded
