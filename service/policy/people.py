"""People in a clinical context: named patients, memorials, quoted testimonials, and patient stories.

A name alone is fine (a speaker, a nurse navigator); a name tied to someone's health is what HIPAA
protects. Without a named-entity model, a name here is a run of capitalised words (or an @handle)
that are not common words (words.NOT_NAMES), found right where a sentence ties it to a patient:

- "our patient Maria", "survivor John Smith"                          (patient noun before a name)
- "Maria Lopez, a breast cancer survivor", "John, 54, a patient"      (descriptor after a name)
- "Maria was diagnosed ...", "John rang the bell", "Ann passed away"  (clinical predicate after a name)
- "Maria's diagnosis", "John's cancer journey"                        (possessive care noun)
- "Mrs. Jones" in a sentence about cancer, treatment, a hospital      (honorific + clinical words)
- "In memory of John Smith", "RIP Maria", "John Smith (1950-2024)"    (memorials of a named person)
- a quoted health testimonial attributed to a name
Held. A first-person health statement without a name, or a story about an unnamed patient, warns.
"""

from __future__ import annotations

import re

from .prefilter import first_chars, literal_alternatives, needs, needs_whole, view, words_view
from .rules import Allow
from .scan import HOLD, WARN, Scan
from .words import (
    CLINICAL_PREDICATES,
    CLINICAL_WORDS,
    HEALTH_WORDS,
    NOT_NAMES,
    NOT_PERSONAL_AFTER,
    PATIENT_NOUNS,
    PATIENT_ROLES,
    PERSONAL_CARE_NOUNS,
)

_HONORIFIC = r"(?:Dr|Mr|Mrs|Ms|Mx|Miss|Prof|Doctor|Professor)\.?"
_CLINICIAN = re.compile(r"^(?:Dr|Prof|Doctor|Professor)\b")
_LAY_HONORIFIC = re.compile(r"^(?:Mr|Mrs|Ms|Mx|Miss)\.?$")
_CAP = r"(?:[A-Z]'|Ma?c)?[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
_TOKEN = rf"(?:{_CAP}|[A-Z]\.)"
_NAME = rf"(?:{_HONORIFIC}\s+)?{_CAP}(?:\s+{_TOKEN}){{0,3}}|@[A-Za-z0-9_]{{1,15}}"
# A run of capitalised words (or an @handle); the name is the part of it next to a cue.
_RUN = re.compile(rf"(?<![\w'@.-])(?:{_HONORIFIC}\s+)?{_CAP}(?:\s+{_TOKEN}){{0,5}}|(?<![\w@])@[A-Za-z0-9_]{{1,15}}")
_WORD_SPAN = re.compile(r"\S+")

