"""The folded view the rules match on, and its map back to the original text."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from service.policy.confusables import CONFUSABLES
from service.policy.folding import fold, mixes_scripts

ROOT = Path(__file__).resolve().parent.parent.parent


def test_ascii_text_is_its_own_view() -> None:
    view = fold("Call 480-555-0100")
    assert view.text == "Call 480-555-0100" and view.starts is None
    assert view.original(5, 17) == "480-555-0100" and view.view_index(5) == 5


def test_lookalikes_fullwidth_accents_and_invisible_characters_fold() -> None:
    source = "Our рatіent\u200b María ＠ ６０２\u00a0—\u2028x"
    view = fold(source)
    assert view.text == "Our patient Maria @ 602 -\nx"
    start = view.text.index("patient")
    assert view.original(start, start + len("patient")) == "рatіent"
    digits = view.text.index("602")
    assert view.original(digits, digits + 3) == "６０２"
    assert view.view_index(source.index("María")) == view.text.index("Maria")


def test_expanding_characters_map_back_whole() -> None:
    view = fold("ﬁnd ½")  # one character becomes several
    assert view.text == "find 1/2"  # fraction slash: a confusable of "/"
    assert view.original(0, 1) == "ﬁ" and view.original(1, 4) == "ﬁnd"


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=120), data=st.data())
def test_every_view_span_comes_from_its_original(text: str, data: st.DataObject) -> None:
    view = fold(text)
    i = data.draw(st.integers(0, len(view.text)))
    j = data.draw(st.integers(i, len(view.text)))
    original = view.original(i, j)
    assert original in text
    assert view.text[i:j] in fold(original).text
    a, b = view.source_span(i, j)
    assert 0 <= a <= b <= len(text)


def test_mixed_scripts() -> None:
    assert mixes_scripts("pаtient")  # Cyrillic а among Latin letters
    assert not mixes_scripts("patient") and not mixes_scripts("María") and not mixes_scripts("пациент")
    assert not mixes_scripts("Zoë")


def test_confusables_table_is_generated_from_unicode_data() -> None:
    spec = importlib.util.spec_from_file_location("generate_confusables", ROOT / "scripts" / "generate_confusables.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.table() == CONFUSABLES  # run scripts/generate_confusables.py after a data update
    assert CONFUSABLES["а"] == "a" and CONFUSABLES["о"] == "o" and CONFUSABLES["р"] == "p"
