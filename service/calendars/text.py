"""Calendar text is untrusted: keep it printable and within the database's column sizes."""

from __future__ import annotations

import hashlib
import re

# The event table's uid column (models.Event.uid).
MAX_UID = 500
# C0 controls except tab and line breaks, DEL, and NUL (PostgreSQL refuses NUL in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def clean_text(value: str) -> str:
    """Multi-line text without control characters; line breaks normalised to \\n."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def clean_line(value: str) -> str:
    """One line of text: control characters dropped, line breaks become spaces, ends trimmed."""
    return _LINE_BREAKS.sub(" ", _CONTROL.sub("", value)).strip()


def clip(value: str | None, limit: int) -> str | None:
    """The value cut to `limit` characters (an ellipsis marks the cut)."""
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def clip_uid(uid: str) -> str:
    """A UID that fits the column; a longer one keeps its start and a hash of the whole, so it stays unique."""
    if len(uid) <= MAX_UID:
        return uid
    digest = hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()
    return uid[: MAX_UID - len(digest) - 1] + "#" + digest