# Cues that end right before a name (matched against the text just before it).
_PATIENT_CUE = re.compile(
    rf"\b(?P<det>(?i:our|my|a|the|former|nuestr[oa]|mi)\s+)?(?P<noun>(?i:{PATIENT_NOUNS}))(?P<sep>\s*[,:(-]?)\s*$"
)
_SPOTLIGHT_CUE = re.compile(
    rf"\b(?i:(?:{PATIENT_NOUNS}|caregivers?)\s+(?:spotlight|story|stories|profile|of\s+the\s+(?:week|month|year))|"
    r"patient'?s?\s+name)\s*[:=-]?\s*$"
)
# Wishes that imply an illness: "Get well soon, Maria", "Prayers for John".
_WISH_CUE = re.compile(
    r"\b(?i:get\s+well\s+soon|speedy\s+recovery|prayers\s+(?:for|to)|praying\s+for|pray\s+for|"
    r"sending\s+(?:love|strength|healing(?:\s+\w+)?|prayers)\s+to)[\s,:!]*$"
)
# A first-person testimonial that gives the speaker's name: "My name is Maria and I was diagnosed ...".
_SELF_NAME_CUE = re.compile(r"\b(?i:my\s+name\s+is|i\s+am|i'm)\s+$")
_MEMORIAL_CUE = re.compile(
    r"\b(?:(?i:in\s+(?:loving\s+)?memory\s+of|in\s+memoriam|remembering|honou?ring\s+the\s+(?:life|memory)\s+of|"
    r"celebrating\s+the\s+life\s+of|rest\s+in\s+peace|we\s+mourn|mourning\s+the\s+(?:loss|passing)\s+of|"
    r"the\s+passing\s+of|the\s+loss\s+of|obituary(?:\s+(?:of|for))?|funeral\s+(?:of|for)|farewell\s+to|"
    r"celebration\s+of\s+(?:the\s+)?life\s+(?:for|of))|RIP)[\s,:-]*"
    r"(?:(?i:our|my|your|dear|beloved|friend|colleague|volunteer|member|founder|patient|longtime|the\s+late|sweet|"
    r"wonderful|brave)[\s,]+)*$"
)
_BEFORE_TRIGGER = re.compile(
    r"patient|pt\.|surviv|fighter|warrior|thriver|paciente|sobreviv|memor|remember|honou?r|rest\s+in|RIP|mourn|"
    r"passing|loss\s+of|obituar|funeral|farewell|celebrat\w*\s+(?:the|of)|name|get\s+well|recovery|pray|"
    r"sending|i\s+am|i'm",
    re.I,
)
_TRIGGER_WORDS = tuple(sorted(literal_alternatives(_BEFORE_TRIGGER)))
# Patterns that start right after a name.
_DESCRIPTOR_AFTER = re.compile(
    rf"\s*,\s*(?:\d{{1,3}}\s*,\s*)?(?:(?:a|an|our|one\s+of\s+our|the|who\s+is\s+(?:a|an|our)|who\s+was\s+(?:a|an|our))\s+)?"
    rf"(?:[\w-]+\s+){{0,3}}?(?:patient|survivor|fighter|warrior|thriver)s?\b(?!\s+{PATIENT_ROLES}\b)",
    re.I,
)
_PREDICATE = re.compile(rf"(?:\s*,\s*\d{{1,3}}\s*,|\s*,)?\s+{CLINICAL_PREDICATES}", re.I | re.X)
_PASSIVE = re.compile(r"(?:\s*,[^,]*,|\s*,)?\s+(?:(?:who|that)\s+)?(?:was|is|has|had|got|were|are)\b", re.I)
_POSSESSIVE = re.compile(rf"'s?\s+(?P<noun>{PERSONAL_CARE_NOUNS})\b(?!\s+{NOT_PERSONAL_AFTER})", re.I | re.X)
_STRONGLY_PERSONAL = re.compile(
    r"(?:diagnosis|cancer|leukemia|lymphoma|myeloma|melanoma|illness|condition|disease|journey|battle|fight|story|"
    r"recovery|remission|relapse|passing|death|obituary|funeral|prognosis|tumou?r)$",
    re.I,
)
_AGE_AFTER = re.compile(r",\s*\d{1,3}\s*,")
_LIFE_DATES = re.compile(r"\s*\(\s*(?:b\.\s*)?(?:19|20|18)\d\d\s*(?:-|to)\s*(?:19|20)\d\d\s*\)")
_CLINICAL = re.compile(rf"\b{CLINICAL_WORDS}\b", re.I | re.X)
_QUOTE = re.compile(r'"([^"\n]{8,400})"')
_SAYS = r"(?:says|said|shares|shared|writes|wrote|explains|explained|recalls|recalled|remembers|told\s+us)"
_ATTRIBUTION_AFTER = re.compile(rf"\s*(?:[-~,]\s*|\s)(?:{_SAYS}\s+)?")
_ATTRIBUTION_BEFORE = re.compile(rf"(?<![\w'@.-])(?P<name>{_NAME})\s+{_SAYS}\s*:?\s*$")
_DASH_SIGNATURE = re.compile(rf"(?:^|\s)[-~]\s*(?P<name>{_NAME})\s*(?:,[^\n]{{0,40}})?[ \t]*$", re.M)
_NAME_AT_START = re.compile(rf"^(?:{_NAME})(?!\w)")
_FIRST_PERSON = re.compile(
    r"(?<!\bstage )(?<!\bphase )(?<!\bpart )(?<!\btype )(?<!\bgrade )(?<!\bclass )(?<!\blevel )(?<!\btier )"
    r"(?<!\bchapter )(?<!\bwar )(?<!\btitle )(?<!\bact )(?<![.\w])I\b(?![.-]\w)|"
    r"\b(?:I'm|I've|I'd|I'll|my|mine|myself)\b|"
    r"\b(?:helped|saved|cured|treated|diagnosed|told)\s+me\b",
    re.I,
)
_HEALTH = re.compile(rf"\b{HEALTH_WORDS}\b", re.I | re.X)
_FIRST_PERSON_WORDS = frozenset({"i", "my", "mine", "myself", "me"})
_NON_WORD = re.compile(r"\W+")
_STORY = re.compile(
    rf"""\b(?:one\s+of\s+our\s+patients|a\s+(?:former\s+|current\s+|young\s+)?patient(?:'s)?\s+(?:story|journey)|
    patient\s+stor(?:y|ies)|(?:she|he)\s+(?:was|is|has\s+been|had\s+been)\s+(?:diagnosed|treated|admitted|discharged)|
    (?:she|he)\s+(?:has|had|beat|survived|fought|is\s+fighting|is\s+living\s+with)\s+(?:stage\s+\w+\s+)?(?:\w+\s+)?
      (?:cancer|leukemia|lymphoma|myeloma|melanoma|sarcoma|mpn|myelofibrosis|a\s+tumou?r)|
    (?:her|his)\s+(?:own\s+)?(?:story|journey)|
    (?:her|his)\s+(?:diagnosis|chemo\w*|surgery|mastectomy|transplant|relapse|prognosis|last\s+chemo|scans?|
      (?:(?:breast|lung|colon|skin|blood|brain|prostate|ovarian|pancreatic)\s+)?cancer(?:\s+journey)?|tumou?r)
      (?!\s+{NOT_PERSONAL_AFTER})|
    \d{{1,2}}[- ]year[- ]old\s+
      (?:patient|woman|man|mother|father|girl|boy|mom|dad|wife|husband|grand\w+|son|daughter))\b""",
    re.I | re.X,
)


