"""Template sets: TOML files of countdown steps whose texts are Jinja2 rendered in a sandbox."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from ..errors import TemplateError

MAX_TEMPLATE_CHARS = 10_000
MAX_OUTPUT_CHARS = 10_000
_OFFSET_RE = re.compile(r"^([+-]?)(\d+)([dhm])$")
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_STEP_KEYS = {"key", "offset", "anchor", "at", "channels", "when", "text", "networks", "label", "catch_up"}
_SET_KEYS = {"name", "description", "steps", "cancellation_notice", "catch_up"}


class _Env(SandboxedEnvironment):
    """The sandbox: no attribute escapes, and no huge ranges or repeated strings."""

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if __obj is range and args and any(isinstance(a, int) and abs(a) > 1000 for a in args):
            raise SecurityError("range too large")
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and (isinstance(left, str) or isinstance(right, str)):
            raise SecurityError("string repetition is not allowed in templates")
        if operator == "**":
            raise SecurityError("power operator is not allowed in templates")
        return super().call_binop(context, operator, left, right)


# Post text is not HTML: no autoescape here; the web page escapes it when it shows it.
ENV = _Env(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
ENV.intercepted_binops = frozenset(["*", "**"])


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

    @property
    def tied_to_event(self) -> bool:
        """A step at the event's own time ("live now") follows the event, outside the posting window too."""
        return self.offset == timedelta(0) and self.at is None and self.anchor == "start"

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
    cancellation_notice: str | None = None  # text posted once when an event is cancelled
    source: str = ""  # the TOML text, as loaded


def parse_offset(raw: str) -> timedelta:
    """`-14d`, `-2h`, `+30m`, `0` -> timedelta."""
    raw = str(raw).strip()
    if raw in ("0", "+0", "-0"):
        return timedelta(0)
    m = _OFFSET_RE.match(raw)
    if not m:
        raise ValueError(f"offset {raw!r} is not like -14d, -2h, +30m or 0")
    sign = -1 if m.group(1) == "-" else 1
    n = int(m.group(2))
    unit = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}[m.group(3)]
    return sign * n * unit


def _line_of(source: str, needle: str, start: int = 0) -> int:
    idx = source.find(needle, start)
    return source.count("\n", 0, idx) + 1 if idx >= 0 else 0


def parse_set(source: str, file: str, name: str | None = None) -> TemplateSet:
    """Parse and compile one template set; TemplateError names file, step and line."""
    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise TemplateError(f"{file}: not valid TOML: {exc}", file=file, line=line) from None
    unknown = set(raw) - _SET_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise TemplateError(
            f"{file}:{_line_of(source, key)}: unknown key {key!r}", file=file, line=_line_of(source, key)
        )
    set_name = str(name or raw.get("name") or Path(file).stem)
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise TemplateError(f"{file}: no [[steps]]", file=file)
    steps: list[Step] = []
    pos = 0
    seen: set[str] = set()
    for i, s in enumerate(steps_raw):
        pos = source.find("[[steps]]", pos) + 1
        line = source.count("\n", 0, pos) + 1 if pos > 0 else 0
        steps.append(_parse_step(s, i, file, line, source, seen))
    notice = raw.get("cancellation_notice")
    if notice is not None:
        _compile(str(notice), file, "cancellation_notice", _line_of(source, "cancellation_notice"))
    return TemplateSet(
        name=set_name,
        description=str(raw.get("description", "")),
        steps=tuple(steps),
        file=file,
        cancellation_notice=str(notice) if notice else None,
        source=source,
    )


