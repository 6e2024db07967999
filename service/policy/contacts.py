"""Contact details: links, e-mail addresses (also written out), phone and fax numbers, IP addresses.

Links are found the way X finds them (twitter-text's extractor, so "bit.ly/x" without a scheme
counts), plus any "scheme://" link other networks would show. Phone numbers are found by
Google's libphonenumber (the `phonenumbers` port) in every format it knows, plus vanity numbers
("1-800-4-CANCER") and digits written as words.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from urllib.parse import urlsplit

import phonenumbers
from twitter_text import extract_urls_with_indices

from .folding import fold
from .prefilter import lowered
from .rules import Allow
from .scan import HOLD, WARN, Scan
from .words import MESSAGING_HOSTS, SHORTENERS

_SCHEME_URL = re.compile(r"\b[a-z][a-z0-9+.-]{1,15}://[^\s<>\"'`]+", re.I)
_URL_TRAILING = ".,;:!?'\")]}>"
_DOMAIN_LIKE = re.compile(r"[\w-]\.[^\W\d_]{2}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"(?<![\w.%+'-])([A-Za-z0-9][A-Za-z0-9._%+'-]*)@({_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,24}})(?![\w-])"
)
# "john dot doe at gmail dot com", "jane(at)gmail.com", "jane [at] example [dot] org", "jane @ gmail . com".
_AT = r"(?:\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s+at\s+|\s+@\s*|\s*@\s+)"
_DOT = r"(?:\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+|\s+\.\s+|\.)"
_WORD = r"[A-Za-z0-9][A-Za-z0-9_%+-]*"
_SPELLED_EMAIL = re.compile(
    rf"(?<![\w.])({_WORD}(?:{_DOT}{_WORD}){{0,3}}){_AT}({_WORD}(?:{_DOT}{_WORD}){{0,3}}{_DOT}[A-Za-z]{{2,12}})\b", re.I
)
_OBFUSCATION = re.compile(r"[(\[{<]\s*(?:at|dot)\s*[)\]}>]|\s(?:at|dot)\s|\s@|@\s", re.I)
_MAIL_PROVIDERS = frozenset(
    [
        "gmail",
        "googlemail",
        "yahoo",
        "ymail",
        "hotmail",
        "outlook",
        "live",
        "msn",
        "aol",
        "icloud",
        "me",
        "mac",
        "protonmail",
        "proton",
        "gmx",
        "zoho",
        "comcast",
        "cox",
    ]
)
# What a written-out address needs to count (see check_emails): an "@", "(at)", a spelled "dot", or a
# mail provider's name right after a plain " at ". Read on the lowercased text.
_SPELLED_COUNTS = re.compile(
    r"@|[(\[{<]\s*at\s*[)\]}>]|[(\[{<]\s*dot|\sdot\s|\sat\s+(?:" + "|".join(sorted(_MAIL_PROVIDERS)) + ")"
)
_TOLL_FREE = frozenset({"800", "833", "844", "855", "866", "877", "888"})
_VANITY = re.compile(
    r"(?<![\w+-])(\+?1[ .-]?)?(\(\d{3}\)|\d{3})[ .-]?"
    r"([A-Za-z0-9]{1,4}(?:[.-][A-Za-z0-9]{1,8}){0,3}|[A-Za-z0-9]{7,8})(?![\w-])"
)
_CALL_CONTEXT = re.compile(r"(?:call|phone|tel|text|dial|fax|contact|reach|line|hotline|number)\W{0,3}$", re.I)
# Six digits or more with phone separators between them: what a phone number needs at least.
_PHONE_LIKE = re.compile(r"\d(?:[ \t().\-/+]{0,3}\d){5}")
_EXTENSION = re.compile(r"(?:ext|extension|x)\.?\s*\d+$", re.I)
_DIGIT_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_SPELLED_DIGITS = re.compile(rf"\b{_DIGIT_WORD}(?:[\s,-]+{_DIGIT_WORD}){{6,}}\b", re.I)
# Letters people type for digits inside a number: "480-555-O1OO".
_DIGITLIKE_TOKEN = re.compile(r"(?<![A-Za-z])[0-9OoIl]*[0-9][0-9OoIl]*(?![A-Za-z])")
_DIGITLIKE = str.maketrans("OoIl", "0011")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


def allowed_host(host: str, domains: tuple[str, ...]) -> bool:
    """True when `host` is one of `domains` or a subdomain of one."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def _ascii_host(host: str) -> str:
    host = host.lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _skeleton(host: str) -> str:
    """What a host looks like to a reader: punycode decoded, look-alike letters folded."""
    host = host.lower().rstrip(".")
    if "xn--" in host:
        with contextlib.suppress(UnicodeError):
            host = host.encode("ascii").decode("idna")
    return fold(host).text.lower()


