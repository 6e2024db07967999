"""Redirect targets: UTM merging that keeps the query as written, fragments, IDN hosts, Unicode paths, refusals."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.tracking import redirect_target, to_uri, with_utm

UTM = "utm_source=x&utm_medium=social&utm_campaign=mpn-webinar&utm_content=one-week"


def target(url: str) -> str | None:
    return redirect_target(url, "x", "mpn-webinar", "one-week")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/register/123", f"https://example.org/register/123?{UTM}"),
        ("https://example.org/r?id=7", f"https://example.org/r?id=7&{UTM}"),
        # The query as the coordinator wrote it: '+', %20, order and odd separators are not re-encoded.
        ("https://example.org/r?q=a+b&x=%20y&z", f"https://example.org/r?q=a+b&x=%20y&z&{UTM}"),
        ("https://example.org/r?id=7&", f"https://example.org/r?id=7&{UTM}"),
        ("https://example.org/r?", f"https://example.org/r?{UTM}"),
        ("https://example.org", f"https://example.org/?{UTM}"),
        ("https://example.org/r#seats", f"https://example.org/r?{UTM}#seats"),
        ("https://example.org/r?id=7#form?x=1", f"https://example.org/r?id=7&{UTM}#form?x=1"),
        ("https://example.org/r#", f"https://example.org/r?{UTM}"),
        # Keys the URL already has are kept with its own values, never duplicated.
        (
            "https://example.org/r?utm_source=newsletter&utm_campaign=spring",
            "https://example.org/r?utm_source=newsletter&utm_campaign=spring&utm_medium=social&utm_content=one-week",
        ),
        (
            "https://example.org/r?utm_medium=",
            "https://example.org/r?utm_medium=&utm_source=x&utm_campaign=mpn-webinar&utm_content=one-week",
        ),
        (
            "https://example.org/r?utm%5Fsource=a",
            "https://example.org/r?utm%5Fsource=a&utm_medium=social&utm_campaign=mpn-webinar&utm_content=one-week",
        ),
        ("HTTPS://Example.ORG:8443/R", f"https://example.org:8443/R?{UTM}"),
        ("http://user:pw@example.org/r", f"http://user:pw@example.org/r?{UTM}"),
        ("http://[2001:db8::1]:8080/r", f"http://[2001:db8::1]:8080/r?{UTM}"),
        ("  https://example.org/r  ", f"https://example.org/r?{UTM}"),
    ],
)
def test_utm_merging(url: str, expected: str) -> None:
    assert target(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # IDN host -> punycode (IDNA 2008 / UTS 46); the path is left as written.
        ("https://bücher.example/anmeldung", f"https://xn--bcher-kva.example/anmeldung?{UTM}"),
        ("https://例え.jp/イベント", f"https://xn--r8jz45g.jp/%E3%82%A4%E3%83%99%E3%83%B3%E3%83%88?{UTM}"),
        # Percent-encoded paths stay exactly as they are (no double encoding).
        ("https://example.org/gr%C3%B6%C3%9Fe/a%2Fb", f"https://example.org/gr%C3%B6%C3%9Fe/a%2Fb?{UTM}"),
        # Raw Unicode in path, query and fragment becomes UTF-8 percent-encoding.
        ("https://example.org/größe", f"https://example.org/gr%C3%B6%C3%9Fe?{UTM}"),
        ("https://example.org/r?stadt=Zürich", f"https://example.org/r?stadt=Z%C3%BCrich&{UTM}"),
        ("https://example.org/r#Anmeldung-für", f"https://example.org/r?{UTM}#Anmeldung-f%C3%BCr"),
        ("https://example.org/a b", f"https://example.org/a%20b?{UTM}"),
        ("https://example.org/100%", f"https://example.org/100%25?{UTM}"),
        ('https://example.org/r?x="<y>"', f"https://example.org/r?x=%22%3Cy%3E%22&{UTM}"),
    ],
)
def test_non_ascii_and_unsafe_characters(url: str, expected: str) -> None:
    assert target(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.org/file",
        "//evil.example/path",
        "/relative/path",
        "example.org/register",
        "https://",
        "https:///path-only",
        "https://example.org:99999/",
        "https://exa mple.org/",
        "https://ex\u0000ample.org/",
    ],
)
def test_only_absolute_http_urls_are_targets(url: str | None) -> None:
    assert target(url) is None  # type: ignore[arg-type]


def test_targets_are_header_safe() -> None:
    """Whatever a calendar holds, the Location header gets printable ASCII without spaces or line breaks."""
    out = target("https://example.org/a\r\nSet-Cookie: x=1\x7f\u2028?q=\u00e9 #\ttab")
    assert out is not None
    assert out.isascii() and out.isprintable() and " " not in out
    assert "\r" not in out and "\n" not in out


def test_empty_values_are_not_added() -> None:
    assert with_utm("https://example.org/r", "x", "", "live") == (
        "https://example.org/r?utm_source=x&utm_medium=social&utm_content=live"
    )


def test_utm_values_are_encoded() -> None:
    out = with_utm("https://example.org/r", "x", "café & co", "day-before")
    assert dict(parse_qsl(urlsplit(out).query))["utm_campaign"] == "café & co"


_query_text = st.text(alphabet="abcxyz019=&+%-._~!$'()*,;:@/?", max_size=40)


@given(
    path=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20).map(lambda s: "/" + s),
    query=_query_text,
    fragment=st.one_of(st.none(), _query_text),
)
def test_merge_keeps_the_query_text_and_adds_each_key_once(path: str, query: str, fragment: str | None) -> None:
    url = "https://example.org" + path.replace("?", "").replace("#", "") + ("?" + query if query else "")
    if fragment is not None:
        url += "#" + fragment
    out = target(url)
    assert out is not None and out.isascii()
    uri = to_uri(url)
    assert uri is not None
    base = uri.split("#", 1)[0]
    # What was there before comes first, unchanged.
    assert out.startswith(base.rstrip("?"))
    keys = [k for k, _ in parse_qsl(urlsplit(out).query, keep_blank_values=True)]
    for key in ("utm_source", "utm_medium", "utm_campaign", "utm_content"):
        assert keys.count(key) >= 1
        added = out.split("#", 1)[0].count(f"{key}=") - base.count(f"{key}=")
        assert added in (0, 1)
    if fragment:
        assert out.endswith("#" + (to_uri("https://e.org/#" + fragment) or "").split("#", 1)[1])