def _parse_step(s: dict[str, Any], i: int, file: str, line: int, source: str, seen: set[str]) -> Step:
    key = str(s.get("key", ""))
    where = f"{file}:{line}: step {key or i + 1}"
    if not _KEY_RE.match(key):
        raise TemplateError(
            f"{where}: `key` must be lowercase letters, digits, '-' or '_'", file=file, step=key, line=line
        )
    if key in seen:
        raise TemplateError(f"{where}: duplicate step key {key!r}", file=file, step=key, line=line)
    seen.add(key)
    unknown = set(s) - _STEP_KEYS
    if unknown:
        raise TemplateError(f"{where}: unknown key {sorted(unknown)[0]!r}", file=file, step=key, line=line)
    try:
        offset = parse_offset(s.get("offset", "0"))
        at = time.fromisoformat(s["at"]) if s.get("at") else None
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"{where}: {exc}", file=file, step=key, line=line) from None
    anchor = str(s.get("anchor", "start"))
    if anchor not in ("start", "end"):
        raise TemplateError(f"{where}: `anchor` must be start or end", file=file, step=key, line=line)
    texts: dict[str, str] = {}
    if "text" not in s:
        raise TemplateError(f"{where}: `text` is required", file=file, step=key, line=line)
    texts["default"] = str(s["text"])
    for network, text in dict(s.get("networks", {})).items():
        texts[str(network)] = str(text)
    for variant, text in texts.items():
        text_line = _line_of(source, text.split("\n", 1)[0], source.find("\n", max(0, _nth_line_offset(source, line))))
        _compile(text, file, key, text_line or line, variant)
    return Step(
        key=key,
        offset=offset,
        anchor=anchor,
        at=at,
        channels=tuple(str(c) for c in s.get("channels", ())),
        when=str(s["when"]) if s.get("when") else None,
        label=str(s.get("label", key)),
        texts=texts,
        line=line,
    )


def _nth_line_offset(source: str, line: int) -> int:
    pos = 0
    for _ in range(max(0, line - 1)):
        pos = source.find("\n", pos) + 1
    return pos


def _compile(text: str, file: str, step: str, line: int, variant: str = "default") -> None:
    if len(text) > MAX_TEMPLATE_CHARS:
        raise TemplateError(
            f"{file}:{line}: step {step}: text longer than {MAX_TEMPLATE_CHARS} characters",
            file=file,
            step=step,
            line=line,
        )
    try:
        ENV.from_string(text)
    except TemplateSyntaxError as exc:
        at = line + (exc.lineno or 1) - 1 if line else exc.lineno
        raise TemplateError(
            f"{file}:{at}: step {step} ({variant}): {exc.message}", file=file, step=step, line=at
        ) from None


def render(text: str, variables: Mapping[str, Any], where: str = "") -> str:
    """Render one step text in the sandbox; undefined variables and escapes raise TemplateError."""
    try:
        out = ENV.from_string(text).render(**variables)
    except UndefinedError as exc:
        raise TemplateError(f"{where}: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateError(f"{where}: not allowed in a template: {exc}") from None
    except TemplateSyntaxError as exc:
        raise TemplateError(f"{where}: line {exc.lineno}: {exc.message}", line=exc.lineno) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from None
    if len(out) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"{where}: rendered text is longer than {MAX_OUTPUT_CHARS} characters")
    return _tidy(out)


def _tidy(text: str) -> str:
    # Templates are written as TOML multi-line strings: trim the edges, keep deliberate blank lines.
    lines = [line.rstrip() for line in text.strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def load_sets(
    folder: Path, overrides: Mapping[str, str] | None = None
) -> tuple[dict[str, TemplateSet], dict[str, TemplateError]]:
    """Every set in `folder` (`*.toml`), with web-page overrides replacing files; broken sets reported apart."""
    sets: dict[str, TemplateSet] = {}
    broken: dict[str, TemplateError] = {}
    sources: dict[str, tuple[str, str]] = {}
    for path in sorted(folder.glob("*.toml")):
        sources[path.stem] = (path.read_text(encoding="utf-8"), path.name)
    for name, body in (overrides or {}).items():
        sources[name] = (body, f"{name}.toml (edited on the web page)")
    for name, (body, file) in sources.items():
        try:
            sets[name] = parse_set(body, file, name)
        except TemplateError as exc:
            broken[name] = exc
    return sets, broken
