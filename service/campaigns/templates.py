"""Template sets: TOML files of countdown steps whose texts are Jinja2 rendered in a sandbox.

A set (one `*.toml` file in the templates folder, or a copy edited on the web page):

    name = "webinar"
    description = "What this countdown is for"
    cancellation_notice = "..."      # optional: posted once if the event is cancelled after announcements
    catch_up = "..."                 # optional: posted once for an event first seen after steps had passed
                                     # (both also as tables: text = "...", [x.networks] bluesky = "...")
    [[steps]]
    key = "one-week"                 # lowercase, unique in the set
    label = "One week out"
    offset = "-7d"                   # from the anchor: -14d, -2h, +30m, -1d2h, 0
    anchor = "start"                 # start (default) or end
    at = "10:00"                     # optional local time of day in the event's zone
    channels = ["x"]                 # optional: only these channels (default: all of the event's)
    when = "recording_url"           # optional: a variable that must be non-empty ("not speaker": empty)
    link = "rsvp"                    # where the tracked link leads: rsvp (default) or recording
    text = \"\"\" ... Jinja2 ... \"\"\"
    [steps.networks]                 # optional per-network texts
    bluesky = \"\"\" ... \"\"\"

Every error names the file, the step and the line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import meta

from ..config import NETWORKS
from ..errors import TemplateError
from .sandbox import GLOBAL_NAMES, MAX_OUTPUT_CHARS, MAX_TEMPLATE_CHARS, CompileError, parse, render_text
from .variables import VARIABLES

__all__ = [
    "MAX_OUTPUT_CHARS",
    "MAX_TEMPLATE_CHARS",
    "SpecialText",
    "Step",
    "TemplateSet",
    "load_sets",
    "parse_offset",
    "parse_set",
    "render",
]

_OFFSET_RE = re.compile(r"^([+-]?)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_STEP_KEYS = {"key", "offset", "anchor", "at", "channels", "when", "text", "networks", "label", "link"}
_SET_KEYS = {"name", "description", "steps", "cancellation_notice", "catch_up"}
_SPECIAL_KEYS = {"text", "networks"}
# Step keys the planner itself uses; a set may not name its own steps so.
RESERVED_STEPS = {"catch-up": "catch_up", "cancelled": "cancellation_notice"}
# How the page names those planner steps (a set's own steps carry their `label`).
RESERVED_LABELS = {"catch-up": "Catch-up announcement", "cancelled": "Cancellation notice"}
LINK_KINDS = ("rsvp", "recording")


@dataclass(frozen=True)
class SpecialText:
    """A text outside the steps (cancellation notice, catch-up), with per-network variants."""

    texts: Mapping[str, str]
    line: int = 0

    def text_for(self, network: str) -> str:
        """The variant for a network, else the default."""
        return self.texts.get(network) or self.texts["default"]


@dataclass(frozen=True)
class Step:
    """One countdown step of a template set."""

    key: str
    offset: timedelta
    anchor: str = "start"  # start | end
    at: time | None = None  # local time of day, or None for start/end + offset
    channels: tuple[str, ...] = ()  # empty: every channel of the event
    when: str | None = None  # variable that must be truthy (e.g. "recording_url")
    label: str = ""
    texts: Mapping[str, str] = field(default_factory=dict)  # "default" and per-network variants
    line: int = 0  # line of the step in its file, for errors
    days: int = 0  # the calendar-day part of the offset (applied to the local date)
    seconds: int = 0  # the rest of the offset, in seconds (applied to the instant)
    when_negated: bool = False
    link: str = "rsvp"  # rsvp | recording: where this step's tracked link leads
    text_lines: Mapping[str, int] = field(default_factory=dict)  # first file line of each variant

    @cached_property
    def tied_to_event(self) -> bool:
        """A step at the event's own time ("live now") follows the event, outside the posting window too."""
        return self.offset == timedelta(0) and self.at is None and self.anchor == "start"

    @cached_property
    def before_start(self) -> bool:
        """A countdown step that must go out before the event starts."""
        return self.anchor == "start" and self.offset < timedelta(0)

    def text_for(self, network: str) -> str:
        """The template text for a network: its own variant, else the default."""
        return self.texts.get(network) or self.texts["default"]


@dataclass(frozen=True)
class TemplateSet:
    """A named countdown: its steps, in file order."""

    name: str
    description: str
    steps: tuple[Step, ...]
    file: str = ""
    cancellation_notice: str | None = None  # the notice's default text (see `notice` for its variants)
    source: str = ""  # the TOML text, as loaded
    catch_up: SpecialText | None = None  # posted once for an event first seen late
    notice: SpecialText | None = None  # posted once when an announced event is cancelled

    def step_labels(self) -> dict[str, str]:
        """Step key -> label for people, the planner's own steps (catch-up, cancellation notice) included."""
        return {**RESERVED_LABELS, **{s.key: s.label for s in self.steps}}