def _clean(tokens: list[str], from_right: bool) -> tuple[str, bool]:
    """The name in a run of capitalised words, and whether it carries a clinician's title.

    The walk starts at the side next to the cue and stops at the first common word, so
    "Yesterday Maria Lopez" (before "was diagnosed") gives "Maria Lopez".
    """
    if len(tokens) == 1 and tokens[0].startswith("@"):
        return tokens[0], False
    clinician = bool(tokens) and _CLINICIAN.match(tokens[0]) is not None
    tokens = list(tokens)
    while tokens and re.fullmatch(_HONORIFIC, tokens[0]):
        tokens.pop(0)
    kept: list[str] = []
    for tok in reversed(tokens) if from_right else tokens:
        if tok.rstrip(".").lower() in NOT_NAMES:
            break
        kept.append(tok)
    if from_right:
        kept.reverse()
    if not any(len(t.rstrip(".")) > 1 for t in kept):
        return "", clinician
    return " ".join(kept), clinician


def name_after(text: str, start: int) -> str:
    """The name that starts at `start` ("" if none)."""
    m = _NAME_AT_START.match(text[start : start + 80])
    return _clean(m.group(0).split(), from_right=False)[0] if m else ""


class _People:
    """The name-first search: find runs of capitalised words, then look for a cue on either side."""

    def __init__(self, scan: Scan):
        self.scan = scan
        self.text = scan.masked
        self.held: list[tuple[int, int]] = []
        # The cues and patterns that can match somewhere in this text; the others are not tried.
        self.cues = tuple(scan.may(c) for c in _CUES_BEFORE)
        # Booleans, not a set of patterns: hashing a compiled pattern is slow (it hashes the program).
        self.descriptor, self.predicate, self.possessive, self.age, self.life = (scan.may(p) for p in _AFTER)
        self._triggered: bool | None = None
        # Where each live cue's words are (ASCII text: same positions lowercased), to rule windows out cheaply.
        self.spots: list[list[list[tuple[int, int]]] | None] = [None] * len(_CUES_BEFORE)
        if scan.fast and self.text.isascii():
            low = self.text.lower()
            for i, (cue, live) in enumerate(zip(_CUES_BEFORE, self.cues, strict=True)):
                clauses = needs(cue).plain  # boundaries dropped: still a necessary condition
                if live and not any(" " in w for clause in clauses for w in clause):
                    self.spots[i] = [_occurrences(low, clause) for clause in clauses]

    def hold(self, start: int, end: int, what: str) -> None:
        if any(start < b and end > a for a, b in self.held):
            return
        self.held.append((start, end))
        self.scan.report(HOLD, "name", start, end, f"{what}: {self.scan.quote(start, end)!r}")

    def run(self) -> None:
        # Fast: the whole-text trigger is searched only once a window has a cue's words (see before).
        cues_before = any(self.cues) if self.scan.fast else _BEFORE_TRIGGER.search(self.text) is not None
        for m in _RUN.finditer(self.text):
            spans = [(m.start() + w.start(), m.start() + w.end()) for w in _WORD_SPAN.finditer(m.group(0))]
            words = [self.text[a:b] for a, b in spans]
            if _LAY_HONORIFIC.match(words[0]) and len(words) > 1 and self.clinical_sentence(spans[0][0]):
                self.hold(spans[0][0], spans[-1][1], "names a person in a clinical context")
            for k in range(len(words) + 1):
                if cues_before and k < len(words):
                    self.before(spans[k][0], words[k:], spans[k:])
                if k > 0:
                    self.after(spans[k - 1][1], words[:k], spans[:k])

    def triggered(self) -> bool:
        """Whether the text has a trigger word of the cues before a name (searched once, when first needed)."""
        if self._triggered is None:
            # On ASCII text a plain-word trigger found by `str` search is what the pattern's search would find.
            low = self.text.lower()
            self._triggered = (self.text.isascii() and any(map(low.__contains__, _TRIGGER_WORDS))) or (
                self.scan.may(_BEFORE_TRIGGER) and _BEFORE_TRIGGER.search(self.text) is not None
            )
        return self._triggered

    def cues_in(self, start: int, end: int) -> tuple[bool, ...]:
        """For each of _CUES_BEFORE: whether its words all occur in text[start:end] (if not, it cannot match there)."""
        live = [
            ok and (spots is None or all(_inside(s, start, end) for s in spots))
            for ok, spots in zip(self.cues, self.spots, strict=True)
        ]
        if not any(live):
            return (False,) * len(live)
        text = self.text[start:end]
        low, words = view(text, ends=True), words_view(text)
        return tuple(ok and needs_whole(c).met(low, words) for c, ok in zip(_CUES_BEFORE, live, strict=True))

    def before(self, at: int, words: list[str], spans: list[tuple[int, int]]) -> None:
        """Cues that end at `at`, right before the name words[...]."""
        window = self.text[max(0, at - 90) : at]
        patient = spotlight = memorial = wish = self_name = True
        if self.scan.fast:
            patient, spotlight, memorial, wish, self_name = self.cues_in(max(0, at - 90), at)
            if not (patient or spotlight or memorial or wish or self_name) or not self.triggered():
                return
        found = None
        cue = _PATIENT_CUE.search(window) if patient else None
        if cue:
            noun = cue.group("noun")
            titled = noun[0].isupper() and ":" not in cue.group("sep") and not noun.startswith("Pt")
            if not titled or cue.group("det"):  # "Patient Education Webinar" is a title, "Patient: Maria" is not
                found = (cue, "may name a patient")
        if found is None and spotlight and (cue := _SPOTLIGHT_CUE.search(window)):
            found = (cue, "may name a patient")
        if found is None and memorial and (cue := _MEMORIAL_CUE.search(window)):
            found = (cue, "names a person in a memorial")
        if found is None and wish and (cue := _WISH_CUE.search(window)):
            found = (cue, "names a person in a get-well or prayer message")
        if found is None and self_name and (cue := _SELF_NAME_CUE.search(window)) and self.health_sentence(at):
            found = (cue, "a health testimonial that gives the person's name")
        if found is None:
            return
        name, _ = _clean(words, from_right=False)
        if name:
            end = spans[0][0] + self.text[spans[0][0] : spans[-1][1]].find(name) + len(name)
            self.hold(at - len(window) + found[0].start(), end, found[1])

    def after(self, at: int, words: list[str], spans: list[tuple[int, int]]) -> None:
        """Patterns that start at `at`, right after the name words[...]."""
        text = self.text
        if self.scan.fast and _AFTER_START is not None and not _AFTER_START.match(text, at):
            return  # none of the patterns after a name can start with this character
        found = None
        if self.descriptor and (m := _DESCRIPTOR_AFTER.match(text, at)):
            found = (m, "may name a patient", False)
        elif self.predicate and (m := _PREDICATE.match(text, at)):
            found = (m, "names a person with their diagnosis or care", not _PASSIVE.match(text, at))
        elif self.possessive and (m := _POSSESSIVE.match(text, at)):
            strong = _STRONGLY_PERSONAL.search(m.group("noun")) is not None
            found = (m, "names a person with their diagnosis or care", not strong)
        elif self.age and (m := _AGE_AFTER.match(text, at)) and self.clinical_sentence(at):
            found = (m, "names a person with their age in a clinical context", False)
        elif self.life and (m := _LIFE_DATES.match(text, at)):
            found = (m, "gives a named person's life dates", False)
        if found is None:
            return
        name, clinician = _clean(words, from_right=True)
        if name and not (clinician and found[2]):  # a clinician's own diagnosis, not their work
            start = spans[-1][1] - len(name) if not name.startswith("@") else spans[-1][0]
            self.hold(start, found[0].end(), found[1])

    def health_sentence(self, index: int) -> bool:
        if not self.scan.may(_HEALTH):
            return False
        for a, b in self.scan.sentences():
            if a <= index < b:
                return _HEALTH.search(self.text, a, b) is not None
        return False

    def clinical_sentence(self, index: int) -> bool:
        if not self.scan.may(_CLINICAL):
            return False
        for a, b in self.scan.sentences():
            if a <= index < b:
                return _CLINICAL.search(self.text, a, b) is not None
        return False


