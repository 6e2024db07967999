"""GET /r/<code> with counting against a bare route that answers the same 302, both served by gunicorn
(2 sync workers, the Procfile's setup) and loaded by wrk on 127.0.0.1, measured in the same run.

    python benchmarks/bench_redirect.py                      # SQLite (the embedded default)
    python benchmarks/bench_redirect.py --postgres           # PostgreSQL at 127.0.0.1:5432 (a temporary database)
    python benchmarks/bench_redirect.py --recorder direct    # one database transaction per click, for comparison
    python benchmarks/bench_redirect.py --fsync click        # fdatasync before every redirect

Prints the ratio of requests per second (goal: >= 0.85), the p99 latencies, whether every completed
request was recorded (human + bot + suspect clicks == requests completed), and peak memory. Rounds
alternate the two routes so the machine's drift hits both alike. Bounded: about a minute.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from _common import ROOT, peak_rss_mb
from _tracking import DEFAULT_PG, postgres_database, seed_link
from sqlalchemy import func
from sqlmodel import select

from service import config as config_mod
from service import migrate
from service.db import Database
from service.models import Click
from service.tracking import flush_pending

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
EXACT_REQUESTS = 2000


@dataclass
class WrkResult:
    """What one wrk run reports, plus the CPU time the server spent on it."""

    rps: float
    completed: int
    p99_ms: float
    bad: int  # non-3xx responses and socket errors
    server_cpu_s: float = 0.0

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU per completed request: steadier than req/s when other work shares the cores."""
        return self.server_cpu_s / self.completed * 1e6 if self.completed else float("nan")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (from /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def ensure_wrk() -> str:
    """wrk from PATH, installed from Debian's archive if missing (needs root)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk with apt-get ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env, capture_output=True)
        if subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        sys.exit("bench_redirect: wrk is needed (apt-get install wrk)")
    return found


def run_wrk(wrk: str, url: str, seconds: int, connections: int) -> WrkResult:
    """One bounded wrk run (1 thread) against a 127.0.0.1 URL."""
    assert url.startswith("http://127.0.0.1:")
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"User-Agent: {BROWSER}", url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    completed = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    bad += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return WrkResult(rps, completed, p99, bad)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"User-Agent": BROWSER})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def write_config(folder: Path, database_url: str, recorder: str, fsync: str) -> Path:
    path = folder / "eventpromo.toml"
    path.write_text(
        f'database_url = "{database_url}"\n'
        'base_url = "http://127.0.0.1:8000"\n'
        f'templates = "{ROOT / "campaign_templates"}"\n'
        f'instance_dir = "{folder / "instance"}"\n'
        f'secret_key = "{secrets.token_hex(16)}"\n'
        '[[channels]]\nname = "x"\nkind = "outbox"\nnetwork = "x"\n'
        f'[tracking]\nrecorder = "{recorder}"\nfsync = "{fsync}"\n',
        encoding="utf-8",
    )
    return path


def recorded(cfg: config_mod.Config, db: Database) -> int:
    """Store what is spooled, then count every click row (people + bots + suspect)."""
    flush_pending(cfg, db)
    with db.session() as s:
        return int(s.exec(select(func.count()).select_from(Click)).one())


def peak_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    m = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(m.group(1)) if m else 0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def start_gunicorn(config: Path, target: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EVENTPROMO_CONFIG": str(config), "BENCH_TARGET": target}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "benchmarks._redirect_app:app"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if get(port, "/healthz") == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit(f"bench_redirect: gunicorn did not start; see {log}")


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_PG, metavar="URL", help="benchmark on PostgreSQL")
    parser.add_argument("--recorder", choices=["spool", "direct"], default="spool")
    parser.add_argument("--fsync", choices=["batch", "click"], default="batch")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if not (1 <= args.rounds <= 10 and 1 <= args.seconds <= 30 and 1 <= args.connections <= 64):
        sys.exit("bench_redirect: keep --rounds 1..10, --seconds 1..30, --connections 1..64")
    wrk = ensure_wrk()
    folder = Path(tempfile.mkdtemp(prefix="bench-redirect-"))
    try:
        if args.postgres:
            with postgres_database(args.postgres, "eventpromo_bench") as url:
                ok = run(args, wrk, folder, url)
        else:
            ok = run(args, wrk, folder, f"sqlite:///{folder / 'bench.db'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not ok:
        sys.exit(1)


def run(args: argparse.Namespace, wrk: str, folder: Path, database_url: str) -> bool:
    """Serve, load, check; True when every completed request was recorded."""
    proc = None
    try:
        config = write_config(folder, database_url, args.recorder, args.fsync)
        cfg = config_mod.load(config, environ={})
        db = Database(cfg.database_url)
        migrate.upgrade(db.engine)
        link = seed_link(db)
        code, target = link.code, link.target
        port = free_port()
        proc = start_gunicorn(config, target, port, folder / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        counted_url, bare_url = f"{base}/r/{code}", f"{base}/bare/{code}"
        assert get(port, f"/r/{code}") == 302 and get(port, f"/bare/{code}") == 302
        sent_counted = 1  # the check just above
        dialect = "PostgreSQL" if args.postgres else "SQLite"
        print(
            f"bench_redirect: {dialect}, recorder={args.recorder}, fsync={args.fsync}; gunicorn 2 sync workers; "
            f"wrk -t1 -c{args.connections}, {args.rounds} x {args.seconds:g} s per route",
            flush=True,
        )
        run_wrk(wrk, bare_url, 2, args.connections)  # warm-up
        warm = run_wrk(wrk, counted_url, 2, args.connections)
        counted_runs = [warm]
        bare: list[WrkResult] = []
        counted: list[WrkResult] = []
        server = [proc.pid, *children(proc.pid)]
        for r in range(args.rounds):
            order = [("bare", bare_url), ("counted", counted_url)]
            for name, url in order if r % 2 == 0 else order[::-1]:
                cpu_before = cpu_seconds(server)
                res = run_wrk(wrk, url, args.seconds, args.connections)
                time.sleep(1.0)  # the flusher stores the run's last clicks: their cost belongs to this run
                res.server_cpu_s = cpu_seconds(server) - cpu_before
                (bare if name == "bare" else counted).append(res)
                if name == "counted":
                    counted_runs.append(res)
                print(
                    f"  round {r + 1} {name:7s} {res.rps:8.0f} req/s  p99 {res.p99_ms:6.1f} ms  "
                    f"server CPU {res.cpu_us_per_request:5.0f} us/request",
                    flush=True,
                )

        # Every completed request is recorded. wrk stops mid-flight, so a run may leave up to one
        # request per connection answered to nobody: the bound below. Then an exact check.
        completed = sent_counted + sum(r.completed for r in counted_runs)
        after_wrk = recorded(cfg, db)
        in_flight = args.connections * len(counted_runs)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: get(port, f"/r/{code}"), range(EXACT_REQUESTS)))
        ok = statuses.count(302)
        exact = recorded(cfg, db) - after_wrk

        workers = children(proc.pid)
        worker_peaks = [peak_kb(p) / 1024 for p in workers]
        master_peak = peak_kb(proc.pid) / 1024
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        final = recorded(cfg, db)
        with db.session() as s:
            row = s.exec(
                select(
                    func.count().filter(~Click.is_bot & ~Click.is_suspect),  # type: ignore[operator]
                    func.count().filter(Click.is_bot),  # type: ignore[arg-type]
                    func.count().filter(Click.is_suspect & ~Click.is_bot),  # type: ignore[operator]
                )
            ).one()
        human, bot, suspect = (int(v) for v in row)
        db.dispose()

        ratio = statistics.median(r.rps for r in counted) / statistics.median(r.rps for r in bare)
        print(
            f"redirect with counting: {ratio:.2f}x the bare 302 route's requests/s (goal: >= 0.85); "
            f"median {statistics.median(r.rps for r in counted):.0f} vs {statistics.median(r.rps for r in bare):.0f}"
        )
        print(
            f"p99 latency: /r/<code> {statistics.median(r.p99_ms for r in counted):.1f} ms, "
            f"bare {statistics.median(r.p99_ms for r in bare):.1f} ms (median of the rounds)"
        )
        cpu_counted = statistics.median(r.cpu_us_per_request for r in counted)
        cpu_bare = statistics.median(r.cpu_us_per_request for r in bare)
        print(
            f"server CPU per request: /r/<code> {cpu_counted:.0f} us, bare {cpu_bare:.0f} us "
            f"({cpu_bare / cpu_counted:.2f}x: the ratio the cores allow when nothing else runs)"
        )
        errors = sum(r.bad for r in counted + bare)
        wrk_ok = completed <= after_wrk <= completed + in_flight
        print(
            f"recorded under wrk: {after_wrk} clicks for {completed} completed requests "
            f"(+ at most {in_flight} cut off in flight): {'OK' if wrk_ok else 'MISMATCH'}; errors {errors}"
        )
        exact_ok = exact == ok == EXACT_REQUESTS
        print(
            f"exact check: {EXACT_REQUESTS} requests, {ok} answered 302, {exact} clicks recorded: "
            f"{'OK' if exact_ok else 'MISMATCH'}"
        )
        print(
            f"all clicks: human {human} + bot {bot} + suspect {suspect} = {human + bot + suspect} "
            f"(rows {final}; nothing lost at shutdown: {'OK' if final == after_wrk + exact else 'MISMATCH'})"
        )
        print(
            "peak memory: gunicorn workers "
            + ", ".join(f"{m:.0f} MB" for m in worker_peaks)
            + f", master {master_peak:.0f} MB; this script {peak_rss_mb():.0f} MB"
        )
        return wrk_ok and exact_ok and final == after_wrk + exact
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