def parse_offset(raw: Any) -> timedelta:
    """`-14d`, `-2h`, `+30m`, `-1d2h`, `0` -> timedelta."""
    days, seconds = _offset_parts(raw)
    return timedelta(days=days, seconds=seconds)


def _offset_parts(raw: Any) -> tuple[int, int]:
    text = str(raw).strip().lower().replace(" ", "")
    if text in ("0", "+0", "-0"):
        return 0, 0
    m = _OFFSET_RE.match(text)
    if not m or not any(m.group(i) for i in (2, 3, 4)):
        raise ValueError(f"offset {raw!r} is not like -14d, -2h, +30m, -1d2h or 0")
    sign = -1 if m.group(1) == "-" else 1
    d, h, mins = (int(m.group(i) or 0) for i in (2, 3, 4))
    return sign * d, sign * (h * 3600 + mins * 60)


# ---------------------------------------------------------------------------------------------
# Where things are in the file: TOML parsers keep no positions, so a small line scanner finds them.


@dataclass
class _Layout:
    """Line numbers of tables and keys: ('steps', i) / 'top' / 'cancellation_notice' ... -> key -> line."""

    keys: dict[tuple[Any, str], int] = field(default_factory=dict)
    first_text_line: dict[tuple[Any, str], int] = field(default_factory=dict)
    step_lines: list[int] = field(default_factory=list)
    table_lines: dict[Any, int] = field(default_factory=dict)