_CUES_BEFORE = (_PATIENT_CUE, _SPOTLIGHT_CUE, _MEMORIAL_CUE, _WISH_CUE, _SELF_NAME_CUE)
_AFTER = (_DESCRIPTOR_AFTER, _PREDICATE, _POSSESSIVE, _AGE_AFTER, _LIFE_DATES)
_AFTER_START = first_chars(_AFTER)


def _occurrences(low: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """Every (start, end) of any of `words` in `low`, by start."""
    out = []
    for word in words:
        i = low.find(word)
        while i >= 0:
            out.append((i, i + len(word)))
            i = low.find(word, i + 1)
    out.sort()
    return out


def _inside(spots: list[tuple[int, int]], start: int, end: int) -> bool:
    """True when one of `spots` lies within [start, end)."""
    for a, b in spots:
        if a >= end:
            return False
        if a >= start and b <= end:
            return True
    return False


_PRAYER_TAG = re.compile(r"#(?:PrayFor|Pray4|PrayingFor|Praying4|GetWell|GetWellSoon)(?P<name>[A-Z][a-z]+)\b")
_TEAM_TAG = re.compile(r"#(?:Team(?P<a>[A-Z][a-z]+)|(?P<b>[A-Z][a-z]+)(?:Strong|Fights|Fight|Warrior|Army|Tough))\b")


def check_named_people(scan: Scan, allow: Allow) -> None:
    """Hold names tied to a patient, a diagnosis, a treatment, an age or a death; names in support hashtags."""
    _People(scan).run()
    text = scan.masked
    if "#" not in text:
        return
    for m in _PRAYER_TAG.finditer(text) if scan.may(_PRAYER_TAG) else ():
        if m.group("name").lower() not in NOT_NAMES:
            scan.report(HOLD, "name", m.start(), m.end(), f"a prayer or get-well hashtag names a person: {m.group(0)}")
    for m in _TEAM_TAG.finditer(text) if scan.may(_TEAM_TAG) else ():
        name = m.group("a") or m.group("b") or ""
        if name.lower() not in NOT_NAMES and scan.free(m.start(), m.end()):
            scan.report(
                WARN,
                "name",
                m.start(),
                m.end(),
                f"a support hashtag may name a patient: {m.group(0)} (check it is not)",
            )


def _hold_name(scan: Scan, start: int, end: int, what: str) -> None:
    if scan.free(start, end):
        scan.report(HOLD, "name", start, end, f"{what}: {scan.quote(start, end)!r}")


def check_testimonials(scan: Scan, allow: Allow) -> None:
    """Hold a health testimonial attributed to a name; warn about first-person health statements and patient stories."""
    text = scan.masked
    for m in _QUOTE.finditer(text) if scan.may(_QUOTE) else ():
        quote = m.group(1)
        if not _HEALTH.search(quote) or not (_FIRST_PERSON.search(quote) or _STORY.search(quote)):
            continue
        after = _ATTRIBUTION_AFTER.match(text, m.end())
        named = bool(after and name_after(text, after.end()))
        before = _ATTRIBUTION_BEFORE.search(text[max(0, m.start() - 80) : m.start()])
        if named or (before and _clean(before.group("name").split(), from_right=True)[0]):
            _hold_name(scan, m.start(), m.end(), "quotes a named person about their health")
    # A testimonial sentence needs a health word too: without one anywhere, there is none.
    gate = not scan.fast or (scan.may(_HEALTH) and _may_be_first_person(text))
    if gate and _FIRST_PERSON.search(text) is not None:
        _first_person(scan, text)
    for m in _STORY.finditer(text) if scan.may(_STORY) else ():
        if scan.free(m.start(), m.end()):
            scan.report(
                WARN,
                "story",
                m.start(),
                m.end(),
                f"tells a patient's story ({scan.quote(m.start(), m.end())!r}): "
                "publish only with the patient's written authorization",
            )


def _may_be_first_person(text: str) -> bool:
    """False when _FIRST_PERSON cannot match: on ASCII text each of its matches holds the whole word
    "I" ("I", "I'm", "I've"), "my", "mine", "myself" or "me" ("helped me"), in any case."""
    return not text.isascii() or not _FIRST_PERSON_WORDS.isdisjoint(_NON_WORD.split(text.lower()))


def _first_person(scan: Scan, text: str) -> None:
    signed = _DASH_SIGNATURE.search(text)
    signed_name = _clean(signed.group("name").split(), from_right=False)[0] if signed else ""
    for a, b in scan.sentences():
        first = _FIRST_PERSON.search(text, a, b)
        health = _HEALTH.search(text, a, b)
        if not (first and health and scan.free(first.start(), first.end()) and scan.free(health.start(), health.end())):
            continue
        if signed_name:
            _hold_name(scan, a, b, "a health testimonial signed with a name")
        else:
            scan.report(
                WARN,
                "testimonial",
                a,
                b,
                f"reads like a personal health testimonial ({scan.quote(a, b)!r}): "
                "publish only with the person's written consent",
            )
