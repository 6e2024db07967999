"""The click spool: each web process appends one line per click to a file of its own before it answers;
a flusher moves the lines into the database within a second, exactly once.

Why a file: a line handed to the kernel with write() survives the death of the process (SIGKILL,
OOM kill, crash) at a cost of about a microsecond, where a database transaction per click costs
the redirect far more (README, "Click tracking"). Exactly once: the position read so far in each
file (table click_spool) moves in the same transaction as the click rows, and readers lock it
first, so any process (the web workers, `eventpromo stats`) may read any file at any time.
A file no writer holds (flock) is finished: read to its end, deleted, then marked finished.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import math
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from ..db import Database
from ..models import ClickSpool, utcnow
from .bots import MAX_AGENT_LENGTH, BotDetector
from .clicks import Hit, SuspectWindow, store_hits
from .dialect import insert_for

log = logging.getLogger(__name__)

SUFFIX = ".clicks"
ELECTION_LOCK = ".ingest.lock"
ROTATE_BYTES = 4 * 1024 * 1024
READ_BYTES = 4 * 1024 * 1024  # per file and pass: bounds memory and transaction length
MAX_HITS_PER_PASS = 50_000
_CLEAN = str.maketrans({"\t": " ", "\n": " ", "\r": " "})
_HOST_RE = re.compile(r"[^A-Za-z0-9.-]")


def encode_hit(hit: Hit) -> bytes:
    """One spool line: version, time, link, visitor key, referrer host, prefetch flag, user agent."""
    ua = hit.user_agent.translate(_CLEAN)[:MAX_AGENT_LENGTH].encode("utf-8", "replace")
    ref = (hit.referrer_host or "").translate(_CLEAN).encode("utf-8", "replace")
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
        data = encode_hit(hit)
        with self._lock:
            fd = self._fd if self._fd is not None and self._pid == os.getpid() else self._open()
            view = memoryview(data)
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


@dataclass
class _SpoolFile:
    name: str
    path: Path
    fd: int
    finished: bool  # no writer holds it (we hold its lock now): it will not grow


@dataclass
class IngestState:
    """What one reader remembers between passes: positions already read, the suspect window."""

    window: SuspectWindow
    known: dict[str, int] = field(default_factory=dict)


def _candidates(directory: Path, known: dict[str, int]) -> list[_SpoolFile]:
    files: list[_SpoolFile] = []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except FileNotFoundError:
        return files
    for entry in entries:
        if not entry.name.endswith(SUFFIX) or entry.name.startswith("."):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            finished = True
        except BlockingIOError:
            finished = False
        if not finished and known.get(entry.name) == os.fstat(fd).st_size:
            os.close(fd)  # a live file with nothing new
            continue
        files.append(_SpoolFile(entry.name, Path(entry.path), fd, finished))
    return files


def _claim(session: Session, names: list[str]) -> dict[str, tuple[int, bool]]:
    """Lock (creating if need be) the position rows of `names`, in name order: readers serialize per file."""
    now = utcnow()
    session.execute(
        insert_for(session, ClickSpool)
        .values([{"name": n, "position": 0, "finished": False, "updated_at": now} for n in names])
        .on_conflict_do_nothing(index_elements=["name"])
    )
    rows = session.exec(
        select(ClickSpool.name, ClickSpool.position, ClickSpool.finished)
        .where(col(ClickSpool.name).in_(names))
        .order_by(col(ClickSpool.name))
        .with_for_update()
    )
    return {name: (position, finished) for name, position, finished in rows}


def ingest(db: Database, directory: Path, state: IngestState, detector: BotDetector) -> tuple[int, int]:
    """One pass over every spool file: store new lines as clicks; returns (clicks stored, bytes consumed)."""
    files = _candidates(directory, state.known)
    if not files:
        return 0, 0
    stored = consumed = bad = 0
    advanced: dict[str, int] = {}
    try:
        with db.session(write=True) as session:
            positions = _claim(session, [f.name for f in files])
            hits: list[Hit] = []
            for f in files:
                position, done = positions.get(f.name, (0, True))
                if done or len(hits) >= MAX_HITS_PER_PASS:
                    continue
                data = os.pread(f.fd, READ_BYTES, position)
                end = data.rfind(b"\n") + 1
                if f.finished and len(data) < READ_BYTES:
                    end = len(data)  # no writer left: a last line without its newline is all there is
                for line in data[:end].splitlines():
                    hit = decode_line(line)
                    if hit is None:
                        bad += 1
                    else:
                        hits.append(hit)
                advanced[f.name] = position + end
                consumed += end
            stored = store_hits(session, hits, state.window, detector)
            if advanced:
                now = utcnow()
                # ORM bulk UPDATE by primary key: one executemany.
                session.execute(
                    update(ClickSpool),
                    [{"name": n, "position": p, "updated_at": now} for n, p in advanced.items()],
                )
    except BaseException:
        state.window.clear()
        for f in files:
            os.close(f.fd)
        raise
    if bad:
        log.warning("skipped %d unreadable line(s) in the click spool %s", bad, directory)
    _finish(db, files, positions, advanced, state)
    return stored, consumed


def _finish(
    db: Database,
    files: list[_SpoolFile],
    positions: dict[str, tuple[int, bool]],
    advanced: dict[str, int],
    state: IngestState,
) -> None:
    """After the commit: remember positions; delete finished files read to their end, then mark them so."""
    gone: list[str] = []
    for f in files:
        position = advanced.get(f.name, positions.get(f.name, (0, False))[0])
        try:
            if f.finished and position >= os.fstat(f.fd).st_size:
                f.path.unlink(missing_ok=True)
                gone.append(f.name)
                state.known.pop(f.name, None)
            else:
                state.known[f.name] = position
        finally:
            os.close(f.fd)
    if gone:
        with db.session(write=True) as session:
            session.execute(
                update(ClickSpool).where(col(ClickSpool.name).in_(gone)).values(finished=True, updated_at=utcnow())
            )
            # A late reader can only be a pass that started before the unlink: a day is plenty.
            session.execute(
                delete(ClickSpool).where(
                    col(ClickSpool.finished).is_(True), col(ClickSpool.updated_at) < utcnow() - timedelta(days=1)
                )
            )


def drain(db: Database, directory: Path, limit: int, detector: BotDetector, max_passes: int = 1000) -> int:
    """Read every spool file in `directory` to its current end now; returns the clicks stored."""
    state = IngestState(SuspectWindow(limit))
    total = 0
    for _ in range(max_passes):
        stored, consumed = ingest(db, directory, state, detector)
        total += stored
        if consumed == 0:
            break
    return total


class Flusher:
    """A daemon thread per web process: fsyncs this process's spool and, in the one process elected by a
    file lock, moves every spool file of the directory into the database each `interval` seconds."""

    def __init__(
        self, db: Database, directory: Path, writer: SpoolWriter, limit: int, detector: BotDetector, interval: float
    ):
        self.db = db
        self.directory = directory
        self.writer = writer
        self.limit = limit
        self.detector = detector
        self.interval = interval
        self._lock = threading.Lock()
        self._pid = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._election_fd: int | None = None
        self._state = IngestState(SuspectWindow(limit))
        self._last_error = 0.0

    def start(self) -> None:
        """Start the thread in this process (once; again in a forked child)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._stop = threading.Event()
            self._election_fd = None
            self._state = IngestState(SuspectWindow(self.limit))
            self._thread = threading.Thread(target=self._run, name="click-spool-flusher", daemon=True)
            self._thread.start()
            atexit.register(self.stop)
            self._pid = os.getpid()

    def tick(self) -> int:
        """One round: sync this process's file; if elected, store what every file holds. Returns clicks stored."""
        self.writer.sync()
        if not self._elected():
            return 0
        stored, _ = ingest(self.db, self.directory, self._state, self.detector)
        return stored

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread, close this process's file and read what is left (a graceful exit loses nothing)."""
        if self._pid == os.getpid():
            self._stop.set()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout)
        self.writer.close()
        try:
            drain(self.db, self.directory, self.limit, self.detector, max_passes=20)
        except Exception as exc:  # the database may be gone at exit; the next reader takes the files
            log.warning("click spool: last clicks not stored at exit (%s); they stay in %s", exc, self.directory)
        if self._election_fd is not None:
            os.close(self._election_fd)
            self._election_fd = None

    def _elected(self) -> bool:
        if self._election_fd is not None:
            return True
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.directory / ELECTION_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._election_fd = fd
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception as exc:
                # Keep going: the lines stay in the spool until the database takes them.
                now = time.monotonic()
                if now - self._last_error > 60:
                    log.warning("click spool: could not store clicks yet (%s: %s)", type(exc).__name__, exc)
                    self._last_error = now
