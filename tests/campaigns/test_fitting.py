"""Per-network lengths and fitting: drop the description, then shorten the title; never the link, tags or time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.campaigns.fitting import (
    MIN_TITLE,
    fit_text,
    fits,
    hashtag_count,
    hashtag_problem,
    rules_for,
    shorten_title,
    text_length,
)
from service.campaigns.templates import render

LINK = "https://go.example.org/r/AbCdEfGh12"


def test_network_limits() -> None:
    assert [rules_for(n).limit for n in ("x", "bluesky", "mastodon", "linkedin")] == [280, 300, 500, 3000]
    assert rules_for("unknown").limit == 280


def test_x_counts_links_as_23_and_cjk_and_emoji_as_2() -> None:
    assert text_length(f"See {LINK}", "x") == 4 + 23
    assert text_length("日本語 😷", "x") == 2 * 3 + 1 + 2
    assert fits("a" * 256 + " " + LINK, "x") and not fits("a" * 257 + " " + LINK, "x")


def test_mastodon_counts_links_as_23_and_characters_as_written() -> None:
    assert text_length(f"See {LINK}", "mastodon") == 4 + 23
    assert text_length("日本語 😷", "mastodon") == 5
    assert text_length("example.com", "mastodon") == 11  # no protocol: not a link to Mastodon


def test_bluesky_counts_graphemes_and_whole_links() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    assert text_length(family * 3, "bluesky") == 3
    assert text_length("e\u0301", "bluesky") == 1
    assert text_length(f"See {LINK}", "bluesky") == 4 + len(LINK)


def test_linkedin_counts_characters() -> None:
    assert text_length("x" * 3000, "linkedin") == 3000 and not fits("x" * 3001, "linkedin")


TEMPLATE = (
    "{{ title }} on {{ time }}.{% if description %} {{ description }}{% endif %}\n{{ rsvp_link }}\n{{ hashtags }}"
)


def _render(values: Mapping[str, Any]) -> str:
    return render(TEMPLATE, values)


def _values(title: str, description: str = "") -> dict[str, Any]:
    return {
        "title": title,
        "time": "5:30 PM MST",
        "description": description,
        "rsvp_link": LINK,
        "hashtags": "#MPN #AML",
    }


def test_a_text_that_fits_is_unchanged() -> None:
    fitted = fit_text(_render, _values("Short title", "A short description."), "x")
    assert fitted.problem is None and fitted.shortened is None
    assert fitted.text == "Short title on 5:30 PM MST. A short description.\n" + LINK + "\n#MPN #AML"


def test_the_description_goes_first() -> None:
    fitted = fit_text(_render, _values("Short title", "d" * 300), "x")
    assert fitted.shortened == "description dropped" and "ddd" not in fitted.text
    assert fitted.length <= 280 and "Short title" in fitted.text


def test_then_the_title_is_cut_with_an_ellipsis_keeping_link_tags_and_time() -> None:
    title = "Understanding Myeloproliferative Neoplasms " * 8
    fitted = fit_text(_render, _values(title.strip(), "d" * 300), "x")
    assert fitted.problem is None and fitted.length <= 280
    assert fitted.shortened == "description dropped; title shortened"
    first = fitted.text.split(" on 5:30 PM MST.")[0]
    assert first.endswith("…") and len(first) < len(title)
    assert LINK in fitted.text and "#MPN #AML" in fitted.text and "5:30 PM MST" in fitted.text
    # The longest title that fits: one more character would not.
    assert text_length(fitted.text, "x") > 270


def test_a_text_that_cannot_fit_is_reported() -> None:
    values = _values("A title", "")
    values["hashtags"] = " ".join(f"#tag{i}" for i in range(60))
    fitted = fit_text(_render, values, "x")
    assert fitted.problem is not None and fitted.problem.startswith("too long for x:")
    assert fitted.length > 280


def test_titles_are_cut_at_words_and_never_below_the_minimum() -> None:
    assert shorten_title("Living Well with Myeloproliferative Neoplasms", 30) == "Living Well with…"
    assert shorten_title("Short", 30) == "Short"
    assert len(shorten_title("x" * 100, MIN_TITLE)) == MIN_TITLE
    assert shorten_title("😷" * 40, 10) == "😷" * 9 + "…"


def test_the_address_and_the_affiliation_go_before_the_title() -> None:
    from service.campaigns.fitting import fit_text

    values = {
        "title": "Quarterly Oncology Update for Referring Physicians (1.0 CME)",
        "location": "Desert Vista Cancer Center Auditorium, 1200 N Saguaro Blvd, Mesa, AZ 85201, Building C, Floor 2",
        "where": "at Desert Vista Cancer Center Auditorium, 1200 N Saguaro Blvd, Mesa, AZ 85201, Building C, Floor 2",
        "speaker": "Dr. Samuel Okafor, Medical Oncology, Desert Vista Cancer Center",
        "description": "",
    }

    def render(v: Mapping[str, Any]) -> str:
        return (
            f"On Wednesday, January 20 at 12 PM MST: {v['title']}, with {v['speaker']}, {v['where']}. "
            "Lunch is provided.\n"
            "Details and registration: https://example.org/r/AbCdEfGh12\n#CME #oncology #PrimaryCare"
        )

    fitted = fit_text(render, values, "x")
    assert fitted.problem is None
    assert values["title"] in fitted.text  # the title is whole
    assert "1200 N Saguaro" not in fitted.text and "Desert Vista Cancer Center Auditorium" in fitted.text
    assert fitted.shortened is not None and "address dropped" in fitted.shortened


def test_instagram_counts_hashtags_and_refuses_more_than_thirty() -> None:
    assert hashtag_count("#MPN #myelofibrosis at https://example.org/#faq, #1 a#b (#2026Gala)") == 3
    thirty_one = " ".join(f"#t{i}" for i in range(31))
    assert hashtag_problem(thirty_one, "instagram") == "too many hashtags for instagram: 31/30"
    assert hashtag_problem(thirty_one, "x") is None  # only Instagram caps them
    fitted = fit_text(lambda v: f"Join us {v['tags']}", {"tags": thirty_one}, "instagram")
    assert fitted.problem == "too many hashtags for instagram: 31/30"
    assert fitted.text.endswith("#t30")  # hashtags are never dropped to fit
