"""Moving spooled clicks into the database, exactly once, by whichever process reads.

The position read so far in each spool file (table click_spool) moves in the same transaction as
the click rows, and readers lock that row first, so any process (the elected web worker,
`eventpromo stats`, a worker at exit) may read any file at any time. A file no writer holds is
read to its end, deleted, then marked finished so a reader that still had it open skips it.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from ..db import Database
from ..models import ClickSpool, utcnow
from .bots import BotDetector
from .clicks import Hit, SuspectWindow, store_hits
from .dialect import insert_for
from .spool import SUFFIX, SpoolWriter, decode_line

log = logging.getLogger(__name__)

ELECTION_LOCK = ".ingest.lock"
READ_BYTES = 4 * 1024 * 1024  # per file and pass: bounds memory and transaction length
MAX_HITS_PER_PASS = 50_000


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
    except PermissionError:
        log.warning("click spool %s: not readable by this user; its clicks wait for the web process", directory)
        return files
    for entry in entries:
        if not entry.name.endswith(SUFFIX) or entry.name.startswith("."):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        except PermissionError:
            log.warning("click spool file %s: not readable by this user; skipped", entry.path)
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
                try:
                    f.path.unlink(missing_ok=True)
                except PermissionError:
                    log.warning("click spool file %s: stored, but not deletable by this user", f.path)
                    continue
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
