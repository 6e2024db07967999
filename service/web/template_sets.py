"""Template sets on the web page: view, check (sandboxed rendering, errors with line numbers), preview
against an event, save as a TemplateOverride (which Runtime.templates applies over the files), revert."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response

from ..campaigns.apply import Templates, event_channels, event_view, plan_events
from ..campaigns.checks import check_set, preview_set
from ..campaigns.templates import MAX_TEMPLATE_CHARS, TemplateSet, parse_set
from ..config import Config
from ..errors import TemplateError
from ..models import AuditEntry, CalendarSource, Campaign, Event, TemplateOverride
from . import current_runtime, now
from .auth import editor_required
from .queries import RECENT
from .template_cache import templates as cached_templates

bp = Blueprint("template_sets", __name__)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_LINE_RE = re.compile(r":(\d+):")
_NAME_LINE_RE = re.compile(r'^name\s*=\s*"[^"\n]*"', re.M)


@dataclass
class Check:
    """The outcome of checking a template set's text: errors block saving, warnings do not."""

    tset: TemplateSet | None
    errors: list[tuple[int | None, str]] = field(default_factory=list)
    warnings: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def lines(self) -> set[int]:
        """Lines with an error, to mark in the listing."""
        return {line for line, _ in self.errors if line}


def _line(message: str) -> int | None:
    m = _LINE_RE.search(message)
    return int(m.group(1)) if m else None


def check_body(body: str, name: str, base_url: str) -> Check:
    """Parse the set (TOML, steps, Jinja syntax) and render every step for a long-titled sample event."""
    if len(body) > MAX_TEMPLATE_CHARS * 5:
        return Check(None, [(None, f"the set is longer than {MAX_TEMPLATE_CHARS * 5} characters")])
    try:
        tset = parse_set(body, f"{name}.toml", name)
    except TemplateError as exc:
        return Check(None, [(exc.line or _line(str(exc)), str(exc))])
    out = Check(tset)
    for problem in check_set(tset, base_url):
        # Length problems go to planning (it holds a post that does not fit); render errors block saving.
        bucket = out.warnings if " characters on " in problem else out.errors
        bucket.append((_line(problem), problem))
    return out


def _sources(rt_cfg: Config) -> dict[str, str]:
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(rt_cfg.templates_dir.glob("*.toml"))}


@bp.route("/templates")
@login_required
def index() -> str:
    """Every template set: from a file or edited here, its steps, broken ones with their error."""
    rt = current_runtime()
    with rt.db.session() as session:
        templates = cached_templates(rt, session)
        overrides = {o.name: o for o in session.exec(select(TemplateOverride))}
        usage = dict(
            session.exec(
                select(Campaign.template, func.count())
                .join(Event, col(Event.id) == col(Campaign.event_id))
                .where(Event.end_at >= now() - RECENT, col(Event.removed_at).is_(None))
                .group_by(col(Campaign.template))
            ).all()
        )
    names = sorted({*templates.sets, *templates.broken})
    return render_template("templates_index.html", names=names, templates=templates, overrides=overrides, usage=usage)


@bp.route("/templates", methods=["POST"])
@editor_required
def create() -> Response:
    """A new set, copied from an existing one, stored as an override (there is no file behind it)."""
    rt = current_runtime()
    name = request.form.get("name", "").strip().lower()[:100]
    base = request.form.get("base", "")
    if not _NAME_RE.match(name):
        flash("A set's name is lowercase letters, digits, '-' or '_' (like `patient-webinar`).", "error")
        return redirect(url_for("template_sets.index"))
    with rt.db.session(write=True) as session:
        overrides = {o.name: o.body for o in session.exec(select(TemplateOverride))}
        sources = {**_sources(rt.cfg), **overrides}
        if name in sources:
            flash(f"There is already a set named {name}.", "error")
            return redirect(url_for("template_sets.index"))
        if base not in sources:
            flash(f"There is no set named {base!r} to start from.", "error")
            return redirect(url_for("template_sets.index"))
        body = _NAME_LINE_RE.sub(f'name = "{name}"', sources[base], count=1)
        actor = str(current_user.email)
        session.add(TemplateOverride(name=name, body=body, updated_at=now(), updated_by=actor))
        session.add(AuditEntry(actor=actor, action="create_template", detail={"template": name, "from": base}))
    flash(f"Created {name} from {base}. Edit its steps and texts, then save.", "success")
    return redirect(url_for("template_sets.show", name=name))


def _upcoming(session: Session, name: str, limit: int = 200) -> list[tuple[Event, str]]:
    """Upcoming events to preview against, those whose campaign uses `name` first."""
    rows = session.exec(
        select(Event, CalendarSource.name, Campaign.template)
        .join(CalendarSource, col(CalendarSource.id) == col(Event.source_id))
        .outerjoin(Campaign, col(Campaign.event_id) == col(Event.id))
        .where(Event.end_at >= now() - RECENT, col(Event.removed_at).is_(None), Event.status != "cancelled")
        .order_by(col(Event.start_at))
        .limit(limit)
    ).all()
    ordered = sorted(rows, key=lambda r: r[2] != name)  # stable: time order within each group
    return [(e, n) for e, n, _ in ordered]