_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(?:#.*)?$")
_KEYLINE_RE = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+(?:\s*\.\s*[A-Za-z0-9_\-\"']+)*)\s*=\s*(.*)$")


def _layout(source: str) -> _Layout:
    out = _Layout()
    table: Any = "top"
    closing: str | None = None
    for n, line in enumerate(source.split("\n"), start=1):
        if closing is not None:
            if closing in line:
                closing = None
            continue
        header = _HEADER_RE.match(line)
        if header:
            name = header.group(2).replace('"', "").replace("'", "").replace(" ", "")
            if header.group(1) == "[[" and name == "steps":
                out.step_lines.append(n)
                table = ("steps", len(out.step_lines) - 1)
            elif name == "steps.networks" and out.step_lines:
                table = ("steps", len(out.step_lines) - 1, "networks")
            else:
                table = tuple(name.split("."))
                table = table[0] if len(table) == 1 else table
            out.table_lines.setdefault(table, n)
            continue
        m = _KEYLINE_RE.match(line)
        if not m:
            continue
        key = m.group(1).replace('"', "").replace("'", "").replace(" ", "")
        value = m.group(2)
        full: tuple[Any, str] = (table, key)
        if isinstance(table, tuple) and len(table) == 3:  # [steps.networks] x = ... -> step table, networks.x
            full = (table[:2], f"networks.{key}")
        elif isinstance(table, tuple) and len(table) == 2 and table[0] != "steps":  # [catch_up.networks]
            full = (table[0], f"networks.{key}")
        out.keys.setdefault(full, n)
        for quote in ('"""', "'''"):
            if value.startswith(quote):
                rest = value[3:]
                if quote not in rest:
                    closing = quote
                # A newline right after the opening quotes is not part of the string.
                out.first_text_line[full] = n + 1 if not rest.strip() else n
                break
        else:
            out.first_text_line[full] = n
        if value.lstrip().startswith("{"):  # inline table: networks = { x = "..." }
            for inner in re.findall(r"([A-Za-z0-9_\-]+)\s*=", value):
                out.keys.setdefault((full[0], f"{key}.{inner}"), n)
                out.first_text_line.setdefault((full[0], f"{key}.{inner}"), n)
    return out


# ---------------------------------------------------------------------------------------------


class _Parser:
    """Builds a TemplateSet from TOML text, raising TemplateError at the first problem."""

    def __init__(self, source: str, file: str):
        self.source = source
        self.file = file
        self.layout = _layout(source)

    def fail(self, line: int | None, message: str, step: str = "") -> TemplateError:
        where = f"{self.file}:{line}" if line else self.file
        label = f" step {step}:" if step else ""
        return TemplateError(f"{where}:{label} {message}", file=self.file, step=step, line=line)

    def parse(self, name: str | None) -> TemplateSet:
        try:
            raw = tomllib.loads(self.source)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            line = int(m.group(1)) if m else None
            raise self.fail(line, f"not valid TOML: {exc}") from None
        unknown = sorted(set(raw) - _SET_KEYS)
        if unknown:
            key = unknown[0]
            line = self.layout.keys.get(("top", key)) or self.layout.table_lines.get(key)
            raise self.fail(line, f"unknown key {key!r} (known: {', '.join(sorted(_SET_KEYS))})")
        set_name = str(name or raw.get("name") or Path(self.file).stem)
        steps_raw = raw.get("steps")
        if not isinstance(steps_raw, list) or not steps_raw:
            raise self.fail(None, "no [[steps]]: a set needs at least one step")
        seen: set[str] = set()
        steps = tuple(self.step(s, i, seen) for i, s in enumerate(steps_raw))
        notice = self.special(raw, "cancellation_notice")
        return TemplateSet(
            name=set_name,
            description=str(raw.get("description", "")),
            steps=steps,
            file=self.file,
            cancellation_notice=notice.texts["default"] if notice else None,
            source=self.source,
            catch_up=self.special(raw, "catch_up"),
            notice=notice,
        )

    def special(self, raw: dict[str, Any], key: str) -> SpecialText | None:
        value = raw.get(key)
        if value is None:
            return None
        line = self.layout.keys.get(("top", key)) or self.layout.table_lines.get(key) or 0
        if isinstance(value, str):
            table: dict[str, Any] = {"text": value}
            lines = {"default": self.layout.first_text_line.get(("top", key), line)}
        elif isinstance(value, dict):
            table = value
            unknown = sorted(set(table) - _SPECIAL_KEYS)
            if unknown:
                raise self.fail(line, f"{key}: unknown key {unknown[0]!r} (known: text, networks)")
            lines = {"default": self.layout.first_text_line.get((key, "text"), line)}
        else:
            raise self.fail(line, f"{key} must be a text or a table with `text`")
        if "text" not in table:
            raise self.fail(line, f"{key}: `text` is required")
        texts = self.texts(table, key, line, lines, key)
        return SpecialText(texts=texts, line=line)

    def texts(self, table: dict[str, Any], owner: Any, line: int, lines: dict[str, int], label: str) -> dict[str, str]:
        if not isinstance(table["text"], str):
            raise self.fail(line, "`text` must be a string", label)
        texts = {"default": table["text"]}
        networks = table.get("networks", {})
        if not isinstance(networks, dict):
            raise self.fail(line, "`networks` must be a table of network = text", label)
        for network, text in networks.items():
            where = self.layout.keys.get((owner, f"networks.{network}"), line)
            if network not in NETWORKS:
                raise self.fail(where, f"unknown network {network!r} (known: {', '.join(NETWORKS)})", label)
            if not isinstance(text, str):
                raise self.fail(where, f"the {network} text must be a string", label)
            texts[str(network)] = text
            lines[str(network)] = self.layout.first_text_line.get((owner, f"networks.{network}"), where)
        for variant, text in texts.items():
            self.check_text(text, lines.get(variant, line), label, variant)
        return texts

    def check_text(self, text: str, first_line: int, label: str, variant: str) -> None:
        """Compile a text and refuse variables that do not exist."""
        shown = "" if variant == "default" else f" ({variant} text)"
        try:
            tree = parse(text)
        except CompileError as exc:
            at = first_line + (exc.lineno or 1) - 1 if first_line else exc.lineno
            raise self.fail(at, f"{exc.message}{shown}", label) from None
        unknown = sorted(meta.find_undeclared_variables(tree) - set(VARIABLES) - GLOBAL_NAMES)
        if unknown:
            name = unknown[0]
            offset = _line_in(text, name)
            at = first_line + offset - 1 if first_line else None
            close = [v for v in VARIABLES if v[:3] == name[:3]]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.fail(at, f"unknown variable {name!r}{hint}{shown}", label)

    def step(self, s: Any, i: int, seen: set[str]) -> Step:
        owner = ("steps", i)
        line = self.layout.step_lines[i] if i < len(self.layout.step_lines) else 0
        if not isinstance(s, dict):
            raise self.fail(line, f"step {i + 1} is not a table")
        key = str(s.get("key", ""))
        label = key or str(i + 1)
        if not _KEY_RE.match(key):
            raise self.fail(line, "`key` must be lowercase letters, digits, '-' or '_'", label)
        if key in seen:
            raise self.fail(line, f"duplicate step key {key!r}", label)
        if key in RESERVED_STEPS:
            raise self.fail(line, f"{key!r} is reserved: write the set's `{RESERVED_STEPS[key]}` instead", label)
        seen.add(key)
        unknown = sorted(set(s) - _STEP_KEYS)
        if unknown:
            at = self.layout.keys.get((owner, unknown[0]), line)
            raise self.fail(at, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_STEP_KEYS))})", label)

        def at_key(k: str) -> int:
            return self.layout.keys.get((owner, k), line)

        try:
            days, seconds = _offset_parts(s.get("offset", "0"))
        except ValueError as exc:
            raise self.fail(at_key("offset"), str(exc), label) from None
        at_time = None
        if s.get("at"):
            try:
                at_time = time.fromisoformat(str(s["at"]))
            except ValueError:
                raise self.fail(
                    at_key("at"), f"`at` must be a time of day like '10:00', got {s['at']!r}", label
                ) from None
        anchor = str(s.get("anchor", "start"))
        if anchor not in ("start", "end"):
            raise self.fail(at_key("anchor"), "`anchor` must be start or end", label)
        link = str(s.get("link", "recording" if s.get("when") == "recording_url" else "rsvp"))
        if link not in LINK_KINDS:
            raise self.fail(at_key("link"), "`link` must be rsvp or recording", label)
        channels = s.get("channels", [])
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise self.fail(at_key("channels"), "`channels` must be a list of channel names", label)
        when, negated = None, False
        if s.get("when"):
            when = str(s["when"]).strip()
            if when.startswith("not "):
                when, negated = when[4:].strip(), True
            if when not in VARIABLES:
                raise self.fail(at_key("when"), f"`when` names unknown variable {when!r}", label)
        if "text" not in s:
            raise self.fail(line, "`text` is required", label)
        lines = {"default": self.layout.first_text_line.get((owner, "text"), line)}
        texts = self.texts(s, owner, line, lines, label)
        return Step(
            key=key,
            offset=timedelta(days=days, seconds=seconds),
            anchor=anchor,
            at=at_time,
            channels=tuple(channels),
            when=when,
            label=str(s.get("label", key)),
            texts=texts,
            line=line,
            days=days,
            seconds=seconds,
            when_negated=negated,
            link=link,
            text_lines=lines,
        )


