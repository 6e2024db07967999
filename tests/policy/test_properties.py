"""Properties of the guard over generated texts (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from service.campaigns.templates import load_sets, render
from service.campaigns.variables import EventView, variables
from service.config import PolicyConfig
from service.policy import HOLD, OK, RANK, check_text
from tests.policy.corpus import OWN_HOSTS, TEMPLATES

SETS, _ = load_sets(TEMPLATES)
STEPS = [(tset.name, step) for tset in SETS.values() for step in tset.steps]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Words coordinators put in event titles (no street suffixes, personal names or claims: those are tested apart).
_TITLE_TEXT = """
Living Well with MPN Breast Cancer Support Group Webinar Seminar Survivorship Q&A Caregivers Caregiver Nutrition
During Treatment Ask the Dietitian Oncologist Pharmacist Free Skin Screening Day Night Yoga
Mindfulness Chemo Class Immunotherapy Side Effects Family Families Kids Teens Young Adults Men's Women's Health Lung
Colon Prostate Awareness Walk 5K Gala Brunch Picnic Open House Orientation New Patients Survivors Celebration Grief
Healing Hope Art Therapy Music Español Charla en Salud Grand Rounds Tumor Board CME Credit Update for and &
– : ? ! 🎗️ Mesa Gilbert Desert Vista Clinical Trials Coffee Talk Meet Our Team Nurse Navigators Sleep Fatigue
Returning to Work Advance Care Planning Medicare Open Enrollment Insurance Questions Financial Counseling Smoking
Cessation HPV Vaccine Sun Safety Myelofibrosis Leukemia Lymphoma Myeloma Melanoma Hematology Oncology Radiation
Surgery Recovery Exercise Strength Pain Management Palliative Hospice Bereavement Spanish-language Virtual Online
In-Person Annual Monthly Weekly Quarterly Spring Fall Holiday Luncheon Workshop Forum Panel Discussion Expert
Stage Phase Understanding Your Options What to Expect How Why Genetic Testing BRCA Lynch
"""
TITLE_WORDS = _TITLE_TEXT.split()
# Numbers come inside phrases, as in real titles (three free-standing numbers in a row read as a phone number).
TITLE_PHRASES = [
    # "Diagnosed" only as coordinators write it: a capitalized word before it reads as a name ("Gilbert Diagnosed").
    "Newly Diagnosed",
    "Phase I",
    "Stage IV",
    "Phase II/III",
    "Hodgkin's Lymphoma",
    "Part 2",
    "in 2026",
    "Class of 2027",
    "Basics 101",
    "Q4 2026",
    "1:1 Support",
    "(1.0 CME)",
]
SPEAKERS = [
    None,
    "Dr. Elena Marquez, Hematology",
    "Maria Lopez, RN, Nurse Navigator",
    "Sam Patel, RD, CSO",
    "Dr. Hannah O'Brien",
    "Lisa Nguyen, LCSW",
    "Dr. José Hernández-Ruiz",
]
LOCATIONS = [
    "Online (Zoom)",
    "Desert Vista Cancer Center, Room 210, 1200 N Saguaro Blvd, Mesa, AZ",
    "Desert Vista East Campus, 3400 E Baseline Rd, Gilbert, AZ 85234",
    "",
]
HASHTAGS = ["", "#MPN #myelofibrosis", "#caregivers", "#CancerSurvivor #oncology", "#SaludParaTodos"]
IDENTIFIERS = [
    "602-555-0199",
    "+44 20 7946 0958",
    "jane.doe@gmail.com",
    "123-45-6789",
    "MRN 00482913",
    "10.1.2.3",
    "our patient Maria",
    "45 Elm Street",
    "4111 1111 1111 1111",
    "DOB 3/14/1958",
]

titles = st.lists(st.sampled_from(TITLE_WORDS + TITLE_PHRASES), min_size=1, max_size=9).map(" ".join)


TITLE = "\x00title\x00"  # rendered once per (speaker, location, hashtags, day); titles are put in afterwards


@lru_cache(maxsize=512)
def _rendered(speaker: str | None, location: str, hashtags: str, day: int) -> tuple[str, ...]:
    start = datetime(2026, 12, 1, 1, 0, tzinfo=UTC) + timedelta(days=day, minutes=30 * day)
    event = EventView(
        id=1,
        title=TITLE,
        start=start,
        end=start + timedelta(hours=1),
        timezone="America/Phoenix",
        location=location,
        rsvp_url="https://example.org/register/x",
        hashtags=hashtags,
        speaker=speaker,
        recording_url="https://example.org/recordings/x",
        slug="x",
    )
    link = "http://127.0.0.1:8000/r/Ab12Cd34"
    return tuple(render(step.text_for("x"), variables(event, start + step.offset, link, "x")) for _, step in STEPS)


def _posts(title: str, speaker: str | None, location: str, hashtags: str, day: int) -> list[str]:
    """Every bundled step's post for an event with this title (templates use the title as it is)."""
    return [post.replace(TITLE, title) for post in _rendered(speaker, location, hashtags, day)]