def _preview(cfg: Config, tset: TemplateSet, event: Event, source: str) -> list[dict[str, object]]:
    """The posts this set would give the event now, as `eventpromo campaigns preview` plans them (nothing stored)."""
    labels = tset.step_labels()
    rows = preview_set(cfg, tset, event_view(event), event_channels(cfg, event, source), now())
    return [
        {
            "step": labels.get(r["step"], r["step"]),
            "channel": r["channel"],
            "network": r["network"],
            "at": datetime.fromisoformat(str(r["utc_time"]).replace("Z", "+00:00")),
            "text": r["text"],
            "length": r["length"],
            "limit": r["limit"],
            "note": r["reason"],
        }
        for r in rows
    ]


def _page(name: str, body: str, check: Check, status: int = 200) -> tuple[str, int]:
    rt = current_runtime()
    with rt.db.session() as session:
        events = _upcoming(session, name)
        override = session.get(TemplateOverride, name)
    chosen = request.values.get("event", "")
    event_row = next(((e, s) for e, s in events if str(e.id) == chosen), events[0] if events else None)
    preview = None
    preview_error = None
    if check.tset is not None and event_row is not None:
        try:
            preview = _preview(rt.cfg, check.tset, *event_row)
        except TemplateError as exc:
            preview_error = str(exc)
    return render_template(
        "template_edit.html",
        name=name,
        body=body,
        check=check,
        lines=body.split("\n"),
        events=events,
        chosen=event_row[0] if event_row else None,
        preview=preview,
        preview_error=preview_error,
        override=override,
        has_file=name in _sources(rt.cfg),
    ), status


@bp.route("/templates/<name>")
@login_required
def show(name: str) -> tuple[str, int]:
    """One set: its text, its check, and a preview against an upcoming event."""
    if not _NAME_RE.match(name):
        abort(404)
    rt = current_runtime()
    with rt.db.session() as session:
        override = session.get(TemplateOverride, name)
    body = override.body if override else _sources(rt.cfg).get(name)
    if body is None:
        abort(404)
    return _page(name, body, check_body(body, name, rt.cfg.base_url))


@bp.route("/templates/<name>", methods=["POST"])
@editor_required
def save(name: str) -> Response | tuple[str, int]:
    """`check` shows errors and the preview for the typed text; `save` stores it; `revert` drops the edit."""
    if not _NAME_RE.match(name):
        abort(404)
    rt = current_runtime()
    action = request.form.get("action", "check")
    if action == "revert":
        return _revert(name)
    body = request.form.get("body", "").replace("\r\n", "\n")
    check = check_body(body, name, rt.cfg.base_url)
    if action != "save":
        return _page(name, body, check)
    if check.errors or check.tset is None:
        flash("Not saved: fix the errors below first.", "error")
        return _page(name, body, check, 400)
    actor = str(current_user.email)
    with rt.db.session(write=True) as session:
        row = session.get(TemplateOverride, name) or TemplateOverride(name=name, body=body)
        row.body, row.updated_at, row.updated_by = body, now(), actor
        session.add(row)
        session.add(AuditEntry(actor=actor, action="edit_template", detail={"template": name}))
        replanned = _replan(session, rt.cfg, rt.templates(session), name, now())
    flash(f"Saved {name}. Re-planned {replanned} upcoming event(s) that use it; edited texts were kept.", "success")
    return redirect(url_for("template_sets.show", name=name))


def _revert(name: str) -> Response:
    rt = current_runtime()
    if name not in _sources(rt.cfg):
        flash(f"{name} has no file to go back to; it stays as edited.", "error")
        return redirect(url_for("template_sets.show", name=name))
    with rt.db.session(write=True) as session:
        row = session.get(TemplateOverride, name)
        if row is not None:
            session.delete(row)
            session.flush()
        session.add(AuditEntry(actor=str(current_user.email), action="revert_template", detail={"template": name}))
        replanned = _replan(session, rt.cfg, rt.templates(session), name, now())
    flash(f"{name} is back to its file. Re-planned {replanned} upcoming event(s).", "success")
    return redirect(url_for("template_sets.show", name=name))


def _replan(session: Session, cfg: Config, templates: Templates, name: str, at: datetime) -> int:
    """Re-plan the upcoming events whose campaign uses `name`, so their posts follow the new text."""
    events = list(
        session.exec(
            select(Event)
            .join(Campaign, col(Campaign.event_id) == col(Event.id))
            .where(Campaign.template == name, Event.end_at >= at, col(Event.removed_at).is_(None))
        )
    )
    if events:
        plan_events(session, cfg, templates, events, at)  # batched reads and writes, each event's own calendar
    return len(events)
