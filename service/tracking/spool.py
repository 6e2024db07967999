"""The click spool: each web process appends one line per click to a file of its own before it answers
(ingest.py moves the lines into the database within a second, exactly once).

Why a file: a line handed to the kernel with write() survives the death of the process (SIGKILL,
OOM kill, crash) at a cost of about a microsecond, where a database transaction per click costs
the redirect far more (README, "Click tracking"). A writer holds an exclusive flock on its file
for as long as it may append; a file nobody holds is finished.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import re
import secrets
import socket
import threading
from pathlib import Path

from .bots import MAX_AGENT_LENGTH
from .clicks import Hit

SUFFIX = ".clicks"
ROTATE_BYTES = 4 * 1024 * 1024
_CLEAN = str.maketrans({"\t": " ", "\n": " ", "\r": " "})
_HOST_RE = re.compile(r"[^A-Za-z0-9.-]")


def _field(text: str) -> bytes:
    """A field without the separators (tab, line breaks), as UTF-8."""
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.translate(_CLEAN)
    return text.encode("utf-8", "replace")


def encode_hit(hit: Hit) -> bytes:
    """One spool line: version, time, link, visitor key, referrer host, prefetch flag, user agent."""
    ua = _field(hit.user_agent[:MAX_AGENT_LENGTH])
    ref = _field(hit.referrer_host) if hit.referrer_host else b""
    flag = b"p" if hit.prefetch else b"-"
    return b"1\t%.6f\t%d\t%s\t%s\t%s\t%s\n" % (hit.at, hit.link_id, hit.visitor_key.encode(), ref, flag, ua)


def decode_line(line: bytes) -> Hit | None:
    """The hit of one spool line, or None for a line that is not one (a torn write, another version)."""
    parts = line.rstrip(b"\n").split(b"\t", 6)
    if len(parts) != 7 or parts[0] != b"1" or not 0 < len(parts[3]) <= 64:
        return None
    try:
        at, link_id = float(parts[1]), int(parts[2])
        key = parts[3].decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    if not math.isfinite(at) or at <= 0 or link_id <= 0:
        return None
    return Hit(
        at=at,
        link_id=link_id,
        visitor_key=key,
        referrer_host=parts[4][:255].decode("utf-8", "replace") or None,
        user_agent=parts[6].decode("utf-8", "replace"),
        prefetch=parts[5] == b"p",
    )


class SpoolWriter:
    """Appends hits to this process's own spool file; a line is in the kernel before append() returns."""

    def __init__(self, directory: Path, fsync_each: bool = False, rotate_bytes: int = ROTATE_BYTES):
        self.directory = directory
        self.fsync_each = fsync_each
        self.rotate_bytes = rotate_bytes
        self.path: Path | None = None
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._size = 0
        self._dirty = False

    def append(self, hit: Hit) -> None:
        """Write one hit (one write() of a whole line); with fsync_each, also wait for the disk."""
        self.append_line(encode_hit(hit))

    def append_line(self, data: bytes) -> None:
        """Write one encoded line (encode_hit): the redirect's hot path."""
        with self._lock:
            fd = self._fd if self._fd is not None and self._pid == os.getpid() else self._open()
            written = os.write(fd, data)
            if written != len(data):  # a regular file takes it whole unless the disk is full
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(fd, view) :]
            if self.fsync_each:
                os.fdatasync(fd)
            else:
                self._dirty = True
            self._size += len(data)
            if self._size >= self.rotate_bytes:
                self._close()

    def sync(self) -> None:
        """fsync what was written since the last sync (the flusher calls this every tick)."""
        with self._lock:
            if self._dirty and self._fd is not None and self._pid == os.getpid():
                os.fdatasync(self._fd)
                self._dirty = False

    def close(self) -> None:
        """Sync and close the current file; it becomes finished (readable to its end, then deleted)."""
        with self._lock:
            self._close()

    def _open(self) -> int:
        if self._fd is not None and self._pid != os.getpid():
            # Inherited across fork: the parent keeps writing to it; this process starts its own.
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        host = _HOST_RE.sub("", socket.gethostname())[:60] or "host"
        name = f"{host}-{os.getpid()}-{secrets.token_hex(6)}{SUFFIX}"
        # Locked before it gets its real name: a reader never sees an unlocked live file.
        tmp = self.directory / f".{name}.new"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(tmp, self.directory / name)
        self._fd, self._pid, self._size, self._dirty = fd, os.getpid(), 0, False
        self.path = self.directory / name
        return fd

    def _close(self) -> None:
        if self._fd is None:
            return
        if self._pid == os.getpid():
            if self._dirty:
                os.fdatasync(self._fd)
            os.close(self._fd)
        self._fd, self.path, self._dirty = None, None, False
