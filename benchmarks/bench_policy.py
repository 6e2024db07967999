"""The content guard's cost per post, against X's reference text parser (parse_tweet) in the same run.

Planning judges every post it writes, so the guard should cost no more than counting the post's
length once. Prints: uncached and cached guard time per post as a ratio of parse_tweet's, peak
memory, and what importing the guard adds to a process at rest (web and worker stay small).
"""

from __future__ import annotations

import subprocess
import sys
import warnings

from _common import ROOT, median_time, peak_rss_mb, report

POSTS = 3000


def _texts() -> list[str]:
    titles = [
        "Living Well with MPN: Patient Education Webinar",
        "Caregiver Support Group",
        "Free Skin Cancer Screening Day",
        "Nutrition During Treatment: Ask the Dietitian",
        "Life After Treatment: Survivorship Q&A Webinar",
        "Stage IV Breast Cancer Support Group",
    ]
    bodies = [
        "Save the date: {t}, Thu, Dec {d}, 5:30 PM MST. A free online session with Dr. Elena Marquez, "
        "Hematology, with time for your questions.\nRegister: http://127.0.0.1:8000/r/Ab{n:08d}\n#MPN #oncology",
        "Tomorrow, 6 PM MST: {t} at Desert Vista Cancer Center, Room 210, 1200 N Saguaro Blvd, Mesa. "
        "Parking is free in the visitor lot.\nhttp://127.0.0.1:8000/r/Cd{n:08d}\n#caregivers",
        "Questions about {t} on Dec {d}? Call us at (480) 555-0100 or email events@example.org.",
        "Our patient Maria rang the bell after her last chemo! {t} is on Dec {d}. Call 602-555-{n4:04d}.",
    ]
    out = []
    for n in range(POSTS):
        body = bodies[n % len(bodies)]
        out.append(body.format(t=titles[n % len(titles)], d=1 + n % 28, n=n, n4=n % 10000))
    return out


def _import_cost_mb() -> tuple[float, float]:
    """Resident memory of an interpreter with config and fitting loaded, and what the guard then adds."""
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "def rss():\n"
        "    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20\n"
        "import service.config, service.campaigns.fitting  # every process has these (twitter-text: ~15 MB)\n"
        "before = rss()\n"
        "from service.policy import check_text\n"
        "from service.config import PolicyConfig\n"
        "p = PolicyConfig(allowed_domains=('example.org',))\n"
        "for t in ('Call 602-555-0199, +44 20 7946 0958 or see bit.ly/x',\n"
        "          'Our p\\u0430tient Mar\\u00eda \\uff20 \\uff16\\uff10\\uff12'):\n"
        "    check_text(t, p)\n"
        "print(before, rss() - before)\n"
    )
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    base, added = out.stdout.split()
    return float(base), float(added)


def main() -> None:
    """Measure and print the ratio lines."""
    warnings.simplefilter("ignore")
    from twitter_text import parse_tweet

    from service.config import PolicyConfig
    from service.policy import Guard

    policy = PolicyConfig(
        allowed_domains=("example.org",),
        allowed_phones=("+1 480 555 0100",),
        allowed_addresses=("1200 N Saguaro Blvd, Mesa, AZ 85201",),
    )
    texts = _texts()
    baseline = median_time(lambda: [parse_tweet(t) for t in texts], repeat=3)

    def uncached() -> None:
        guard = Guard(policy, ("127.0.0.1",))  # a new guard: an empty cache
        for t in texts:
            guard.check(t)

    warm = Guard(policy, ("127.0.0.1",))
    for t in texts:
        warm.check(t)
    measured = median_time(uncached, repeat=3)
    cached = median_time(lambda: [warm.check(t) for t in texts], repeat=3)
    per_post = measured / len(texts) * 1000
    per_parse = baseline / len(texts) * 1000
    print(f"{len(texts)} posts; guard {per_post:.3f} ms per post uncached, parse_tweet {per_parse:.3f} ms")
    report("policy check, uncached", measured, baseline, "<= 1x parse_tweet")
    report("policy check, cached (re-planning the same texts)", cached, baseline, "<= 0.1x parse_tweet")
    base, added = _import_cost_mb()
    print(f"peak memory: {peak_rss_mb():.0f} MB; the guard adds {added:.1f} MB to a process of {base:.0f} MB at rest")


if __name__ == "__main__":
    main()
