"""The optional `Key: value` lines coordinators write in an event description (plain text or Google's HTML)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup, NavigableString, Tag

_LINE_RE = re.compile(r"^\s*(rsvp|hashtags|campaign|channels|image|speaker|recording)\s*:\s*(.*?)\s*$", re.I)
_URL_RE = re.compile(r"""(?:https?|javascript|data|ftp|file|vbscript):[^\s<>"')\]]+""", re.I)
_HASHTAG_RE = re.compile(r"#\w+", re.UNICODE)
_HTML_HINT = re.compile(r"<(?:a|br|p|div|span|b|i|u|ul|ol|li|strong|em|html|body)\b[^>]*>", re.I)
_GOOGLE_REDIRECT_HOSTS = ("www.google.com", "google.com")
_BLOCK_TAGS = frozenset({"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "blockquote"})
_HIDDEN_TAGS = frozenset({"script", "style", "head", "title", "meta", "xml", "template"})


@dataclass
class EventDetails:
    """What the description says, after validation; `warnings` name what was refused."""

    text: str = ""
    rsvp_url: str | None = None
    hashtags: str = ""
    template: str | None = None
    channels: list[str] | None = None
    image_url: str | None = None
    speaker: str | None = None
    recording_url: str | None = None
    warnings: list[str] = field(default_factory=list)


def looks_like_html(text: str) -> bool:
    """True when the description carries HTML markup (as Google Calendar stores it)."""
    return bool(_HTML_HINT.search(text))


def html_to_text(html: str) -> str:
    """Plain text of an HTML description: block tags and <br> become line breaks, links keep their URL."""
    soup = BeautifulSoup(html, "html.parser")
    pieces: list[str] = []
    _text_of(soup, pieces)
    lines = [line.strip() for line in "".join(pieces).replace("\xa0", " ").splitlines()]
    # Collapse runs of blank lines left by nested blocks.
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _text_of(node: Tag, pieces: list[str]) -> None:
    """One walk over the tree (no copies, no edits): text, links with their URL, breaks for blocks."""
    for child in node.children:
        if isinstance(child, NavigableString):
            if type(child) is NavigableString:  # not a comment, doctype or CDATA
                pieces.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in _HIDDEN_TAGS:  # Outlook's X-ALT-DESC carries a <head> with <style> and <meta>
            continue
        if name == "br":
            pieces.append("\n")
        elif name == "a":
            href = str(child.get("href") or "").strip()
            label = child.get_text().strip()
            if href and href != label and href not in label:
                pieces.append(f"{label} ({href})" if label else href)
            else:
                pieces.append(label or href)
        else:
            block = name in _BLOCK_TAGS
            if block:
                pieces.append("\n")
            _text_of(child, pieces)
            if block:
                pieces.append("\n")


def safe_url(raw: str) -> str | None:
    """The URL if it is an absolute http(s) URL with a host, else None (Google's redirect wrapper is undone)."""
    raw = raw.strip().strip("<>").rstrip(".,;:!?")
    try:
        parts = urlsplit(raw)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
    except ValueError:
        return None
    if parts.hostname in _GOOGLE_REDIRECT_HOSTS and parts.path == "/url":
        target = parse_qs(parts.query).get("q", [""])[0]
        return safe_url(target) or raw
    return raw


def parse_description(description: str, url_property: str | None = None) -> EventDetails:
    """Read the `Key: value` lines; RSVP falls back to the URL property, then the first http(s) link."""
    # The instances of a series share their description: read each distinct one once. Callers get a copy.
    found = _parse_cached(description, url_property)
    return replace(
        found, channels=list(found.channels) if found.channels is not None else None, warnings=list(found.warnings)
    )


@lru_cache(maxsize=4096)
def _parse_cached(description: str, url_property: str | None) -> EventDetails:
    text = html_to_text(description) if looks_like_html(description) else description.replace("\r\n", "\n")
    details = EventDetails()
    kept: list[str] = []
    values: dict[str, str] = {}
    for line in text.split("\n"):
        m = _LINE_RE.match(line)
        if m and m.group(1).lower() not in values:
            values[m.group(1).lower()] = m.group(2)
        elif not m:
            kept.append(line)
    details.text = "\n".join(kept).strip()

    if "rsvp" in values:
        details.rsvp_url = _link(values["rsvp"], "RSVP", details.warnings)
    if not details.rsvp_url and url_property:
        details.rsvp_url = _link(url_property, "URL", details.warnings)
    if not details.rsvp_url:
        for candidate in _URL_RE.findall(text):
            if any(candidate.rstrip(".,;:!?") in (values.get(k) or "") for k in ("rsvp", "image", "recording")):
                continue  # refused (and said so) already as that line's link
            found = _link(candidate, "link in description", details.warnings)
            if found:
                details.rsvp_url = found
                break
    if not details.rsvp_url:
        details.warnings.append("no RSVP link")
    if "hashtags" in values:
        details.hashtags = " ".join(_HASHTAG_RE.findall(values["hashtags"]))
    if values.get("campaign"):
        details.template = values["campaign"].strip().lower()
    if values.get("channels"):
        details.channels = [c.strip().lower() for c in values["channels"].split(",") if c.strip()]
    if values.get("image"):
        details.image_url = _link(values["image"], "Image", details.warnings)
    if values.get("speaker"):
        details.speaker = values["speaker"].strip()[:300]
    if values.get("recording"):
        details.recording_url = _link(values["recording"], "Recording", details.warnings)
    return details


def _link(raw: str, what: str, warnings: list[str]) -> str | None:
    """The first link in a `Key:` value ("Register<https://…>", "https://… (free)"); a refused scheme is noted."""
    value = raw.strip()
    if not value:
        return None
    m = _URL_RE.search(value)
    candidate = m.group(0) if m else value.split()[0]
    url = safe_url(candidate)
    if url is None:
        scheme = candidate.split(":", 1)[0].lower() if ":" in candidate else ""
        shown = f"{scheme}: link" if scheme and scheme.isalpha() else "link"
        warnings.append(f"{what} {shown} refused: only http(s) links are accepted")
    return url
