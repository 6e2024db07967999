"""Time zone names and RFC 5545 local times; descriptions in plain text, Google's HTML and Outlook's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dateutil import tz as dateutil_tz

from service.calendars import zones
from service.calendars.description import html_to_text, parse_description


@pytest.mark.parametrize(
    ("tzid", "iana"),
    [
        ("America/Phoenix", "America/Phoenix"),
        ('"Europe/Berlin"', "Europe/Berlin"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("eastern standard time", "America/New_York"),
        ("/mozilla.org/20050126_1/America/New_York", "America/New_York"),
        ("/softwarestudio.org/Olson_20011030_5/America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("UTC", "UTC"),
        ("GMT", "UTC"),
        ("(UTC-07:00) Arizona", None),
        ("localtime", None),
        ("", None),
    ],
)
def test_iana_name(tzid: str, iana: str | None) -> None:
    assert zones.iana_name(tzid) == iana


def test_rfc_rules_for_gaps_and_overlaps_in_iana_zones() -> None:
    gap = zones.localize(datetime(2027, 3, 14, 2, 30), "America/New_York")
    assert gap == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # 02:30 EST, i.e. 03:30 EDT
    overlap = zones.localize(datetime(2027, 11, 7, 1, 30), "America/New_York")
    assert overlap == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # the first 01:30 (EDT)
    berlin = zones.localize(datetime(2027, 3, 28, 2, 30), "Europe/Berlin")
    assert berlin == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_rfc_rules_for_a_custom_zone() -> None:
    # dateutil (icalendar's custom VTIMEZONE zones) reads a gap time with the offset after the gap; RFC 5545 before.
    eastern = dateutil_tz.tzstr("EST5EDT,M3.2.0,M11.1.0")
    assert zones.rfc_instant(datetime(2027, 3, 14, 2, 30), eastern) == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    assert zones.rfc_instant(datetime(2027, 11, 7, 1, 30), eastern) == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
    assert zones.rfc_instant(datetime(2027, 7, 1, 12), eastern) == datetime(2027, 7, 1, 16, tzinfo=UTC)


def test_matching_zone_prefers_the_words_of_the_tzid_then_the_configured_zone() -> None:
    eastern = dateutil_tz.tzstr("EST5EDT,M3.2.0,M11.1.0")
    assert zones.matching_zone(eastern, 2027, "America/Phoenix", "(UTC-05:00) Eastern Time (US & Canada)") == (
        "America/New_York"
    )
    assert zones.matching_zone(eastern, 2027, "America/Phoenix", "Customized Time Zone") == "America/New_York"
    mst = dateutil_tz.tzstr("MST7")
    assert zones.matching_zone(mst, 2027, "America/Phoenix", "(UTC-07:00) Arizona") == "America/Phoenix"
    cet = dateutil_tz.tzstr("CET-1CEST,M3.5.0,M10.5.0/3")
    assert zones.matching_zone(cet, 2027, "America/Phoenix", "(UTC+01:00) Amsterdam, Berlin, Bern, Rome") in (
        "Europe/Berlin",
        "Europe/Amsterdam",
    )


def test_utc_in_any_spelling() -> None:
    assert zones.is_utc(UTC) and zones.is_utc(zones.zone("Etc/UTC")) and zones.is_utc(dateutil_tz.tzutc())
    assert not zones.is_utc(zones.zone("Europe/London")) and not zones.is_utc(None)


def test_google_html_description() -> None:
    html = (
        'Join us!<br><br><b>RSVP:</b> <a href="https://www.google.com/url?q=https://example.org/r/7&amp;sa=D">'
        "Register</a><br>Hashtags: #Lymphoma <i>#webinar</i><br>Speaker: Dr. Lee<ul><li>one</li><li>two</li></ul>"
    )
    details = parse_description(html)
    assert details.rsvp_url == "https://example.org/r/7"
    assert details.hashtags == "#Lymphoma #webinar" and details.speaker == "Dr. Lee"
    assert details.text.startswith("Join us!") and "one" in details.text and "<" not in details.text


def test_outlook_plain_text_links_and_key_lines() -> None:
    details = parse_description("RSVP: Register here<https://example.org/r/1>.\nImage: https://example.org/i.png")
    assert details.rsvp_url == "https://example.org/r/1" and details.image_url == "https://example.org/i.png"


def test_first_link_fallback_skips_the_image_line_and_refused_links_warn_once() -> None:
    details = parse_description("Image: https://example.org/banner.png\nMore at https://example.org/info")
    assert details.rsvp_url == "https://example.org/info"
    refused = parse_description("RSVP: javascript:alert(1)")
    assert refused.rsvp_url is None
    assert refused.warnings == ["RSVP javascript: link refused: only http(s) links are accepted", "no RSVP link"]
    data = parse_description("See data:text/html;base64,PHNjcmlwdD4= for details")
    assert data.warnings[0] == "link in description data: link refused: only http(s) links are accepted"


def test_url_property_comes_before_the_first_link() -> None:
    details = parse_description("Details at https://example.org/details", "https://example.org/register")
    assert details.rsvp_url == "https://example.org/register"


def test_html_to_text_drops_head_style_comments_and_scripts() -> None:
    html = "<html><head><style>p{color:red}</style><title>t</title></head><body><!-- c --><script>x()</script>"
    html += "<p>Hello</p><p>World</p></body></html>"
    assert html_to_text(html) == "Hello\n\nWorld"


def test_descriptions_are_copies() -> None:
    first = parse_description("Channels: x, y\nno link here")
    first.warnings.append("changed by a caller")
    assert first.channels is not None
    first.channels.append("z")
    again = parse_description("Channels: x, y\nno link here")
    assert again.channels == ["x", "y"] and again.warnings == ["no RSVP link"]