def _trim_url(url: str) -> str:
    while url and url[-1] in _URL_TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _link_spans(text: str) -> list[tuple[int, int, str]]:
    """Every link in the original text: (start, end, url), scheme links first, then what X links."""
    found: list[tuple[int, int, str]] = []
    rest = list(text)
    for m in _SCHEME_URL.finditer(text):
        url = _trim_url(m.group(0))
        found.append((m.start(), m.start() + len(url), url))
        rest[m.start() : m.start() + len(url)] = " " * len(url)
    # X's extractor is slow: run it only where a scheme-less link could be, on the text without the links
    # already found (same length, so its indices are the text's).
    remainder = "".join(rest)
    if _DOMAIN_LIKE.search(remainder):
        for item in extract_urls_with_indices(remainder):
            start, end = item["indices"]
            found.append((start, end, item["url"]))
    return found


def check_links(scan: Scan, allow: Allow) -> None:
    """Warn about links outside the organisation's domains; hold links to IP addresses and imitated domains."""
    for start, end, url in _link_spans(scan.text):
        vs, ve = scan.view.view_index(start), scan.view.view_index(end)
        if not scan.masked[vs:ve].strip() or not scan.free(vs, ve):  # an allowed term, an e-mail address
            continue
        raw_host = urlsplit(url if "://" in url else "https://" + url).hostname or ""
        host = _ascii_host(raw_host)
        if host and (allowed_host(host, allow.domains) or host in allow.own_hosts):
            scan.cover(vs, ve)
            continue
        if _is_ip(host):
            scan.report(HOLD, "ip", vs, ve, f"link to the IP address {host}: an IP address may identify a person")
        elif host and allowed_host(_skeleton(raw_host), allow.domains):
            scan.report(
                HOLD,
                "lookalike",
                vs,
                ve,
                f"link to {raw_host} imitates the organisation's domain with look-alike letters",
            )
        elif host in MESSAGING_HOSTS or host.removeprefix("www.") in MESSAGING_HOSTS:
            scan.report(
                HOLD,
                "messaging",
                vs,
                ve,
                f"link to a personal messaging account ({scan.quote(vs, ve)}): a contact detail",
            )
        elif host in SHORTENERS:
            scan.report(
                WARN,
                "link",
                vs,
                ve,
                f"link shortener {host} hides where the link goes (outside the organisation's domains)",
            )
        else:
            scan.report(WARN, "link", vs, ve, f"link to {host or url} is outside the organisation's domains")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def check_emails(scan: Scan, allow: Allow) -> None:
    """Hold e-mail addresses (also written out) that are not at the organisation's domains."""
    text = scan.masked
    if scan.fast:
        # _EMAIL needs an "@"; a written-out address is reported or allowed only when it has an "@", a
        # bracketed "at", a spelled-out "dot" or a provider after "at" (the `continue` below): without
        # any of those in the text, neither loop can do anything.
        spelled = _SPELLED_COUNTS.search(lowered(scan.masked)) is not None and scan.may(_SPELLED_EMAIL)
        if not spelled and not scan.may(_EMAIL):
            return
    in_urls = [(m.start(), m.end()) for m in _SCHEME_URL.finditer(text)]

    def in_url(start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in in_urls)

    for m in _EMAIL.finditer(text) if scan.may(_EMAIL) else ():
        if not scan.free(m.start(), m.end()) or in_url(m.start(), m.end()):
            continue
        raw_domain = scan.view.original(m.start(2), m.end(2))
        domain = _ascii_host(raw_domain)
        if allowed_host(domain, allow.domains) and raw_domain.isascii():
            scan.cover(m.start(), m.end())
        elif allowed_host(m.group(2).lower(), allow.domains):
            scan.report(
                HOLD,
                "lookalike",
                m.start(),
                m.end(),
                f"e-mail address {scan.quote(m.start(), m.end())} imitates the organisation's domain "
                "with look-alike letters",
            )
        else:
            scan.report(
                HOLD,
                "email",
                m.start(),
                m.end(),
                f"e-mail address {scan.quote(m.start(), m.end())} is not the organisation's",
            )
    for m in _SPELLED_EMAIL.finditer(text) if not scan.fast or spelled else ():
        if not scan.free(m.start(), m.end()) or in_url(m.start(), m.end()) or not _OBFUSCATION.search(m.group(0)):
            continue
        domain = re.sub(_DOT, ".", m.group(2), flags=re.I).lower().replace(" ", "")
        plain_at = re.fullmatch(r"\s+at\s+", text[m.end(1) : m.start(2)], re.I) is not None
        spelled_dot = re.search(r"[(\[{<]\s*dot|\sdot\s", m.group(0), re.I) is not None
        if plain_at and not spelled_dot and domain.split(".")[0] not in _MAIL_PROVIDERS:
            continue  # "join us at the center.org" is a link, not an address
        if allowed_host(domain, allow.domains):
            scan.cover(m.start(), m.end())
            continue
        scan.report(
            HOLD,
            "email",
            m.start(),
            m.end(),
            f"e-mail address written out ({scan.quote(m.start(), m.end())}) is not the organisation's",
        )


