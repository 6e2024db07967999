"""The fast X length agrees with twitter-text-parser (the reference) and with X's own conformance cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.campaigns.xcount import reference_length, weighted_length

# Weighted-length cases of twitter-text's conformance suite (conformance/validate.yml,
# WeightedTweetsWithDiscountedEmojiCounterTest and lengths; Apache-2.0), long texts built in code.
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
CJK160 = "故人西辞黄鹤楼，" * 20  # noqa: RUF001 (a fullwidth comma, as in the conformance case)
KANA = "あいうえおかきくけこ"
CONFORMANCE = [
    ("Hi http://test.co", 26),
    ("http://test.co", 23),
    ("285 chars-" + "xxxxxxxxxx-" * 25, 285),
    ("285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299),
    ("xxxxxxxxxx-" * 24 + " http://www.twitter.com/jack ", 289),
    ("https://www.twitter.com/aloha " * 10, 240),
    (CJK160, 320),
    ("\U0001f637" * 160, 320),
    ("the" + CJK160, 323),
    ("282 chars-" + "xxxxxxxxxx-" * 24 + "xxxxx" + "A\u0301x", 281),  # Á is normalized into one character
    ("H\U0001f431\u263a" + FAMILY, 7),
    ("\U0001f637\U0001f47e\U0001f621\U0001f525\U0001f4a9", 10),
    ("\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4", 4),
    ("randomurl" * 7 + "s.com", 68),  # a 64-character label is not a domain
    (KANA * 12 + " http://" + KANA * 5 + "あいう.com", 358),
    (KANA * 12 + " http://" + KANA * 5 + "あい.com", 264),
    (FAMILY * 140, 280),
    (
        "Unicode 10.0 emoji: \U0001f92a; \U0001f9d5; \U0001f9d5\U0001f3fe; "
        "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
        34,
    ),
    ("Unicode 9.0 emoji: \U0001f920; \U0001f483; \U0001f483\U0001f3fe", 29),
    ("This is a test.", 15),
    ("http://test.com", 23),
    ("https://test.com", 23),
    ("test.com", 23),
    ("Test https://test.com test https://test.com test.com test", 86),
    ("A\u05e9\u05bc\u05c1", 4),
]


@pytest.mark.parametrize(("text", "expected"), CONFORMANCE, ids=range(len(CONFORMANCE)))
def test_conformance_cases(text: str, expected: int) -> None:
    assert reference_length(text) == expected
    assert weighted_length(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\n",
        "a\r\nb\rc",
        "x éexample.co.jp:c)%\u200d2#/",  # a leading non-alphanumeric character changes the extractor's match
        "éexample.co.jp",
        "(example.com) [see http://t.co/abc]",
        "Register: https://go.example.org/r/AbCdEfGh12\n#MPN #myelofibrosis",
        "http://127.0.0.1:8000/r/AbCdEfGh12",  # an IP address is not a link to X: counted as written
        "go.example.org/r/x1 and www.example.co.uk/path?q=1#frag",
        "Dr. Smith.Today e.g. i.e. U.S.A.",
        "日本語.jp/パス http://☃.net/ 😷.com",
        "#️⃣ © ® ‼ 1️⃣",
        "\u00a0nbsp\u3000ideographic\u2028line",
    ],
)
def test_edge_cases_agree(text: str) -> None:
    assert weighted_length(text) == reference_length(text)


PIECES = st.sampled_from(
    [
        "a", "Z", "7", " ", "\n", "\r\n", "\t", ".", "/", ":", "-", "_", "?", "#", "=", "&", "%", "@", "$",
        "(", ")", "[", "]", "!", ",", "'", '"', "http://", "https://", "www.", "example", ".com", ".org",
        ".co.jp", "t.co/", "go.example.org/r/", "é", "ö", "日", "語", "😷", "\u200d", "\U0001f3fd", "👨‍👩‍👧",
        "\u00a0", "\u3000", "©", "#️⃣", "\u202a", "Ω", "ш", "\u0301",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join))
def test_random_texts_agree(text: str) -> None:
    assert weighted_length(text) == reference_length(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_unicode_agrees(text: str) -> None:
    assert weighted_length(text) == reference_length(text)


def test_tracked_links_share_one_cache_entry_but_count_right() -> None:
    base = "Save your spot: https://go.example.org/r/"
    lengths = {weighted_length(base + code) for code in ("AAAAAAAAAA", "0123456789", "zZ9yY8xX7w")}
    assert lengths == {reference_length(base + "AAAAAAAAAA")} == {16 + 23}
