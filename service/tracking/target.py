"""Where a tracked link leads: the stored URL as a plain ASCII URI, with UTM parameters merged in.

The stored URL comes from a calendar (attacker-controlled text): only an absolute http(s) URL with
a host is ever a target. Its query is kept exactly as written; only missing utm_* keys are added.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_plus, urlsplit

import idna

_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Characters kept as they are (besides letters, digits and "_.-~", which quote() always keeps).
_PATH_SAFE = "/:@!$&'()*+,;=%"
_QUERY_SAFE = _PATH_SAFE + "?"
_USERINFO_SAFE = ":!$&'()*+,;=%"
UTM_MEDIUM = "social"


def _encode(part: str, safe: str) -> str:
    """Percent-encode what a URI may not hold raw (non-ASCII as UTF-8, spaces, controls); keep valid %XX."""
    return quote(_STRAY_PERCENT.sub("%25", part), safe=safe)


def _ascii_host(host: str) -> str | None:
    """The host in ASCII: IDN labels as punycode (IDNA 2008 with UTS 46 mapping); None if it cannot be."""
    if host.isascii():
        return host if re.fullmatch(r"[A-Za-z0-9._~!$&'()*+,;=:\[\]-]+", host) else None
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            return None


def to_uri(url: str | None) -> str | None:
    """`url` as an absolute ASCII http(s) URI, or None when it is not one (relative, other scheme, no host)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        return None
    ascii_host = _ascii_host(host)
    if ascii_host is None:
        return None
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if port is not None:
        netloc += f":{port}"
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        netloc = f"{_encode(userinfo, _USERINFO_SAFE)}@{netloc}"
    uri = f"{scheme}://{netloc}{_encode(parts.path, _PATH_SAFE) or '/'}"
    if parts.query:
        uri += "?" + _encode(parts.query, _QUERY_SAFE)
    if parts.fragment:
        uri += "#" + _encode(parts.fragment, _QUERY_SAFE)
    return uri


def with_utm(url: str, source: str, campaign: str, content: str, medium: str = UTM_MEDIUM) -> str:
    """`url` with utm_source/medium/campaign/content appended to its query, skipping keys it already has.

    The existing query text and the fragment are kept byte for byte; empty values are not added.
    """
    base, hashmark, fragment = url.partition("#")
    head, _, query = base.partition("?")
    present = {unquote_plus(pair.split("=", 1)[0]) for pair in query.split("&") if pair}
    wanted = (("utm_source", source), ("utm_medium", medium), ("utm_campaign", campaign), ("utm_content", content))
    extra = "&".join(f"{k}={quote(v, safe='')}" for k, v in wanted if v and k not in present)
    if extra:
        query = f"{query}&{extra}" if query and not query.endswith("&") else query + extra
    out = f"{head}?{query}" if query else head
    return out + (f"#{fragment}" if hashmark else "")


def redirect_target(url: str | None, network: str, campaign: str, step: str) -> str | None:
    """The URI a tracked link redirects to, or None when the stored URL may not be a target."""
    uri = to_uri(url)
    return with_utm(uri, network, campaign, step) if uri else None
