"""Who a worker is, and whether a worker that holds a claim is surely dead (same machine, process gone).

A worker id is `host:pid:token`; the token fingerprints the kernel boot and the PID namespace, so a
pid is only ever checked where it means the same process. Anything not provably dead counts as alive:
its claims then wait for their lease to end.
"""

from __future__ import annotations

import hashlib
import os
import socket
from functools import cache


@cache
def _token() -> str:
    parts = []
    for path in ("/proc/sys/kernel/random/boot_id",):
        try:
            with open(path, encoding="ascii") as fh:
                parts.append(fh.read().strip())
        except OSError:
            parts.append("?")
    try:
        parts.append(os.readlink("/proc/self/ns/pid"))
    except OSError:
        parts.append("?")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:10]


def worker_id() -> str:
    """This process's worker id: `host:pid:token`."""
    return f"{socket.gethostname()}:{os.getpid()}:{_token()}"


def is_dead(worker: str) -> bool:
    """True only when `worker` ran on this machine (same boot, same PID namespace) and its process is gone."""
    host, _, rest = worker.partition(":")
    pid_text, _, token = rest.partition(":")
    if host != socket.gethostname() or token != _token() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # a process of another user has that pid: not provably ours, not provably dead
    return False