def _line_in(text: str, name: str) -> int:
    m = re.search(rf"\b{re.escape(name)}\b", text)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def parse_set(source: str, file: str, name: str | None = None) -> TemplateSet:
    """Parse and compile one template set; TemplateError names file, step and line."""
    return _Parser(source, file).parse(name)


def render(text: str, variables: Mapping[str, Any], where: str = "") -> str:
    """Render one step text in the sandbox; undefined variables and escapes raise TemplateError."""
    return _tidy(render_text(text, variables, where))


_TRAILING_SPACE_RE = re.compile(r"[ \t]+\n")
_BLANK_RUN_RE = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    # Templates are written as TOML multi-line strings: trim the edges and the ends of lines (an `{% if %}`
    # that renders nothing leaves them), keep deliberate blank lines but never more than one in a row.
    text = text.strip()
    if " \n" in text or "\t\n" in text:
        text = _TRAILING_SPACE_RE.sub("\n", text)
    return _BLANK_RUN_RE.sub("\n\n", text) if "\n\n\n" in text else text


def load_sets(
    folder: Path, overrides: Mapping[str, str] | None = None
) -> tuple[dict[str, TemplateSet], dict[str, TemplateError]]:
    """Every set in `folder` (`*.toml`), with web-page overrides replacing files; broken sets reported apart."""
    sets: dict[str, TemplateSet] = {}
    broken: dict[str, TemplateError] = {}
    sources: dict[str, tuple[str, str]] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            sources[path.stem] = (path.read_text(encoding="utf-8"), path.name)
        except (OSError, UnicodeDecodeError) as exc:
            broken[path.stem] = TemplateError(f"{path.name}: cannot read: {exc}", file=path.name)
    for name, body in (overrides or {}).items():
        sources[name] = (body, f"{name}.toml (edited on the web page)")
        broken.pop(name, None)
    for name, (body, file) in sources.items():
        try:
            sets[name] = _cached_parse(body, file, name)
        except TemplateError as exc:
            broken[name] = exc
    return sets, broken


_PARSED: dict[tuple[str, str, str], TemplateSet] = {}


def _cached_parse(body: str, file: str, name: str) -> TemplateSet:
    # Sync loads the sets once per source and per tick: parse each distinct text once per process.
    key = (body, file, name)
    tset = _PARSED.get(key)
    if tset is None:
        tset = parse_set(body, file, name)
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[key] = tset
    return tset