@SETTINGS
@given(
    title=titles,
    speaker=st.sampled_from(SPEAKERS),
    location=st.sampled_from(LOCATIONS),
    hashtags=st.sampled_from(HASHTAGS),
    day=st.integers(0, 20),
)
def test_ordinary_posts_with_random_titles_are_ok(
    corpus_policy: PolicyConfig, title: str, speaker: str | None, location: str, hashtags: str, day: int
) -> None:
    for post in _posts(title, speaker, location, hashtags, day):
        verdict = check_text(post, corpus_policy, OWN_HOSTS)
        assert (verdict.verdict, verdict.reasons) == (OK, []), post


@SETTINGS
@given(title=titles, identifier=st.sampled_from(IDENTIFIERS), at=st.integers(0, 9), day=st.integers(0, 20))
def test_an_identifier_in_the_title_holds_every_post(
    corpus_policy: PolicyConfig, title: str, identifier: str, at: int, day: int
) -> None:
    words = title.split(" ")
    # Set apart by dashes: "Stage 45 Elm Street" reads as a stage, not an address, and that is by design.
    words.insert(min(at, len(words)), f"– {identifier} –")
    posts = [p for p in _posts(" ".join(words), None, "Online (Zoom)", "", day) if identifier in p]
    assert posts  # most steps show the title
    for post in posts:
        assert check_text(post, corpus_policy, OWN_HOSTS).verdict == HOLD, post


@SETTINGS
@given(text=st.text(max_size=400))
def test_any_text_gets_a_consistent_answer(corpus_policy: PolicyConfig, text: str) -> None:
    first = check_text(text, corpus_policy, OWN_HOSTS)
    again = check_text(text, corpus_policy, OWN_HOSTS)
    assert first.verdict in ("ok", "warn", "hold")
    assert (first.verdict, first.reasons) == (again.verdict, again.reasons)
    assert bool(first.reasons) == (first.verdict != OK)
    assert first.verdict == max((f.level for f in first.findings), key=RANK.__getitem__, default=OK)
    ranks = [RANK[f.level] for f in first.findings]
    assert ranks == sorted(ranks, reverse=True)
    assert all(0 <= f.start <= f.end <= len(text) for f in first.findings)


area = st.integers(200, 989).filter(lambda n: n % 100 != 11)
exchange = st.integers(200, 999)
line = st.integers(0, 9999)
FORMATS = [
    "{a}-{e}-{l}",
    "({a}) {e}-{l}",
    "{a}.{e}.{l}",
    "+1 {a} {e} {l}",
    "1-{a}-{e}-{l}",
    "{a}{e}{l}",
    "+1-{a}-{e}-{l}",
]


@SETTINGS
@given(a=area, e=exchange, n=line, fmt=st.sampled_from(FORMATS))
def test_us_numbers_in_any_format_hold_unless_the_organisations(
    corpus_policy: PolicyConfig, a: int, e: int, n: int, fmt: str
) -> None:
    number = fmt.format(a=a, e=e, l=f"{n:04d}")
    own = (a, e, n) in ((480, 555, 100), (480, 555, 142))
    verdict = check_text(f"Questions? Call {number} today.", corpus_policy, OWN_HOSTS)
    assert verdict.verdict == (OK if own else HOLD), (number, verdict.reasons)


LOOKALIKES = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "x": "х", "y": "у"}


@SETTINGS
@given(
    text=st.sampled_from(
        [
            "Our patient Maria was diagnosed in March.",
            "Email jane.doe@gmail.com to sign up.",
            "In loving memory of John Smith.",
            "Call 602-555-0199 after 5.",
        ]
    ),
    swaps=st.sets(st.integers(0, 60), max_size=8),
    zero_width=st.booleans(),
)
def test_lookalike_letters_do_not_hide_an_identifier(
    corpus_policy: PolicyConfig, text: str, swaps: set[int], zero_width: bool
) -> None:
    chars = list(text)
    for i in swaps:
        if i < len(chars) and chars[i] in LOOKALIKES:
            chars[i] = LOOKALIKES[chars[i]]
    disguised = ("\u200b" if zero_width else "").join(chars) if zero_width else "".join(chars)
    assume(disguised != text or not swaps)
    assert check_text(disguised, corpus_policy, OWN_HOSTS).verdict == HOLD, disguised