def _numbers_view(scan: Scan) -> str:
    """The blanked view with letters typed for digits inside numbers read as digits ("O1OO" -> "0100")."""
    return _DIGITLIKE_TOKEN.sub(lambda m: m.group(0).translate(_DIGITLIKE), scan.blanked())


def check_phones(scan: Scan, allow: Allow) -> None:
    """Hold phone and fax numbers that are not the organisation's (any format, vanity, spelled out)."""
    text = _numbers_view(scan)
    if _PHONE_LIKE.search(text):
        for match in phonenumbers.PhoneNumberMatcher(text, allow.region, leniency=phonenumbers.Leniency.POSSIBLE):
            if any(c.isalpha() for c in _EXTENSION.sub("", match.raw_string)):
                continue  # libphonenumber reads "1200 Saguaro" as a vanity number; _VANITY is stricter
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if e164 in allow.phones:
                scan.cover(match.start, match.end)
            else:
                scan.report(
                    HOLD,
                    "phone",
                    match.start,
                    match.end,
                    f"phone number {scan.quote(match.start, match.end)} is not one of the organisation's",
                )
    text = scan.blanked()
    for m in _VANITY.finditer(text):
        _vanity(scan, allow, m)
    for m in _SPELLED_DIGITS.finditer(text):
        scan.report(
            HOLD, "phone", m.start(), m.end(), f"a number written out in words ({scan.quote(m.start(), m.end())})"
        )


def _vanity(scan: Scan, allow: Allow, m: re.Match[str]) -> None:
    area = m.group(2).strip("()")
    rest = re.sub(r"[ .-]", "", m.group(3))
    letters = sum(c.isalpha() for c in rest)
    if not 7 <= len(rest) <= 8 or letters < 3 or not scan.free(m.start(), m.end()):
        return
    if not (
        m.group(1) or m.group(2).startswith("(") or area in _TOLL_FREE or _CALL_CONTEXT.search(scan.masked[: m.start()])
    ):
        return
    digits = phonenumbers.convert_alpha_characters_in_number(area + rest[:7])
    try:
        number = phonenumbers.parse("+1" + digits, None)
    except phonenumbers.NumberParseException:
        return
    if phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) in allow.phones:
        scan.cover(m.start(), m.end())
        return
    scan.report(
        HOLD,
        "phone",
        m.start(),
        m.end(),
        f"phone number {scan.quote(m.start(), m.end())} is not one of the organisation's",
    )


def check_ip_addresses(scan: Scan, allow: Allow) -> None:
    """Hold IP addresses (a HIPAA identifier) outside links the organisation owns."""
    text = scan.blanked()
    for pattern in (_IPV4, _IPV6):
        for m in pattern.finditer(text):
            candidate = m.group(0)
            if pattern is _IPV6 and sum(1 for g in candidate.split(":") if g) < 2:
                continue
            if not _is_ip(candidate) or candidate in allow.own_hosts:
                continue
            scan.report(HOLD, "ip", m.start(), m.end(), f"IP address {candidate}: it may identify a person's device")
