"""Validate template sets: syntax, unknown variables, and every step rendered for a long-titled sample."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ..config import Config
from ..errors import TemplateError
from .fitting import rules_for, text_length
from .templates import TemplateSet, load_sets, render
from .variables import EventView, variables

SAMPLE = EventView(
    id=0,
    title="Living Well After Treatment: Managing Fatigue, Sleep and Returning to Work in Survivorship",
    start=datetime(2026, 3, 12, 0, 30, tzinfo=UTC),
    end=datetime(2026, 3, 12, 1, 30, tzinfo=UTC),
    timezone="America/Phoenix",
    location="Desert Vista Cancer Center Auditorium, 1200 N Saguaro Blvd, Mesa, AZ",
    description="An hour with our survivorship team.",
    rsvp_url="https://example.org/register/sample",
    hashtags="#CancerSurvivor #oncology",
    speaker="Dr. Alexandra Montgomery-Fitzgerald, Medical Oncology",
    image_url="https://example.org/images/sample.png",
    recording_url="https://example.org/recordings/sample",
    slug="sample",
)
NETWORKS = ("x", "bluesky", "mastodon", "linkedin", "webhook")


def check_set(tset: TemplateSet, base_url: str) -> list[str]:
    """Problems of one loaded set: render errors and texts too long for a network, with file/step/line."""
    problems: list[str] = []
    link = f"{base_url}/r/AbCdEfGh12"
    for step in tset.steps:
        at = SAMPLE.start + step.offset - timedelta(minutes=1)
        for network in NETWORKS:
            text_src = step.text_for(network)
            try:
                text = render(
                    text_src, variables(SAMPLE, at, link, network), f"{tset.file}:{step.line}: step {step.key}"
                )
            except TemplateError as exc:
                problems.append(str(exc))
                break
            limit = rules_for(network).limit
            length = text_length(text, network)
            if length > limit and (network in step.texts or network == "x"):
                problems.append(
                    f"{tset.file}:{step.line}: step {step.key}: {length}/{limit} characters on {network} "
                    f"for a long-titled sample event"
                )
    return problems


def check_sets(cfg: Config) -> tuple[list[str], list[str]]:
    """Every set's problems (broken sets first), and the names of the sets checked."""
    sets, broken = load_sets(cfg.templates_dir)
    problems = [str(e) for e in broken.values()]
    for tset in sets.values():
        problems.extend(check_set(tset, cfg.base_url))
    return problems, sorted([*sets, *broken])
