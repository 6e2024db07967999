"""Validate template sets: syntax, unknown variables, and every text fitted for a long-titled sample event.

Used by `eventpromo templates check` and by the web page's template editor (`validate_set_source`,
`preview_set`): every problem names the file, the step and the line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..config import NETWORKS, Config
from ..errors import TemplateError
from .fitting import fit_text
from .planner import ChannelView, DesiredPost, ExistingPost, LinkFor, PreviousPlan, ideal_time, plan
from .slots import ChannelLoad
from .templates import SpecialText, Step, TemplateSet, load_sets, parse_set, render
from .variables import EventView, variables

SAMPLE = EventView(
    id=0,
    title="Living Well After Treatment: Managing Fatigue, Sleep and Returning to Work in Survivorship",
    start=datetime(2026, 3, 12, 0, 30, tzinfo=UTC),
    end=datetime(2026, 3, 12, 1, 30, tzinfo=UTC),
    timezone="America/Phoenix",
    location="Desert Vista Cancer Center Auditorium, 1200 N Saguaro Blvd, Mesa, AZ",
    description="An hour with our survivorship team about the months after treatment: energy, sleep, "
    "work and the questions people ask us most.",
    rsvp_url="https://example.org/register/sample",
    hashtags="#CancerSurvivor #oncology",
    speaker="Dr. Alexandra Montgomery-Fitzgerald, Medical Oncology",
    image_url="https://example.org/images/sample.png",
    recording_url="https://example.org/recordings/sample",
    slug="sample",
)
SAMPLE_CODE = "AbCdEfGh12"


@dataclass(frozen=True)
class Problem:
    """One problem of a template set: where it is and what is wrong."""

    file: str
    step: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        step = f" step {self.step}:" if self.step else ""
        return f"{where}:{step} {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form the web page shows next to the editor."""
        return {"file": self.file, "step": self.step, "line": self.line, "message": self.message}


def _texts(tset: TemplateSet) -> list[tuple[str, str, Step | None, SpecialText | Step]]:
    out: list[tuple[str, str, Step | None, SpecialText | Step]] = [(s.key, s.label, s, s) for s in tset.steps]
    if tset.catch_up is not None:
        out.append(("catch_up", "Catch-up", None, tset.catch_up))
    if tset.notice is not None:
        out.append(("cancellation_notice", "Cancellation notice", None, tset.notice))
    return out


def check_set(tset: TemplateSet, base_url: str, sample: EventView = SAMPLE) -> list[str]:
    """Problems of one loaded set as one-line messages naming file, line and step (see set_problems)."""
    return [str(p) for p in set_problems(tset, base_url, sample)]


def set_problems(tset: TemplateSet, base_url: str, sample: EventView = SAMPLE) -> list[Problem]:
    """Problems of one loaded set: texts that fail to render, or that do not fit a network even after
    dropping the description and shortening the title, for a long-titled sample event."""
    problems: list[Problem] = []
    link = f"{base_url.rstrip('/')}/r/{SAMPLE_CODE}"
    for key, label, step, owner in _texts(tset):
        at = ideal_time(step, sample) if step is not None else sample.start - timedelta(days=3)
        values = variables(sample, at, link, "x", label)
        for network in NETWORKS:
            source = owner.text_for(network)
            lines = step.text_lines if step is not None else {}
            line = lines.get(network) or lines.get("default") or getattr(owner, "line", None)

            def render_with(v: Mapping[str, Any], source: str = source) -> str:
                return render(source, v, "")

            try:
                fitted = fit_text(render_with, {**values, "network": network}, network)
            except TemplateError as exc:
                at_line = line + (exc.line or 1) - 1 if line and exc.line else line
                problems.append(Problem(tset.file, key, at_line, str(exc).lstrip(": ")))
                break
            if fitted.problem and (network in owner.texts or network in ("x", "bluesky")):
                message = (
                    f"{fitted.length}/{fitted.limit} characters on {network} for a long-titled sample event, "
                    "even with its description dropped and its title shortened"
                )
                problems.append(Problem(tset.file, key, line, message))
    return problems


def check_sets(cfg: Config, overrides: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """Every set's problems (broken sets first), and the names of the sets checked."""
    sets, broken = load_sets(cfg.templates_dir, overrides)
    problems = [str(e) for e in broken.values()]
    for tset in sets.values():
        problems.extend(check_set(tset, cfg.base_url))
    return problems, sorted([*sets, *broken])


def validate_set_source(source: str, name: str, base_url: str, file: str | None = None) -> list[Problem]:
    """For the web editor: every problem of an edited set's TOML text (an empty list: it can be saved)."""
    file = file or f"{name}.toml"
    try:
        tset = parse_set(source, file, name)
    except TemplateError as exc:
        return [Problem(exc.file or file, exc.step, exc.line, _message_only(str(exc)))]
    return set_problems(tset, base_url)


def _message_only(text: str) -> str:
    # "file:12: step x: message" -> "message" (the Problem carries file, step and line apart).
    parts = text.split(": ", 2 if ": step " in text else 1)
    return parts[-1]


def preview_set(
    cfg: Config,
    tset: TemplateSet | str,
    event: EventView,
    channels: Sequence[ChannelView],
    now: datetime,
    existing: Mapping[tuple[str, str], ExistingPost] | None = None,
    codes: Mapping[tuple[str, str], str] | None = None,
    load: ChannelLoad | None = None,
    previous: PreviousPlan | None = None,
) -> list[dict[str, Any]]:
    """The timeline a set gives an event: one row per post, as `campaigns preview --json` prints it.

    `tset` may be TOML text (the web editor's unsaved copy): a broken one raises TemplateError.
    """
    if isinstance(tset, str):
        tset = parse_set(tset, "preview.toml", "preview")
    codes = codes or {}

    def link_for(step: str, channel: str) -> str:
        return f"{cfg.base_url}/r/{codes.get((step, channel), 'PREVIEW000')}"

    posts = plan(
        event,
        tset,
        channels,
        now,
        cfg.planning,
        link_for,
        existing,
        load=load or ChannelLoad(cfg.planning, cfg.timezone, f"{cfg.base_url}/r/"),
        require_approval=cfg.policy.require_approval,
        previous=previous,
        cap_zone=cfg.timezone,
    )
    return [preview_row(event, p) for p in posts]


def preview_row(event: EventView, p: DesiredPost) -> dict[str, Any]:
    """One post of a preview as a plain dict."""
    from .slots import zone

    local = p.scheduled_at.astimezone(zone(event.timezone))
    return {
        "event_id": event.id if event.id > 0 else None,
        "title": event.title,
        "step": p.step,
        "channel": p.channel,
        "network": p.network,
        "local_time": local.isoformat(),
        "zone": local.tzname(),
        "utc_time": p.scheduled_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "text": p.text,
        "length": p.length,
        "limit": p.limit,
        "status": p.status,
        "reason": p.skip_reason or p.hold_reason,
        "hold_kind": p.hold_kind,
        "note": p.note,
        "warnings": list(p.warnings),
        "link_kind": p.link_kind,
    }


__all__ = [
    "SAMPLE",
    "LinkFor",
    "Problem",
    "check_set",
    "check_sets",
    "preview_row",
    "preview_set",
    "set_problems",
    "validate_set_source",
]
